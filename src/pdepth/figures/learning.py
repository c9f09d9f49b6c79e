"""Figure 5 and the inference learning curve: what the network learns first is what its early layers decide."""

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from pdepth.data.prepared import TEST, TRAIN
from pdepth.fidelity import claims, crossfit
from pdepth.figures.style import (
    GROUP_COLOURS,
    PALETTE,
    describe,
    groups,
    layer_axis,
    marker_sizes,
    numbers,
    seeds_per,
    title,
)
from pdepth.metrics.learning import CURVE_GROUPS


def inference_learning_curve(cube: xr.Dataset) -> plt.Figure:
    """k-NN probe accuracy per layer for training, holdout and test examples (mean and range over seeds)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    correct = cube.knn_pred == cube.label
    network_correct = cube.pred == cube.label
    for name, mask in groups(cube).items():
        if not bool(mask.any()):
            continue
        per_seed = correct.where(mask).mean("example")  # (seed, layer)
        colour = GROUP_COLOURS[name]
        ax.plot(cube.depth, per_seed.mean("seed"), marker="o", color=colour, label=f"k-NN probe, {name}")
        ax.fill_between(cube.depth, per_seed.min("seed"), per_seed.max("seed"), color=colour, alpha=0.2)
        ax.axhline(
            float(network_correct.where(mask).mean()),
            color=colour,
            linestyle="--",
            linewidth=1,
            label=f"network, {name}",
        )
    layer_axis(ax, cube)
    ax.set_ylabel("accuracy (ground-truth label)")
    ax.legend(ncol=2)
    ax.set_title(f"Inference learning curve. {describe(cube)}")
    return fig


# Figure 5 (left): the same-seed readings its legend gives next to the verdict (the table's `shown` has them all).
LEARNED_SHOWN = (crossfit.PER_APPEARANCE, crossfit.DEPTH_MEANS_WEIGHTED)


def iteration_learned_by_depth(
    cubes: dict[str, xr.Dataset], metrics: dict[str, xr.Dataset], seed_pairs: int
) -> plt.Figure:
    """Figure 5 (left): mean iteration learned at each depth, held out, one curve per dataset; in the legend the
    fidelity table's r: its cross-seed verdict and two same-seed readings (:data:`LEARNED_SHOWN`)."""
    fig, ax = plt.subplots(figsize=(6, 4.5), layout="constrained")
    for colour, dataset in zip(PALETTE, cubes, strict=False):
        cube, data = cubes[dataset], metrics[dataset]
        values = claims.iteration_learned_by_depth(cube, data)
        same_seed = crossfit.learned_readings(cube, data)
        r = crossfit.labelled(crossfit.learned_test(cube, data, seed_pairs), {k: same_seed[k] for k in LEARNED_SHOWN})
        ax.plot(values.depth, values.mean, color=colour, alpha=0.6)
        ax.scatter(
            values.depth,
            values.mean,
            s=marker_sizes(values.fraction),
            color=colour,
            label=f"{title(dataset)}: {numbers(r)}",
        )
    ax.set_xlabel("prediction depth (held out)")
    ax.set_ylabel("mean iteration learned (rescaled: 1 = 95th percentile)")
    legend = "dataset: Pearson r, " + " /\n".join(r) + "\n(marker size: fraction of appearances)"
    fig.legend(title=legend, loc="outside lower center", ncols=2)
    arch = title(next(iter(cubes.values())).attrs["architecture"])
    ax.set_title(f"Iteration learned vs prediction depth, {arch} (seeds per dataset: {seeds_per(cubes)})")
    return fig


# The paper's four components of a label-noise training split (Figure 5, middle and right), in its colours' order.
NOISE_GROUPS = (CURVE_GROUPS[0], CURVE_GROUPS[1], CURVE_GROUPS[2], CURVE_GROUPS[4])


def noise_group_masks(cube: xr.Dataset) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(example, seed) mask and per-example target labels of each component, as ``metrics.build`` defines them."""
    in_train = cube.in_train.values
    mislabelled = cube.mislabelled.values[:, None]
    test = np.broadcast_to((cube.orig_split.values == TEST)[:, None], in_train.shape)
    label, clean = cube.label.values, cube.clean_label.values
    return {
        CURVE_GROUPS[0]: (in_train & ~mislabelled, label),
        CURVE_GROUPS[1]: (in_train & mislabelled, label),
        CURVE_GROUPS[2]: (in_train & mislabelled, clean),
        CURVE_GROUPS[4]: (test, label),
    }


def label_noise_curves(cube: xr.Dataset, metrics: xr.Dataset) -> plt.Figure:
    """Figure 5 (middle, right): the training learning curve and the inference learning curve of the four
    components of a training split with noisy labels (mean over seeds, band: range)."""
    fig, (middle, right) = plt.subplots(1, 2, figsize=(12, 4))
    steps = metrics.snapshot_step.values.mean(axis=0)
    masks = noise_group_masks(cube)
    for colour, name in zip(PALETTE, NOISE_GROUPS, strict=False):
        curve = metrics.learning_curve.sel(group=name).values  # (seed, snapshot)
        middle.plot(steps, curve.mean(axis=0), color=colour, label=name)
        middle.fill_between(steps, curve.min(axis=0), curve.max(axis=0), color=colour, alpha=0.2)
        mask, target = masks[name]
        correct = cube.knn_pred.values == target[:, None, None]
        per_seed = np.array([correct[mask[:, s], s].mean(axis=0) for s in range(cube.sizes["seed"])])
        right.plot(cube.depth, per_seed.mean(axis=0), color=colour, marker="o", label=name)
        right.fill_between(cube.depth, per_seed.min(axis=0), per_seed.max(axis=0), color=colour, alpha=0.2)
    middle.set_xlabel("optimiser step")
    middle.set_ylabel("accuracy of the network")
    middle.set_title("Training learning curve")
    layer_axis(right, cube)
    right.set_ylabel("accuracy of the k-NN probe")
    right.set_title("Inference learning curve")
    middle.legend()
    noise = float(cube.mislabelled.values[cube.orig_split.values == TRAIN].mean())
    fig.suptitle(f"{describe(cube)}; {noise:.0%} of the training set's labels replaced", y=1.02)
    return fig
