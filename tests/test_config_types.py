"""YAML slips caught by key before the schema: integers written as floats, floats written as 1e-3."""

import pytest
import yaml

from conftest import ROOT
from pdepth import schema
from pdepth.config.checks import check_types
from pdepth.errors import ConfigError

SCHEMA = schema.load()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("seeds: 2.0", "seeds: 2.0 is not an integer; write 2"),
        ("training: {default: {epochs: 2.0}}", "training.default.epochs: 2.0 is not an integer; write 2"),
        ("interventions: {a: {seeds: 1, training: {lr: 5e-2}}}", "interventions.a.training.lr: '5e-2' is read as a"),
        ("training: {mlp: {lr: 1E+1}}", "write 1.0E+1"),
        ("metrics: {gain_layer: {mlp: 3.0}}", "metrics.gain_layer.mlp: 3.0 is not an integer"),
    ],
)
def test_slips_are_named_with_their_key_and_fix(text, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("+", r"\+")):
        check_types(yaml.safe_load(text), SCHEMA)


@pytest.mark.parametrize("text", ["seeds: 2", "training: {default: {lr: 1.0e-3, warmup_epochs: 0.5}}", "device: 1e3"])
def test_what_is_written_right_passes(text):
    check_types(yaml.safe_load(text), SCHEMA)  # device is a string: '1e3' is a (strange) device name, not a slip


STATED_ON_PURPOSE = {"seeds", "full_train_seeds", "device"}  # the study's shape, stated by every config


def _restated_defaults(config: dict, schema: dict, where: str = "") -> list[str]:
    """Keys of ``config`` whose value is the schema's default."""
    found = []
    for key, value in config.items():
        path = f"{where}{key}"
        spec = schema.get("properties", {}).get(key, {})
        if isinstance(value, dict) and "properties" in spec:
            found += _restated_defaults(value, spec, f"{path}.")
        elif "default" in spec and spec["default"] == value and path not in STATED_ON_PURPOSE:
            found.append(path)
    return found


def _restated_elsewhere(config: dict) -> list[str]:
    """Training options equal to TrainConfig's defaults, augmentations equal to the dataset's."""
    from dataclasses import asdict, fields

    from pdepth.data import registry
    from pdepth.training.hparams import TrainConfig

    training = {f.name: f.default for f in fields(TrainConfig)}
    found = [
        f"training.{block}.{key}"
        for block, values in config.get("training", {}).items()
        for key, value in values.items()
        if training.get(key) == value
    ]
    augmentation = config.get("data", {}).get("augmentation", {})
    return found + [
        f"data.augmentation.{name}"
        for name, value in augmentation.items()
        if asdict(registry.get(name).augmentation) == value
    ]


@pytest.mark.parametrize("name", ["config.yaml", "configs/paper.yaml", "configs/decisive.yaml"])
def test_a_config_states_no_default_of_its_own(name):
    """Every default has one home (the schema; TrainConfig for training; the dataset's registry entry for its
    augmentation): a config that restated one would not follow a change of it."""
    from pdepth.schema import load

    config = yaml.safe_load((ROOT / name).read_text())
    assert _restated_defaults(config, load()) + _restated_elsewhere(config) == []
