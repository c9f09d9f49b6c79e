"""Typed view of the study configuration (``config.yaml`` after schema validation)."""

from dataclasses import dataclass
from pathlib import Path

from pdepth.data import registry as datasets
from pdepth.data.sources import SourceOptions
from pdepth.errors import ConfigError
from pdepth.models import MODELS
from pdepth.training import TrainConfig


@dataclass(frozen=True)
class Study:
    config: dict

    def __post_init__(self):
        for name in self.datasets:
            datasets.get(name)
        for arch in self.architectures:
            if arch not in MODELS:
                raise ConfigError(f"unknown architecture {arch!r}; known: {', '.join(sorted(MODELS))}")
            self.training(arch)

    @property
    def datasets(self) -> list[str]:
        return list(self.config["datasets"])

    @property
    def architectures(self) -> list[str]:
        return list(self.config["architectures"])

    @property
    def seeds(self) -> list[int]:
        return list(range(self.config["seeds"]))

    @property
    def holdout_fraction(self) -> float:
        return float(self.config["split"]["holdout_fraction"])

    def subset(self) -> dict:
        """Subset of each original split to use: {train: n|None, test: n|None, seed: s}."""
        return dict(self.config["data"]["subset"])

    def source_options(self, dataset: str, resources_dir: str | Path) -> SourceOptions:
        data = self.config["data"]
        spec = datasets.get(dataset)
        return SourceOptions(
            data_dir=Path(data["data_dir"]) if data.get("data_dir") else None,
            system_dirs=tuple(Path(d) for d in spec.system_dirs) if data["use_system_copies"] else (),
            download_dir=Path(resources_dir) / "downloads" / dataset,
            download=data["download"],
            mirrors=tuple(data["mirrors"].get(dataset, [])),
            retries=data["retries"],
        )

    def normalisation(self, dataset: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
        spec = datasets.get(dataset)
        override = self.config["data"].get("normalisation", {}).get(dataset, {})
        return tuple(override.get("mean", spec.mean)), tuple(override.get("std", spec.std))

    def model_options(self, arch: str) -> dict:
        return dict(self.config["models"].get(arch, {}))

    def training(self, arch: str) -> TrainConfig:
        values = dict(self.config["training"]["default"])
        values.update(self.config["training"].get(arch, {}))
        return TrainConfig.from_dict(values)
