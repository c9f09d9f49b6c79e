"""How big a cluster job is: memory (MB) and runtime (minutes) of each per-run stage, from the dataset's size, the
architecture's depth and throughput, the seeds of the job's block, and the retry attempt (each retry asks for
proportionally more).

The throughputs are config values (``cluster:``) because they depend on the cluster's devices; docs/cluster.md (Job
sizes) gives the measured defaults and how to re-measure them from the benchmark table of a first run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pdepth.data import registry as datasets
from pdepth.models import architectures
from pdepth.training.hparams import side_by_side
from pdepth.workflow.stages import STAGES

if TYPE_CHECKING:
    from pdepth.config.study import Study

MB = 2**20
FLOAT = 4  # bytes


@dataclass(frozen=True)
class JobShape:
    """What sizes a job: examples it holds in memory, values per image, probes, classes, epochs."""

    examples: int
    train_examples: int
    pixels: int
    probes: int
    classes: int
    epochs: float
    snapshots: int  # eval passes over the held-out examples during training
    margin_examples: int

    @property
    def data_mb(self) -> float:
        return self.examples * self.pixels * FLOAT / MB

    def layer_mb(self, max_dim: int | None) -> float:
        """One probe's embeddings, the widest probe taken to be as wide as the input (max_dim null: none reduced)."""
        widest = max(self.pixels, 1)
        return self.examples * min(max_dim or widest, widest) * FLOAT / MB


def at_once(study: Study, stage: str, variant_prefix: str, dataset: str, arch: str, seeds: int) -> int:
    """The models a job of ``stage`` trains at once on its threads (1 where its seeds run one after the other)."""
    models = STAGES[stage].models
    if models is None:
        return 1
    cpu_threads = study.training(arch, dataset, study.variant(variant_prefix)).cpu_threads
    return side_by_side(study.threads(stage), models(study, seeds), cpu_threads, study.on_cpu(stage))[0]


def job_memory(base_mb: float, memory_mb: float, models_at_once: int) -> float:
    """A job's memory: one process's base and a model's data, or, side by side, a worker process each and the job's
    own process (it holds the examples too)."""
    if models_at_once == 1:
        return base_mb + memory_mb
    return (models_at_once + 1) * (base_mb + memory_mb)


def job_shape(study: Study, variant_prefix: str, dataset: str, arch: str) -> JobShape:
    spec = datasets.get(dataset)
    variant = study.variant(variant_prefix)
    sizes = study.split_sizes(variant, dataset)
    n_train, n_test = sizes.train, sizes.test
    height, width, channels = spec.image_shape
    classes = spec.num_classes
    split = study.config["metrics"]["input_margin"]["split"]
    training = study.training(arch, dataset, variant)
    return JobShape(
        examples=n_train + n_test,
        train_examples=sizes.trained,
        pixels=height * width * channels,
        probes=architectures.get(arch).probes(study.model_options(arch)),
        classes=classes,
        epochs=training.epochs,
        snapshots=1 + training.epochs * training.snapshots_per_epoch,
        margin_examples={"test": n_test, "all": n_train + n_test}.get(split, 0),
    )


def resources(
    study: Study, stage: str, variant_prefix: str, dataset: str, arch: str, attempt: int = 1, seeds: int = 1
) -> dict:
    """``{"mem_mb": int, "runtime": int}`` for one job of ``stage`` over a block of ``seeds`` seeds: the time adds up
    (an upper bound where models train side by side), the memory of the models trained at once; attempt n asks for
    n times the first's."""
    settings = study.config["cluster"]
    shape = job_shape(study, variant_prefix, dataset, arch)
    speed = settings["images_per_second"].get(arch, architectures.get(arch).images_per_second)
    estimates = {**settings, "margin_candidates": study.config["metrics"]["input_margin"]["candidates"]}
    estimates["cleanlab_folds"] = study.cleanlab_folds
    seconds = STAGES[stage].seconds(shape, speed, estimates)
    memory = STAGES[stage].memory_mb(shape, study.config["probe"]["max_dim"])
    runtime = settings["min_runtime"] + settings["runtime_factor"] * seeds * seconds / 60
    return {
        "mem_mb": math.ceil(
            job_memory(settings["base_mem_mb"], memory, at_once(study, stage, variant_prefix, dataset, arch, seeds))
            * attempt
        ),
        "runtime": math.ceil(runtime * attempt),
    }
