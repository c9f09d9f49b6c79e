"""The per-run stages of the workflow, declared once. Each runs per block of seeds of a (variant, dataset, arch);
``rules/runs.smk`` makes one rule per stage and block from this table, ``pdepth.workflow.cluster`` sizes its jobs
with the stage's estimates, and :func:`block_job` builds its job record.

Adding a per-run stage: a record (pdepth.config.jobs) and its builder on ``JobRecords`` (pdepth.config.records), a
runner in ``pdepth.pipeline``, and one entry here with its estimates (docs/extending.md); ``scripts/run_block.py``
adapts every stage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pdepth import paths
from pdepth.config import jobs

if TYPE_CHECKING:
    from pdepth.config.records import JobRecords
    from pdepth.config.study import Study, Variant
    from pdepth.workflow.cluster import JobShape


@dataclass(frozen=True)
class Stage:
    """A per-run stage: its files per seed, its job record, and how big its job is."""

    name: str  # rule name prefix, log and benchmark name, threads/gpus key of the config
    runner: str  # the module whose run_block(record, prepared, **inputs, **outputs, threads, progress) runs a job
    inputs: dict[str, str]  # rule input -> a file of each seed of the block (written by an earlier stage)
    outputs: dict[str, str]  # rule output -> a file of each seed of the block
    seed_record: Callable[[JobRecords, str, str, str, int], object]  # (records, dataset, variant, arch, seed) -> record
    block_record: Callable[[tuple], object]  # the records of the block's seeds -> the job's record
    seconds: Callable[[JobShape, float, dict], float]  # one seed's compute: (shape, images/s, settings)
    memory_mb: Callable[[JobShape, int | None], float]  # above the Python process: (shape, probe.max_dim)
    wanted: Callable[[Study, Variant], bool] = lambda study, variant: True  # which variants' models have its jobs
    # the models a job of n seeds trains, side by side as its threads allow (pdepth.pipeline.side_by_side); None:
    # its seeds one after the other
    models: Callable[[Study, int], int] | None = None


def train_seconds(shape: JobShape, speed: float, settings: dict) -> float:
    """The epochs, and the eval passes of the held-out examples at every snapshot (a third of a training step each;
    the final model's pass over every example is the probe job's)."""
    held_out = shape.examples - shape.train_examples
    return shape.epochs * shape.train_examples / speed + shape.snapshots * held_out / (3 * speed)


def train_memory(shape: JobShape, max_dim: int | None) -> float:
    return 3 * shape.data_mb


def crossval_seconds(shape: JobShape, speed: float, settings: dict) -> float:
    """Each fold's model trains on the other folds (folds - 1 trainings' worth in all), then predicts its fold after
    each score point."""
    folds = settings["cleanlab_folds"]
    return (folds - 1) * shape.epochs * shape.train_examples / speed + shape.train_examples / (3 * speed)


def probe_seconds(shape: JobShape, speed: float, settings: dict) -> float:
    """The embeddings (forward passes only), the k-NN probes, the input margins (one backward pass per candidate)."""
    candidates = settings["margin_candidates"] or 99
    return (
        shape.examples / (3 * speed)
        + shape.examples * shape.probes / settings["probe_examples_per_second"]
        + shape.margin_examples * candidates / speed
    )


def probe_memory(shape: JobShape, max_dim: int | None) -> float:
    """The embeddings, the probes, the input margins: one after the other."""
    layer_mb = shape.layer_mb(max_dim)
    votes_mb = shape.examples * shape.probes * shape.classes * 2 / 2**20
    return max(shape.data_mb + 2 * layer_mb, 4 * layer_mb + votes_mb, 2 * shape.data_mb)


STAGES = {
    stage.name: stage
    for stage in (
        Stage(
            "train",
            runner="pdepth.pipeline.train",
            inputs={},
            outputs={"weights": paths.WEIGHTS, "outputs": paths.RUN, "history": paths.HISTORY},
            seed_record=lambda records, *run: records.train_job(*run),
            block_record=jobs.TrainBlock,
            seconds=train_seconds,
            memory_mb=train_memory,
            models=lambda study, seeds: seeds,
        ),
        Stage(
            "crossval",  # mislabel detection's cleanlab baseline: out-of-sample probabilities from K folds
            runner="pdepth.pipeline.crossval",
            inputs={},
            outputs={"crossval": paths.CROSSVAL},
            seed_record=lambda records, *run: records.crossval_job(*run),
            block_record=jobs.CrossvalBlock,
            seconds=crossval_seconds,
            memory_mb=train_memory,
            wanted=lambda study, variant: variant.label_noise > 0 and study.cleanlab_folds > 0,
            models=lambda study, seeds: seeds * study.cleanlab_folds,
        ),
        Stage(
            "probe",  # the embeddings (removed once probed), their k-NN probes, the input margins
            runner="pdepth.pipeline.probe",
            inputs={"weights": paths.WEIGHTS, "runs": paths.RUN},
            outputs={"probes": paths.PROBES, "margins": paths.MARGINS},
            seed_record=lambda records, *run: records.probe_run(*run),
            block_record=jobs.ProbeBlock,
            seconds=probe_seconds,
            memory_mb=probe_memory,
        ),
    )
}


def block_job(records: JobRecords, stage: str, seeds: tuple[int, ...], dataset: str, variant: str, arch: str):
    """The record of a per-run job of ``stage`` over a block of seeds: one record per seed."""
    spec = STAGES[stage]
    return spec.block_record(tuple(spec.seed_record(records, dataset, variant, arch, seed) for seed in seeds))
