"""What one training run (dataset, arch, seed) leaves on disk for the later stages."""

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class RunOutputs:
    example_index: np.ndarray  # (N,) index into the prepared dataset
    in_train: np.ndarray  # (N,) bool, membership of this seed's training split
    logits: np.ndarray  # (N, C) float32, final model
    snapshot_preds: np.ndarray  # (S, N) int16, predicted class at each snapshot
    snapshot_steps: np.ndarray  # (S,) optimiser steps before each snapshot

    @property
    def pred(self) -> np.ndarray:
        return self.logits.argmax(1)

    def save(self, path: Path) -> None:
        path = Path(path)
        partial = path.with_name(path.name + ".part.npz")
        np.savez_compressed(partial, **self.__dict__)
        os.replace(partial, path)

    @classmethod
    def load(cls, path: Path) -> "RunOutputs":
        with np.load(path) as f:
            return cls(**{name: f[name] for name in f.files})
