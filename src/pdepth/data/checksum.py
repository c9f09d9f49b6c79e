"""MD5 checksums of files, optionally of their gzip-decompressed content."""

import gzip
import hashlib
import zlib
from pathlib import Path

from pdepth.errors import unreadable

_CHUNK = 1 << 20


def md5_of(path: Path, decompress: bool = False) -> str:
    """Hex MD5 of a file's bytes, or of the bytes inside it when ``decompress`` and it is gzip."""
    path = Path(path)
    opener = gzip.open if decompress and is_gzip(path) else open
    digest = hashlib.md5()
    try:
        with opener(path, "rb") as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:  # a truncated or corrupt .gz
        raise unreadable(path, exc) from exc
    return digest.hexdigest()


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as stream:
        return stream.read(2) == b"\x1f\x8b"
