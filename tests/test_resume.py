"""Resumable training: a training job killed after its first checkpoint, re-run, ends as an uninterrupted run; a
block of seeds killed in its second seed retrains none of its first."""

import os
import signal
import subprocess
import time

import numpy as np
import pytest
import torch
import yaml

from conftest import snakemake, snakemake_command
from pdepth.device import usable_cpus
from pdepth.records import load_npz

pytestmark = pytest.mark.slow
TARGET = "results/fmnist/mlp/seed0/run.npz"
CONFIG = {
    "datasets": ["fmnist"],
    "architectures": ["mlp"],
    "seeds": 1,
    "checkpoint_every": 1,
    "threads": {"train": 2, "probe": 2},
    "data": {"subset": {"train": 6000, "test": 1000, "seed": 0}},
    "models": {"mlp": {"hidden_layers": 3, "width": 256}},
    "training": {"default": {"epochs": 4, "batch_size": 128}},
}


@pytest.mark.parametrize(
    ("seeds", "cpu_threads", "waited_for", "log", "resumed"),
    [
        (1, 1, ["seed0/checkpoint.pt"], "train_seed0.log", ["resuming from results/fmnist/mlp/seed0/"]),
        # one seed at a time (2 threads each on the job's 2): seed 1's first checkpoint exists, so seed 0 is done,
        # its checkpoint after the last epoch kept for the block
        (2, 2, ["seed1/checkpoint.pt"], "train_seeds0-1.log", ["seed0/checkpoint.pt (after epoch 4)"]),
        # side by side (1 thread each): both killed in training, each resumes from its own checkpoint
        (2, 1, ["seed0/checkpoint.pt", "seed1/checkpoint.pt"], "train_seeds0-1.log", ["seed0/", "seed1/"]),
    ],
)
def test_killed_training_resumes_to_identical_outputs(
    tmp_path, fmnist_dir, seeds, cpu_threads, waited_for, log, resumed
):
    configfile = tmp_path / "resume.yaml"
    floor = {"fidelity": {"floor": {"min_held_out": 2}}}  # the default (3) asks for 3 seeds
    training = {"training": {"default": CONFIG["training"]["default"] | {"cpu_threads": cpu_threads}}}
    configfile.write_text(yaml.safe_dump(CONFIG | floor | training | {"seeds": seeds, "seeds_per_job": 2}))
    killed, reference = tmp_path / "killed", tmp_path / "reference"
    command = snakemake_command(killed, "--cores", "2", TARGET, configfile=configfile)
    job = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    checkpoints = [killed / "results/fmnist/mlp" / name for name in waited_for]
    deadline = time.monotonic() + 600
    while not all(c.exists() for c in checkpoints) and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(job.pid, signal.SIGKILL)  # Snakemake and its training job, as a node failure would
    job.wait()
    last = f"results/fmnist/mlp/seed{seeds - 1}/run.npz"
    assert all(c.exists() for c in checkpoints) and not (killed / last).exists(), (
        "must die between checkpoint and outputs"
    )

    assert snakemake(killed, "--unlock", configfile=configfile).returncode == 0  # a killed Snakemake leaves its lock
    rerun = snakemake(killed, "--cores", "2", "--rerun-incomplete", TARGET, configfile=configfile)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    text = (killed / "logs/fmnist/mlp" / log).read_text()
    lines = [line for line in text.splitlines() if "resuming from" in line]
    assert all(any(part in line for line in lines) for part in resumed), lines
    side_by_side = seeds == 2 and cpu_threads == 1 and usable_cpus() >= 2
    assert ("2 models, 2 at a time, 1 thread(s) each" in text) == side_by_side  # how the block trained
    assert not list((killed / "results/fmnist/mlp").rglob("checkpoint.pt"))  # removed once the outputs exist

    uninterrupted = snakemake(reference, "--cores", "2", TARGET, configfile=configfile)
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-3000:]
    for seed in range(seeds):
        run = f"results/fmnist/mlp/seed{seed}/run.npz"
        resumed, expected = load_npz(killed / run), load_npz(reference / run)
        for name in ("in_train", "snapshot_preds", "snapshot_steps", "snapshot_lag", "job"):
            np.testing.assert_array_equal(resumed[name], expected[name])
        weights = [torch.load(root / run.replace("run.npz", "model.pt"))["state_dict"] for root in (killed, reference)]
        for name, value in weights[1].items():  # the final model, whose outputs the probe job keeps
            assert torch.equal(weights[0][name], value), name
