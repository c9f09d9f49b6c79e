"""Dataclasses of arrays stored as one compressed .npz file, written atomically."""

import os
from dataclasses import asdict
from pathlib import Path
from typing import Self

import numpy as np


class NpzRecord:
    """Mixin for a dataclass whose fields are arrays: ``save`` never leaves a half-written file under ``path``."""

    def save(self, path: str | Path) -> None:
        path = Path(path)
        partial = path.with_name(path.name + ".part.npz")
        np.savez_compressed(partial, **asdict(self))
        os.replace(partial, path)

    @classmethod
    def load(cls, path: str | Path) -> Self:
        with np.load(path) as f:
            return cls(**{name: f[name] for name in f.files})
