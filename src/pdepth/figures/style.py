"""One look for every figure: fonts, colours, captions in titles, numbers with their readings, names in words, 2-D
histograms with a log colour scale."""

import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.colors import LogNorm

from pdepth.data import registry as datasets
from pdepth.data.prepared import TEST, TRAIN
from pdepth.metrics import agreement
from pdepth.models.architectures import ARCHITECTURES
from pdepth.outputs import cube as cubes

STYLE = Path(__file__).with_name("pdepth.mplstyle")
# Okabe-Ito: distinguishable by colour-blind readers.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
GROUP_COLOURS = {"training split": PALETTE[0], "holdout": PALETTE[1], "test": PALETTE[2]}
DENSITY_CMAP = "viridis"
# Every score a figure names, in words (the variable names of metrics.nc and detection.csv as keys).
SCORE_LABELS = agreement.SCORES | {
    "never_learned": "never learned",
    "forgetting_events": "forgetting events (raw count)",
    "knn_vote": "k-NN vote for the given label",
    "knn_vote_chosen": "k-NN vote, layer and point chosen out of sample",
    "cleanlab_knn_vote": "cleanlab on the k-NN votes",
    "cleanlab_cv": "cleanlab on cross-validated probabilities",
}


def drawing():
    """A context with pdepth's look (``pdepth.mplstyle``) to draw and save a figure in; matplotlib's own after it."""
    return plt.style.context(STYLE)


def groups(cube: xr.Dataset) -> dict[str, xr.DataArray]:
    """(example, seed) masks of the three kinds of example a model sees."""
    from_train = cube.orig_split == TRAIN
    return {
        "training split": cube.in_train,
        "holdout": from_train & ~cube.in_train,
        "test": (cube.orig_split == TEST) & xr.ones_like(cube.in_train),
    }


def title(name: str) -> str:
    """A dataset's or an architecture's name as papers write it (Fashion-MNIST, ResNet-18); other names as they are."""
    known = datasets.DATASETS.get(name) or ARCHITECTURES.get(name)
    return (known.title or name) if known else name


def model_title(data: xr.Dataset) -> str:
    """Dataset / architecture of a cube or metrics file, as papers write them."""
    return f"{title(data.attrs['dataset'])} / {title(data.attrs['architecture'])}"


def seeds_per(cubes: dict[str, xr.Dataset]) -> str:
    """How many seeds each of several cubes holds, by their labels (datasets or architectures)."""
    return ", ".join(f"{title(label)}: {cube.sizes['seed']}" for label, cube in cubes.items())


def describe(cube: xr.Dataset) -> str:
    """What was run: dataset, architecture, variant, seeds, examples, k."""
    variant = cube.attrs.get("variant", "split")
    design = {"split": "", "full": " trained on the full training set"}.get(variant, f", {variant} study")
    return f"{model_title(cube)}{design}: {count(cube)}"


def count(cube: xr.Dataset) -> str:
    seeds = cube.sizes["seed"]
    search = cube.attrs["probe_backend"]
    search = "exact or pynndescent by probe" if "," in search else search  # the cube's attributes say which
    return f"{seeds} seed{'s' if seeds > 1 else ''}, {cube.sizes['example']:,} examples, k={cube.attrs['k']} ({search})"


def numbers(values: dict[str, float]) -> str:
    """The values of :func:`readings` alone, "0.46 / 0.59" (their labels said once elsewhere)."""
    return " / ".join(f"{value:.2f}" if np.isfinite(value) else "n/a" for value in values.values())


def readings(values: dict[str, float], between: str = " ") -> str:
    """Numbers with their readings (``pdepth.fidelity.crossfit.labelled``), so that each can be found in the fidelity
    table: "-0.47 / -0.69 (cross-seed verdict / same seed, per-example means)"."""
    return f"{numbers(values)}{between}({' / '.join(values)})"


def class_names(cube: xr.Dataset) -> list[str]:
    return cubes.category_names(cube.label)


def layer_labels(cube: xr.Dataset) -> list[str]:
    return [f"{int(d)}: {n}" for d, n in zip(cube.depth.values, cube.layer_name.values, strict=True)]


def layer_axis(ax: plt.Axes, cube: xr.Dataset, label: str = "layer of the probe") -> None:
    ax.set_xticks(cube.depth.values, layer_labels(cube), rotation=45, ha="right")
    ax.set_xlabel(label)


def marker_sizes(fraction: np.ndarray) -> np.ndarray:
    """Marker area proportional to the fraction of the data (the paper's Figures 4 and 5)."""
    return 10 + 600 * np.asarray(fraction)


def density(
    ax: plt.Axes,
    x: np.ndarray,
    y: np.ndarray,
    x_edges: np.ndarray,
    y_edges: np.ndarray,
    colorbar: bool = True,
) -> int:
    """A 2-D histogram of the finite (x, y) pairs with a log colour scale; empty bins are left white. Returns the
    number of pairs drawn."""
    keep = np.isfinite(x) & np.isfinite(y)
    counts, _, _ = np.histogram2d(x[keep], y[keep], bins=(x_edges, y_edges))
    counts = np.ma.masked_equal(counts.T, 0)
    vmax = max(float(counts.max()) if counts.count() else 1.0, 1.0)
    mesh = ax.pcolormesh(x_edges, y_edges, counts, norm=LogNorm(vmin=1, vmax=max(vmax, 10)), cmap=DENSITY_CMAP)
    ax.grid(False)
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label="number of examples (log scale)")
    if not keep.any():
        ax.text(0.5, 0.5, "no examples in this group", ha="center", va="center", transform=ax.transAxes)
    return int(keep.sum())


def consensus_groups(metrics: xr.Dataset) -> dict[str, np.ndarray]:
    """Examples with a consensus (held out at least once): all, consensus = label, consensus ≠ label."""
    consensus, labels = metrics.consensus_class.values, metrics.label.values
    has = consensus >= 0
    return {
        "all examples": has,
        "consensus = ground truth": has & (consensus == labels),
        "consensus ≠ ground truth": has & (consensus != labels),
    }


def depth_edges(cube: xr.Dataset, bins_per_layer: int = 2) -> np.ndarray:
    """Bin edges for a mean depth in [0, L]."""
    top = float(cube.depth.values.max())
    return np.linspace(0, top, int(top * bins_per_layer) + 1) if top > 0 else np.array([0.0, 1.0])


def show_image(ax: plt.Axes, image: np.ndarray, title: str) -> None:
    """An (H, W, C) uint8 image; grey-scale when C is 1."""
    if image.shape[-1] == 1:
        ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=255)
    else:
        ax.imshow(image)
    ax.set_title(title, fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


class EmptyPanel(ValueError):
    """A figure would show an axis without data: a figure is skipped, never drawn empty."""


def save(fig: plt.Figure, png: Path, pdf: Path) -> None:
    """PNG (for the report) and PDF (for papers); refuses a figure with an empty panel."""
    empty = [ax.get_title() or f"panel {i}" for i, ax in enumerate(fig.axes) if ax.get_visible() and not ax.has_data()]
    if empty:
        plt.close(fig)
        raise EmptyPanel(f"{len(empty)} panel(s) without data: {empty}")
    fit_titles(fig)
    fig.savefig(png, dpi=150, bbox_inches="tight")
    fig.savefig(pdf, bbox_inches="tight")
    plt.close(fig)


def fit_titles(fig: plt.Figure) -> None:
    """Wrap every title to the width of its panel, and the figure's title to the figure's: with ``bbox_inches="tight"``
    a longer line widens the saved canvas and shrinks the plots in it."""
    figure_points = fig.get_figwidth() * 72
    for ax in fig.axes:
        _wrap(ax.title, ax.get_position().width * figure_points)
    if fig._suptitle is not None:
        _wrap(fig._suptitle, figure_points)


def _wrap(text, points: float) -> None:
    """Wrap a matplotlib Text to ``points`` (an average character is about 0.55 of the font size wide)."""
    columns = max(12, int(points / (0.55 * text.get_fontsize())))
    lines = text.get_text().splitlines()
    text.set_text("\n".join(textwrap.fill(line, columns) if line else line for line in lines))
