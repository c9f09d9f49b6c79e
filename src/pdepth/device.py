"""Where torch runs: the device, its thread count, and deterministic settings."""

import os
import socket

import torch

from pdepth.errors import ConfigError


def pick_device(preference: str = "auto") -> torch.device:
    """``auto`` takes CUDA when present, the CPU otherwise; a CUDA device this machine lacks is a ConfigError."""
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(preference)
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (device.index or 0) >= count:
            visible = os.environ.get("CUDA_VISIBLE_DEVICES")
            raise ConfigError(
                f"device: {preference}, but torch {torch.__version__} (CUDA {torch.version.cuda or 'none'}) sees "
                f"{count} CUDA GPU(s) on {socket.gethostname()}"
                + (f" (CUDA_VISIBLE_DEVICES={visible!r})" if visible is not None else "")
                + "; set device: auto (the GPU when there is one, else the CPU) or cpu, or run where the GPU is"
            )
    return device


def usable_cpus() -> int:
    """CPUs this process may run on (respects Slurm and taskset allocations)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def configure_torch(threads: int) -> None:
    """Use at most ``threads`` CPU threads (never more than the CPUs we have) and deterministic kernels."""
    torch.set_num_threads(max(1, min(threads, usable_cpus())))
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
