"""Where torch runs: the device, its thread count, and deterministic settings."""

import os

import torch


def pick_device(preference: str = "auto") -> torch.device:
    """``auto`` takes CUDA when present, the CPU otherwise."""
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(preference)


def usable_cpus() -> int:
    """CPUs this process may run on (respects Slurm and taskset allocations)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def configure_torch(threads: int) -> None:
    """Use at most ``threads`` CPU threads (never more than the CPUs we have) and deterministic kernels."""
    torch.set_num_threads(max(1, min(threads, usable_cpus())))
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
