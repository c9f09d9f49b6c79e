"""Margins (Section 3.3): the output margin, and the linear approximation of the adversarial input margin (torch
is imported only where the input margin is measured, so the numpy metrics load without it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pdepth.schema import defaults

if TYPE_CHECKING:
    import torch
    from torch import nn

    from pdepth.data.augment import Normalizer


def output_margin(logits: np.ndarray) -> np.ndarray:
    """Largest minus second-largest logit of each example."""
    top2 = np.sort(logits, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def input_margin(
    model: nn.Module,
    images: torch.Tensor,
    normalize: Normalizer,
    batch_size: int = defaults("metrics.input_margin")["batch_size"],
    candidates: int | None = None,
    progress: bool = False,
) -> np.ndarray:
    """min over j != i of |z_i - z_j| / ||grad_x (z_i - z_j)||, i the predicted class (Jiang et al., 2018).

    ``x`` is the image with pixels in [0, 1] (before standardisation), so the margin is an L2 distance in that space.
    ``candidates`` limits j to the classes with the largest logits after i (all classes when None): with 100 classes
    the nearest boundary is almost always among the runners-up, and each candidate costs one backward pass.
    The model must be in eval mode so that examples do not interact (batch norm uses its running statistics).
    """
    import torch
    from tqdm import tqdm

    model.eval()
    margins = []
    for start in tqdm(range(0, len(images), batch_size), disable=not progress, desc="input margin", unit="batch"):
        x = (images[start : start + batch_size].float() / 255).requires_grad_(True)
        logits = model(normalize(x * 255))
        order = logits.detach().argsort(dim=1, descending=True)
        predicted = order[:, :1]
        others = order[:, 1:] if candidates is None else order[:, 1 : 1 + candidates]
        best = torch.full((len(x),), float("inf"), device=x.device)
        for rank in range(others.shape[1]):
            gap = (logits.gather(1, predicted) - logits.gather(1, others[:, rank : rank + 1]))[:, 0]
            (grad,) = torch.autograd.grad(gap.sum(), x, retain_graph=rank + 1 < others.shape[1])
            norm = grad.flatten(1).norm(dim=1)
            best = torch.minimum(best, gap.detach().abs() / norm.clamp_min(1e-12))
        margins.append(best.cpu())
    return torch.cat(margins).numpy().astype(np.float32)
