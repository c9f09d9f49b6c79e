"""The examples of a study: the prepared dataset, restricted to the configured subset, as tensors."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pdepth.data.label_noise import corrupt_labels
from pdepth.data.prepared import TRAIN, Prepared, subset_indices
from pdepth.models import InputShape

if TYPE_CHECKING:
    import torch


@dataclass
class Examples:
    """Examples in the study's order; ``index`` points into the prepared dataset."""

    index: np.ndarray
    images: np.ndarray  # uint8 (N, H, W, C)
    labels: np.ndarray
    orig_split: np.ndarray
    orig_index: np.ndarray
    classes: tuple[str, ...]
    mean: tuple[float, ...]  # per-channel statistics of the whole original training set (Prepared)
    std: tuple[float, ...]
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    extra_classes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    clean_labels: np.ndarray | None = None  # the dataset's labels when ``labels`` carry label noise
    mislabelled: np.ndarray | None = None

    def __post_init__(self):
        if self.clean_labels is None:
            self.clean_labels = self.labels
        if self.mislabelled is None:
            self.mislabelled = np.zeros(len(self.labels), bool)

    @classmethod
    def load(cls, prepared_path: Path, subset: dict) -> Examples:
        prepared = Prepared.load(prepared_path)
        index = subset_indices(prepared.orig_split, subset.get("train"), subset.get("test"), subset.get("seed", 0))
        return cls(
            index=index,
            images=prepared.images[index],
            labels=prepared.labels[index],
            orig_split=prepared.orig_split[index],
            orig_index=prepared.orig_index[index],
            classes=prepared.classes,
            mean=prepared.mean,
            std=prepared.std,
            extra={name: values[index] for name, values in prepared.extra.items()},
            extra_classes=prepared.extra_classes,
        )

    def with_label_noise(self, fraction: float, seed: int) -> Examples:
        """These examples with ``fraction`` of the original training set's labels replaced (pdepth.data.label_noise)."""
        given, mislabelled = corrupt_labels(
            self.clean_labels, self.orig_split == TRAIN, fraction, len(self.classes), seed
        )
        return replace(self, labels=given.astype(self.labels.dtype), mislabelled=mislabelled)

    def __len__(self) -> int:
        return len(self.index)

    @property
    def shape(self) -> InputShape:
        _, h, w, c = self.images.shape
        return InputShape(channels=c, height=h, width=w, num_classes=len(self.classes))

    def image_tensor(self, device: torch.device) -> torch.Tensor:
        """uint8 (N, C, H, W) on ``device``."""
        import torch

        return torch.from_numpy(np.ascontiguousarray(self.images.transpose(0, 3, 1, 2))).to(device)

    def label_tensor(self, device: torch.device) -> torch.Tensor:
        import torch

        return torch.from_numpy(self.labels.astype(np.int64)).to(device)
