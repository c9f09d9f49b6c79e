"""Figures 3 and 4: prediction depth against the ensemble's consistency, consensus and accuracy."""

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from pdepth.fidelity import claims, crossfit
from pdepth.fidelity.claims import PerDepth
from pdepth.figures.style import (
    PALETTE,
    consensus_groups,
    density,
    depth_edges,
    describe,
    marker_sizes,
    readings,
    seeds_per,
    title,
)

SCORE_EDGES = np.linspace(0, 1, 21)


def consistency_vs_depth(cube: xr.Dataset, metrics: xr.Dataset) -> plt.Figure:
    """Figure 3: consistency score against mean validation depth, all / consensus = label / consensus ≠ label."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8), layout="constrained")  # colour bars clear of the next panel
    edges = depth_edges(cube)
    for ax, (name, mask) in zip(axes, consensus_groups(metrics).items(), strict=True):
        drawn = density(
            ax, np.where(mask, metrics.pd_val.values, np.nan), metrics.consistency.values, edges, SCORE_EDGES
        )
        ax.set_xlabel("mean prediction depth, validation split")
        ax.set_ylabel("consistency score")
        ax.set_title(f"{name} ({drawn:,} examples)")
    fig.suptitle(f"Consistency vs prediction depth. {describe(cube)}")
    return fig


def consensus_consistency_vs_depth(
    cube: xr.Dataset, metrics: xr.Dataset, floor: claims.Floor, depth_seeds: int
) -> plt.Figure:
    """Figure 4 (left): consensus-consistency against mean validation depth, with its floor (the same examples: at
    least ``floor.min_held_out`` held-out appearances); the floor's ρ as drawn, and the fidelity table's cross-seed
    verdict (``crossfit.floor_test`` on the first ``depth_seeds`` seeds, ``fidelity.run_groups``)."""
    fig, ax = plt.subplots(figsize=(5.5, 4.5), layout="constrained")
    counted = metrics.n_held_out.values >= floor.min_held_out
    drawn = density(
        ax,
        np.where(counted, metrics.pd_val.values, np.nan),
        metrics.consensus_consistency.values,
        depth_edges(cube),
        SCORE_EDGES,
    )
    values = claims.consensus_consistency_floor(metrics, floor)
    rho = crossfit.labelled(crossfit.floor_test(cube, floor, depth_seeds))
    rho["per-example means, as drawn"] = claims.floor_trend(values)
    trend = readings(rho, between="\n")
    ax.plot(
        values.depth,
        values.mean,
        color=PALETTE[3],
        marker="_",
        markersize=12,
        linestyle="--",
        label=f"floor: {floor.quantile:.0%} quantile per depth bin (bins of ≥ {floor.min_bin_examples} examples)\n"
        f"Spearman ρ = {trend}",
    )
    ax.set_xlabel("mean prediction depth, validation split")
    ax.set_ylabel("consensus-consistency score")
    ax.legend(loc="lower left")
    ax.set_title(
        f"Consensus-consistency vs prediction depth: {drawn:,} examples held out ≥ {floor.min_held_out} times."
        f"\n{describe(cube)}"
    )
    return fig


def _per_depth_curves(ax, per_dataset: dict[str, PerDepth], ylabel: str) -> None:
    for colour, (dataset, values) in zip(PALETTE, per_dataset.items(), strict=False):
        ax.plot(values.depth, values.mean, color=colour, alpha=0.6)
        ax.scatter(values.depth, values.mean, s=marker_sizes(values.fraction), color=colour, label=title(dataset))
    ax.set_xlabel("prediction depth in one model (held out)")
    ax.set_ylabel(ylabel)
    ax.legend(title="dataset (marker size: fraction of appearances)")


def depth_predicts_consensus(cubes: dict[str, xr.Dataset], metrics: dict[str, xr.Dataset]) -> plt.Figure:
    """Figure 4 (middle): per depth in one full-training-set model, the consensus-consistency of the others on the
    test set (leave one out); one curve per dataset."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    _per_depth_curves(
        ax,
        {d: claims.consensus_consistency_by_depth(cubes[d], metrics[d]) for d in cubes},
        "consensus-consistency of the other models",
    )
    arch = title(next(iter(cubes.values())).attrs["architecture"])
    ax.set_title(
        f"Depth in one model predicts the others' consensus-consistency\n{arch} trained on the full training set, "
        f"test examples (models per dataset: {seeds_per(cubes)})"
    )
    return fig


def depth_predicts_accuracy(cubes: dict[str, xr.Dataset]) -> plt.Figure:
    """Figure 4 (right): per depth, the accuracy of the held-out predictions; one curve per dataset."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    _per_depth_curves(ax, {d: claims.accuracy_by_depth(cubes[d]) for d in cubes}, "accuracy (held out)")
    arch = title(next(iter(cubes.values())).attrs["architecture"])
    ax.set_title(f"Depth predicts accuracy\n{arch}, every held-out appearance (seeds per dataset: {seeds_per(cubes)})")
    return fig
