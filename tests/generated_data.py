"""Small datasets written in the exact on-disk formats of CIFAR-10, CIFAR-100 and SVHN, for offline tests.

Each writer returns what it wrote: the file's MD5 and the arrays a correct reader must give back.
"""

import hashlib
import io
import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io

from pdepth.data import cifar

CIFAR10_CLASSES = list(cifar.CIFAR10_CLASSES)


@dataclass
class Written:
    """A generated raw file and the examples in it, original train then test, images (N, 32, 32, 3)."""

    path: Path
    md5: str
    images: np.ndarray
    labels: np.ndarray
    orig_split: np.ndarray
    classes: list[str]
    coarse_labels: np.ndarray | None = None
    coarse_classes: list[str] | None = None


def md5(path: Path) -> str:
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def _images(rng: np.random.Generator, n: int, labels: np.ndarray) -> np.ndarray:
    """(n, 32, 32, 3) uint8 images whose mean brightness depends on the class, so that a model can learn them."""
    noise = rng.integers(0, 96, size=(n, 32, 32, 3))
    return (noise + (labels * 16)[:, None, None, None] % 160).astype(np.uint8)


def _rows(images: np.ndarray) -> np.ndarray:
    """The CIFAR row layout: 3072 values per image, red plane, then green, then blue."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2).reshape(len(images), -1))


def _add_pickle(tar: tarfile.TarFile, name: str, obj: dict) -> None:
    data = pickle.dumps(obj, protocol=2)  # the archives hold Python 2 pickles (protocol 2)
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_cifar10(directory: Path, per_batch: int = 40, n_test: int = 50, seed: int = 0) -> Written:
    """``cifar-10-python.tar.gz``: data_batch_1..5, test_batch and batches.meta under cifar-10-batches-py/."""
    rng = np.random.default_rng(seed)
    path = Path(directory) / "cifar-10-python.tar.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    images, labels, splits = [], [], []
    with tarfile.open(path, "w:gz") as tar:
        batches = [(f"data_batch_{i}", per_batch, 0) for i in range(1, 6)] + [("test_batch", n_test, 1)]
        for name, n, split in batches:
            y = rng.integers(0, 10, size=n)
            x = _images(rng, n, y)
            batch = {
                "batch_label": f"{name} of 6",
                "labels": [int(v) for v in y],  # a list of ints, as in the real files
                "data": _rows(x),
                "filenames": [f"{name}_{i}.png" for i in range(n)],
            }
            _add_pickle(tar, f"cifar-10-batches-py/{name}", batch)
            images.append(x), labels.append(y), splits.append(np.full(n, split))
        meta = {"num_cases_per_batch": per_batch, "label_names": CIFAR10_CLASSES, "num_vis": 3072}
        _add_pickle(tar, "cifar-10-batches-py/batches.meta", meta)
        readme = b"<html>generated for tests</html>"
        info = tarfile.TarInfo("cifar-10-batches-py/readme.html")
        info.size = len(readme)
        tar.addfile(info, io.BytesIO(readme))
    return Written(
        path, md5(path), np.concatenate(images), np.concatenate(labels), np.concatenate(splits), meta["label_names"]
    )


def write_cifar100(directory: Path, n_train: int = 300, n_test: int = 100, seed: int = 0) -> Written:
    """``cifar-100-python.tar.gz``: train, test and meta under cifar-100-python/, fine and coarse labels."""
    rng = np.random.default_rng(seed)
    fine_names = [f"fine_{i:02d}" for i in range(100)]
    coarse_names = [f"coarse_{i:02d}" for i in range(20)]
    coarse_of_fine = rng.permutation(np.repeat(np.arange(20), 5))
    path = Path(directory) / "cifar-100-python.tar.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    images, fine, coarse, splits = [], [], [], []
    with tarfile.open(path, "w:gz") as tar:
        for name, n, split in (("train", n_train, 0), ("test", n_test, 1)):
            y = rng.integers(0, 100, size=n)
            x = _images(rng, n, y)
            batch = {
                "filenames": [f"{name}_{i}.png" for i in range(n)],
                "batch_label": f"{name} batch 1 of 1",
                "fine_labels": [int(v) for v in y],
                "coarse_labels": [int(v) for v in coarse_of_fine[y]],
                "data": _rows(x),
            }
            _add_pickle(tar, f"cifar-100-python/{name}", batch)
            images.append(x), fine.append(y), coarse.append(coarse_of_fine[y]), splits.append(np.full(n, split))
        _add_pickle(tar, "cifar-100-python/meta", {"fine_label_names": fine_names, "coarse_label_names": coarse_names})
    return Written(
        path,
        md5(path),
        np.concatenate(images),
        np.concatenate(fine),
        np.concatenate(splits),
        fine_names,
        np.concatenate(coarse),
        coarse_names,
    )


def write_svhn(directory: Path, n_train: int = 200, n_test: int = 80, seed: int = 0) -> dict[str, Written]:
    """``train_32x32.mat`` and ``test_32x32.mat`` (MATLAB v5): X of shape 32x32x3xN, y of shape Nx1 in 1..10."""
    rng = np.random.default_rng(seed)
    written = {}
    for name, n, split in (("train_32x32.mat", n_train, 0), ("test_32x32.mat", n_test, 1)):
        digits = rng.integers(0, 10, size=n)
        digits[:10] = np.arange(10)  # every digit, 0 included, appears
        x = _images(rng, n, digits)
        stored = np.where(digits == 0, 10, digits).astype(np.uint8)  # SVHN writes digit 0 as label 10
        path = Path(directory) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        scipy.io.savemat(path, {"X": np.ascontiguousarray(x.transpose(1, 2, 3, 0)), "y": stored[:, None]}, format="5")
        written[name] = Written(path, md5(path), x, digits, np.full(n, split), [str(d) for d in range(10)])
    return written
