"""Config mistakes said in one line with the key's name, before any job runs: a misspelled key (with the closest
known one), an integer written as a float (``seeds: 2.0``: the schema accepts it, a job fails later with a
TypeError), a float written as ``1e-3`` (YAML 1.1 reads it as a string), and any other breach of the schema (its
first, most relevant error, instead of Snakemake's dump of the whole schema)."""

import difflib
import re

from pdepth.errors import ConfigError

_YAML_FLOAT_STRING = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


def _types(schema: dict) -> set[str]:
    kind = schema.get("type", [])
    return {kind} if isinstance(kind, str) else set(kind)


def _resolve(schema: dict, root: dict) -> dict:
    while "$ref" in schema:
        node = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def check_types(config, schema: dict, root: dict | None = None, where: str = "") -> None:
    """Raise ConfigError for an integer key holding a float, or a number key holding a YAML-1.1 string like 1e-3."""
    root = root if root is not None else schema
    schema = _resolve(schema, root)
    types = _types(schema)
    if isinstance(config, float) and "integer" in types and "number" not in types:
        written = int(config) if config.is_integer() else config
        raise ConfigError(f"{where}: {config!r} is not an integer; write {written!r}")
    if isinstance(config, str) and "number" in types and "string" not in types and _YAML_FLOAT_STRING.match(config):
        mantissa, letter, exponent = re.split("([eE])", config)
        mantissa = mantissa if "." in mantissa else f"{mantissa}.0"
        raise ConfigError(
            f"{where}: {config!r} is read as a string (YAML 1.1 needs a dot in the mantissa); "
            f"write {mantissa}{letter}{exponent}"
        )
    if isinstance(config, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        if extra is False:
            _refuse_unknown_keys(config, properties, where)
        for key, value in config.items():
            child = properties.get(key, extra if isinstance(extra, dict) else None)
            if child is not None:
                check_types(value, child, root, f"{where}.{key}" if where else str(key))
    if isinstance(config, list) and isinstance(schema.get("items"), dict):
        for i, value in enumerate(config):
            check_types(value, schema["items"], root, f"{where}[{i}]")


def _refuse_unknown_keys(config: dict, properties: dict, where: str) -> None:
    for key in config:
        if key not in properties:
            close = difflib.get_close_matches(str(key), list(properties), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(
                f"{where + ': ' if where else ''}unknown key {key!r}; {hint}known keys: {', '.join(properties)}"
            )


def check_schema(config: dict, schema: dict) -> None:
    """Raise ConfigError with the schema's most relevant complaint about ``config``, in one line with its key."""
    import jsonschema

    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(config))
    if error is not None:
        where = ".".join(str(part) for part in error.absolute_path) or "the config"
        allowed = error.schema.get("description", "") if isinstance(error.schema, dict) else ""
        raise ConfigError(f"{where}: {error.message}" + (f" ({allowed.strip()})" if allowed else ""))
