"""Figures 7 and 8: the forms of difficulty at the corners of the (PD_val, PD_train) plane."""

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from pdepth.data.prepared import Prepared
from pdepth.figures.style import (
    PALETTE,
    class_names,
    consensus_groups,
    density,
    depth_edges,
    describe,
    layer_axis,
    show_image,
)
from pdepth.metrics import corners

CORNER_TITLES = {
    "easy": "easy",
    "looks_like_a_different_class": "looks like a different class",
    "ambiguous_unless_label_given": "ambiguous unless the label is given",
    "ambiguous": "ambiguous",
}


def validation_vs_training_depth(
    cube: xr.Dataset, metrics: xr.Dataset, prepared: Prepared, corner_class: str | None, per_corner: int = 8
) -> plt.Figure:
    """Figure 7: mean validation vs mean training depth (all / consensus ≠ label / consensus = label), and the
    ``per_corner`` examples of ``corner_class`` (default: the first class) closest to each corner, titled by their
    consensus class."""
    fig = plt.figure(figsize=(15, 8.5))
    top = fig.add_gridspec(2, 1, height_ratios=(1, 1.1), hspace=0.35)
    hists = top[0].subgridspec(1, 3).subplots()
    groups = consensus_groups(metrics)
    edges = depth_edges(cube)
    for ax, name in zip(hists, ("all examples", "consensus ≠ ground truth", "consensus = ground truth"), strict=True):
        drawn = density(
            ax, np.where(groups[name], metrics.pd_val.values, np.nan), metrics.pd_train.values, edges, edges
        )
        ax.set_xlabel("mean prediction depth, validation split")
        ax.set_ylabel("mean prediction depth, training split")
        ax.set_title(f"{name} ({drawn:,} examples)")

    names = class_names(metrics)
    corner_class = corner_class or names[0]
    if corner_class not in names:
        raise ValueError(f"figures.corner_class: {corner_class!r} is not a class of {cube.attrs['dataset']}: {names}")
    cls = names.index(corner_class)
    consensus = metrics.consensus_class.values
    images = top[1].subgridspec(len(corners.CORNERS), per_corner, hspace=0.6, wspace=0.05).subplots(squeeze=False)
    of_class = metrics.label.values == cls
    for row, corner in enumerate(corners.CORNER_NAMES):
        distance = np.where(of_class, metrics.corner_distance.sel(corner=corner).values, np.nan)
        finite = np.flatnonzero(np.isfinite(distance))  # only examples of the class that have both depths
        closest = finite[np.argsort(distance[finite], kind="stable")][:per_corner]
        for col, ax in enumerate(images[row]):
            if col >= len(closest):
                ax.set_visible(False)
                continue
            example = closest[col]
            title = names[consensus[example]] if consensus[example] >= 0 else "no consensus"
            show_image(ax, prepared.images[int(metrics.example.values[example])], title)
        label = f"{CORNER_TITLES[corner]}\n({len(closest)} of {per_corner})" if len(closest) < per_corner else ""
        first = images[row, 0]
        first.set_ylabel(label or CORNER_TITLES[corner], rotation=0, ha="right", va="center", fontsize=8)
        if not len(closest):  # nothing to show: the row's label stays, as text, on an empty row
            box = first.get_position()
            fig.text(box.x0, (box.y0 + box.y1) / 2, label, ha="right", va="center", fontsize=8)
    fig.suptitle(
        f"Validation vs training prediction depth; below, the {corner_class!r} examples closest to each corner "
        f"(title: consensus class). {describe(cube)}",
        y=0.98,
    )
    return fig


def corner_probes(cube: xr.Dataset, metrics: xr.Dataset) -> plt.Figure:
    """Figure 8: per layer, the k-NN vote fraction (solid) and accuracy (dotted) for the ground-truth class (left)
    and the consensus class (right), held out, for the examples closest to each corner."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True, layout="constrained")
    panels = (
        ("ground-truth class", "corner_knn_true_conf", "corner_knn_true_acc"),
        ("consensus class", "corner_knn_consensus_conf", "corner_knn_consensus_acc"),
    )
    for ax, (title, confidence, accuracy) in zip(axes, panels, strict=True):
        for colour, corner in zip(PALETTE, corners.CORNER_NAMES, strict=False):
            for variable, style, what in ((confidence, "-", "confidence"), (accuracy, ":", "accuracy")):
                if variable in metrics:  # the consensus confidence needs the probes' vote histograms
                    ax.plot(
                        cube.depth,
                        metrics[variable].sel(corner=corner),
                        color=colour,
                        linestyle=style,
                        marker="o" if style == "-" else None,
                        label=f"{CORNER_TITLES[corner]}: {what}",
                    )
        layer_axis(ax, cube)
        ax.set_title(f"k-NN probes, {title}")
        ax.set_ylim(0, 1.02)
    axes[0].set_ylabel("vote fraction (solid) / accuracy (dotted)")
    fig.legend(*axes[0].get_legend_handles_labels(), ncol=4, loc="outside lower center")
    fig.suptitle(
        f"k-NN probes of the {metrics.attrs['corner_examples']} examples closest to each corner, held out. "
        f"{describe(cube)}"
    )
    return fig
