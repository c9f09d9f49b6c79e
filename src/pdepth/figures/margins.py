"""Figure 6: margins of easy and hard examples, and how late a network trained without margin clusters its data."""

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from pdepth.data.prepared import TEST
from pdepth.fidelity import claims, crossfit
from pdepth.figures.style import PALETTE, density, depth_edges, describe, layer_axis, model_title, readings

MARGINS = {"output": "output margin (logit units)", "input": "input margin (L2, [0, 1] pixel space)"}


def margins_vs_depth(cube: xr.Dataset, metrics: xr.Dataset, seed_pairs: int) -> plt.Figure:
    """Figure 6 (left, middle): test examples' mean output and input margins against their mean depth (log), with
    the fidelity table's r: its cross-seed verdict and the reading the paper states (per-example means)."""
    measured = [m for m in MARGINS if np.isfinite(metrics[f"{m}_margin_val"].values).any()]
    fig, axes = plt.subplots(1, len(measured), figsize=(5.5 * len(measured), 4), squeeze=False, layout="constrained")
    depth = claims.test_mean_depth(cube)
    for ax, margin in zip(axes[0], measured, strict=True):
        values = metrics[f"{margin}_margin_val"].values
        positive = values[np.isfinite(depth) & (values > 0)]
        low, high = np.quantile(positive, [0.001, 0.999]) if positive.size else (1e-3, 1.0)
        edges = np.geomspace(low, high * 1.0001, 31) if high > low else np.geomspace(low / 2, low * 2, 31)
        density(ax, depth, np.where(values > 0, values, np.nan), depth_edges(cube), edges)
        ax.set_yscale("log")
        ax.set_xlabel("mean prediction depth (test examples)")
        ax.set_ylabel(MARGINS[margin])
        same_seed = {crossfit.EXAMPLE_MEANS: crossfit.margin_readings(cube, metrics, margin)[crossfit.EXAMPLE_MEANS]}
        r = crossfit.labelled(crossfit.margin_test(cube, metrics, margin, seed_pairs), same_seed)
        ax.set_title(f"{margin} margin\nPearson r(depth, log10 margin) = {readings(r)}")
    note = "" if "input" in measured else " (input margins not measured: metrics.input_margin.split)"
    fig.suptitle(f"Margins vs prediction depth. {describe(cube)}{note}")
    return fig


def margin_interventions(cubes: dict[str, xr.Dataset]) -> plt.Figure:
    """Figure 6 (right): k-NN probe accuracy per layer of networks trained with 0-Hinge, cross-entropy, and not
    at all; training split solid, test dashed."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for colour, (label, cube) in zip(PALETTE, cubes.items(), strict=False):
        correct = cube.knn_pred == cube.label
        train = correct.where(cube.in_train).mean(("example", "seed"))
        test = correct.where((cube.orig_split == TEST) & xr.ones_like(cube.in_train)).mean(("example", "seed"))
        ax.plot(cube.depth, train, color=colour, marker="o", label=f"{label}, training split")
        ax.plot(cube.depth, test, color=colour, linestyle="--", label=f"{label}, test")
    layer_axis(ax, max(cubes.values(), key=lambda c: c.sizes["layer"]))
    ax.set_ylabel("k-NN probe accuracy")
    ax.legend()
    first = next(iter(cubes.values()))
    ax.set_title(
        f"Probes of networks trained without margin, {model_title(first)}\n"
        + "\n".join(
            f"{label}: {cube.sizes['seed']} seed(s), {cube.sizes['example']:,} examples"
            for label, cube in cubes.items()
        )
    )
    return fig
