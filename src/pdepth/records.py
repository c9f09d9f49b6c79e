"""Files written atomically (through a temporary name), and dataclasses of arrays stored as one compressed .npz."""

import contextlib
import errno
import os
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Self

import numpy as np

from pdepth.errors import storage_error


@contextlib.contextmanager
def atomic_write(path: str | Path, suffix: str = ".part") -> Iterator[Path]:
    """The name to write ``path`` through: renamed to ``path`` once the block is done, so a crash never leaves a
    file that looks complete; removed if the block fails (an OSError, e.g. a full disk, becomes a StorageError
    naming ``path``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + suffix)
    try:
        yield partial
    except BaseException as exc:  # a full disk or an interrupt: nothing partial is left to keep the disk full
        partial.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise storage_error(path, exc) from exc
        raise
    os.replace(partial, path)


def save_npz(path: str | Path, arrays: dict, compress: bool = True) -> None:
    """Write ``arrays`` to ``path`` atomically."""
    with atomic_write(path, ".part.npz") as partial:  # numpy adds .npz to a name without it
        (np.savez_compressed if compress else np.savez)(partial, **arrays)


def allocate(path: str | Path, nbytes: int) -> None:
    """Reserve ``nbytes`` for the file at ``path`` now, so that a full disk is an error naming it here, not a SIGBUS
    when a memory-mapped page is written later. File systems without ``posix_fallocate`` are left as they are."""
    with open(path, "r+b") as stream:
        try:
            os.posix_fallocate(stream.fileno(), 0, nbytes)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise storage_error(path, exc, nbytes) from exc
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                raise


def load_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Every array of an .npz file, read into memory."""
    with np.load(path) as f:
        return {name: f[name] for name in f.files}


class NpzRecord:
    """Mixin for a dataclass whose fields are arrays, stored with ``save_npz``. ``RETIRED``: arrays that files of an
    earlier version hold and this one no longer stores (each a copy of a fact kept elsewhere); loading skips them."""

    RETIRED: tuple[str, ...] = ()

    def save(self, path: str | Path) -> None:
        save_npz(path, asdict(self))

    @classmethod
    def load(cls, path: str | Path) -> Self:
        arrays = load_npz(path)
        return cls(**{name: value for name, value in arrays.items() if name not in cls.RETIRED})
