"""Benchmark: pdepth's training loop against a bare loop of the same model, batch, optimiser and device.

Both loops train a copy of one model, in this one process, with a study's training settings (the model options and
``training`` block of each architecture's train job in ``--config``) on Fashion-MNIST-shaped images (random pixels:
speed does not depend on them) for the same number of steps, after a warm-up. The bare loop is what a minimal script
does: images already normalised floats on the device, SGD with the same hyper-parameters, no schedule, no checks, no
progress bar, one host synchronisation at the end. pdepth's loop (``training.train``) also normalises uint8 batches,
schedules the learning rate, checks for divergence once per epoch and records every example's prediction: the
training examples' from their training forward passes (in the loop, so in the ratio), the held-out ones' by an eval
pass at each snapshot (batch norm folded into the convolutions: ``loop.for_inference``). The final model's pass over
every example is the probe job's, not training's. The ratio compares the loops without the eval passes, which are
printed next to it as fractions of a real epoch (FMNIST 90:10: 54,000 training images; 16,000 held out, of 70,000):
"held-out" as pdepth runs it, "unfolded" the same pass with batch norm as trained (before the folding), "full pass"
a pass over all 70,000 (what a snapshot cost before the held-out design, and what the final pass cost training before
it moved to the probe job). "recording" is the held-out passes' share of a run of the config's epochs: its snapshots
(initialisation, then ``snapshots_per_epoch`` per epoch) times the held-out pass, over the epochs.

    .venv/bin/python benchmarks/training.py [--config configs/paper.yaml] [--archs mlp vgg16] [--device cuda]
"""

import argparse
import copy
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from pdepth.config.records import JobRecords
from pdepth.config.study import Study
from pdepth.data.augment import Normalizer
from pdepth.data.prepared import TEST, TRAIN
from pdepth.device import configure_torch, pick_device, usable_cpus
from pdepth.models import InputShape, build
from pdepth.training.loop import TrainConfig, memory_format, predict_logits, sgd, train

ROOT = Path(__file__).resolve().parents[1]
FMNIST = InputShape(1, 28, 28, 10)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bare_loop(model, images: torch.Tensor, labels: torch.Tensor, config: TrainConfig, steps: int) -> float:
    """Seconds for ``steps`` SGD steps of the minimal loop."""
    optimizer = sgd(model, config)
    order = torch.randperm(len(images), device=images.device)
    model.train()
    synchronize(images.device)
    started = time.perf_counter()
    for step in range(steps):
        batch = order[step * config.batch_size : (step + 1) * config.batch_size]
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(images[batch]), labels[batch])
        loss.backward()
        optimizer.step()
    synchronize(images.device)
    return time.perf_counter() - started


def pdepth_epoch(model, images, labels, normalize, config: TrainConfig, train_examples: int) -> float:
    """Seconds of one epoch of ``training.train`` without its eval passes."""
    n = len(images)
    in_train = np.arange(n) < train_examples
    orig_split = np.where(in_train, TRAIN, TEST)
    result = train(model, images, labels, in_train, orig_split, normalize, config, seed=0, progress=False)
    row = result.history[0]
    return row["seconds"] - row["snapshot_seconds"]


def eval_pass(model, images, normalize, config: TrainConfig, memory, folded: bool = True) -> float:
    """Seconds of one eval-mode pass over ``images``: pdepth's (batch norm folded), or the model as trained."""
    started = time.perf_counter()
    if folded:
        predict_logits(model, images, normalize, config.eval_batch_size, memory)
    else:
        with torch.no_grad():
            model.eval()
            for start in range(0, len(images), config.eval_batch_size):
                model(normalize(images[start : start + config.eval_batch_size].contiguous(memory_format=memory)))
            model.train()
    synchronize(images.device)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml")
    parser.add_argument("--archs", nargs="+", help="default: the config's architectures")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=60, help="training steps per loop (one epoch of pdepth's)")
    parser.add_argument("--examples", type=int, default=70_000, help="examples of a snapshot pass (FMNIST: 70,000)")
    parser.add_argument("--repeats", type=int, default=2, help="best of this many runs of each loop")
    args = parser.parse_args()
    study = Study.load(args.config)
    device = pick_device(args.device)
    configure_torch(usable_cpus())
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print(f"{name}; torch {torch.__version__}; {args.config.name}; {args.steps} steps per loop, best of {args.repeats}")
    generator = torch.Generator().manual_seed(0)
    images_u8 = torch.randint(
        0, 256, (args.examples, FMNIST.channels, FMNIST.height, FMNIST.width), dtype=torch.uint8, generator=generator
    )
    images_u8, labels = images_u8.to(device), torch.randint(0, 10, (args.examples,), generator=generator).to(device)
    normalize = Normalizer([0.286], [0.353], device)

    print(
        f"{'arch':9} {'batch':>5} {'bare img/s':>10} {'pdepth img/s':>12} {'ratio':>5} {'held-out':>9} {'unfolded':>8}"
        f" {'full pass':>9} {'epochs':>6} {'snapshots':>9} {'recording':>9}"
    )
    for arch in args.archs or study.architectures:
        job = JobRecords(study).job("train", study.datasets[0], "", arch, 0)
        config = replace(job.training, epochs=1, warmup_epochs=0.0, snapshots_per_epoch=1)
        memory = memory_format(config)
        torch.manual_seed(0)
        initial = build(arch, FMNIST, job.model_options).to(device, memory_format=memory)
        images_float = normalize(images_u8).contiguous(memory_format=memory)
        steps = min(args.steps, args.examples // config.batch_size)
        bare_loop(copy.deepcopy(initial), images_float, labels, config, 5)  # warm-up: kernels, allocator
        held_out = images_u8[: args.examples * 16_000 // 70_000]
        bare, ours, held, unfolded, full = [], [], [], [], []
        for _ in range(args.repeats):
            bare.append(bare_loop(copy.deepcopy(initial), images_float, labels, config, steps))
            ours.append(
                pdepth_epoch(copy.deepcopy(initial), images_u8, labels, normalize, config, steps * config.batch_size)
            )
            held.append(eval_pass(initial, held_out, normalize, config, memory))
            unfolded.append(eval_pass(initial, held_out, normalize, config, memory, folded=False))
            full.append(eval_pass(initial, images_u8, normalize, config, memory))
        images = steps * config.batch_size
        epoch_seconds = min(ours) * 54_000 / images
        held_share, unfolded_share, full_share = (
            min(seconds) * 70_000 / args.examples / epoch_seconds for seconds in (held, unfolded, full)
        )
        epochs, snapshots = job.training.epochs, 1 + job.training.epochs * job.training.snapshots_per_epoch
        print(
            f"{arch:9} {config.batch_size:5} {images / min(bare):10,.0f} {images / min(ours):12,.0f}"
            f" {min(bare) / min(ours):5.2f} {held_share:9.1%} {unfolded_share:8.1%} {full_share:9.0%} {epochs:6d}"
            f" {snapshots:9d} {held_share * snapshots / max(epochs, 1):9.1%}"
        )


if __name__ == "__main__":
    main()
