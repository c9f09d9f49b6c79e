"""Figures 1 and 2: what prediction depth looks like, and how consistent it is across seeds and architectures."""

import itertools

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from pdepth.data.prepared import Prepared
from pdepth.fidelity import claims, crossfit
from pdepth.figures.style import (
    class_names,
    density,
    layer_axis,
    model_title,
    readings,
    seeds_per,
    show_image,
    title,
)


def pd_distribution(cubes: dict[str, xr.Dataset]) -> plt.Figure:
    """Figure 1 (right): probability of each prediction depth, training split, one curve per dataset."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for dataset, cube in cubes.items():
        pd = cube.pd.values[cube.in_train.values]
        defined = pd[np.isfinite(pd)]
        probability = np.bincount(defined.astype(int), minlength=cube.sizes["layer"]) / len(pd)
        ax.plot(
            cube.depth.values,
            probability,
            marker="o",
            label=f"{title(dataset)} (mean {defined.mean():.2f}; undefined {1 - len(defined) / len(pd):.1%})",
        )
    deepest = max(cubes.values(), key=lambda c: c.sizes["layer"])
    layer_axis(ax, deepest, "prediction depth (layer of the probe)")
    ax.set_ylabel("probability (training split)")
    ax.set_ylim(bottom=0)
    ax.legend(title="dataset")
    arch = title(deepest.attrs["architecture"])
    ax.set_title(f"Prediction depth, {arch}, training split (seeds per dataset: {seeds_per(cubes)})")
    return fig


def depth_examples(metrics: xr.Dataset, prepared: Prepared, per_side: int = 4, max_classes: int = 10) -> plt.Figure:
    """Figure 1 (left) as a grid: per class, the training examples with the smallest mean depth (predicted at the
    input) and the largest (predicted at the softmax), when they are in the training split."""
    names = class_names(metrics)
    labels = metrics.label.values
    pd_train = metrics.pd_train.values
    classes = range(min(len(names), max_classes))
    fig, axes = plt.subplots(
        len(classes), 2 * per_side, figsize=(1.1 * 2 * per_side, 1.25 * len(classes)), squeeze=False
    )
    for row, cls in enumerate(classes):
        candidates = np.flatnonzero((labels == cls) & np.isfinite(pd_train))
        order = candidates[np.argsort(pd_train[candidates], kind="stable")]
        picks = list(order[:per_side]) + list(order[::-1][:per_side][::-1])
        for col, ax in enumerate(axes[row]):
            if col >= len(picks) or len(order) < 2 * per_side:
                ax.set_visible(False)
                continue
            example = picks[col]
            image = prepared.images[int(metrics.example.values[example])]
            show_image(ax, image, f"PD {pd_train[example]:.1f}")
        axes[row, 0].set_ylabel(names[cls], rotation=0, ha="right", fontsize=7)
    fig.suptitle(
        f"Training-split examples by mean prediction depth, {model_title(metrics)}, {metrics.sizes['seed']} seeds\n"
        f"left {per_side}: smallest (easy: decided at the input); right {per_side}: largest (hard: decided late)",
    )
    fig.tight_layout()
    return fig


def depth_agreement(cubes: dict[str, xr.Dataset], seed_pairs: int) -> plt.Figure:
    """Figure 2 (left): Pearson r of single-model depths between architectures (off the diagonal) and between
    seeds of one architecture (on it), for examples in the training split of both and held out by both: the fidelity
    table's cross-seed estimates (each pair of architectures in the table's order)."""
    archs = list(cubes)
    names, models, n = [title(a) for a in archs], list(cubes.values()), range(len(archs))

    def cell(i: int, j: int, split: str) -> float:
        return crossfit.depth_correlation(models[min(i, j)], models[max(i, j)], split, seed_pairs)

    fig, axes = plt.subplots(1, 2, figsize=(3 + 1.6 * len(archs), 2 + 0.8 * len(archs)), layout="constrained")
    for ax, split in zip(axes, ("train", "val"), strict=True):
        matrix = np.array([[cell(i, j, split) for j in n] for i in n])
        image = ax.imshow(matrix, vmin=0, vmax=1, cmap="viridis")
        for (i, j), r in np.ndenumerate(matrix):
            ax.text(
                j,
                i,
                "n/a" if np.isnan(r) else f"{r:.2f}",
                ha="center",
                va="center",
                color="white" if np.isnan(r) or r < 0.6 else "black",
            )
        ax.set_xticks(range(len(archs)), names, rotation=30, ha="right")
        ax.set_yticks(range(len(archs)), names)
        ax.tick_params(labelleft=split == "train")
        ax.grid(False)
        ax.set_title(f"{'training' if split == 'train' else 'validation'} split")
    fig.colorbar(image, ax=axes, label="Pearson r of prediction depth (cross-seed verdict)")
    cube = next(iter(cubes.values()))
    fig.suptitle(
        f"Prediction depth agreement, {title(cube.attrs['dataset'])}: {cube.sizes['example']:,} examples; diagonal: "
        f"between seeds (seeds per architecture: {seeds_per(cubes)})"
    )
    return fig


def mean_depth_pairs(cubes: dict[str, xr.Dataset], metrics: dict[str, xr.Dataset], seed_pairs: int) -> plt.Figure:
    """Figure 2 (right): each example's mean training-split depth in one architecture against another, both
    rescaled to [0, 1]; r of these means, and the fidelity table's cross-seed r of the two architectures."""
    pairs = list(itertools.combinations(cubes, 2))
    fig, axes = plt.subplots(1, len(pairs), figsize=(4.6 * len(pairs), 3.8), squeeze=False, layout="constrained")
    edges = np.linspace(0, 1, 21)
    for ax, (a, b) in zip(axes[0], pairs, strict=True):
        x = claims.rescaled(metrics[a].pd_train.values, cubes[a])
        y = claims.rescaled(metrics[b].pd_train.values, cubes[b])
        density(ax, x, y, edges, edges)
        ax.set_xlabel(f"{title(a)}: mean depth / {int(cubes[a].depth.max())}")
        ax.set_ylabel(f"{title(b)}: mean depth / {int(cubes[b].depth.max())}")
        r = crossfit.labelled(crossfit.architectures_test(cubes[a], cubes[b], "train", seed_pairs))
        r["per-example means, as drawn"] = claims.pearson(x, y)
        ax.set_title(f"{title(a)} vs {title(b)}\nPearson r = {readings(r)}")
    cube = next(iter(cubes.values()))
    fig.suptitle(f"Mean prediction depth in the training split, {title(cube.attrs['dataset'])}")
    return fig
