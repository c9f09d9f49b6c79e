"""Registry of datasets: their raw files, how to read them, and their default normalisation."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pdepth.data.idx import read_idx
from pdepth.data.prepared import Prepared
from pdepth.data.sources import RawFile, SourceOptions, locate
from pdepth.errors import ConfigError, DataError


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    files: tuple[RawFile, ...]
    read: Callable[[dict[str, Path]], Prepared]  # raw file name -> path, to the prepared arrays
    system_dirs: tuple[str, ...]
    mean: tuple[float, ...]  # per-channel statistics of the original training set, pixels in [0, 1]
    std: tuple[float, ...]


DATASETS: dict[str, DatasetSpec] = {}


def register(spec: DatasetSpec) -> DatasetSpec:
    DATASETS[spec.name] = spec
    return spec


def get(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise ConfigError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def prepare(name: str, options: SourceOptions) -> Prepared:
    """Locate and verify every raw file of dataset ``name``, then read them into the prepared format."""
    spec = get(name)
    paths = {raw.name: locate(name, raw, options) for raw in spec.files}
    return spec.read(paths)


# --- Fashion-MNIST -------------------------------------------------------------------------------------------------

_FMNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_FMNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def _idx_file(name: str, md5: str) -> RawFile:
    return RawFile(name=name, md5=md5, urls=(_FMNIST_URL + name,), md5_of_decompressed=True)


def _read_fmnist(paths: dict[str, Path]) -> Prepared:
    arrays = {name: read_idx(path) for name, path in paths.items()}
    train_x, train_y = arrays["train-images-idx3-ubyte.gz"], arrays["train-labels-idx1-ubyte.gz"]
    test_x, test_y = arrays["t10k-images-idx3-ubyte.gz"], arrays["t10k-labels-idx1-ubyte.gz"]
    for images, labels, kind in ((train_x, train_y, "train"), (test_x, test_y, "t10k")):
        if images.ndim != 3 or images.shape[0] != labels.shape[0]:
            raise DataError(f"fmnist {kind}: {images.shape[0]} images but {labels.shape[0]} labels")
    return Prepared.from_splits(train_x[..., None], train_y, test_x[..., None], test_y, _FMNIST_CLASSES)


FMNIST = register(
    DatasetSpec(
        name="fmnist",
        files=(
            _idx_file("train-images-idx3-ubyte.gz", "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
            _idx_file("train-labels-idx1-ubyte.gz", "9018921c3c673c538a1fc5bad174d6f9"),
            _idx_file("t10k-images-idx3-ubyte.gz", "8181f5470baa50b63fa0f6fddb340f0a"),
            _idx_file("t10k-labels-idx1-ubyte.gz", "15d484375f8d13e6eb1aabb0c3f46965"),
        ),
        read=_read_fmnist,
        system_dirs=("/usr/share/datasets/fashion-mnist",),
        mean=(0.2860,),
        std=(0.3530,),
    )
)
