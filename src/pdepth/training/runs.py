"""What one training run (dataset, arch, seed) leaves on disk for the later stages."""

from dataclasses import dataclass

import numpy as np

from pdepth.records import NpzRecord


@dataclass
class RunOutputs(NpzRecord):
    example_index: np.ndarray  # (N,) index into the prepared dataset
    in_train: np.ndarray  # (N,) bool, membership of this seed's training split
    logits: np.ndarray  # (N, C) float32, final model
    snapshot_preds: np.ndarray  # (S, N) int16, predicted class at each snapshot (-1: none yet); last: final model
    snapshot_steps: np.ndarray  # (S,) optimiser steps before each snapshot
    snapshot_lag: np.ndarray  # (S, N) steps between each prediction and its snapshot (training forward passes)
    job: str = ""  # JSON of the training job that made it (pdepth.config.jobs.TrainJob)

    @property
    def pred(self) -> np.ndarray:
        return self.logits.argmax(1)
