"""The hardest and the easiest examples of a class (or those nearest a corner) in a finished study, as images."""

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from pdepth.figures.style import class_names, describe, drawing, fit_titles, show_image
from pdepth.outputs.results import mean_depth


def extremes(score: xr.DataArray, n: int) -> dict[str, np.ndarray]:
    """The ``n`` examples with the highest and the ``n`` with the lowest finite ``score`` (per example), in order; of
    tied examples the lower index comes first."""
    scored = score.dropna("example")
    values, examples = scored.values, scored.example.values
    return {
        "highest": examples[np.argsort(-values, kind="stable")[:n]],
        "lowest": examples[np.argsort(values, kind="stable")[:n]],
    }


def show_examples(
    results: xr.Dataset, label: str | int | None = None, n: int = 8, score: xr.DataArray | None = None
) -> plt.Figure:
    """Two rows of images from :func:`pdepth.open_results`: the ``n`` examples of class ``label`` (its name or index;
    None: every class) with the highest ``score`` and the ``n`` with the lowest, each titled by its index and score.
    ``score`` is one value per example, by default :func:`pdepth.mean_depth` (held out), so the hardest and the
    easiest; with ``results.corner_distance.sel(corner=...)`` the lowest are those nearest a corner of Figure 7."""
    score = mean_depth(results) if score is None else score
    names = class_names(results)
    if label is not None:
        index = names.index(label) if isinstance(label, str) and label in names else label
        if index not in range(len(names)):
            raise ValueError(f"label {label!r} is not a class of {results.attrs['dataset']}: {names}")
        score = score.where(results.label == index)
    chosen = extremes(score, n)
    with drawing():
        fig, axes = plt.subplots(2, n, figsize=(max(1.3 * n, 8), 4), squeeze=False)
        for row, (which, examples) in zip(axes, chosen.items(), strict=True):
            for ax, example in zip(row, examples, strict=False):
                show_image(
                    ax,
                    results.image.sel(example=example).values,
                    f"#{example}: {float(score.sel(example=example)):.2f}",
                )
            for ax in row[len(examples) :]:
                ax.set_visible(False)
            row[0].set_ylabel(which, rotation=0, ha="right", va="center")
        what = score.attrs.get("long_name", score.name or "score")
        of = f"{names[index]!r} examples" if label is not None else "examples"
        fig.suptitle(f"The {of} of highest and lowest {what} ({int(score.count())} scored). {describe(results)}")
        fit_titles(fig)
        fig.tight_layout()
    return fig
