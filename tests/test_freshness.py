"""No stale results: after a finished smoke run, a changed setting re-runs exactly the jobs that use it (Snakemake's
params trigger sees each job's record, pdepth.config.jobs), and a config
re-written in another order or style re-runs none."""

import re

import pytest
import yaml

from conftest import SMOKE, reordered, smoke_config, snakemake

pytestmark = pytest.mark.slow

PER_MODEL = ("train", "probe", "cube", "metrics")  # train and probe: rules of blocks of seeds, train_seeds0_1
MAIN = {("", "mlp"), ("", "resnet18")}
MLP_STUDIES = {("noise40", "mlp"), ("zerohinge", "mlp"), ("untrained", "mlp")}
EVERY = MAIN | MLP_STUDIES


def everything(models):
    return dict.fromkeys(PER_MODEL, models)


def probing(models):
    """The probe jobs (embeddings, probes, input margins) and what reads them."""
    return {stage: models for stage in ("probe", "cube", "metrics")}


# key -> (new value, the (variant, arch) whose jobs each per-model stage re-runs)
CHANGES = {
    "interventions.zerohinge.training.lr": (0.02, everything({("zerohinge", "mlp")})),
    "interventions.noise40.label_noise": (0.3, everything({("noise40", "mlp")})),
    "interventions.zerohinge.subset": ({"train": 800, "test": 300, "seed": 0}, everything({("zerohinge", "mlp")})),
    "models.mlp.width": (32, everything({model for model in EVERY if model[1] == "mlp"})),
    "training.default.epochs": (3, everything(MAIN | {("noise40", "mlp")})),  # the others set their own
    "probe.k": (20, probing(EVERY)),
    "probe.max_dim": (1024, probing(EVERY)),
    "probe.reduction": ("pool", probing(EVERY)),
    "split.holdout_fraction": (0.2, everything(EVERY)),
    "data.normalisation": ({"fmnist": {"mean": [0.3], "std": [0.35]}}, everything(EVERY)),
    "metrics.corner_examples": (20, {"metrics": EVERY}),
}


def scheduled(stdout: str) -> dict[str, set[tuple[str, str]]]:
    """Per-model stage -> the (variant, arch) of the jobs a dry run schedules."""
    found = {stage: set() for stage in PER_MODEL}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", stdout):
        rule = re.match(r"(?:local)?rule (\w+?)(?:_seeds?\d+(?:_\d+)?)?:", block)
        wildcards = re.search(r"wildcards: (.*)", block)
        if rule and rule.group(1) in found and wildcards:
            values = dict(item.split("=", 1) for item in wildcards.group(1).split(", "))
            found[rule.group(1)].add((values["variant"].rstrip("/"), values["arch"]))
    return found


@pytest.mark.parametrize("key", CHANGES)
def test_a_changed_setting_reruns_exactly_the_jobs_that_use_it(smoke_run, tmp_path, key):
    value, expected = CHANGES[key]
    configfile = tmp_path / "changed.yaml"
    configfile.write_text(yaml.safe_dump(smoke_config(**{key: value})))
    result = snakemake(smoke_run, "-n", configfile=configfile)
    assert result.returncode == 0, result.stderr[-3000:]
    assert scheduled(result.stdout) == {stage: expected.get(stage, set()) for stage in PER_MODEL}
    assert "rule prepare_dataset:" not in result.stdout


def test_the_same_config_reordered_and_restyled_reruns_nothing(smoke_run, tmp_path):
    """Keys in reverse order, flow style everywhere, and 0.05 written as 5.0e-2: the same values, nothing to do."""
    config = yaml.safe_load(SMOKE.read_text())
    text = yaml.safe_dump(reordered(config), sort_keys=False, default_flow_style=True)
    assert "lr: 0.05" in text
    configfile = tmp_path / "reordered.yaml"
    configfile.write_text(text.replace("lr: 0.05", "lr: 5.0e-2"))
    result = snakemake(smoke_run, "-n", configfile=configfile)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Nothing to be done" in result.stdout + result.stderr, result.stdout[-3000:]
