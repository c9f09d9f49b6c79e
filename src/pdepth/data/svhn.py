"""SVHN (cropped digits): the MATLAB v5 files ``train_32x32.mat`` and ``test_32x32.mat`` of the Stanford page.

Each holds ``X`` of shape 32 x 32 x 3 x N (uint8) and ``y`` of shape N x 1 with labels 1..10, where 10 stands for
the digit 0. Labels are mapped to the digit they show (10 -> 0), as torchvision does, so class i is digit i.
The ``extra`` set (531,131 easier digits) is not part of the study.
"""

from pathlib import Path

import numpy as np
import scipy.io

from pdepth.data.prepared import Prepared
from pdepth.data.registry import DatasetSpec, register
from pdepth.data.sources import RawFile
from pdepth.errors import DataError, unreadable

URL = "http://ufldl.stanford.edu/housenumbers/"
TRAIN, TEST = "train_32x32.mat", "test_32x32.mat"
CLASSES = tuple(str(digit) for digit in range(10))


def read_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 32, 32, 3) uint8 and digit labels 0..9 of one SVHN file; DataError naming it if malformed."""
    try:
        contents = scipy.io.loadmat(path, variable_names=["X", "y"])
    except (ValueError, OSError, TypeError, NotImplementedError) as exc:  # scipy's MatReadError is a ValueError
        raise unreadable(path, exc, "a MATLAB v5 file") from exc
    if "X" not in contents or "y" not in contents:
        raise DataError(f"{path}: expected variables X and y, found {sorted(k for k in contents if k[0] != '_')}")
    images, labels = contents["X"], contents["y"].reshape(-1).astype(np.int64)
    if images.dtype != np.uint8 or images.shape[:3] != (32, 32, 3) or images.ndim != 4:
        raise DataError(f"{path}: X must be uint8 of shape 32x32x3xN, got {images.dtype} {images.shape}")
    if images.shape[3] != len(labels):
        raise DataError(f"{path}: {images.shape[3]} images but {len(labels)} labels")
    if len(labels) and (labels.min() < 1 or labels.max() > 10):
        raise DataError(f"{path}: labels must be 1..10 (10 = digit 0), got {labels.min()}..{labels.max()}")
    return np.ascontiguousarray(images.transpose(3, 0, 1, 2)), labels % 10


def read(paths: dict[str, Path]) -> Prepared:
    train_x, train_y = read_mat(paths[TRAIN])
    test_x, test_y = read_mat(paths[TEST])
    return Prepared.from_splits(train_x, train_y, test_x, test_y, CLASSES)


SVHN = register(
    DatasetSpec(
        title="SVHN",
        name="svhn",
        files=(
            RawFile(TRAIN, "e26dedcc434d2e4c54c9b2d4a06d8373", (URL + TRAIN,)),
            RawFile(TEST, "eb5a983be6a315427106f1b164d9cef3", (URL + TEST,)),
        ),
        read=read,
        classes=CLASSES,
        sizes=(73_257, 26_032),
        image_shape=(32, 32, 3),
    )
)
