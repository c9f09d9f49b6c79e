"""Typed view of the study configuration (``config.yaml`` after schema validation), and the record of each of its
jobs (``Study.job``, pdepth.config.jobs). Imports neither torch nor matplotlib: the Snakefile builds it for every
DAG."""

from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from pathlib import Path

from pdepth import paths
from pdepth.config import jobs
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
# Config maps keyed by an architecture or a dataset name, and the registry that knows those names.
NAMED_MAPS = {
    "models": architectures,
    "training": architectures,  # besides "default"
    "cluster.images_per_second": architectures,
    "metrics.gain_layer": architectures,
    "data.augmentation": datasets,
    "data.normalisation": datasets,
    "data.checksums": datasets,
    "data.mirrors": datasets,
    "figures.corner_class": datasets,
}


def _floats(values) -> tuple[float, ...] | None:
    return None if values is None else tuple(float(v) for v in values)


def derive_defaults(config: dict) -> None:
    """Fill in the defaults that depend on other keys (schema default null), in place: the floor's
    ``min_held_out`` is 3, or 2 for a study of fewer than 3 seeds."""
    floor = config["fidelity"]["floor"]
    if floor["min_held_out"] is None:
        floor["min_held_out"] = 3 if config["seeds"] >= 3 else 2


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
    so the config is read without fallbacks): its variants and runs, and the record of every job, built from the
    config alone (pdepth.config.jobs). The Snakefile builds one per DAG; it imports neither torch nor matplotlib."""

    config: dict

    @classmethod
    def checked(cls, config: dict, schema: str | Path = SCHEMA) -> "Study":
        """The study of a raw config, checked before any job: YAML slips by key (``check_types``), then the JSON
        schema, which fills in the defaults (needs snakemake's ``validate``), then what the schema cannot say."""
        import yaml
        from snakemake.utils import validate

        from pdepth.config.checks import check_schema, check_types

        rules = yaml.safe_load(Path(schema).read_text())
        check_types(config, rules)
        check_schema(config, rules)
        validate(config, str(schema))  # fills in the defaults
        derive_defaults(config)
        return cls(config)

    @classmethod
    def load(cls, path: str | Path, schema: str | Path = SCHEMA, **changes) -> "Study":
        """The checked study of a config file, with top-level keys replaced by ``changes``."""
        import yaml

        return cls.checked(yaml.safe_load(Path(path).read_text()) | changes, schema)

    def __post_init__(self):
        for name in self.datasets:
            datasets.get(name)
        for arch in self.architectures:
            self.model_options(arch)
        for key, registry in NAMED_MAPS.items():  # a typo'd key would otherwise be ignored
            block = self.config
            for part in key.split("."):
                block = block.get(part, {})
            for name in set(block) - ({"default"} if key == "training" else set()):
                registry.get(name, where=key)
        for dataset, name in self.config["figures"]["corner_class"].items():
            classes = datasets.get(dataset).classes
            if name not in classes:
                raise ConfigError(
                    f"figures.corner_class.{dataset}: {name!r} is not a class of {dataset}; its classes: "
                    f"{', '.join(classes)}"
                )
        self._check_subsets_within_the_splits()
        self._check_k_against_the_smallest_training_split()
        self._check_data_dir()
        for variant, dataset, arch in self.runs():
            self.training(arch, dataset, variant)
        min_held_out = self.config["fidelity"]["floor"]["min_held_out"]
        if min_held_out > len(self.seeds) >= 2:  # one seed draws no ensemble figure and tests no floor
            raise ConfigError(
                f"fidelity.floor.min_held_out ({min_held_out}) is more than seeds ({len(self.seeds)}): no example can "
                f"be held out that often, so the floor of Figure 4 (left) would have no data; set it to at most "
                f"{len(self.seeds)}, or train more seeds"
            )

    def _check_data_dir(self) -> None:
        data_dir = self.config["data"]["data_dir"]
        prepared = all(Path(paths.prepared(dataset)).exists() for dataset in self.datasets)  # the only reader is done
        if data_dir is not None and not prepared and not Path(data_dir).is_dir():
            raise ConfigError(
                f"data.data_dir: {data_dir} is not a directory; pre-stage the raw files there, or set it to null to "
                "use a system copy or download them"
            )

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

    def _check_subsets_within_the_splits(self) -> None:
        """A subset larger than its original split would silently be the whole split."""
        for variant, dataset, _ in self.runs():
            subset = self.subset(variant)
            for split, size in zip(("train", "test"), datasets.get(dataset).sizes, strict=True):
                if (subset[split] or 0) > size:
                    where = f"interventions.{variant.name}.subset" if variant.subset is not None else "data.subset"
                    raise ConfigError(
                        f"{where}.{split} ({subset[split]}) is larger than {dataset}'s original {split} split "
                        f"({size} examples): set it to at most {size}, or to null for the whole split"
                    )

    def _check_k_against_the_smallest_training_split(self) -> None:
        """A training example's k neighbours exclude itself: every training split needs more than k examples."""
        k = self.config["probe"]["k"]
        for variant, dataset, _ in self.runs():
            trained = self.split_sizes(variant, dataset).trained
            if trained <= k:
                raise ConfigError(
                    f"probe.k ({k}) needs more than k training examples, but {variant.name or 'the 90:10 split'} on "
                    f"{dataset} trains on {trained}: lower probe.k, or enlarge the subset (data.subset or "
                    f"interventions.<name>.subset)"
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

    def example_set(self, dataset: str, variant: Variant) -> jobs.ExampleSet:
        """The examples a variant's models see on ``dataset``: its subset, with its label noise."""
        subset = self.subset(variant)
        return jobs.ExampleSet(
            dataset,
            train=subset["train"],
            test=subset["test"],
            subset_seed=subset["seed"],
            label_noise=float(variant.label_noise),
            label_noise_seed=variant.label_noise_seed,
        )

    def normalisation(self, dataset: str) -> jobs.Normalisation:
        """The config's per-channel (mean, std) of ``dataset``; what it leaves out is the original training set's."""
        override = self.config["data"]["normalisation"].get(dataset, {})
        return jobs.Normalisation(_floats(override.get("mean")), _floats(override.get("std")))

    def augmentation(self, dataset: str) -> Augmentation:
        """The dataset's registry default (crop+flip for CIFAR, none otherwise), updated by the config."""
        override = self.config["data"]["augmentation"].get(dataset, {})
        return replace(datasets.get(dataset).augmentation, **override)

    def fidelity_job(self) -> jobs.FidelityJob:
        """How the fidelity table tests the paper's claims (the config's ``fidelity``)."""
        block = self.config["fidelity"]
        return jobs.FidelityJob(jobs.FidelitySettings.of(block), jobs.Floor(**block["floor"]), block["gain_folds"])

    def detection_job(self, dataset: str, variant: str, arch: str) -> jobs.DetectionJob:
        """Mislabel detection on a label-noise study's model, with the fidelity table's settings."""
        model = jobs.Model(self.variant(variant).name, dataset, arch)
        return jobs.DetectionJob(model, self.fidelity_job().settings, self.cleanlab_folds)

    def figure_options(self, dataset: str) -> jobs.FigureOptions:
        """How the figures of ``dataset`` are drawn (the config's ``figures``; the fidelity table's floor)."""
        block = self.config["figures"]
        fidelity = self.fidelity_job()
        return jobs.FigureOptions(
            corner_class=block["corner_class"].get(dataset) or datasets.get(dataset).figure_class if dataset else "",
            examples_per_class=block["examples_per_class"],
            floor=fidelity.floor,
            settings=fidelity.settings,
        )

    def threads(self, stage: str) -> int:
        """Threads of a per-run stage's job (the config's ``threads``)."""
        return self.config["threads"][stage]

    def gpus(self, stage: str) -> int:
        """GPUs a per-run stage's job asks for (the config's ``gpus``: the ``gpu`` resource)."""
        return self.config["gpus"][stage]

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

    def job(self, stage: str, dataset: str, variant: str = "", arch: str = "", seed: int | str | None = None):
        """The record of one job of ``stage`` (pdepth.config.jobs) for its wildcards (``variant``: a results prefix)."""
        if stage == "prepare":
            return self._prepare_job(dataset)
        if stage in ("cube", "metrics", "detection"):
            by_model = {"cube": self.cube_job, "metrics": self.metrics_job, "detection": self.detection_job}
            return by_model[stage](dataset, variant, arch)
        builders = {
            "train": self.train_job,
            "crossval": self.crossval_job,
            "embed": self.embed_job,
            "margins": self.margins_job,
            "probe": self.probe_job,
        }
        if stage not in builders:
            raise ValueError(f"no job record for stage {stage!r}")
        return builders[stage](dataset, variant, arch, int(seed))

    def cube_job(self, dataset: str, variant: str, arch: str) -> jobs.CubeJob:
        chosen = self.variant(variant)
        return jobs.CubeJob(
            jobs.Model(chosen.name, dataset, arch),
            chosen.seeds,
            float(chosen.holdout_fraction),
            self.example_set(dataset, chosen),
            self.normalisation(dataset),
        )

    def metrics_job(self, dataset: str, variant: str, arch: str) -> jobs.MetricsJob:
        block = self.config["metrics"]
        model = jobs.Model(self.variant(variant).name, dataset, arch)
        return jobs.MetricsJob(model, block["corner_examples"], self.gain_layer(arch))

    def gain_layer(self, arch: str) -> int:
        """The probe depth of Section 4's gain: ``metrics.gain_layer.<arch>``, else the middle one of the probes
        (input to softmax); at most the last."""
        probes = architectures.get(arch).probes(self.model_options(arch))
        configured = self.config["metrics"]["gain_layer"].get(arch)
        return min((probes - 1) // 2 if configured is None else configured, probes - 1)

    def _run(self, dataset: str, variant: str, arch: str, seed: int) -> tuple[Variant, jobs.Run, jobs.ExampleSet]:
        chosen = self.variant(variant)
        return chosen, jobs.Run(chosen.name, dataset, arch, int(seed)), self.example_set(dataset, chosen)

    def train_job(self, dataset: str, variant: str, arch: str, seed: int) -> jobs.TrainJob:
        chosen, run, examples = self._run(dataset, variant, arch, seed)
        return jobs.TrainJob(
            run,
            examples,
            float(chosen.holdout_fraction),
            self.model_options(arch),
            self.training(arch, dataset, chosen),
            self.normalisation(dataset),
            self.config["device"],
            self.config["checkpoint_every"],
        )

    def crossval_job(self, dataset: str, variant: str, arch: str, seed: int) -> jobs.CrossvalJob:
        return jobs.CrossvalJob(self.train_job(dataset, variant, arch, seed), self.cleanlab_folds)

    @property
    def cleanlab_folds(self) -> int:
        """Folds of mislabel detection's cross-validated cleanlab baseline (0: none)."""
        return self.config["metrics"]["cleanlab_folds"]

    def embed_job(self, dataset: str, variant: str, arch: str, seed: int) -> jobs.EmbedJob:
        chosen, run, examples = self._run(dataset, variant, arch, seed)
        probe = self.config["probe"]
        reduction = jobs.Reduction(
            probe["max_dim"], probe["reduction"], probe["reduction_seed"], probe["embedding_dtype"]
        )
        batch_size = self.training(arch, dataset, chosen).eval_batch_size
        return jobs.EmbedJob(run, examples, self.normalisation(dataset), self.config["device"], batch_size, reduction)

    def margins_job(self, dataset: str, variant: str, arch: str, seed: int) -> jobs.MarginsJob:
        _, run, examples = self._run(dataset, variant, arch, seed)
        margin = jobs.InputMargin(**self.config["metrics"]["input_margin"])
        return jobs.MarginsJob(run, examples, self.normalisation(dataset), self.config["device"], margin)

    def probe_job(self, dataset: str, variant: str, arch: str, seed: int) -> jobs.ProbeJob:
        _, run, examples = self._run(dataset, variant, arch, seed)
        options = {f.name: self.config["probe"][f.name] for f in fields(jobs.ProbeOptions)}
        return jobs.ProbeJob(run, examples, self.config["device"], jobs.ProbeOptions(**options))

    def probe_run(self, dataset: str, variant: str, arch: str, seed: int) -> jobs.ProbeRun:
        """One seed's part of a probe job: its embeddings, their probes, its input margins."""
        wildcards = (dataset, variant, arch, seed)
        return jobs.ProbeRun(self.embed_job(*wildcards), self.probe_job(*wildcards), self.margins_job(*wildcards))

    def _prepare_job(self, dataset: str) -> jobs.PrepareJob:
        data = self.config["data"]
        return jobs.PrepareJob(
            dataset,
            data_dir=data["data_dir"],
            use_system_copies=data["use_system_copies"],
            download=data["download"],
            mirrors=tuple(data["mirrors"].get(dataset, [])),
            retries=data["retries"],
            checksums=dict(data["checksums"].get(dataset, {})),
        )
