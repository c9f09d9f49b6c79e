"""What each job of the workflow computes: a frozen record per job, built once from the validated config
(``pdepth.config.records.JobRecords``) and nothing else.

A rule passes its job's record as ``params`` in canonical plain data (``params``: sorted keys, lists for tuples), so
Snakemake's params trigger re-runs a job exactly when a value it uses changes, and never for a re-ordered config.
Its script rebuilds the record (``from_params``) and calls the stage with it; the stage records it in its outputs.
This module imports neither torch nor matplotlib: the Snakefile builds every job's record when it plans the DAG.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

from pdepth.training.hparams import TrainConfig

if TYPE_CHECKING:
    from pdepth.data.examples import Examples


def canonical(value):
    """Plain data (dicts with sorted string keys, lists, scalars) whose repr depends only on the values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(key): canonical(value[key]) for key in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [canonical(item) for item in value]
    return value


def params(job) -> dict:
    """A job's record as a rule's params (canonical plain data)."""
    return canonical(job)


def to_json(job) -> str:
    """A job's record as the JSON a stage writes into its outputs."""
    return json.dumps(canonical(job), sort_keys=True)


def from_params(kind: type, data):
    """The record of type ``kind`` from its plain data (the inverse of ``params``)."""
    return _build(kind, data)


def _build(kind, data):
    if data is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        return _build(next(arg for arg in typing.get_args(kind) if arg is not type(None)), data)
    if origin is tuple:
        item = typing.get_args(kind)[0]
        return tuple(_build(item, value) for value in data)
    if dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return kind(**{name: _build(hints[name], value) for name, value in data.items()})
    return data


def design(holdout_fraction: float) -> str:
    """A design of training runs in words."""
    if holdout_fraction == 0:
        return "every seed trains on the whole original training set; the original test set is held out"
    return f"every seed holds out a random {holdout_fraction:g} of the original training set"


@dataclass(frozen=True)
class Run:
    """One trained model: its variant ("" for the 90:10 splits, "full", or an intervention), dataset, arch, seed."""

    variant: str
    dataset: str
    arch: str
    seed: int

    @property
    def prefix(self) -> str:
        return f"{self.variant}/" if self.variant else ""

    def __str__(self) -> str:
        return f"{self.prefix}{self.dataset}/{self.arch} seed {self.seed}"


@dataclass(frozen=True)
class ExampleSet:
    """The examples a model sees: a seeded subset of each original split (None keeps it whole), with label noise."""

    dataset: str
    train: int | None = None
    test: int | None = None
    subset_seed: int = 0
    label_noise: float = 0.0  # fraction of the original training set's labels replaced by another class
    label_noise_seed: int = 0

    def load(self, prepared: Path | str) -> Examples:
        from pdepth.data.examples import Examples

        examples = Examples.load(prepared, {"train": self.train, "test": self.test, "seed": self.subset_seed})
        if self.label_noise > 0:
            examples = examples.with_label_noise(self.label_noise, self.label_noise_seed)
        return examples


@dataclass(frozen=True)
class Normalisation:
    """Per-channel mean and std of the input standardisation; None takes the original training set's."""

    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    def resolve(self, examples: Examples) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return tuple(self.mean or examples.mean), tuple(self.std or examples.std)


@dataclass(frozen=True)
class TrainJob:
    run: Run
    examples: ExampleSet
    holdout_fraction: float  # of the original training set, held out by each seed (0: the whole set trains)
    model_options: dict
    training: TrainConfig
    normalisation: Normalisation
    device: str
    checkpoint_every: int


@dataclass(frozen=True)
class Reduction:
    """How probes wider than ``max_dim`` are reduced before the k-NN search (pdepth.probing.reduction)."""

    max_dim: int | None
    method: str
    seed: int
    dtype: str  # of the stored embeddings


@dataclass(frozen=True)
class EmbedJob:
    run: Run
    examples: ExampleSet
    normalisation: Normalisation
    device: str
    batch_size: int
    reduction: Reduction


@dataclass(frozen=True)
class InputMargin:
    split: str  # test | all | none
    candidates: int | None  # runner-up classes tried per example; None: all
    batch_size: int


@dataclass(frozen=True)
class MarginsJob:
    run: Run
    examples: ExampleSet
    normalisation: Normalisation
    device: str
    input_margin: InputMargin


@dataclass(frozen=True)
class ProbeOptions:
    """The k-NN search of every probe (pdepth.probing.knn)."""

    k: int
    backend: str
    random_state: int
    n_trees: int | None
    n_iters: int | None
    query_epsilon: float
    exact_chunk: int
    exact_work: float  # probes of at most this examples x support x dims are searched exactly (on a GPU: all)


@dataclass(frozen=True)
class ProbeJob:
    run: Run
    examples: ExampleSet
    device: str
    probe: ProbeOptions


@dataclass(frozen=True)
class Model:
    """One (variant, dataset, arch): the models of every seed, gathered into one cube and one metrics file."""

    variant: str
    dataset: str
    arch: str


@dataclass(frozen=True)
class CubeJob:
    model: Model
    seeds: tuple[int, ...]
    holdout_fraction: float
    examples: ExampleSet
    normalisation: Normalisation


@dataclass(frozen=True)
class MetricsJob:
    model: Model
    corner_examples: int
    gain_layer: int  # the probe depth of Section 4's gain (Study.gain_layer)


@dataclass(frozen=True)
class FidelitySettings:
    """How hard each claim is tested (config block ``fidelity``)."""

    bootstrap: int  # resamples of the examples
    permutations: int  # draws of a permutation null, where the null has no closed form
    confidence: float  # of the interval; a "holds" needs a Holm-adjusted one-sided p below (1 - confidence) / 2
    seed: int
    run_groups: int  # the runs are left out in at most this many groups (the jackknife's cost)
    seed_pairs: int  # at most this many ordered seed pairs per cross-seed statistic
    power: float  # of the minimum detectable effect each row states

    @property
    def alpha(self) -> float:
        return (1 - self.confidence) / 2

    @classmethod
    def of(cls, block: dict) -> FidelitySettings:
        """The settings in the config's ``fidelity`` block (validated, or the schema's defaults)."""
        return cls(**{f.name: block[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class Floor:
    """How the consensus-consistency floor of Figure 4 (left) is measured (config block ``fidelity.floor``)."""

    min_held_out: int  # examples with fewer held-out appearances are left out (their score is coarse, or 1 by design)
    quantile: float  # the floor: this quantile of consensus-consistency per depth bin
    min_bin_examples: int  # depth bins with fewer examples are left out
    split: str  # the fidelity table's floor reads "test" examples (every seed holds them out) or "all" held-out ones


@dataclass(frozen=True)
class FidelityJob:
    settings: FidelitySettings
    floor: Floor
    gain_folds: int  # Section 4's gain: seeds in this many groups, each scored with the corner chosen on the others


@dataclass(frozen=True)
class DetectionJob:
    """Mislabel detection on one label-noise model (pdepth.pipeline.detection), tested like the fidelity table."""

    model: Model
    settings: FidelitySettings
    cleanlab_folds: int  # of the cross-validated cleanlab row (0: none)


@dataclass(frozen=True)
class FigureOptions:
    """How a figure of one dataset is drawn (config block ``figures``, and the fidelity table's floor and pairs)."""

    corner_class: str  # Figure 7: the class whose examples it shows at each corner
    examples_per_class: int  # Figure 1 (left): images per class on each side
    floor: Floor
    settings: FidelitySettings  # the intervals of the figures that draw them (seed pairs, resamples)


@dataclass(frozen=True)
class PrepareJob:
    dataset: str
    data_dir: str | None
    use_system_copies: bool
    download: bool
    mirrors: tuple[str, ...]
    retries: int
    checksums: dict = field(default_factory=dict)  # raw file name -> md5 replacing the published one


@dataclass(frozen=True)
class ProbeRun:
    """What the probe stage does for one trained model: its embeddings, their k-NN probes, its input margins."""

    embed: EmbedJob
    probe: ProbeJob
    margins: MarginsJob


@dataclass(frozen=True)
class TrainBlock:
    """A job of the training stage: the runs of a block of seeds of one model, side by side as its threads allow."""

    runs: tuple[TrainJob, ...]


@dataclass(frozen=True)
class CrossvalJob:
    """cleanlab's recipe for one seed (pdepth.pipeline.crossval): its training split cut into ``folds`` stratified
    folds, each predicted by a model trained like the seed's on the other folds."""

    train: TrainJob
    folds: int


@dataclass(frozen=True)
class CrossvalBlock:
    """A job of the cross-validation stage: the fold models of a block of seeds of one label-noise model, side by side
    as its threads allow."""

    runs: tuple[CrossvalJob, ...]


@dataclass(frozen=True)
class ProbeBlock:
    """A job of the probe stage: embed, probe and measure the margins of a block of seeds of one model."""

    runs: tuple[ProbeRun, ...]


def blocks(seeds: tuple[int, ...], seeds_per_job: int) -> list[tuple[int, ...]]:
    """Consecutive blocks of at most ``seeds_per_job`` seeds: the seeds one per-run job works on."""
    return [tuple(seeds[i : i + seeds_per_job]) for i in range(0, len(seeds), seeds_per_job)]


def block_label(seeds: tuple[int, ...]) -> str:
    """A block's name in its jobs' log, benchmark and rule names: ``seed3`` or ``seeds0-3``."""
    return f"seed{seeds[0]}" if len(seeds) == 1 else f"seeds{seeds[0]}-{seeds[-1]}"


def block_size(label: str) -> int:
    """The number of seeds of a block from its label (``block_label``)."""
    first, _, last = label.removeprefix("seeds").removeprefix("seed").partition("-")
    return int(last or first) - int(first) + 1
