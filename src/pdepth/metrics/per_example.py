"""Per-example metrics of one (variant, dataset, arch): the paper's other views of difficulty, next to the cube.

``build`` takes the arrays of the cube and of the per-seed files and returns ``metrics.nc`` as an xarray Dataset with
dims ``example`` (the cube's), ``seed``, ``layer``, ``corner``, ``snapshot`` and ``group``. "Held out" means not in the
seed's training split: the holdout part of the original training set and the whole original test set.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import xarray as xr

from pdepth.data.prepared import TEST, TRAIN
from pdepth.metrics import consistency, corners
from pdepth.metrics.learning import (
    CURVE_GROUPS,
    iteration_learned,
    learning_curve,
    rescale_iterations,
    with_final_model,
)
from pdepth.metrics.margins import output_margin
from pdepth.metrics.scores import final_loss, toneva_forgetting
from pdepth.outputs.cube import category_names, held_out
from pdepth.training.runs import RunOutputs


@dataclass
class SeedRun:
    """What the metrics read of one seed: its training run's arrays (``run.npz``), its final model's outputs
    (``probes.npz``) and its input margins."""

    outputs: RunOutputs
    logits: np.ndarray  # (N, C) the final model's eval-mode outputs
    input_margin: np.ndarray  # (N,), NaN where not measured

    def snapshots(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(preds, steps, lag) of the run's snapshots and, last, the final model's prediction of every example."""
        return with_final_model(
            self.outputs.snapshot_preds, self.outputs.snapshot_steps, self.outputs.snapshot_lag, self.logits.argmax(1)
        )


def consensus_fraction(votes: np.ndarray, consensus: np.ndarray, k: int) -> np.ndarray:
    """(N, L) fraction of one seed's k votes, at every layer, for each example's consensus class (NaN if none)."""
    index = np.clip(consensus, 0, None).astype(np.int64)[:, None, None]
    counts = np.take_along_axis(votes, np.broadcast_to(index, votes.shape[:2] + (1,)), axis=2)[..., 0]
    return np.where(consensus[:, None] >= 0, counts / k, np.nan)


def per_corner_layer_means(values: np.ndarray, mask: np.ndarray, category: np.ndarray) -> np.ndarray:
    """(corners, L): the mean over each corner's examples and their counted appearances of (N, S, L) ``values``."""
    means = np.full((len(corners.CORNERS), values.shape[2]), np.nan)
    for corner in range(len(corners.CORNERS)):
        use = mask & (category == corner + 1)[:, None]
        if use.any():
            means[corner] = values[use].mean(axis=0)
    return means


def held_out_consensus(cube: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """(class counts (N, C), consensus class (N,)) of the held-out predictions in the cube."""
    num_classes = len(category_names(cube.label))
    counts = consistency.class_counts(cube.pred.values.astype(np.int64), held_out(cube), num_classes)
    return counts, consistency.consensus_class(counts, cube.label.values.astype(np.int64))


def gain_counts(cube: xr.Dataset, chosen: np.ndarray, layer: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per chosen example: correct held-out predictions of the k-NN probe at ``layer``, of the network, and its
    held-out appearances. Section 4's gain is (probe - network) / appearances, summed over the examples."""
    labels = cube.label.values[chosen, None]
    mask = held_out(cube)[chosen]
    probe = ((cube.knn_pred.values[chosen, :, layer] == labels) & mask).sum(axis=1).astype(float)
    network = ((cube.pred.values[chosen] == labels) & mask).sum(axis=1).astype(float)
    return probe, network, mask.sum(axis=1).astype(float)


def corner_variables(
    cube: xr.Dataset,
    consensus: np.ndarray,
    distances: np.ndarray,
    consensus_votes: Callable[[np.ndarray], np.ndarray] | None,
    corner_examples: int,
    gain_layer: int,
) -> dict:
    """Section 4: the forms of difficulty (corners of the (PD_val, PD_train) plane), Figure 8's per-layer probe
    means of each corner's examples, and the accuracy gain of a middle-layer probe."""
    labels = cube.label.values.astype(np.int64)
    held = held_out(cube)
    category = corners.closest_to_corners(distances, corner_examples)
    knn_correct = cube.knn_pred.values == labels[:, None, None]
    figure8 = {
        "corner_knn_true_conf": (cube.knn_true_conf.values, "mean k-NN vote fraction for the ground-truth class"),
        "corner_knn_true_acc": (knn_correct.astype(np.float32), "k-NN probe accuracy for the ground-truth class"),
        "corner_knn_consensus_acc": (
            (cube.knn_pred.values == consensus[:, None, None]).astype(np.float32),
            "k-NN probe agreement with the consensus class",
        ),
    }
    if consensus_votes is not None:  # the probes' votes are read only once the consensus is known
        figure8["corner_knn_consensus_conf"] = (
            consensus_votes(consensus),
            "mean k-NN vote fraction for the consensus class",
        )
    chosen = np.flatnonzero(category == 1 + corners.CORNER_NAMES.index("ambiguous_unless_label_given"))
    probe, network, appearances = gain_counts(cube, chosen, gain_layer)
    total = appearances.sum()
    gain_probe, gain_network = (probe.sum() / total, network.sum() / total) if total else (np.nan, np.nan)
    return {
        "corner_distance": (
            ("example", "corner"),
            distances.astype(np.float32),
            {"long_name": "distance to the corner of the (PD_val, PD_train) plane, both rescaled to [0, 1]"},
        ),
        "difficulty": (
            "example",
            category,
            {
                "long_name": f"form of difficulty: among the {corner_examples} examples closest to a corner",
                "flag_values": np.arange(len(corners.CORNERS) + 1, dtype=np.int8),
                "flag_meanings": "none " + " ".join(corners.CORNER_NAMES),
            },
        ),
        **{
            name: (("corner", "layer"), per_corner_layer_means(values, held, category), {"long_name": text})
            for name, (values, text) in figure8.items()
        },
        "gain_probe_accuracy": (
            (),
            np.float32(gain_probe),
            {"long_name": "k-NN probe accuracy at gain_layer, held out, 'ambiguous unless the label is given' corner"},
        ),
        "gain_network_accuracy": (
            (),
            np.float32(gain_network),
            {"long_name": "network accuracy, held out, 'ambiguous unless the label is given' corner"},
        ),
    }


def _example_var(values, long_name, units="1"):
    return ("example", values, {"long_name": long_name, "units": units})


def _per_seed(values, long_name, units="1"):
    return (("example", "seed"), values.astype(np.float32), {"long_name": long_name, "units": units})


def consistency_variables(cube: xr.Dataset, counts: np.ndarray, consensus: np.ndarray) -> dict:
    """Section 3's views of the held-out ensemble: consistency, consensus-consistency, entropy, mean depths."""
    labels = cube.label.values.astype(np.int64)
    in_train = cube.in_train.values
    held = ~in_train
    pred = cube.pred.values.astype(np.int64)
    pd_val, n_val = consistency.masked_mean(cube.pd.values, held)
    pd_train, n_train = consistency.masked_mean(cube.pd.values, in_train)
    return {
        "consistency": _example_var(
            consistency.consistency(pred, labels, held), "consistency score (eq. 1): held-out predictions = label"
        ),
        "consensus_class": (
            "example",
            consensus.astype(np.int16),
            {
                "long_name": "consensus class: majority of the held-out predictions",
                "tie_break": "the ground-truth class if it is among the tied classes, else the smallest tied class",
                "comment": f"{consistency.NO_CLASS}: never held out, so no consensus",  # kept integer (no CF mask)
            },
        ),
        "consensus_consistency": _example_var(
            consistency.consensus_consistency(pred, consensus, held),
            "consensus-consistency score (eq. 2): held-out predictions = consensus class",
        ),
        "prediction_entropy": _example_var(
            consistency.prediction_entropy(counts), "entropy of the held-out predictions' class distribution", "nat"
        ),
        "n_held_out": _example_var(n_val.astype(np.int32), "held-out appearances with a defined depth", "count"),
        "n_in_train": _example_var(
            n_train.astype(np.int32), "training-split appearances with a defined depth", "count"
        ),
        "pd_val": _example_var(pd_val, "mean prediction depth when held out (PD_val)", "layer"),
        "pd_train": _example_var(pd_train, "mean prediction depth when in the training split (PD_train)", "layer"),
        "loo_consensus_consistency": _per_seed(
            consistency.leave_one_out_consensus_consistency(pred, labels, held, counts),
            "consensus-consistency of the other seeds' held-out predictions (Figure 4, middle)",
        ),
    }


def learning_variables(cube: xr.Dataset, runs: list[SeedRun]) -> dict:
    """Section 3.2: the iteration each example is learned, and the learning curves of each group of examples."""
    labels = cube.label.values.astype(np.int64)
    clean = cube.clean_label.values.astype(np.int64) if "clean_label" in cube.coords else labels
    mislabelled = cube.mislabelled.values if "mislabelled" in cube.coords else np.zeros(len(labels), bool)
    orig_split = cube.orig_split.values
    in_train = cube.in_train.values
    held = ~in_train
    snapshots = [r.snapshots() for r in runs]
    learned = np.stack([rescale_iterations(iteration_learned(*snapshot)) for snapshot in snapshots], axis=1)
    in_train_split = orig_split == TRAIN
    curves = np.stack(
        [
            learning_curve(
                preds,
                {
                    CURVE_GROUPS[0]: (in_train[:, s] & ~mislabelled, labels),
                    CURVE_GROUPS[1]: (in_train[:, s] & mislabelled, labels),
                    CURVE_GROUPS[2]: (in_train[:, s] & mislabelled, clean),
                    CURVE_GROUPS[3]: (in_train_split & held[:, s], labels),
                    CURVE_GROUPS[4]: (orig_split == TEST, labels),
                },
            )
            for s, (preds, _, _) in enumerate(snapshots)
        ]
    )
    return {
        "iteration_learned": _per_seed(
            learned, "iteration learned, rescaled per model: 0 = initialisation, 1 = the model's 95th percentile"
        ),
        "iteration_learned_val": _example_var(
            consistency.masked_mean(learned, held)[0], "mean rescaled iteration learned, held out"
        ),
        "iteration_learned_train": _example_var(
            consistency.masked_mean(learned, in_train)[0], "mean rescaled iteration learned, in the training split"
        ),
        "learning_curve": (
            ("seed", "snapshot", "group"),
            curves.astype(np.float32),
            {"long_name": "accuracy of the network at each prediction snapshot of training"},
        ),
        "snapshot_step": (
            ("seed", "snapshot"),
            np.stack([steps for _, steps, _ in snapshots]),
            {"long_name": "optimiser steps before the snapshot"},
        ),
    }


def margin_variables(cube: xr.Dataset, runs: list[SeedRun]) -> dict:
    """Section 3.3: output margins of every example, input margins of those measured."""
    held = held_out(cube)
    out_margin = np.stack([output_margin(r.logits) for r in runs], axis=1)
    in_margin = np.stack([r.input_margin for r in runs], axis=1)
    return {
        "output_margin": _per_seed(out_margin, "largest minus second-largest logit", "logit"),
        "output_margin_val": _example_var(
            consistency.masked_mean(out_margin, held)[0], "mean output margin, held out", "logit"
        ),
        "input_margin": _per_seed(
            in_margin, "linearised adversarial input margin, L2 in [0, 1] pixel space (NaN: not measured)"
        ),
        "input_margin_val": _example_var(
            consistency.masked_mean(in_margin, held)[0], "mean input margin, held out (where measured)"
        ),
    }


# Training-dynamics scores (docs/outputs.md): name -> (long name, units); each per example, seed and point of training.
DYNAMICS = {
    "forgetting": (
        "forgetting score (Toneva et al., 2019, as their code ranks): forgetting events, or the training passes "
        "where never learned",
        "1",
    ),
    "forgetting_events": ("forgetting events: correct -> incorrect between consecutive training passes (raw)", "1"),
    "never_learned": ("never predicted correctly in a training pass (1) (Toneva et al., 2019)", "1"),
    "aum": ("area under the margin: mean over training passes of assigned logit minus largest other", "logit"),
    "confidence": ("dataset map: mean probability of the assigned label over training passes", "1"),
    "variability": ("dataset map: standard deviation (ddof 0) of that probability over training passes", "1"),
    "correctness": ("dataset map: fraction of training passes predicting the assigned label", "1"),
}


def _dynamics(run: SeedRun, name: str) -> np.ndarray:
    """One score of a run (P, N): recorded, or, for "forgetting", derived from the recorded counts."""
    if name != "forgetting":
        return getattr(run.outputs, name)
    return toneva_forgetting(run.outputs.forgetting_events, run.outputs.never_learned, run.outputs.presentations)


def dynamics_variables(cube: xr.Dataset, runs: list[SeedRun]) -> dict:
    """The standard difficulty scores of the training examples, per seed and point of training (NaN where the seed
    held the example out), their means over the seeds that trained on it at the end, EL2N and the final loss."""
    in_train = cube.in_train.values
    labels = cube.label.values.astype(np.int64)
    epochs = [r.outputs.score_epochs for r in runs]
    point_epochs = epochs[0]
    if any(not np.array_equal(seed_epochs, point_epochs) for seed_epochs in epochs):
        raise ValueError(f"the seeds read their scores after different epochs: {[list(e) for e in epochs]}")
    found = {}
    for name, (long_name, units) in DYNAMICS.items():
        values = np.stack([_dynamics(r, name).astype(np.float32) for r in runs], axis=1)  # (P, S, N)
        values = np.where(in_train.T[None], values, np.nan).transpose(2, 1, 0)  # (N, S, P)
        found[name] = (("example", "seed", "score_point"), values, {"long_name": long_name, "units": units})
        found[f"{name}_train"] = _example_var(
            consistency.masked_mean(values[..., -1], in_train)[0],
            f"mean over the seeds that trained on it: {long_name}",
        )
    el2n = np.where(in_train, np.stack([r.outputs.el2n for r in runs], axis=1), np.nan)
    loss = np.stack([final_loss(r.logits, labels) for r in runs], axis=1)
    return found | {
        "el2n": _per_seed(el2n, "EL2N: L2 norm of softmax minus one-hot label, eval mode after training.el2n_epoch"),
        "el2n_train": _example_var(
            consistency.masked_mean(el2n, in_train)[0], "mean EL2N over the seeds that trained on it"
        ),
        "final_loss": _per_seed(loss, "cross-entropy of the assigned label under the final model (eval mode)", "nat"),
        "final_loss_train": _example_var(consistency.masked_mean(loss, in_train)[0], "mean final loss, in training"),
        "final_loss_val": _example_var(consistency.masked_mean(loss, ~in_train)[0], "mean final loss, held out"),
        "score_epoch": ("score_point", point_epochs, {"long_name": "epochs of training before the scores were read"}),
    }


def build(
    cube: xr.Dataset,
    runs: list[SeedRun],
    consensus_votes: Callable[[np.ndarray], np.ndarray] | None,  # consensus (N,) -> (N, S, L) vote fractions
    corner_examples: int,
    gain_layer: int,
) -> xr.Dataset:
    """metrics.nc: every family of per-example quantities, with the cube's coordinates."""
    counts, consensus = held_out_consensus(cube)
    data_vars = consistency_variables(cube, counts, consensus) | learning_variables(cube, runs)
    data_vars |= margin_variables(cube, runs) | dynamics_variables(cube, runs)
    distances = corners.corner_distances(data_vars["pd_val"][1], data_vars["pd_train"][1])
    if np.isfinite(distances).any():  # some examples were both held out and trained on: a design with a holdout
        data_vars |= corner_variables(cube, consensus, distances, consensus_votes, corner_examples, gain_layer)
    coords = {name: cube[name] for name in cube.coords if cube[name].dims in (("example",), ("seed",), ("layer",))}
    coords |= {
        "corner": ("corner", list(corners.CORNER_NAMES)),
        "group": ("group", list(CURVE_GROUPS)),
    }
    attrs = {
        key: cube.attrs[key]
        for key in ("dataset", "architecture", "variant", "design", "k", "job", "git_commit")
        if key in cube.attrs
    }
    attrs |= {"title": "per-example metrics", "corner_examples": corner_examples, "gain_layer": gain_layer}
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)
