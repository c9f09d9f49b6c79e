"""Benchmark: a job's models trained side by side (pdepth.pipeline.side_by_side, each with training.cpu_threads
threads) against one after the other with every thread, as the training and cross-validation jobs ran them before.

Each architecture of ``--config`` trains ``--models`` models (seeds 0, 1, ...) with its train job's model options and
training settings, unrecorded (as the cross-validation's fold models), for one epoch of ``--steps`` steps on random
Fashion-MNIST-shaped images (speed does not depend on the pixels). Both ways include what a job pays per model:
building it, and in the side-by-side way starting the worker processes (torch imported in each).

    .venv/bin/python benchmarks/side_by_side.py [--config config.yaml] [--archs mlp] [--models 4] [--steps 300]
"""

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from pdepth.config.records import JobRecords
from pdepth.config.study import Study
from pdepth.data.examples import Examples
from pdepth.data.prepared import TRAIN
from pdepth.device import configure_torch, usable_cpus
from pdepth.pipeline import side_by_side
from pdepth.training import hparams

ROOT = Path(__file__).resolve().parents[1]


def train_one(task: tuple, progress: bool) -> float:
    """Train one model (arch, options, config, seed, examples) for its epoch; returns its seconds."""
    from pdepth.data.augment import Normalizer
    from pdepth.training.loop import fit

    arch, options, config, seed, examples = task
    started = time.perf_counter()
    normalize = Normalizer(examples.mean, examples.std, device=torch.device("cpu"))
    in_train = np.ones(len(examples), bool)
    fit(arch, options, examples, in_train, normalize, config, seed, progress=False, record=False)
    return time.perf_counter() - started


def random_examples(count: int) -> Examples:
    rng = np.random.default_rng(0)
    return Examples(
        index=np.arange(count),
        images=rng.integers(0, 256, (count, 28, 28, 1), dtype=np.uint8),
        labels=rng.integers(0, 10, count),
        orig_split=np.full(count, TRAIN, np.int8),
        orig_index=np.arange(count),
        classes=tuple(str(c) for c in range(10)),
        mean=(0.286,),
        std=(0.353,),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml")
    parser.add_argument("--archs", nargs="+", help="default: the config's architectures")
    parser.add_argument("--models", type=int, default=4, help="models per job (the default study: 4 seeds a block)")
    parser.add_argument("--steps", type=int, default=300, help="training steps of each model")
    args = parser.parse_args()
    study, cpus = Study.load(args.config), usable_cpus()
    print(f"{cpus} CPUs; {args.config.name}; {args.models} models of {args.steps} steps each")
    print(
        f"{'arch':9} {'cpu_threads':>11} {'at once':>7} {'one after the other':>19} {'side by side':>12} {'ratio':>5}"
    )
    for arch in args.archs or study.architectures:
        job = JobRecords(study).job("train", study.datasets[0], "", arch, 0)
        config = replace(job.training, epochs=1, warmup_epochs=0.0)
        examples = random_examples(args.steps * config.batch_size)
        tasks = [(arch, job.model_options, config, seed, examples) for seed in range(args.models)]
        names = [f"{arch} seed {seed}" for seed in range(args.models)]
        started = time.perf_counter()
        configure_torch(cpus)
        for task in tasks:
            train_one(task, False)
        alone = time.perf_counter() - started
        started = time.perf_counter()
        side_by_side.run_all(train_one, tasks, names, cpus, config.cpu_threads, True, False)
        side = time.perf_counter() - started
        at_once, _ = hparams.side_by_side(cpus, args.models, config.cpu_threads)
        images = args.models * len(examples)
        print(
            f"{arch:9} {config.cpu_threads:11} {at_once:7} {images / alone:13,.0f} img/s {images / side:6,.0f} img/s"
            f" {alone / side:5.2f}"
        )


if __name__ == "__main__":  # the side-by-side workers import this file; they must not run it
    main()
