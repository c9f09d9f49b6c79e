"""CIFAR-10 and CIFAR-100: the "python version" archives of the Toronto page, the ones torchvision downloads.

Each archive holds pickled batches (``data``: uint8 rows of 3072 = 3 x 32 x 32 values, channel-major; labels) and a
meta file with the class names. The pickles come from Python 2: they are read with ``encoding="latin1"``, only after
the archive's MD5 has passed, and with an unpickler that builds nothing but numpy arrays and plain containers.
"""

import io
import pickle
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pdepth.data.augment import Augmentation
from pdepth.data.prepared import Prepared
from pdepth.data.registry import DatasetSpec, register
from pdepth.data.sources import RawFile
from pdepth.errors import DataError, unreadable

URL = "https://www.cs.toronto.edu/~kriz/"
CROP_AND_FLIP = Augmentation(crop_padding=4, flip=True)  # the standard CIFAR augmentation


class _ArraysOnly(pickle.Unpickler):
    """Unpickler limited to what the CIFAR batches contain: dicts, lists, strings, numbers and numpy arrays."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # how Python 3 writes bytes in a protocol-2 pickle
    }

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise DataError(f"refusing to unpickle {module}.{name}: a CIFAR batch holds only arrays, lists and strings")
        return super().find_class(module, name)


def _load_pickle(data: bytes) -> dict:
    loaded = _ArraysOnly(io.BytesIO(data), encoding="latin1").load()
    return {key.decode() if isinstance(key, bytes) else key: value for key, value in loaded.items()}


def _read_members(archive: Path, members: list[str]) -> dict[str, dict]:
    """Unpickle the named members of a .tar.gz; DataError naming the archive if it is corrupt or incomplete."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            loaded = {}
            for member in members:
                try:
                    stream = tar.extractfile(member)
                except KeyError:
                    stream = None
                if stream is None:
                    raise DataError(f"{archive} has no file {member}: it is not the expected CIFAR archive")
                try:
                    loaded[member] = _load_pickle(stream.read())
                except DataError as exc:
                    raise DataError(f"{archive}, {member}: {exc}") from exc
            return loaded
    except (tarfile.TarError, EOFError, zlib.error, OSError, pickle.UnpicklingError, ValueError) as exc:
        raise unreadable(archive, exc) from exc


def _images(batch: dict, member: str) -> np.ndarray:
    data = np.asarray(batch["data"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DataError(f"{member}: expected uint8 rows of 3072 values, got {data.dtype} {data.shape}")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # channel-major rows -> (N, H, W, C)


def _labels(batch: dict, key: str, member: str, n: int) -> np.ndarray:
    labels = np.asarray(batch[key], dtype=np.int64)
    if labels.shape != (n,):
        raise DataError(f"{member}: {n} images but {labels.shape[0]} {key}")
    return labels


def _split(batches: dict[str, dict], members: list[str], label_keys: list[str]):
    images = [_images(batches[m], m) for m in members]
    labels = {
        key: np.concatenate([_labels(batches[m], key, m, len(x)) for m, x in zip(members, images, strict=True)])
        for key in label_keys
    }
    return np.concatenate(images), labels


@dataclass(frozen=True)
class CifarArchive:
    """Where the batches, labels and class names sit in one CIFAR archive."""

    name: str
    md5: str
    folder: str
    train: tuple[str, ...]
    test: tuple[str, ...]
    meta: str
    label_key: str
    class_names_key: str
    coarse_key: str | None = None  # CIFAR-100's superclass labels
    coarse_names_key: str | None = None

    @property
    def raw_file(self) -> RawFile:
        return RawFile(self.name, self.md5, (URL + self.name,))

    def read(self, paths: dict[str, Path]) -> Prepared:
        members = [f"{self.folder}/{m}" for m in (*self.train, *self.test, self.meta)]
        batches = _read_members(paths[self.name], members)
        keys = [self.label_key] + ([self.coarse_key] if self.coarse_key else [])
        train_x, train_y = _split(batches, members[: len(self.train)], keys)
        test_x, test_y = _split(batches, members[len(self.train) : -1], keys)
        meta = batches[members[-1]]
        extra, extra_classes = None, None
        if self.coarse_key:
            extra = {"coarse_label": (train_y[self.coarse_key], test_y[self.coarse_key])}
            extra_classes = {"coarse_label": meta[self.coarse_names_key]}
        classes = meta[self.class_names_key]
        return Prepared.from_splits(
            train_x, train_y[self.label_key], test_x, test_y[self.label_key], classes, extra, extra_classes
        )


CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR100_CLASSES = tuple(  # the fine labels, in the order of the archive's meta
    """apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel can
    castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur dolphin
    elephant flatfish forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion lizard
    lobster man maple_tree motorcycle mountain mouse mushroom oak_tree orange orchid otter palm_tree pear
    pickup_truck pine_tree plain plate poppy porcupine possum rabbit raccoon ray road rocket rose sea seal
    shark shrew skunk skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper table tank
    telephone television tiger tractor train trout tulip turtle wardrobe whale willow_tree wolf woman worm""".split()
)


def _register(
    name: str, title: str, archive: CifarArchive, classes: tuple[str, ...], corner_class: str = ""
) -> DatasetSpec:
    return register(
        DatasetSpec(
            name,
            title=title,
            files=(archive.raw_file,),
            read=archive.read,
            augmentation=CROP_AND_FLIP,
            sizes=(50_000, 10_000),
            image_shape=(32, 32, 3),
            classes=classes,
            corner_class=corner_class,
        )
    )


CIFAR10_ARCHIVE = CifarArchive(
    name="cifar-10-python.tar.gz",
    md5="c58f30108f718f92721af3b95e74349a",
    folder="cifar-10-batches-py",
    train=tuple(f"data_batch_{i}" for i in range(1, 6)),
    test=("test_batch",),
    meta="batches.meta",
    label_key="labels",
    class_names_key="label_names",
)
CIFAR100_ARCHIVE = CifarArchive(
    name="cifar-100-python.tar.gz",
    md5="eb9058c3a382ffc7106e4002c42a8d85",
    folder="cifar-100-python",
    train=("train",),
    test=("test",),
    meta="meta",
    label_key="fine_labels",
    class_names_key="fine_label_names",
    coarse_key="coarse_labels",
    coarse_names_key="coarse_label_names",
)
CIFAR10 = _register("cifar10", "CIFAR-10", CIFAR10_ARCHIVE, CIFAR10_CLASSES, corner_class="bird")  # the paper's Fig. 7
CIFAR100 = _register("cifar100", "CIFAR-100", CIFAR100_ARCHIVE, CIFAR100_CLASSES)
