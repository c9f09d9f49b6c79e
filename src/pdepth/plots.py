"""Figures drawn from cubes only (never by re-running models)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

from pdepth.data.prepared import TEST, TRAIN  # noqa: E402

GROUP_COLOURS = {"training split": "#0072B2", "holdout": "#E69F00", "test": "#009E73"}


def groups(cube: xr.Dataset) -> dict[str, xr.DataArray]:
    """(example, seed) masks of the three kinds of example a model sees."""
    from_train = cube.orig_split == TRAIN
    return {
        "training split": cube.in_train,
        "holdout": from_train & ~cube.in_train,
        "test": (cube.orig_split == TEST) & xr.ones_like(cube.in_train),
    }


def describe(cube: xr.Dataset) -> str:
    variant = cube.attrs.get("variant", "split")
    design = {"split": "", "full": " trained on the full training set"}.get(variant, f", {variant} study")
    seeds = cube.sizes["seed"]
    return (
        f"{cube.attrs['dataset']} / {cube.attrs['architecture']}{design}: {seeds} seed{'s' if seeds > 1 else ''}, "
        f"{cube.sizes['example']:,} examples, k={cube.attrs['k']} ({cube.attrs['probe_backend']})"
    )


def layer_labels(cube: xr.Dataset) -> list[str]:
    return [f"{int(d)}: {n}" for d, n in zip(cube.depth.values, cube.layer_name.values, strict=True)]


def save(fig: plt.Figure, png: Path, pdf: Path) -> None:
    fig.savefig(png, dpi=150, bbox_inches="tight")
    fig.savefig(pdf, bbox_inches="tight")
    plt.close(fig)


def pd_distribution(cubes: dict[str, xr.Dataset], png: Path, pdf: Path) -> None:
    """Figure 1 (right): probability of each prediction depth, training split, one curve per dataset."""
    fig, ax = plt.subplots(figsize=(6, 4))
    arch = None
    for dataset, cube in cubes.items():
        arch = cube.attrs["architecture"]
        pd = cube.pd.where(cube.in_train).values.ravel()
        defined = pd[np.isfinite(pd)]
        n_train = int(cube.in_train.sum())
        depths = cube.depth.values
        probability = np.bincount(defined.astype(int), minlength=len(depths)) / n_train
        ax.plot(
            depths,
            probability,
            marker="o",
            label=f"{dataset} (mean {defined.mean():.2f}; undefined {1 - len(defined) / n_train:.1%})",
        )
    last = next(iter(cubes.values()))
    ax.set_xticks(last.depth.values, layer_labels(last), rotation=45, ha="right")
    ax.set_xlabel("prediction depth (layer of the probe)")
    ax.set_ylabel("probability (training split)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(title="dataset")
    seeds = ", ".join(f"{d}: {c.sizes['seed']}" for d, c in cubes.items())
    ax.set_title(f"Prediction depth, {arch}, training split (seeds per dataset: {seeds})", fontsize=9)
    save(fig, png, pdf)


def inference_learning_curve(cube: xr.Dataset, png: Path, pdf: Path) -> None:
    """k-NN probe accuracy per layer for training, holdout and test examples (mean and range over seeds)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    correct = cube.knn_pred == cube.label
    network_correct = cube.pred == cube.label
    for name, mask in groups(cube).items():
        if not bool(mask.any()):
            continue
        per_seed = correct.where(mask).mean("example")  # (seed, layer)
        mean, low, high = per_seed.mean("seed"), per_seed.min("seed"), per_seed.max("seed")
        colour = GROUP_COLOURS[name]
        ax.plot(cube.depth, mean, marker="o", color=colour, label=f"k-NN probe, {name}")
        ax.fill_between(cube.depth, low, high, color=colour, alpha=0.2)
        ax.axhline(
            float(network_correct.where(mask).mean()),
            color=colour,
            linestyle="--",
            linewidth=1,
            label=f"network, {name}",
        )
    ax.set_xticks(cube.depth.values, layer_labels(cube), rotation=45, ha="right")
    ax.set_xlabel("layer of the probe")
    ax.set_ylabel("accuracy (ground-truth label)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    ax.set_title(f"Inference learning curve. {describe(cube)}", fontsize=9)
    save(fig, png, pdf)
