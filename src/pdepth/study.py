"""Typed view of the study configuration (``config.yaml`` after schema validation)."""

from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from pdepth.augment import Augmentation
from pdepth.data import registry as datasets
from pdepth.data.sources import SourceOptions
from pdepth.errors import ConfigError
from pdepth.examples import Examples
from pdepth.models import MODELS
from pdepth.training import TrainConfig

FULL = "full"


@dataclass(frozen=True)
class Variant:
    """One design of training runs; each has its own results folder ``results/{prefix}{dataset}/{arch}``.

    The default variant (name "") trains every seed on a random ``1 - holdout_fraction`` of the original training
    set (the paper's 90:10 splits). The "full" variant trains every seed on the whole original training set, so that
    only the original test set is held out (the paper's 25 full-training-set models). Interventions (the config's
    ``interventions``) are variants too: label noise, other losses and optimisers, other subsets, untrained networks.
    """

    name: str
    seeds: tuple[int, ...]
    holdout_fraction: float
    datasets: tuple[str, ...] = ()  # those of the study it runs on
    architectures: tuple[str, ...] = ()
    label_noise: float = 0.0  # fraction of the original training set's labels replaced by another class
    label_noise_seed: int = 0
    subset: dict | None = None  # replaces data.subset
    training: dict = field(default_factory=dict)  # overrides training.default and training.<arch>

    @property
    def is_intervention(self) -> bool:
        """An intervention of the config, not the 90:10-split or full-training-set design."""
        return self.name not in ("", FULL)

    @property
    def prefix(self) -> str:
        return f"{self.name}/" if self.name else ""

    @property
    def description(self) -> str:
        if self.holdout_fraction == 0:
            return "every seed trains on the whole original training set; the original test set is held out"
        return f"every seed holds out a random {self.holdout_fraction:g} of the original training set"


@dataclass(frozen=True)
class Study:
    config: dict

    def __post_init__(self):
        for name in self.datasets:
            datasets.get(name)
        for arch in self.architectures:
            if arch not in MODELS:
                raise ConfigError(f"unknown architecture {arch!r}; known: {', '.join(sorted(MODELS))}")
        for variant, dataset, arch in self.runs():
            self.training(arch, dataset, variant)
        min_held_out = self.config.get("fidelity", {}).get("floor", {}).get("min_held_out", 0)
        if min_held_out > len(self.seeds) >= 2:  # one seed draws no ensemble figure and tests no floor
            raise ConfigError(
                f"fidelity.floor.min_held_out ({min_held_out}) is more than seeds ({len(self.seeds)}): no example can "
                f"be held out that often, so the floor of Figure 4 (left) would have no data; set it to at most "
                f"{len(self.seeds)}, or train more seeds"
            )

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

    @cached_property
    def variants(self) -> list[Variant]:
        """The default 90:10-split variant, the full-training-set one if the config asks for its seeds, and the
        config's interventions."""
        everywhere = {"datasets": tuple(self.datasets), "architectures": tuple(self.architectures)}
        found = [Variant("", tuple(self.seeds), self.holdout_fraction, **everywhere)]
        if self.config.get("full_train_seeds", 0) > 0:
            found.append(Variant(FULL, tuple(range(self.config["full_train_seeds"])), 0.0, **everywhere))
        for name, spec in self.config.get("interventions", {}).items():
            if name == FULL:
                raise ConfigError(f"interventions.{name}: the name is reserved for the full-training-set models")
            for key, known in (("datasets", self.datasets), ("architectures", self.architectures)):
                unknown = set(spec.get(key, [])) - set(known)
                if unknown:
                    raise ConfigError(f"interventions.{name}.{key}: {sorted(unknown)} are not in the study's {key}")
            found.append(
                Variant(
                    name,
                    tuple(range(spec["seeds"])),
                    spec.get("holdout_fraction", self.holdout_fraction),
                    datasets=tuple(spec.get("datasets", self.datasets)),
                    architectures=tuple(spec.get("architectures", self.architectures)),
                    label_noise=spec.get("label_noise", 0.0),
                    label_noise_seed=spec.get("label_noise_seed", 0),
                    subset=spec.get("subset"),
                    training=dict(spec.get("training", {})),
                )
            )
        return found

    def runs(self) -> list[tuple[Variant, str, str]]:
        """Every (variant, dataset, architecture) the study trains models for."""
        return [(v, d, a) for v in self.variants for d in v.datasets for a in v.architectures]

    def variant(self, prefix: str) -> Variant:
        """The variant whose results folder prefix (a wildcard value: "" or "full/") is ``prefix``."""
        for variant in self.variants:
            if variant.prefix == prefix:
                return variant
        raise ConfigError(f"no variant with results prefix {prefix!r} in this config")

    def subset(self, variant: Variant | None = None) -> dict:
        """Subset of each original split to use: {train: n|None, test: n|None, seed: s}."""
        if variant is not None and variant.subset is not None:
            return {"train": None, "test": None, "seed": 0, **variant.subset}
        return dict(self.config["data"]["subset"])

    def examples(self, prepared: Path, variant: Variant) -> Examples:
        """The examples a variant's models see: its subset, with its label noise."""
        examples = Examples.load(prepared, self.subset(variant))
        if variant.label_noise > 0:
            examples = examples.with_label_noise(variant.label_noise, variant.label_noise_seed)
        return examples

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

    def checksums(self, dataset: str) -> dict[str, str]:
        """Configured MD5s that replace the published ones (for re-packaged or generated files)."""
        return dict(self.config["data"].get("checksums", {}).get(dataset, {}))

    def normalisation(self, dataset: str, computed: tuple) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-channel (mean, std): the config's, else ``computed`` (mean, std) of the original training set."""
        override = self.config["data"].get("normalisation", {}).get(dataset, {})
        mean, std = computed
        return tuple(override.get("mean", mean)), tuple(override.get("std", std))

    def augmentation(self, dataset: str) -> Augmentation:
        """The dataset's registry default (crop+flip for CIFAR, none otherwise), updated by the config."""
        override = self.config["data"].get("augmentation", {}).get(dataset, {})
        return replace(datasets.get(dataset).augmentation, **override)

    def model_options(self, arch: str) -> dict:
        return dict(self.config["models"].get(arch, {}))

    def training(self, arch: str, dataset: str, variant: Variant | None = None) -> TrainConfig:
        values = dict(self.config["training"]["default"])
        values.update(self.config["training"].get(arch, {}))
        values.update(variant.training if variant is not None else {})
        return replace(TrainConfig.from_dict(values), augmentation=self.augmentation(dataset))
