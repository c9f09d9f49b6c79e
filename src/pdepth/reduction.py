"""Bounding the width of wide probes before the k-NN search, so that a probing job's memory stays bounded.

A convolutional output (B, C, H, W) wider than ``max_dim`` is average-pooled to the largest s x s grid with
C * s * s <= max_dim (keeping every channel and a coarse layout); what is still wider (a wide vector, or C > max_dim)
is multiplied by a fixed Gaussian random projection to ``max_dim`` dimensions, seeded per probe (Johnson-Lindenstrauss:
distances, hence neighbours, are approximately preserved).
"""

import math

import numpy as np
import torch
import torch.nn.functional as F


class Reducer:
    def __init__(self, max_dim: int | None, seed: int = 0):
        self.max_dim = max_dim
        self.seed = seed
        self._projections: dict[str, torch.Tensor] = {}
        self.descriptions: dict[str, str] = {}

    def __call__(self, name: str, activation: torch.Tensor) -> torch.Tensor:
        """(B, ...) -> (B, d) with d <= max_dim; records what was done to ``name`` in ``descriptions``."""
        shape = tuple(activation.shape[1:])
        out = activation.float()
        steps = []
        if self.max_dim is not None and math.prod(shape) > self.max_dim and out.dim() == 4:
            side = max(1, math.isqrt(self.max_dim // shape[0]))
            if side < min(shape[1:]):
                out = F.adaptive_avg_pool2d(out, side)
                steps.append(f"average pool {shape[1]}x{shape[2]} -> {side}x{side}")
        out = out.flatten(1)
        if self.max_dim is not None and out.shape[1] > self.max_dim:
            steps.append(f"Gaussian random projection {out.shape[1]} -> {self.max_dim}")
            out = out @ self._projection(name, out.shape[1], out.device)
        self.descriptions[name] = "; ".join(steps) or "none"
        return out

    def _projection(self, name: str, dim: int, device: torch.device) -> torch.Tensor:
        if name not in self._projections:
            seed = int(np.random.SeedSequence([self.seed, dim, *name.encode()]).generate_state(1)[0])
            generator = torch.Generator().manual_seed(seed)
            matrix = torch.randn(dim, self.max_dim, generator=generator) / math.sqrt(self.max_dim)
            self._projections[name] = matrix.to(device)
        return self._projections[name]
