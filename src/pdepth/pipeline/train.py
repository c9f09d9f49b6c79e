"""Stage: train the models of a block of seeds (dataset, arch, seeds), side by side where the job's threads allow,
and save each one's weights, predictions, snapshots and history."""

import csv
import hashlib
import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from pdepth import paths
from pdepth.config import jobs
from pdepth.data.augment import Normalizer
from pdepth.data.examples import Examples
from pdepth.data.splits import train_mask
from pdepth.device import pick_device
from pdepth.pipeline import side_by_side
from pdepth.pipeline.trained import examples_of
from pdepth.records import atomic_write
from pdepth.training.checkpoint import Checkpointing
from pdepth.training.loop import HISTORY_COLUMNS, fit

log = logging.getLogger(__name__)
CHECKPOINT_FORMAT = 5  # 2: the training passes' predictions; 3: the training-dynamics scores; 4: earlier weights;
# 5: AUM's own presentation count (training.aum_from_epoch)


def run_block(
    block: jobs.TrainBlock,
    prepared: Path,
    weights: list[Path],
    outputs: list[Path],
    history: list[Path],
    threads: int,
    progress: bool = True,
) -> None:
    """Train the block's seeds, side by side where its threads allow (:mod:`pdepth.pipeline.side_by_side`). Each
    seed's checkpoint is kept until the last seed is done (with several seeds, also the one after its last epoch): a
    killed block, re-run, retrains none of its finished seeds."""
    first, several = block.runs[0], len(block.runs) > 1
    seeds = [  # every seed of a block sees the same examples
        SeedFiles(job, first.examples, prepared, weight, output, history_file, several)
        for job, weight, output, history_file in zip(block.runs, weights, outputs, history, strict=True)
    ]
    names = [str(job.run) for job in block.runs]
    on_cpu = pick_device(first.device).type == "cpu"
    done = side_by_side.run_all(train_seed, seeds, names, threads, first.training.cpu_threads, on_cpu, progress)
    for checkpointing in done:
        checkpointing.remove()  # the final outputs of every seed exist: nothing left to resume


@dataclass(frozen=True)
class SeedFiles:
    """One seed of a training block: its record, the block's examples and the seed's files."""

    job: jobs.TrainJob
    examples: jobs.ExampleSet
    prepared: Path
    weights: Path
    outputs: Path
    history: Path
    keep_last: bool


def train_seed(seed: SeedFiles, progress: bool) -> Checkpointing:
    """Train one seed of a block and write its files."""
    examples = examples_of(seed.examples, seed.prepared)
    return run(seed.job, examples, seed.weights, seed.outputs, seed.history, progress, seed.keep_last)


def run(
    job: jobs.TrainJob,
    examples: Examples,
    weights: Path,
    outputs: Path,
    history: Path,
    progress: bool = True,
    keep_last: bool = False,
) -> Checkpointing:
    """Train one seed and write its files; returns its checkpointing, for the block to remove."""
    device = pick_device(job.device)
    run, config = job.run, job.training
    in_train = train_mask(examples.orig_split, job.holdout_fraction, run.seed)
    mean, std = job.normalisation.resolve(examples)
    log.info(
        "%s on %s (%d threads): %d examples, %d in training (%s); normalisation mean %s std %s; %s",
        run,
        device,
        torch.get_num_threads(),
        len(examples),
        in_train.sum(),
        jobs.design(job.holdout_fraction),
        _rounded(mean),
        _rounded(std),
        config,
    )
    normalize = Normalizer(mean, std, device=device)
    checkpointing = Checkpointing(
        paths.checkpoint(weights),
        job.checkpoint_every,
        fingerprint(
            CHECKPOINT_FORMAT,
            config,
            run.arch,
            job.model_options,
            run.seed,
            mean,
            std,
            in_train,
            examples.index,
            examples.labels,
        ),
        keep_last,
    )
    model, result = fit(
        run.arch, job.model_options, examples, in_train, normalize, config, run.seed, progress, checkpointing
    )
    saved = {"arch": run.arch, "options": job.model_options, "state_dict": model.state_dict()}
    with atomic_write(weights) as partial:
        torch.save(saved | {"state_dicts_at_points": result.states_at_points}, partial)
    replace(result.outputs, job=jobs.to_json(job)).save(outputs)
    with atomic_write(history) as partial, open(partial, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=HISTORY_COLUMNS, delimiter="\t")  # no rows for an untrained model
        writer.writeheader()
        writer.writerows(result.history)
    return checkpointing


def fingerprint(*parts) -> str:
    """SHA-256 over the parts (arrays by their bytes) that make a run what it is."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.tobytes() if isinstance(part, np.ndarray) else str(part).encode())
    return digest.hexdigest()


def _rounded(values: tuple[float, ...]) -> str:
    return "(" + ", ".join(f"{v:.4f}" for v in values) + ")"
