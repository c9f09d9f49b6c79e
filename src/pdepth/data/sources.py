"""Find a dataset's raw files: a pre-staged directory, system copies, then the official download URLs."""

import logging
from dataclasses import dataclass
from pathlib import Path

from pdepth.data.checksum import md5_of
from pdepth.data.download import download
from pdepth.errors import DataError
from pdepth.schema import defaults

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RawFile:
    """One file of a dataset as published: its name, checksum and where it can be fetched."""

    name: str
    md5: str
    urls: tuple[str, ...]
    md5_of_decompressed: bool = False  # Debian recompresses the IDX .gz files: only the content's MD5 is stable


@dataclass(frozen=True)
class SourceOptions:
    """Where to look for raw files, in order, and how to download them."""

    data_dir: Path | None = None
    system_dirs: tuple[Path, ...] = ()
    download_dir: Path | None = None
    download: bool = True
    mirrors: tuple[str, ...] = ()  # base URLs tried before the official ones
    retries: int = defaults("data")["retries"]
    backoff_s: float = 2.0


def locate(dataset: str, raw: RawFile, options: SourceOptions) -> Path:
    """Return a verified local path of ``raw``; raise DataError that says how to pre-stage it if none is found."""
    checked = []
    candidates = [options.data_dir, *options.system_dirs, options.download_dir]
    for directory in (Path(d) for d in candidates if d is not None):
        path = directory / raw.name
        if not path.exists():
            checked.append(f"{path}: not present")
            continue
        actual = md5_of(path, decompress=raw.md5_of_decompressed)
        if actual != raw.md5:
            raise DataError(_mismatch_message(dataset, raw, path, actual))
        log.info("%s: using %s (md5 ok)", dataset, path)
        return path
    if options.download and options.download_dir is not None:
        urls = [m.rstrip("/") + "/" + raw.name for m in options.mirrors] + list(raw.urls)
        try:
            return download(
                urls,
                Path(options.download_dir) / raw.name,
                raw.md5,
                decompressed_md5=raw.md5_of_decompressed,
                retries=options.retries,
                backoff_s=options.backoff_s,
            )
        except DataError as exc:
            checked.append(str(exc))
    else:
        checked.append("download disabled (data.download: false)")
    raise DataError(_missing_message(dataset, raw, checked))


def _what(raw: RawFile) -> str:
    return f"md5 {raw.md5}" + (" of its decompressed content" if raw.md5_of_decompressed else "")


def _how_to_prestage(dataset: str, raw: RawFile) -> str:
    return (
        f"To pre-stage it, put {raw.name} ({_what(raw)}) in a directory and set `data: {{data_dir: DIR}}` in the "
        f"config (or pass --config 'data={{data_dir: DIR}}'); "
        + (f"it can be fetched from {raw.urls[0]}" if raw.urls else "it has no download URL: make it as its docs say")
    )


def _mismatch_message(dataset: str, raw: RawFile, path: Path, actual: str) -> str:
    return (
        f"{dataset}: checksum mismatch for {path}: expected {_what(raw)}, got {actual}. The file is corrupt, "
        f"truncated or a different version; delete it. {_how_to_prestage(dataset, raw)}."
    )


def _missing_message(dataset: str, raw: RawFile, checked: list[str]) -> str:
    return (
        f"{dataset}: no source for {raw.name} (expected {_what(raw)}). Looked at:\n  "
        + "\n  ".join(checked)
        + f"\n{_how_to_prestage(dataset, raw)}."
    )
