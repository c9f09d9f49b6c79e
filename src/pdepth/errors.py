"""Errors that tell the user what went wrong and what to do about it."""


class PdepthError(Exception):
    """Base class of the errors this package raises on purpose."""


class DataError(PdepthError):
    """A dataset file is missing, truncated, malformed or fails its checksum."""


def unreadable(path, exc: BaseException, what: str = "") -> DataError:
    """The error for a data file that cannot be read: its path, the reader's complaint, and what to do."""
    return DataError(
        f"{path} cannot be read{' as ' + what if what else ''} ({type(exc).__name__}: {exc}); it is corrupt or "
        "truncated: delete it and pre-stage or download it again"
    )


class StorageError(PdepthError):
    """An output cannot be written: its file system is full (or refuses the write)."""


def storage_error(path, exc: OSError, needed: int | None = None) -> StorageError:
    """The error for an output that could not be written: its path, the cause, the space needed and free."""
    import shutil
    from pathlib import Path

    folder = next((p for p in Path(path).absolute().parents if p.exists()), Path("/"))
    free = shutil.disk_usage(folder).free
    need = f"{needed / 2**20:,.1f} MiB needed, " if needed is not None else ""
    return StorageError(
        f"cannot write {path}: {exc.strerror or exc} ({need}{free / 2**20:,.1f} MiB free on its file system); free "
        "some space (or point the workflow's directory elsewhere) and re-run"
    )


class ConfigError(PdepthError):
    """The study configuration has a value the workflow cannot run with."""


class TrainingDiverged(PdepthError):
    """The training loss became NaN or infinite."""
