"""The config's JSON schema, shipped inside the package: every key's type, range and default, in one place."""

import functools
from pathlib import Path

SCHEMA = Path(__file__).with_name("config.schema.yaml")


@functools.cache
def load() -> dict:
    import yaml

    return yaml.safe_load(SCHEMA.read_text())


def defaults(block: str) -> dict:
    """The default of every key of a top-level block of the config, e.g. ``defaults("probe")["k"] == 30``."""
    properties = load()["properties"][block]["properties"]
    return {key: spec["default"] for key, spec in properties.items() if "default" in spec}
