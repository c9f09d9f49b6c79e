"""The config's JSON schema, shipped inside the package: every key's type, range and default, in one place."""

import functools
from pathlib import Path

SCHEMA = Path(__file__).with_name("config.schema.yaml")


@functools.cache
def load() -> dict:
    import yaml

    return yaml.safe_load(SCHEMA.read_text())


def _key(path: str) -> dict:
    spec = load()
    for part in path.split("."):
        spec = spec["properties"][part]
    return spec


def choices(key: str) -> tuple[str, ...]:
    """The values the schema allows for ``key``, e.g. ``choices("probe.backend") == ("pynndescent", "exact")``."""
    return tuple(_key(key)["enum"])


def defaults(block: str) -> dict:
    """The default of every key of a block of the config, e.g. ``defaults("probe")["k"] == 30``,
    ``defaults("data.subset")["seed"] == 0``."""
    return {key: value["default"] for key, value in _key(block)["properties"].items() if "default" in value}
