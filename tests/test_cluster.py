"""Cluster job sizes (pdepth.workflow.cluster) and one GPU per job on a multi-GPU machine
(pdepth.workflow.gpu_slots)."""

import multiprocessing
import os

import pytest

from conftest import LABEL_NOISE_STUDY, ROOT
from pdepth.config.study import Study
from pdepth.workflow import cluster, gpu_slots
from pdepth.workflow.stages import STAGES


def paper_study() -> Study:
    return Study.load(ROOT / "configs/paper.yaml")


def test_resources_grow_with_the_attempt():
    study = paper_study()
    first = cluster.resources(study, "train", "", "cifar10", "resnet18", attempt=1)
    third = cluster.resources(study, "train", "", "cifar10", "resnet18", attempt=3)
    assert third["mem_mb"] == pytest.approx(3 * first["mem_mb"], abs=3)
    assert third["runtime"] == pytest.approx(3 * first["runtime"], abs=3)


def test_resources_scale_with_the_dataset_and_the_architecture():
    study = paper_study()
    settings = study.config["cluster"]
    fmnist = cluster.resources(study, "train", "", "fmnist", "resnet18")
    svhn = cluster.resources(study, "train", "", "svhn", "resnet18")
    assert svhn["mem_mb"] > fmnist["mem_mb"]  # 99,289 colour images against 70,000 grey ones
    shape = cluster.job_shape(study, "", "cifar10", "vgg16")
    assert (shape.examples, shape.train_examples, shape.pixels, shape.classes) == (60_000, 45_000, 3072, 10)
    assert shape.probes == 15  # input, 13 convolutions... as the model lists them
    held_out = shape.examples - shape.train_examples  # evaluated at every snapshot (the final pass: the probe job's)
    assert shape.snapshots == 1 + 30 * 4  # initialisation, then 4 per epoch for 30 epochs
    images = shape.epochs * shape.train_examples + shape.snapshots * held_out / 3
    expected = settings["min_runtime"] + settings["runtime_factor"] * (
        images / settings["images_per_second"]["vgg16"] / 60
    )
    assert cluster.resources(study, "train", "", "cifar10", "vgg16")["runtime"] == pytest.approx(expected, abs=1)
    assert cluster.job_shape(study, "", "cifar100", "vgg16").classes == 100


@pytest.mark.parametrize("stage", ["train", "probe"])
def test_a_block_asks_for_its_seeds_time_and_one_seeds_memory(stage):
    study = paper_study()
    settings = study.config["cluster"]
    one = cluster.resources(study, stage, "", "cifar10", "vgg16", seeds=1)
    block = cluster.resources(study, stage, "", "cifar10", "vgg16", seeds=25)
    work = one["runtime"] - settings["min_runtime"]  # minutes of one seed, with the safety factor
    assert block["runtime"] == pytest.approx(settings["min_runtime"] + 25 * work, abs=25)
    assert block["mem_mb"] == one["mem_mb"]


def test_a_cpu_job_asks_for_the_memory_of_the_models_it_trains_at_once():
    """The default config with the label-noise model, on CPUs: a training job of 8 threads trains its 4 seeds at once
    (1 thread each), the cross-validation 8 of its 20 fold models, each in a worker process next to the job's own; a
    probe job one seed."""
    study = Study.load(*LABEL_NOISE_STUDY)
    base = study.config["cluster"]["base_mem_mb"]

    def memory(stage, seeds):
        shape = cluster.job_shape(study, "noise40/", "fmnist", "mlp")
        return base + STAGES[stage].memory_mb(shape, study.config["probe"]["max_dim"])

    for stage, at_once in (("train", 4), ("crossval", 8)):
        assert cluster.at_once(study, stage, "noise40/", "fmnist", "mlp", 4) == at_once
        expected = (at_once + 1) * memory(stage, 4)
        assert cluster.resources(study, stage, "noise40/", "fmnist", "mlp", seeds=4)["mem_mb"] == pytest.approx(
            expected, abs=1
        )
    assert cluster.resources(study, "probe", "noise40/", "fmnist", "mlp", seeds=4)["mem_mb"] == pytest.approx(
        memory("probe", 4), abs=1
    )
    assert cluster.at_once(study, "train", "zerohinge/", "fmnist", "mlp", 1) == 1  # one model alone


def _claim(args):
    directory, hold = args
    with gpu_slots.claimed_gpus(1, available=3, directory=directory) as devices:
        hold.wait(30)
        return devices, os.environ[gpu_slots.VISIBLE]


def test_concurrent_jobs_get_different_gpus(tmp_path, monkeypatch):
    monkeypatch.delenv(gpu_slots.VISIBLE, raising=False)
    with multiprocessing.Manager() as manager:
        hold = manager.Barrier(3)  # all three hold their GPU at the same time
        with multiprocessing.get_context("fork").Pool(3) as pool:
            results = pool.map(_claim, [(tmp_path, hold)] * 3)
    assert sorted(d for devices, _ in results for d in devices) == [0, 1, 2]
    assert sorted(visible for _, visible in results) == ["0", "1", "2"]


def test_a_gpu_is_free_again_once_its_job_ends(tmp_path, monkeypatch):
    monkeypatch.delenv(gpu_slots.VISIBLE, raising=False)
    with gpu_slots.claimed_gpus(2, available=2, directory=tmp_path) as devices:
        assert devices == [0, 1]
        monkeypatch.delenv(gpu_slots.VISIBLE)
        with pytest.raises(RuntimeError, match="--resources gpu="), gpu_slots.claimed_gpus(1, 2, tmp_path):
            pass
    monkeypatch.delenv(gpu_slots.VISIBLE, raising=False)
    with gpu_slots.claimed_gpus(1, available=2, directory=tmp_path) as devices:
        assert devices == [0]


def test_a_scheduler_assignment_or_no_gpu_request_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.setenv(gpu_slots.VISIBLE, "3")
    with gpu_slots.claimed_gpus(1, available=4, directory=tmp_path) as devices:
        assert devices == [] and os.environ[gpu_slots.VISIBLE] == "3"
    monkeypatch.delenv(gpu_slots.VISIBLE)
    with gpu_slots.claimed_gpus(0, available=4, directory=tmp_path) as devices:
        assert devices == [] and gpu_slots.VISIBLE not in os.environ
