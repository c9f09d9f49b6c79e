"""A job over a block of seeds gives each seed the files a one-seed job gives it, bit for bit on the CPU: the
training job (weights, run, history) and the probe job (probes, input margins)."""

import csv

import numpy as np
import pytest
import torch

from conftest import smoke_config
from pdepth.config.study import Study
from pdepth.pipeline import probe, train
from pdepth.records import load_npz

pytestmark = pytest.mark.slow
SEEDS = {"block": (0, 1), "alone": (1,)}


def run_files(folder, seeds, name):
    return [folder / f"seed{seed}" / name for seed in seeds]


@pytest.fixture(scope="module")
def runs(fmnist_prepared, tmp_path_factory):
    """Seeds 0 and 1 of the smoke study's MLP in one block, and seed 1 alone, each in its own folder."""
    study = Study.checked(smoke_config())
    folders = {}
    for kind, seeds in SEEDS.items():
        folder = folders[kind] = tmp_path_factory.mktemp(kind)
        files = {name: run_files(folder, seeds, name) for name in ("model.pt", "run.npz", "history.tsv")}
        for path in files["model.pt"]:
            path.parent.mkdir(parents=True)
        train.run_block(
            study.block_job("train", seeds, "fmnist", "", "mlp"),
            fmnist_prepared,
            files["model.pt"],
            files["run.npz"],
            files["history.tsv"],
            threads=2,
            progress=False,
        )
        probe.run_block(
            study.block_job("probe", seeds, "fmnist", "", "mlp"),
            fmnist_prepared,
            files["model.pt"],
            files["run.npz"],
            run_files(folder, seeds, "probes.npz"),
            run_files(folder, seeds, "margins.npz"),
            threads=2,
            progress=False,
        )
    return folders


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
