"""Registry of datasets: their raw files, how to read them, and their default augmentation."""

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from pdepth import paths
from pdepth.data.augment import Augmentation
from pdepth.data.prepared import Prepared
from pdepth.data.sources import RawFile, SourceOptions, locate
from pdepth.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    files: tuple[RawFile, ...]
    read: Callable[[dict[str, Path]], Prepared]  # raw file name -> verified local path, to the prepared arrays
    classes: tuple[str, ...]  # the class names the raw files carry, for checking the config before any job
    sizes: tuple[int, int]  # examples in the original (train, test) sets: the config and cluster jobs are sized by them
    image_shape: tuple[int, int, int]  # (H, W, C)
    system_dirs: tuple[str, ...] = ()  # directories where an OS package installs the raw files
    augmentation: Augmentation = Augmentation()  # the default for training; the config can override it
    title: str = ""  # its name in papers and figures (Fashion-MNIST); empty: ``name``
    corner_class: str = ""  # whose examples Figure 7 shows (figures.corner_class overrides it); empty: the first class

    def __post_init__(self):
        if min(self.sizes) < 1 or min(self.image_shape) < 1:
            raise ValueError(f"dataset {self.name}: sizes {self.sizes} and image_shape {self.image_shape} must be > 0")

    @property
    def figure_class(self) -> str:
        return self.corner_class or self.classes[0]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def with_checksums(self, checksums: dict[str, str]) -> "DatasetSpec":
        """The same dataset with some files expected to have other MD5s (re-packaged or locally generated copies)."""
        unknown = set(checksums) - {raw.name for raw in self.files}
        if unknown:
            known = ", ".join(raw.name for raw in self.files)
            raise ConfigError(f"data.checksums.{self.name}: no raw file named {sorted(unknown)}; its files: {known}")
        for name, md5 in checksums.items():
            log.warning("%s: %s is checked against the configured md5 %s, not the published one", self.name, name, md5)
        files = tuple(replace(raw, md5=checksums.get(raw.name, raw.md5)) for raw in self.files)
        return replace(self, files=files)


DATASETS: dict[str, DatasetSpec] = {}


def register(spec: DatasetSpec) -> DatasetSpec:
    DATASETS[paths.check_name("dataset", spec.name)] = spec
    return spec


def get(name: str, where: str = "") -> DatasetSpec:
    """The dataset ``name``; ``where`` is the config key that names it, for the error message."""
    if name not in DATASETS:
        place = f"{where}.{name}: " if where else ""
        raise ConfigError(f"{place}unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def prepare(name: str, options: SourceOptions, checksums: dict[str, str] | None = None) -> Prepared:
    """Locate and verify every raw file of dataset ``name``, then read them into the prepared format."""
    spec = get(name)
    if checksums:
        spec = spec.with_checksums(checksums)
    paths = {raw.name: locate(name, raw, options) for raw in spec.files}
    return spec.read(paths)
