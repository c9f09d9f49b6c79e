"""Figures 3 and 4: prediction depth against the ensemble's consistency, consensus and accuracy."""

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from pdepth import claims
from pdepth.figures.style import PALETTE, consensus_groups, density, depth_edges, describe, marker_sizes

SCORE_EDGES = np.linspace(0, 1, 21)


def consistency_vs_depth(cube: xr.Dataset, metrics: xr.Dataset) -> plt.Figure:
    """Figure 3: consistency score against mean validation depth, all / consensus = label / consensus ≠ label."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    edges = depth_edges(cube)
    for ax, (name, mask) in zip(axes, consensus_groups(metrics).items(), strict=True):
        drawn = density(
            ax, np.where(mask, metrics.pd_val.values, np.nan), metrics.consistency.values, edges, SCORE_EDGES
        )
        ax.set_xlabel("mean prediction depth, validation split")
        ax.set_ylabel("consistency score")
        ax.set_title(f"{name} ({drawn:,} examples)")
    fig.suptitle(f"Consistency vs prediction depth. {describe(cube)}", y=1.02)
    return fig


def consensus_consistency_vs_depth(cube: xr.Dataset, metrics: xr.Dataset) -> plt.Figure:
    """Figure 4 (left): consensus-consistency against mean validation depth, with the 5% floor per depth."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    density(ax, metrics.pd_val.values, metrics.consensus_consistency.values, depth_edges(cube), SCORE_EDGES)
    floor = claims.consensus_consistency_floor(metrics)
    rho = claims.spearman(floor.depth, floor.mean)
    ax.plot(
        floor.depth,
        floor.mean,
        color=PALETTE[3],
        marker="_",
        markersize=12,
        linestyle="--",
        label=f"5th percentile per depth (Spearman ρ = {rho:.2f})",
    )
    ax.set_xlabel("mean prediction depth, validation split")
    ax.set_ylabel("consensus-consistency score")
    ax.legend(loc="lower left")
    ax.set_title(f"Consensus-consistency vs prediction depth.\n{describe(cube)}")
    return fig


def _per_depth_curves(ax, per_dataset: dict, ylabel: str) -> None:
    for colour, (dataset, (values, note)) in zip(PALETTE, per_dataset.items(), strict=False):
        ax.plot(values.depth, values.mean, color=colour, alpha=0.6)
        ax.scatter(values.depth, values.mean, s=marker_sizes(values.fraction), color=colour, label=f"{dataset}{note}")
    ax.set_xlabel("prediction depth in one model (held out)")
    ax.set_ylabel(ylabel)
    ax.legend(title="dataset (marker size: fraction of appearances)")


def depth_predicts_ensemble(cubes: dict[str, xr.Dataset], metrics: dict[str, xr.Dataset]) -> plt.Figure:
    """Figure 4 (middle, right): per depth in one model, the consensus-consistency of the other models, and the
    accuracy; one curve per dataset. The middle panel needs at least 3 seeds (a consensus of at least 2 others)."""
    ensembles = [d for d in cubes if cubes[d].sizes["seed"] >= 3]
    fig, axes = plt.subplots(1, 2 if ensembles else 1, figsize=(11 if ensembles else 5.5, 4), squeeze=False)
    if ensembles:
        middle = axes[0, 0]
        _per_depth_curves(
            middle,
            {d: (claims.consensus_consistency_by_depth(cubes[d], metrics[d]), "") for d in ensembles},
            "consensus-consistency of the other models",
        )
        middle.set_title("Depth in one model predicts the others' consensus-consistency")
    right = axes[0, -1]
    _per_depth_curves(right, {d: (claims.accuracy_by_depth(cubes[d]), "") for d in cubes}, "accuracy (held out)")
    right.set_title("Depth predicts accuracy")
    arch = next(iter(cubes.values())).attrs["architecture"]
    seeds = ", ".join(f"{d}: {c.sizes['seed']}" for d, c in cubes.items())
    note = "" if len(ensembles) == len(cubes) else "\n(the others' consensus-consistency needs at least 3 seeds)"
    fig.suptitle(
        f"{arch}, every held-out appearance of every example (seeds per dataset: {seeds}){note}",
        y=1.08 if note else 1.02,
    )
    return fig
