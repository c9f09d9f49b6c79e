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
    """All examples of one dataset. ``images`` is uint8 of shape (N, H, W, C).

    ``mean`` and ``std`` are the per-channel statistics of the original training set's pixels in [0, 1], the
    default normalisation of every model trained on the dataset.
    """

    images: np.ndarray
    labels: np.ndarray
    orig_split: np.ndarray
    orig_index: np.ndarray
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # per-example extras, e.g. CIFAR100 coarse labels
    extra_classes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # names of categorical extras

    def __post_init__(self):
        n = len(self.images)
        if self.images.dtype != np.uint8 or self.images.ndim != 4:
            raise DataError(f"images must be uint8 (N, H, W, C), got {self.images.dtype} {self.images.shape}")
        per_example = {"labels": self.labels, "orig_split": self.orig_split, "orig_index": self.orig_index}
        for name, array in {**per_example, **self.extra}.items():
            if len(array) != n:
                raise DataError(f"{name} has {len(array)} entries for {n} images")

    @classmethod
    def from_splits(
        cls, train_images, train_labels, test_images, test_labels, classes, extra=None, extra_classes=None
    ) -> "Prepared":
        """Concatenate the original train and test sets in this order and number them.

        ``extra`` maps a name to its (train, test) pair of per-example arrays.
        """
        n_train, n_test = len(train_images), len(test_images)
        labels = np.concatenate([train_labels, test_labels]).astype(np.int16)
        if labels.min(initial=0) < 0 or labels.max(initial=0) >= len(classes):
            raise DataError(f"labels span {labels.min()}..{labels.max()} but there are {len(classes)} classes")
        mean, std = channel_stats(train_images)
        return cls(
            images=np.concatenate([train_images, test_images]),
            labels=labels,
            orig_split=np.repeat(np.array([TRAIN, TEST], np.uint8), [n_train, n_test]),
            orig_index=np.concatenate([np.arange(n_train), np.arange(n_test)]).astype(np.int32),
            classes=tuple(classes),
            mean=mean,
            std=std,
            extra={name: np.concatenate(pair) for name, pair in (extra or {}).items()},
            extra_classes={name: tuple(names) for name, names in (extra_classes or {}).items()},
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
            "mean": np.array(self.mean),
            "std": np.array(self.std),
            **{f"extra_{k}": v for k, v in self.extra.items()},
            **{f"extraclasses_{k}": np.array(v) for k, v in self.extra_classes.items()},
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
                mean=tuple(float(m) for m in f["mean"]),
                std=tuple(float(s) for s in f["std"]),
                extra={k.removeprefix("extra_"): f[k] for k in f.files if k.startswith("extra_")},
                extra_classes={
                    k.removeprefix("extraclasses_"): tuple(str(c) for c in f[k])
                    for k in f.files
                    if k.startswith("extraclasses_")
                },
            )


def channel_stats(images: np.ndarray, chunk: int = 4096) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation of uint8 (N, H, W, C) images as pixels in [0, 1]."""
    channels = images.shape[-1]
    total, squares, count = np.zeros(channels), np.zeros(channels), 0
    for start in range(0, len(images), chunk):
        pixels = images[start : start + chunk].reshape(-1, channels).astype(np.float64) / 255
        total += pixels.sum(0)
        squares += np.square(pixels).sum(0)
        count += len(pixels)
    if count == 0:
        raise DataError("no training images to compute normalisation statistics from")
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean**2, 0))
    return tuple(float(m) for m in mean), tuple(float(s) for s in std)


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
