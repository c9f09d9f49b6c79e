"""Batch-wise augmentation and normalisation of uint8 image tensors, on whatever device they live."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where tensors are made, so that the datasets' registry stays light
    import torch


class Normalizer:
    """uint8 (N, C, H, W) -> float, standardised with per-channel mean and std of pixels in [0, 1]."""

    def __init__(self, mean, std, device):
        import torch

        self.mean = torch.tensor(mean, device=device).view(1, -1, 1, 1) * 255
        self.std = torch.tensor(std, device=device).view(1, -1, 1, 1) * 255

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return (images.float() - self.mean) / self.std


def augment(images: torch.Tensor, crop_padding: int, flip: bool, generator: torch.Generator) -> torch.Tensor:
    """Random crop after zero padding and random horizontal flip, one draw per image from ``generator``."""
    import torch

    n, _, h, w = images.shape
    if flip:
        flipped = torch.rand(n, generator=generator, device=generator.device) < 0.5
        images = torch.where(flipped.view(-1, 1, 1, 1), images.flip(3), images)
    if crop_padding > 0:
        p = crop_padding
        padded = torch.nn.functional.pad(images, (p, p, p, p))
        dy = torch.randint(0, 2 * p + 1, (n,), generator=generator, device=generator.device)
        dx = torch.randint(0, 2 * p + 1, (n,), generator=generator, device=generator.device)
        rows = (dy.view(-1, 1) + torch.arange(h, device=images.device)).view(n, 1, h, 1)
        cols = (dx.view(-1, 1) + torch.arange(w, device=images.device)).view(n, 1, 1, w)
        batch = torch.arange(n, device=images.device).view(n, 1, 1, 1)
        channel = torch.arange(images.shape[1], device=images.device).view(1, -1, 1, 1)
        images = padded[batch, channel, rows, cols]
    return images


@dataclass(frozen=True)
class Augmentation:
    """Training-time augmentation of a dataset: random crop after ``crop_padding`` zero pixels, horizontal flips."""

    crop_padding: int = 0
    flip: bool = False

    @property
    def active(self) -> bool:
        return self.crop_padding > 0 or self.flip

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return augment(images, self.crop_padding, self.flip, generator)
