"""A config with a bad value fails before any job runs, with a message that names the value."""

import pytest
import yaml

from conftest import ROOT, snakemake


def smoke_config(**changes) -> dict:
    config = yaml.safe_load((ROOT / "tests/config/smoke.yaml").read_text())
    for dotted, value in changes.items():
        *parents, key = dotted.split(".")
        node = config
        for parent in parents:
            node = node.setdefault(parent, {})
        node[key] = value
    return config


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"datasets": ["cifar11"]}, "unknown dataset 'cifar11'"),
        ({"architectures": ["mlp", "transformer"]}, "unknown architecture 'transformer'"),
        ({"training.default.epochs": -1}, "epochs"),
        ({"training.mlp": {"epochs": -2}}, "epochs"),
        ({"split.holdout_fraction": 1.0}, "holdout_fraction"),
        ({"split.holdout_fraction": 0}, "holdout_fraction"),
        ({"probe.k": 0}, "k"),
        ({"full_train_seeds": -1}, "full_train_seeds"),
        ({"data.augmentation": {"fmnist": {"rotate": 15}}}, "rotate"),
        ({"data.checksums": {"fmnist": {"t10k-images-idx3-ubyte.gz": "not-an-md5"}}}, "not-an-md5"),
        ({"training.default.flip": True}, "flip"),  # augmentation is per dataset, not per architecture
    ],
)
def test_bad_config_fails_before_any_job(tmp_path, changes, expected):
    configfile = tmp_path / "bad.yaml"
    configfile.write_text(yaml.safe_dump(smoke_config(**changes)))
    result = snakemake(tmp_path, "--cores", "1", configfile=configfile)
    assert result.returncode != 0
    assert expected in result.stdout + result.stderr
    assert not (tmp_path / "resources").exists() and not (tmp_path / "results").exists()


def test_default_config_dry_run_lists_the_jobs(tmp_path):
    result = snakemake(tmp_path, "-n", "--quiet", "rules", "all", configfile=ROOT / "config.yaml")
    assert result.returncode == 0, result.stderr
    for rule in ("prepare_dataset", "train", "embed", "probe", "cube", "figure_pd_distribution", "fidelity"):
        assert rule in result.stdout


def test_paper_config_builds_its_dag(tmp_path):
    """The full-scale study: 4 datasets x 3 architectures x (250 + 25) seeds, plus 4 interventions of 5 seeds."""
    result = snakemake(tmp_path, "-n", "all", configfile=ROOT / "configs/paper.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    counts = dict(line.split() for line in result.stdout.splitlines() if len(line.split()) == 2)
    runs = 4 * 3 * (250 + 25) + 4 * 5
    assert {rule: counts[rule] for rule in ("train", "embed", "probe", "margins", "cube", "metrics")} == {
        "train": str(runs),
        "embed": str(runs),
        "probe": str(runs),
        "margins": str(runs),
        "cube": str(4 * 3 * 2 + 4),
        "metrics": str(4 * 3 * 2 + 4),
    }
    assert counts["prepare_dataset"] == "4"
    models = 4 * 3 * 2 + 4  # split and full variants of every (dataset, arch), and the 4 interventions
    assert {rule: counts[rule] for rule in ("example_table", "figure_knn_accuracy", "fidelity", "study_summary")} == {
        "example_table": str(models),
        "figure_knn_accuracy": str(models),
        "fidelity": "1",
        "study_summary": "1",
    }
    assert counts["figure_validation_vs_training_depth"] == str(4 * 3 * 2)  # split and full, not interventions
    assert "results/full/cifar100/vgg16/seed24/model.pt" in result.stdout
    assert "results/zerohinge/cifar10/vgg16/metrics.nc" in result.stdout
    assert "gpu=1" in result.stdout
