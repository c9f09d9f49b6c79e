"""Streaming HTTP download with retries, back-off, progress, and checksum before the final rename."""

import logging
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from pdepth.data.checksum import md5_of
from pdepth.errors import DataError

log = logging.getLogger(__name__)


def download(
    urls: list[str],
    dest: Path,
    md5: str,
    *,
    decompressed_md5: bool = False,
    retries: int,
    backoff_s: float = 2.0,
    timeout_s: float = 60.0,
) -> Path:
    """Fetch ``dest`` from the first URL that works, trying each ``retries`` times with exponential back-off.

    The bytes stream to ``dest.part`` and are renamed to ``dest`` only after the MD5 matches, so an interrupted or
    corrupt transfer never looks like a valid file.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    failures = []
    for url in urls:
        for attempt in range(1, retries + 1):
            try:
                _stream(url, partial, timeout_s)
                actual = md5_of(partial, decompress=decompressed_md5)
                if actual != md5:
                    raise DataError(f"checksum mismatch: got md5 {actual}, expected {md5}")
                os.replace(partial, dest)
                return dest
            except (urllib.error.URLError, OSError, DataError) as exc:
                failures.append(f"{url} (attempt {attempt}): {exc}")
                log.warning("download of %s failed (attempt %d/%d): %s", url, attempt, retries, exc)
                partial.unlink(missing_ok=True)
                if attempt < retries:
                    time.sleep(backoff_s * 2 ** (attempt - 1))
    raise DataError(f"could not download {dest.name}:\n  " + "\n  ".join(failures))


def _stream(url: str, path: Path, timeout_s: float) -> None:
    with urllib.request.urlopen(url, timeout=timeout_s) as response, open(path, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=path.name.removesuffix(".part"), leave=False) as bar:
            while chunk := response.read(1 << 20):
                out.write(chunk)
                bar.update(len(chunk))
