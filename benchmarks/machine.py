"""The yardstick of the speed benchmarks: this machine's float32 matrix-multiply rate."""

import time


def matmul_rate(size: int = 2048, repeats: int = 20) -> float:
    """GFLOP/s of torch's float32 multiply of two ``size`` x ``size`` matrices on every thread, the best of ``repeats``
    (on this shared 2-core machine single calls vary by tens of percent: 125-180 GFLOP/s)."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    return 2 * size**3 / min(seconds(lambda: a @ b) for _ in range(repeats)) / 1e9


def seconds(fn) -> float:
    """Wall seconds of one call of ``fn``."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started
