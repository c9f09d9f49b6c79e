"""Fashion-MNIST: the four gzip-compressed IDX files of zalandoresearch/fashion-mnist."""

from pathlib import Path

from pdepth.data.idx import read_idx
from pdepth.data.prepared import Prepared
from pdepth.data.registry import DatasetSpec, register
from pdepth.data.sources import RawFile
from pdepth.errors import DataError

URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"


def _idx_file(name: str, md5: str) -> RawFile:
    return RawFile(name=name, md5=md5, urls=(URL + name,), md5_of_decompressed=True)


def read(paths: dict[str, Path]) -> Prepared:
    arrays = {name: read_idx(path) for name, path in paths.items()}
    train_x, train_y = arrays[TRAIN_IMAGES], arrays[TRAIN_LABELS]
    test_x, test_y = arrays[TEST_IMAGES], arrays[TEST_LABELS]
    for images, labels, kind in ((train_x, train_y, "train"), (test_x, test_y, "t10k")):
        if images.ndim != 3 or images.shape[0] != labels.shape[0]:
            raise DataError(f"fmnist {kind}: {images.shape[0]} images but {labels.shape[0]} labels")
    return Prepared.from_splits(train_x[..., None], train_y, test_x[..., None], test_y, CLASSES)


FMNIST = register(
    DatasetSpec(
        name="fmnist",
        title="Fashion-MNIST",
        files=(
            _idx_file(TRAIN_IMAGES, "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
            _idx_file(TRAIN_LABELS, "9018921c3c673c538a1fc5bad174d6f9"),
            _idx_file(TEST_IMAGES, "8181f5470baa50b63fa0f6fddb340f0a"),
            _idx_file(TEST_LABELS, "15d484375f8d13e6eb1aabb0c3f46965"),
        ),
        read=read,
        classes=CLASSES,
        system_dirs=("/usr/share/datasets/fashion-mnist",),
        sizes=(60_000, 10_000),
        image_shape=(28, 28, 1),
    )
)
