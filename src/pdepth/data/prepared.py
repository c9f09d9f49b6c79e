"""The prepared on-disk format of a dataset: every example in a stable order (original train, then test)."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pdepth.errors import DataError
from pdepth.records import save_npz

TRAIN, TEST = 0, 1
SPLIT_NAMES = ("train", "test")


@dataclass
class Prepared:
    """All examples of one dataset. ``images`` is uint8 of shape (N, H, W, C)."""

    images: np.ndarray
    labels: np.ndarray
    orig_split: np.ndarray
    orig_index: np.ndarray
    classes: tuple[str, ...]
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # per-example extras, e.g. CIFAR100 coarse labels

    def __post_init__(self):
        n = len(self.images)
        if self.images.dtype != np.uint8 or self.images.ndim != 4:
            raise DataError(f"images must be uint8 (N, H, W, C), got {self.images.dtype} {self.images.shape}")
        per_example = {"labels": self.labels, "orig_split": self.orig_split, "orig_index": self.orig_index}
        for name, array in {**per_example, **self.extra}.items():
            if len(array) != n:
                raise DataError(f"{name} has {len(array)} entries for {n} images")

    @classmethod
    def from_splits(cls, train_images, train_labels, test_images, test_labels, classes, extra=None):
        """Concatenate the original train and test sets in this order and number them."""
        n_train, n_test = len(train_images), len(test_images)
        return cls(
            images=np.concatenate([train_images, test_images]),
            labels=np.concatenate([train_labels, test_labels]).astype(np.int16),
            orig_split=np.repeat(np.array([TRAIN, TEST], np.uint8), [n_train, n_test]),
            orig_index=np.concatenate([np.arange(n_train), np.arange(n_test)]).astype(np.int32),
            classes=tuple(classes),
            extra=extra or {},
        )

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def save(self, path: Path) -> None:
        """Uncompressed (loading speed matters more than disk here), written atomically."""
        arrays = {
            "images": self.images,
            "labels": self.labels,
            "orig_split": self.orig_split,
            "orig_index": self.orig_index,
            "classes": np.array(self.classes),
            **{f"extra_{k}": v for k, v in self.extra.items()},
        }
        save_npz(path, arrays, compress=False)

    @classmethod
    def load(cls, path: Path) -> "Prepared":
        with np.load(path) as f:
            return cls(
                images=f["images"],
                labels=f["labels"],
                orig_split=f["orig_split"],
                orig_index=f["orig_index"],
                classes=tuple(str(c) for c in f["classes"]),
                extra={k.removeprefix("extra_"): f[k] for k in f.files if k.startswith("extra_")},
            )


def subset_indices(orig_split: np.ndarray, n_train: int | None, n_test: int | None, seed: int) -> np.ndarray:
    """Indices of a seeded random subset of each original split, in the prepared order. ``None`` keeps a split whole."""
    rng = np.random.default_rng([seed, 0x5B5E7])
    chosen = []
    for split, n in ((TRAIN, n_train), (TEST, n_test)):
        members = np.flatnonzero(orig_split == split)
        if n is not None and n < len(members):
            members = np.sort(rng.choice(members, size=n, replace=False))
        chosen.append(members)
    return np.concatenate(chosen)
