"""One GPU per job on a machine with several: Snakemake counts the ``gpu`` resource but does not say which device a
job may use, so each job claims free devices with exclusive file locks, held until it ends, and exposes only those
to CUDA through ``CUDA_VISIBLE_DEVICES``. A scheduler that already set ``CUDA_VISIBLE_DEVICES`` (Slurm with
``--gpus``) is left alone.
"""

import contextlib
import fcntl
import logging
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)
VISIBLE = "CUDA_VISIBLE_DEVICES"


def lock_dir() -> Path:
    """Machine-wide (every workflow on the machine shares its GPUs); ``PDEPTH_GPU_LOCKS`` overrides it."""
    return Path(os.environ.get("PDEPTH_GPU_LOCKS", Path(tempfile.gettempdir()) / f"pdepth-gpu-locks-{os.getuid()}"))


def installed_gpus() -> int:
    """Devices ``nvidia-smi`` lists; 0 without NVIDIA drivers. (Asking CUDA would fix its device list too early.)"""
    try:
        result = subprocess.run(["nvidia-smi", "--list-gpus"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(line.startswith("GPU ") for line in result.stdout.splitlines()) if result.returncode == 0 else 0


@contextlib.contextmanager
def claimed_gpus(wanted: int, available: int | None = None, directory: Path | None = None) -> Iterator[list[int]]:
    """Hold ``wanted`` free devices of ``available`` (default: the installed ones) for the ``with`` block."""
    if wanted <= 0 or VISIBLE in os.environ:
        yield []
        return
    available = installed_gpus() if available is None else available
    if available == 0:
        log.warning("the job asks for %d GPU(s) but none is installed; it runs on the CPU", wanted)
        yield []
        return
    directory = directory or lock_dir()
    directory.mkdir(parents=True, exist_ok=True)
    held: list[tuple[int, object]] = []
    try:
        for device in range(available):
            handle = open(directory / f"gpu{device}.lock", "w")  # noqa: SIM115 (kept open while held)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            held.append((device, handle))
            if len(held) == wanted:
                break
        if len(held) < wanted:
            raise RuntimeError(
                f"only {len(held)} of {available} GPUs are free but the job asks for {wanted}: run Snakemake with "
                f"--resources gpu=<number of GPUs> so that it never starts more GPU jobs than there are GPUs"
            )
        devices = [device for device, _ in held]
        os.environ[VISIBLE] = ",".join(map(str, devices))
        log.info("GPU(s) %s claimed (locks in %s)", os.environ[VISIBLE], directory)
        yield devices
    finally:
        for _, handle in held:
            handle.close()  # releases the lock
