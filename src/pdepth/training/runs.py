"""What one training run (dataset, arch, seed) leaves on disk for the later stages: its arrays (``run.npz``), its
weights, and the out-of-fold predictions of its cleanlab folds (``crossval.npz``)."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pdepth.records import NpzRecord


@dataclass
class RunOutputs(NpzRecord):
    example_index: np.ndarray  # (N,) index into the prepared dataset
    in_train: np.ndarray  # (N,) bool, membership of this seed's training split
    snapshot_preds: np.ndarray  # (S, N) int16, predicted class at each snapshot (-1: none yet); last: end of training
    # (the final model's eval-mode prediction of every example is in probes.npz: pdepth.probing.results)
    snapshot_steps: np.ndarray  # (S,) optimiser steps before each snapshot
    snapshot_lag: np.ndarray  # (S, N) steps between each prediction and its snapshot (training forward passes)
    score_epochs: np.ndarray  # (P,) epochs after which the training-dynamics scores were read; the last: the end
    forgetting_events: np.ndarray  # (P, N) int32, per training example (pdepth.metrics.scores); 0 if held out
    never_learned: np.ndarray  # (P, N) bool
    aum: np.ndarray  # (P, N) float32, NaN if never presented (held out)
    confidence: np.ndarray  # (P, N) float32
    variability: np.ndarray  # (P, N) float32
    correctness: np.ndarray  # (P, N) float32
    presentations: np.ndarray  # (P, N) int32
    el2n: np.ndarray  # (N,) float32, eval mode after training.el2n_epoch (NaN: held out)
    job: str = ""  # JSON of the training job that made it (pdepth.config.jobs.TrainJob)


@dataclass
class CrossvalResults(NpzRecord):
    """One seed's out-of-fold probabilities: each training example's softmax from the fold model that never saw it."""

    RETIRED = ("score_epochs",)  # older files: the score points' epochs, kept in run.npz

    probabilities: np.ndarray  # (P, N, C) float32 at each score point (run.npz's score_epochs); NaN outside training
    fold: np.ndarray  # (N,) int8 the example's fold, NOT_TRAINED outside the seed's training split
    job: str = ""  # JSON of the job that made it (pdepth.config.jobs.CrossvalJob)


def same_points(path: Path, found: int, expected: int) -> None:
    """A file indexed by score point must hold the run's points (run.npz's score_epochs), no more, no fewer."""
    if found != expected:
        raise ValueError(
            f"{path}: {found} score points, but the runs have {expected} (training.score_epochs changed since it "
            "was made?); remove it and run the workflow again, which re-makes it"
        )


def load_weights(weights: Path, device) -> dict:
    """A training run's ``model.pt``: arch, options, the final ``state_dict``, and ``state_dicts_at_points``: the
    states at the score points before the last (the run's ``score_epochs[:-1]``, in that order)."""
    import torch

    saved = torch.load(weights, map_location=device, weights_only=True)
    if "state_dict_after" in saved:  # an older file: keyed by epoch, the points in epoch order
        by_epoch = saved.pop("state_dict_after")
        saved["state_dicts_at_points"] = [by_epoch[epoch] for epoch in sorted(by_epoch)]
    return saved


def trained_model(saved: dict, shape, device, point: int | None = None):
    """The model of ``saved`` (:func:`load_weights`; at the earlier score point ``point``: its weights then) for
    inputs of ``shape`` (``pdepth.models.InputShape``), in eval mode on ``device``."""
    from pdepth.models import build

    model = build(saved["arch"], shape, saved["options"]).to(device)
    model.load_state_dict(saved["state_dict"] if point is None else saved["state_dicts_at_points"][point])
    return model.eval()
