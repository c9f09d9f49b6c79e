"""YAML slips caught by key before the schema: integers written as floats, floats written as 1e-3."""

import pytest
import yaml

from pdepth.config import schema
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
