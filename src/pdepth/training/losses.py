"""Training losses: cross-entropy, and the zero-margin hinge of the paper's 0-Hinge intervention (Section 3.3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported when a loss is computed, so that the configuration layer stays torch-free
    import torch


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    from torch.nn import functional

    return functional.cross_entropy(logits, labels)


def zero_hinge(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of sum_{j != y} max(0, z_j - z_y): zero as soon as the label's logit is the largest.

    The paper prints max(0, z_i - z_j) for label i; minimising that would push the label's logit below all others, so
    we take the zero-margin multi-class hinge it describes ("does not promote confidence"): no reward for margin.
    """
    import torch

    label_logit = logits.gather(1, labels.view(-1, 1))
    return torch.relu(logits - label_logit).sum(dim=1).mean()  # the j = y term is max(0, 0) = 0


LOSSES = {"cross_entropy": cross_entropy, "zero_hinge": zero_hinge}
