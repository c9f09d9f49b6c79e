"""Dataclasses of arrays stored as one compressed .npz file, written atomically."""

import os
from dataclasses import asdict
from pathlib import Path
from typing import Self

import numpy as np


def save_npz(path: str | Path, arrays: dict, compress: bool = True) -> None:
    """Write ``arrays`` to ``path`` through a temporary name, so a crash never leaves a file that looks complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part.npz")
    (np.savez_compressed if compress else np.savez)(partial, **arrays)
    os.replace(partial, path)


def load_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Every array of an .npz file, read into memory."""
    with np.load(path) as f:
        return {name: f[name] for name in f.files}


class NpzRecord:
    """Mixin for a dataclass whose fields are arrays, stored with ``save_npz``."""

    def save(self, path: str | Path) -> None:
        save_npz(path, asdict(self))

    @classmethod
    def load(cls, path: str | Path) -> Self:
        return cls(**load_npz(path))
