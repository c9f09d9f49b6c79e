"""End to end on generated CIFAR-10 and SVHN files: per-dataset targets, the full-training-set variant, isolation."""

import numpy as np
import pytest
import xarray as xr
import yaml

import generated_data as gen
from conftest import snakemake
from pdepth.data.prepared import TRAIN

pytestmark = pytest.mark.slow
SEEDS, FULL_SEEDS = 2, 3


@pytest.fixture(scope="module")
def micro(tmp_path_factory):
    """A workdir with a micro study of two generated datasets, of which only cifar10 has been run."""
    workdir = tmp_path_factory.mktemp("micro")
    staged = workdir / "staged"
    cifar10 = gen.write_cifar10(staged, per_batch=100, n_test=100)
    svhn = gen.write_svhn(staged, n_train=400, n_test=100)
    config = {
        "datasets": ["cifar10", "svhn"],
        "architectures": ["mlp"],
        "seeds": SEEDS,
        "full_train_seeds": FULL_SEEDS,
        "threads": {"train": 1, "probe": 1},
        "data": {
            "data_dir": str(staged),
            "use_system_copies": False,
            "download": False,
            "checksums": {
                "cifar10": {cifar10.path.name: cifar10.md5},
                "svhn": {name: written.md5 for name, written in svhn.items()},
            },
        },
        "models": {"mlp": {"hidden_layers": 2, "width": 32}},
        "training": {"default": {"epochs": 10, "batch_size": 50, "lr": 0.01, "warmup_epochs": 0.5}},
        "probe": {"k": 30, "backend": "exact"},
        "fidelity": {"floor": {"min_held_out": 2}},
    }
    configfile = workdir / "micro.yaml"
    configfile.write_text(yaml.safe_dump(config))
    result = snakemake(workdir, "--cores", "2", "cifar10", configfile=configfile)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    return workdir, configfile, cifar10


def files_under(*directories):
    return {path: path.stat().st_mtime_ns for d in directories for path in d.rglob("*") if path.is_file()}


def test_one_dataset_target_runs_that_dataset_only(micro):
    workdir, _, _ = micro
    for variant in ("", "full/"):
        for name in ("cube.nc", "figures/knn_accuracy.png", "figures/knn_accuracy.pdf"):
            assert (workdir / f"results/{variant}cifar10/mlp" / name).stat().st_size > 0
    assert not (workdir / "results/svhn").exists() and not (workdir / "resources/svhn.npz").exists()
    shared = sorted(p.stem for p in (workdir / "results/figures").glob("*.png"))
    assert shared == ["depth_agreement_cifar10"]  # this dataset's only; cross-dataset figures belong to `all`
    prepare_log = (workdir / "logs/cifar10/prepare.log").read_text()
    assert "checked against the configured md5" in prepare_log and "600 examples" in prepare_log
    train_log = (workdir / "logs/cifar10/mlp/train_seeds0-1.log").read_text()  # one job for the block of 2 seeds
    assert "Augmentation(crop_padding=4, flip=True)" in train_log  # CIFAR's default augmentation
    assert (workdir / "logs/full/cifar10/mlp/train_seeds0-2.log").exists()


def test_cubes_of_the_split_and_full_training_set_variants(micro):
    workdir, _, cifar10 = micro
    split = xr.open_dataset(workdir / "results/cifar10/mlp/cube.nc")
    full = xr.open_dataset(workdir / "results/full/cifar10/mlp/cube.nc")
    assert dict(split.sizes) == {"example": 600, "seed": SEEDS, "layer": 4}
    assert dict(full.sizes) == {"example": 600, "seed": FULL_SEEDS, "layer": 4}
    np.testing.assert_array_equal(split.label, cifar10.labels)  # the examples in the order they were written
    np.testing.assert_array_equal(split.in_train.sum("example"), [450] * SEEDS)  # 90% of the 500 training images
    from_train = (full.orig_split == TRAIN).values
    assert full.in_train.values.all(axis=1).tolist() == from_train.tolist()  # every training image, every seed
    assert split.attrs["variant"] == "split" and full.attrs["variant"] == "full"
    assert len(split.attrs["normalisation_mean"]) == 3
    assert split.knn_pred.max() <= 9 and np.isfinite(split.pd).any()


def test_rerunning_one_dataset_never_touches_another(micro):
    workdir, configfile, _ = micro
    result = snakemake(workdir, "--cores", "2", "svhn", configfile=configfile)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    svhn = xr.open_dataset(workdir / "results/svhn/mlp/cube.nc")
    np.testing.assert_array_equal(svhn.label[:10], np.arange(10))  # label 10 was digit 0
    svhn_files = files_under(workdir / "results/svhn", workdir / "results/full/svhn", workdir / "logs/svhn")
    svhn_files[workdir / "resources/svhn.npz"] = (workdir / "resources/svhn.npz").stat().st_mtime_ns
    before = xr.load_dataset(workdir / "results/cifar10/mlp/cube.nc")
    cube_mtime = (workdir / "results/cifar10/mlp/cube.nc").stat().st_mtime_ns

    result = snakemake(workdir, "--cores", "2", "--forceall", "cifar10", configfile=configfile)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (workdir / "results/cifar10/mlp/cube.nc").stat().st_mtime_ns > cube_mtime  # it did run again
    after = xr.load_dataset(workdir / "results/cifar10/mlp/cube.nc")
    for name in ("in_train", "pred", "knn_pred", "knn_conf", "pd"):  # and gave the same cube (determinism)
        xr.testing.assert_identical(before[name], after[name])
    assert {path: path.stat().st_mtime_ns for path in svhn_files} == svhn_files

    result = snakemake(workdir, "--cores", "2", "all", configfile=configfile)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (workdir / "results/figures/pd_distribution_mlp.png").stat().st_size > 0
    # Figure 4 (middle): depth in one of the 3 full-training-set models against the other two, on the test set
    assert (workdir / "results/figures/depth_predicts_consensus_mlp.png").stat().st_size > 0
    assert {path: path.stat().st_mtime_ns for path in svhn_files} == svhn_files
