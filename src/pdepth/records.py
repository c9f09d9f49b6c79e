"""Files written atomically (through a temporary name), and dataclasses of arrays stored as one compressed .npz."""

import contextlib
import errno
import os
from collections.abc import Iterator
from dataclasses import MISSING, asdict, fields
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


def load_array(path: str | Path, name: str) -> np.ndarray:
    """One array of an .npz file, the others left unread."""
    with np.load(path) as f:
        if name not in f.files:
            raise older_file(path, f"it has no {name!r}")
        return f[name]


def older_file(path: str | Path, what: str) -> ValueError:
    return ValueError(
        f"{path}: {what}; it was written by another version of pdepth. Remove it (and the files made from it) and run "
        "the workflow again, which re-makes them"
    )


class NpzRecord:
    """Mixin for a dataclass whose fields are arrays, stored with ``save_npz``. ``RETIRED``: arrays that files of an
    earlier version hold and this one no longer stores (each a copy of a fact kept elsewhere); loading skips them.
    A file that lacks an array of this version, or holds one it does not know, is an error that says what to do."""

    RETIRED: tuple[str, ...] = ()

    def save(self, path: str | Path) -> None:
        save_npz(path, asdict(self))

    @classmethod
    def load(cls, path: str | Path) -> Self:
        arrays = {name: value for name, value in load_npz(path).items() if name not in cls.RETIRED}
        known = {field.name for field in fields(cls)}
        required = {field.name for field in fields(cls) if field.default is MISSING}
        if missing := sorted(required - set(arrays)):
            raise older_file(path, f"it lacks {missing}")
        if unknown := sorted(set(arrays) - known):
            raise older_file(path, f"it holds {unknown}, which this version does not")
        return cls(**arrays)
