"""A job over a block of seeds gives each seed the files a one-seed job gives it, bit for bit on the CPU: the
training job (weights, run, history) and the probe job (probes, input margins)."""

import csv

import numpy as np
import pytest
import torch

from conftest import smoke_config
from pdepth.config.records import JobRecords
from pdepth.config.study import Study
from pdepth.pipeline import probe, train
from pdepth.records import load_npz
from pdepth.workflow.stages import block_job

pytestmark = pytest.mark.slow
SEED = 1  # seed 1 of the smoke study's MLP, trained and probed there in one block with seed 0


def run_files(folder, name):
    return [folder / f"seed{SEED}" / name]


@pytest.fixture(scope="module")
def runs(smoke_run, fmnist_prepared, tmp_path_factory):
    """The smoke study's MLP block (seeds 0 and 1, made by the workflow) and seed 1 alone, in its own folder."""
    study = Study.checked(smoke_config())
    alone = tmp_path_factory.mktemp("alone")
    (alone / f"seed{SEED}").mkdir()
    train.run_block(
        block_job(JobRecords(study), "train", (SEED,), "fmnist", "", "mlp"),
        fmnist_prepared,
        *(run_files(alone, name) for name in ("model.pt", "run.npz", "history.tsv")),
        threads=2,
        progress=False,
    )
    probe.run_block(
        block_job(JobRecords(study), "probe", (SEED,), "fmnist", "", "mlp"),
        fmnist_prepared,
        *(run_files(alone, name) for name in ("model.pt", "run.npz", "probes.npz", "margins.npz")),
        threads=2,
        progress=False,
    )
    return {"block": smoke_run / "results/fmnist/mlp", "alone": alone}


@pytest.mark.parametrize("name", ["run.npz", "probes.npz", "margins.npz"])
def test_a_seed_of_a_block_has_the_files_of_a_one_seed_job(runs, name):
    in_block, alone = load_npz(runs["block"] / "seed1" / name), load_npz(runs["alone"] / "seed1" / name)
    assert sorted(in_block) == sorted(alone)
    for key in in_block:
        np.testing.assert_array_equal(in_block[key], alone[key], err_msg=key)


def test_a_seed_of_a_block_has_the_weights_and_history_of_a_one_seed_job(runs):
    in_block = torch.load(runs["block"] / "seed1/model.pt", weights_only=True)["state_dict"]
    alone = torch.load(runs["alone"] / "seed1/model.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(in_block[key], alone[key]) for key in alone)

    def without_times(path):
        return [
            {k: v for k, v in row.items() if "seconds" not in k} for row in csv.DictReader(open(path), delimiter="\t")
        ]

    assert without_times(runs["block"] / "seed1/history.tsv") == without_times(runs["alone"] / "seed1/history.tsv")
    assert not list(runs["block"].rglob("checkpoint.pt")) and not list(runs["block"].rglob("embeddings-*"))
    seed0 = load_npz(runs["block"] / "seed0/run.npz")
    assert not np.array_equal(seed0["in_train"], load_npz(runs["alone"] / "seed1/run.npz")["in_train"])
