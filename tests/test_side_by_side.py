"""Models trained side by side (pdepth.pipeline.side_by_side): how many at once, their results in order and equal to
one after the other, their log lines named, their errors raised; and torch's fused SGD as the optimiser."""

import logging
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from pdepth import device
from pdepth.config.records import JobRecords
from pdepth.config.study import Study
from pdepth.pipeline import crossval, side_by_side
from pdepth.records import load_npz
from pdepth.training import hparams
from pdepth.training.hparams import TrainConfig
from pdepth.training.loop import sgd
from pdepth.workflow.stages import block_job

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("cpus", "models", "model_threads", "on_cpu", "expected"),
    [
        (2, 4, 1, True, (2, 1)),  # the default study's blocks on 2 cores
        (2, 1, 1, True, (1, 1)),  # a model alone gets its own count, no more: it trains as it would in a block
        (2, 1, 2, True, (1, 2)),
        (8, 4, 1, True, (4, 1)),  # never more at once than there are models
        (8, 20, 2, True, (4, 2)),
        (8, 20, 3, True, (2, 3)),  # the threads left over stay unused
        (1, 4, 2, True, (1, 1)),  # fewer CPUs than a model's count: it gets what there is (other weights: logged)
        (8, 4, 1, False, (1, 1)),  # on a GPU one model at a time
    ],
)
def test_the_plan_gives_each_model_its_threads(cpus, models, model_threads, on_cpu, expected):
    assert hparams.side_by_side(cpus, models, model_threads, on_cpu) == expected


def threads_and_pid(item, progress):
    """A task for the workers: what it ran with, and a log line."""
    logging.getLogger("pdepth.test").info("working on %s", item)
    if item == "bad":
        raise ValueError("item 'bad' is bad")
    return item, torch.get_num_threads(), os.getpid(), progress


@pytest.fixture
def two_cpus(monkeypatch):
    monkeypatch.setattr(device, "usable_cpus", lambda: 2)


def test_workers_return_results_in_order_each_with_its_threads_and_named_log_lines(two_cpus, caplog):
    items = ["a", "b", "c"]
    with caplog.at_level(logging.INFO, logger="pdepth"):
        results = side_by_side.run_all(threads_and_pid, items, ["first", "second", "third"], 8, 1, True, True)
    assert [result[0] for result in results] == items
    assert {result[1] for result in results} == {1}  # each worker: the model's count of threads
    assert os.getpid() not in {result[2] for result in results} and len({result[2] for result in results}) <= 2
    assert not any(result[3] for result in results)  # no progress bars side by side
    lines = [record.getMessage() for record in caplog.records if record.name == "pdepth.test"]
    assert sorted(lines) == ["first: working on a", "second: working on b", "third: working on c"]
    assert "3 models, 2 at a time, 1 thread(s) each" in caplog.text


def test_one_model_at_a_time_runs_in_this_process_with_progress(two_cpus):
    results = side_by_side.run_all(threads_and_pid, ["a", "b"], ["first", "second"], 8, 2, True, True)
    assert [(item, threads, pid, progress) for item, threads, pid, progress in results] == [
        ("a", 2, os.getpid(), True),
        ("b", 2, os.getpid(), True),
    ]


def test_a_failed_model_stops_the_job_with_its_error_and_name(two_cpus, caplog):
    with caplog.at_level(logging.INFO, logger="pdepth"), pytest.raises(ValueError, match="item 'bad' is bad") as error:
        side_by_side.run_all(threads_and_pid, ["a", "bad", "c"], ["first", "second", "third"], 2, 1, True)
    assert error.value.__notes__ == ["(in second, trained side by side)"]
    assert "second: failed" in caplog.text and "item 'bad' is bad" in caplog.text  # logged when it happened


def test_fewer_cpus_than_a_models_threads_is_a_warning(monkeypatch, caplog):
    monkeypatch.setattr(device, "usable_cpus", lambda: 1)
    with caplog.at_level(logging.WARNING, logger="pdepth"):
        [(_, threads, _, _)] = side_by_side.run_all(threads_and_pid, ["a"], ["first"], 8, 2, True)
    assert threads == 1 and "1 CPU thread(s) per model, not training.cpu_threads = 2" in caplog.text


@pytest.mark.slow
def test_the_cross_validation_side_by_side_equals_one_fold_after_the_other(fmnist_prepared, two_cpus, tmp_path):
    """A block of 2 seeds x 2 folds, 2 fold models at a time in workers, gives each seed the probabilities of its
    folds trained one after the other in this process, bit for bit."""
    study = Study.load(
        ROOT / "config.yaml",
        data={"subset": {"train": 600, "test": 200}},
        training={"default": {"epochs": 2, "score_epochs": [1], "batch_size": 64}},
        metrics={"cleanlab_folds": 2},
        interventions={},
    )
    block = block_job(JobRecords(study), "crossval", (0, 1), "fmnist", "", "mlp")
    outputs = [tmp_path / f"seed{seed}.npz" for seed in (0, 1)]
    crossval.run_block(block, fmnist_prepared, outputs, threads=2, progress=False)
    examples = block.runs[0].train.examples.load(fmnist_prepared)
    device.configure_torch(1)
    for job, output in zip(block.runs, outputs, strict=True):
        alone, side = crossval.run(job, examples, progress=False), load_npz(output)
        np.testing.assert_array_equal(side["fold"], alone.fold)
        np.testing.assert_array_equal(side["probabilities"], alone.probabilities)
    assert not np.array_equal(load_npz(outputs[0])["fold"], load_npz(outputs[1])["fold"])


def test_the_optimiser_is_torchs_fused_sgd_with_the_same_updates():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(20, 30), torch.nn.ReLU(), torch.nn.Linear(30, 3))
    reference = torch.nn.Sequential(torch.nn.Linear(20, 30), torch.nn.ReLU(), torch.nn.Linear(30, 3))
    reference.load_state_dict(model.state_dict())
    config = TrainConfig(lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    fused = sgd(model, config)
    unfused = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    assert fused.defaults["fused"] and not unfused.defaults["fused"]
    x, y, initial = torch.randn(64, 20), torch.randint(0, 3, (64,)), model[0].weight.detach().clone()
    for _ in range(5):
        for net, optimiser in ((model, fused), (reference, unfused)):
            optimiser.zero_grad()
            torch.nn.functional.cross_entropy(net(x), y).backward()
            optimiser.step()
    for ours, theirs in zip(model.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    assert not torch.equal(model[0].weight, initial)
