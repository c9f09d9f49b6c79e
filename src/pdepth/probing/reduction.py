"""Bounding the width of wide probes before the k-NN search, so that a probing job's memory stays bounded.

Two methods for an activation wider than ``max_dim``:

- ``pool``: a convolutional output (B, C, H, W) is average-pooled to the largest s x s grid with C * s * s <= max_dim
  (every channel kept, the layout coarsened); whatever is still too wide is then projected as below.
- ``project``: the flattened activation is multiplied by a fixed Gaussian random projection to ``max_dim`` dimensions,
  seeded per probe (Johnson-Lindenstrauss: distances, hence neighbours, are approximately preserved).
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

from pdepth.schema import choices


class Reducer:
    def __init__(self, max_dim: int | None, seed: int, method: str):
        if method not in choices("probe.reduction"):
            raise ValueError(f"reduction method must be one of {choices('probe.reduction')}, got {method!r}")
        self.max_dim = max_dim
        self.seed = seed
        self.method = method
        self._projections: dict[str, torch.Tensor] = {}
        self.descriptions: dict[str, str] = {}

    def __call__(self, name: str, activation: torch.Tensor) -> torch.Tensor:
        """(B, ...) -> (B, d) with d <= max_dim; records what was done to ``name`` in ``descriptions``."""
        shape = tuple(activation.shape[1:])
        out = activation.float()
        steps = []
        too_wide = self.max_dim is not None and math.prod(shape) > self.max_dim
        if too_wide and self.method == "pool" and out.dim() == 4:
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
