"""Typed view of the study configuration (``config.yaml`` after schema validation): its variants, runs and settings
(the record of each job: pdepth.config.records). Imports neither torch nor matplotlib: the Snakefile builds it for
every DAG."""

from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from pdepth.config import jobs
from pdepth.config.checks import check_schema, check_study, check_types
from pdepth.data import registry as datasets
from pdepth.data.augment import Augmentation
from pdepth.data.splits import holdout_size
from pdepth.errors import ConfigError
from pdepth.models import architectures
from pdepth.schema import SCHEMA, defaults
from pdepth.training.hparams import TrainConfig

FULL = "full"
# The roles of the margin interventions (Figure 6, right; the fidelity table's 0-Hinge row), by what they train.
HINGE, CONTROL, UNTRAINED = "0-Hinge", "cross-entropy", "untrained"


def derive_defaults(config: dict) -> None:
    """Fill in the defaults that depend on other keys (schema default null), in place: the floor's
    ``min_held_out`` is 3, or 2 for a study of fewer than 3 seeds."""
    floor = config["fidelity"]["floor"]
    if floor["min_held_out"] is None:
        floor["min_held_out"] = 3 if config["seeds"] >= 3 else 2


def read_configs(*paths: str | Path) -> dict:
    """The raw config of one or more files, merged in their order as Snakemake merges several ``--configfile``: a
    later file's mappings update the earlier ones' key by key (configs/label_noise.yaml over config.yaml)."""
    import yaml
    from snakemake.utils import update_config

    config = {}
    for path in paths:
        loaded = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(loaded, dict):
            raise ValueError(
                f"{path}: a config is a mapping of keys (datasets: [...], seeds: 4, ...), not a {type(loaded).__name__}"
            )
        update_config(config, loaded)
    return config


@dataclass(frozen=True)
class SplitSizes:
    train: int  # original training examples (after the subset)
    test: int  # original test examples (after the subset)
    trained: int  # those a seed trains on: the training examples minus its holdout


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
        return jobs.design(self.holdout_fraction)


@dataclass(frozen=True)
class Study:
    """The study of a validated config (``Study.checked`` or ``Study.load``: the schema has filled in every default,
    so the config is read without fallbacks): its variants, runs and settings, typed; ``JobRecords``
    (pdepth.config.records) builds every job's record from it. The Snakefile builds one per DAG; it imports neither
    torch nor matplotlib."""

    config: dict

    @classmethod
    def checked(cls, config: dict, schema: str | Path = SCHEMA) -> "Study":
        """The study of a raw config, checked before any job: YAML slips by key (``check_types``), then the JSON
        schema, which fills in the defaults (needs snakemake's ``validate``), then what the schema cannot say."""
        import yaml
        from snakemake.utils import validate

        rules = yaml.safe_load(Path(schema).read_text())
        check_types(config, rules)
        check_schema(config, rules)
        validate(config, str(schema))  # fills in the defaults
        derive_defaults(config)
        return cls(config)

    @classmethod
    def load(cls, *paths: str | Path, schema: str | Path = SCHEMA, **changes) -> "Study":
        """The checked study of config files (:func:`read_configs`), with top-level keys replaced by ``changes``."""
        return cls.checked(read_configs(*paths) | changes, schema)

    def __post_init__(self):
        check_study(self)

    @property
    def other_datasets(self) -> list[str]:
        """Known datasets that this study does not include (a target named for one is refused by name)."""
        return sorted(set(datasets.DATASETS) - set(self.datasets))

    def refuse_target(self, dataset: str) -> None:
        """A target named for a dataset this study does not include: what to change (else Snakemake says only
        that no rule makes it)."""
        raise ConfigError(
            f"target {dataset}: not among this study's datasets ({', '.join(self.datasets)}); add it to `datasets` in "
            "your config, or run a config that has it (--configfile configs/paper.yaml)"
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
        if self.config["full_train_seeds"] > 0:
            found.append(Variant(FULL, tuple(range(self.config["full_train_seeds"])), 0.0, **everywhere))
        for name, spec in sorted(self.config["interventions"].items()):  # by name: not the YAML order
            found.append(self._intervention(name, spec))
        return found

    def _intervention(self, name: str, spec: dict) -> Variant:
        """An intervention of the config: what it leaves out is the study's (datasets, architectures, holdout) or
        Variant's defaults (no label noise, the study's subset and training)."""
        if name == FULL:
            raise ConfigError(f"interventions.{name}: the name is reserved for the full-training-set models")
        inherited = {
            "holdout_fraction": self.holdout_fraction,
            "datasets": self.datasets,
            "architectures": self.architectures,
        }
        for key in ("datasets", "architectures"):
            unknown = set(spec.get(key, ())) - set(inherited[key])
            if unknown:
                raise ConfigError(f"interventions.{name}.{key}: {sorted(unknown)} are not in the study's {key}")
        values = inherited | {key: value for key, value in spec.items() if key != "seeds"}
        values["datasets"], values["architectures"] = tuple(values["datasets"]), tuple(values["architectures"])
        return Variant(name, tuple(range(spec["seeds"])), **values)

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
            return defaults("data.subset") | variant.subset
        return dict(self.config["data"]["subset"])

    def split_sizes(self, variant: Variant, dataset: str) -> "SplitSizes":
        """Examples of ``dataset`` a variant's models see, from the registry's sizes and the variant's subset."""
        subset = self.subset(variant)
        n_train, n_test = (
            min(subset[split] or size, size)
            for split, size in zip(("train", "test"), datasets.get(dataset).sizes, strict=True)
        )
        return SplitSizes(n_train, n_test, n_train - holdout_size(n_train, variant.holdout_fraction))

    def augmentation(self, dataset: str) -> Augmentation:
        """The dataset's registry default (crop+flip for CIFAR, none otherwise), updated by the config."""
        override = self.config["data"]["augmentation"].get(dataset, {})
        return replace(datasets.get(dataset).augmentation, **override)

    def threads(self, stage: str) -> int:
        """Threads of a per-run stage's job (the config's ``threads``)."""
        return self.config["threads"][stage]

    def gpus(self, stage: str) -> int:
        """GPUs a per-run stage's job asks for (the config's ``gpus``: the ``gpu`` resource)."""
        return self.config["gpus"][stage]

    def on_cpu(self, stage: str) -> bool:
        """Whether a per-run stage's jobs compute on the CPU, as ``pdepth.device.pick_device`` decides there: no GPU
        asked for, or the config's ``device: cpu``."""
        return self.gpus(stage) == 0 or self.config["device"] == "cpu"

    def model_options(self, arch: str) -> dict:
        """The architecture's options: its defaults (pdepth.models.architectures) updated by the config's ``models``."""
        return architectures.get(arch).resolve(self.config["models"].get(arch))

    def training(self, arch: str, dataset: str, variant: Variant | None = None) -> TrainConfig:
        """The hyper-parameters of a run: TrainConfig's defaults, updated by ``training.default``, then by
        ``training.<arch>``, then by the variant's ``training``; the augmentation is the dataset's."""
        values = dict(self.config["training"]["default"])
        values.update(self.config["training"].get(arch, {}))
        values.update(variant.training if variant is not None else {})
        return replace(TrainConfig.from_dict(values), augmentation=self.augmentation(dataset))

    def blocks(self, variant: Variant) -> list[tuple[int, ...]]:
        """The blocks of seeds of ``variant`` (``seeds_per_job``): one training job and one probe job each."""
        return jobs.blocks(variant.seeds, self.config["seeds_per_job"])

    def seed_blocks(self) -> dict[tuple[int, ...], list[Variant]]:
        """Every block of seeds of the study, with the variants whose models are cut into it."""
        found: dict[tuple[int, ...], list[Variant]] = {}
        for variant in self.variants:
            for block in self.blocks(variant):
                found.setdefault(block, []).append(variant)
        return found

    def gain_layer(self, arch: str) -> int:
        """The probe depth of Section 4's gain: ``metrics.gain_layer.<arch>``, else the middle one of the probes
        (input to softmax); at most the last."""
        probes = architectures.get(arch).probes(self.model_options(arch))
        configured = self.config["metrics"]["gain_layer"].get(arch)
        return min((probes - 1) // 2 if configured is None else configured, probes - 1)

    @property
    def cleanlab_folds(self) -> int:
        """Folds of mislabel detection's cross-validated cleanlab baseline (0: none)."""
        return self.config["metrics"]["cleanlab_folds"]
