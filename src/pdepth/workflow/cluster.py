"""How big a cluster job is: memory (MB) and runtime (minutes) of each per-run stage, from the dataset's size, the
architecture's depth and throughput, the seeds of the job's block, and the retry attempt (each retry asks for
proportionally more).

The throughputs are config values (``cluster:``) because they depend on the cluster's devices; docs/cluster.md (Job
sizes) gives the measured defaults and how to re-measure them from the benchmark table of a first run.
"""

import math
from dataclasses import dataclass

from pdepth.config.study import Study
from pdepth.data import registry as datasets
from pdepth.models import architectures

STAGES = ("train", "probe")  # probe: the embeddings, their k-NN probes and the input margins, in one job
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
    """``{"mem_mb": int, "runtime": int}`` for one job of ``stage`` over a block of ``seeds`` seeds (one after the
    other: the time adds up, the memory does not); attempt n asks for n times the first's."""
    settings = study.config["cluster"]
    shape = job_shape(study, variant_prefix, dataset, arch)
    data_mb = shape.examples * shape.pixels * FLOAT / MB
    widest = max(shape.pixels, 1)  # the widest probe is taken to be as wide as the input
    max_dim = study.config["probe"]["max_dim"] or widest  # null: no probe is reduced
    layer_mb = shape.examples * min(max_dim, widest) * FLOAT / MB
    speed = settings["images_per_second"].get(arch, architectures.get(arch).images_per_second)
    candidates = study.config["metrics"]["input_margin"]["candidates"] or 99
    seconds = {
        "train": shape.epochs * shape.train_examples / speed  # and eval passes (a third of a training step each):
        + (shape.snapshots * (shape.examples - shape.train_examples) + shape.examples) / (3 * speed),
        "probe": shape.examples / (3 * speed)  # the embeddings: forward passes only
        + shape.examples * shape.probes / settings["probe_examples_per_second"]
        + shape.margin_examples * candidates / speed,
    }[stage]
    memory = {
        "train": 3 * data_mb,
        "probe": max(  # the embeddings, the probes, the input margins: one after the other
            data_mb + 2 * layer_mb, 4 * layer_mb + shape.examples * shape.probes * shape.classes * 2 / MB, 2 * data_mb
        ),
    }[stage]
    runtime = settings["min_runtime"] + settings["runtime_factor"] * seeds * seconds / 60
    return {
        "mem_mb": math.ceil((settings["base_mem_mb"] + memory) * attempt),
        "runtime": math.ceil(runtime * attempt),
    }
