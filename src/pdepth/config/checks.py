"""Config mistakes said in one line with the key's name, before any job runs: a misspelled key (with the closest
known one), an integer written as a float (``seeds: 2.0``: the schema accepts it, a job fails later with a
TypeError), a float written as ``1e-3`` (YAML 1.1 reads it as a string), and any other breach of the schema (its
first, most relevant error, instead of Snakemake's dump of the whole schema); then, on the typed study, what the
schema cannot say (``check_study``)."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import TYPE_CHECKING

from pdepth import paths
from pdepth.data import registry as datasets
from pdepth.errors import ConfigError
from pdepth.models import architectures

if TYPE_CHECKING:
    from pdepth.config.study import Study

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


# Config maps keyed by an architecture or a dataset name, and the registry that knows those names.
NAMED_MAPS = {
    "models": architectures,
    "training": architectures,  # besides "default"
    "cluster.images_per_second": architectures,
    "metrics.gain_layer": architectures,
    "data.augmentation": datasets,
    "data.normalisation": datasets,
    "data.checksums": datasets,
    "data.mirrors": datasets,
    "figures.corner_class": datasets,
}


def check_study(study: Study) -> None:
    """What the schema cannot say, before any job: names of datasets, architectures and options, subsets within their
    splits, k against the smallest training split, the data directory, the floor against the seeds."""
    for name in study.datasets:
        datasets.get(name)
    for arch in study.architectures:
        study.model_options(arch)
    for key, registry in NAMED_MAPS.items():  # a typo'd key would otherwise be ignored
        block = study.config
        for part in key.split("."):
            block = block.get(part, {})
        for name in set(block) - ({"default"} if key == "training" else set()):
            registry.get(name, where=key)
    for dataset, name in study.config["figures"]["corner_class"].items():
        classes = datasets.get(dataset).classes
        if name not in classes:
            raise ConfigError(
                f"figures.corner_class.{dataset}: {name!r} is not a class of {dataset}; its classes: "
                f"{', '.join(classes)}"
            )
    _check_subsets_within_the_splits(study)
    _check_k_against_the_smallest_training_split(study)
    _check_data_dir(study)
    for variant, dataset, arch in study.runs():
        study.training(arch, dataset, variant)
    min_held_out = study.config["fidelity"]["floor"]["min_held_out"]
    if min_held_out > len(study.seeds) >= 2:  # one seed draws no ensemble figure and tests no floor
        raise ConfigError(
            f"fidelity.floor.min_held_out ({min_held_out}) is more than seeds ({len(study.seeds)}): no example can "
            f"be held out that often, so the floor of Figure 4 (left) would have no data; set it to at most "
            f"{len(study.seeds)}, or train more seeds"
        )


def _check_data_dir(study: Study) -> None:
    data_dir = study.config["data"]["data_dir"]
    prepared = all(Path(paths.prepared(dataset)).exists() for dataset in study.datasets)  # the only reader is done
    if data_dir is not None and not prepared and not Path(data_dir).is_dir():
        raise ConfigError(
            f"data.data_dir: {data_dir} is not a directory; pre-stage the raw files there, or set it to null to "
            "use a system copy or download them"
        )


def _check_subsets_within_the_splits(study: Study) -> None:
    """A subset larger than its original split would silently be the whole split."""
    for variant, dataset, _ in study.runs():
        subset = study.subset(variant)
        for split, size in zip(("train", "test"), datasets.get(dataset).sizes, strict=True):
            if (subset[split] or 0) > size:
                where = f"interventions.{variant.name}.subset" if variant.subset is not None else "data.subset"
                raise ConfigError(
                    f"{where}.{split} ({subset[split]}) is larger than {dataset}'s original {split} split "
                    f"({size} examples): set it to at most {size}, or to null for the whole split"
                )


def _check_k_against_the_smallest_training_split(study: Study) -> None:
    """A training example's k neighbours exclude itself: every training split needs more than k examples."""
    k = study.config["probe"]["k"]
    for variant, dataset, _ in study.runs():
        trained = study.split_sizes(variant, dataset).trained
        if trained <= k:
            raise ConfigError(
                f"probe.k ({k}) needs more than k training examples, but {variant.name or 'the 90:10 split'} on "
                f"{dataset} trains on {trained}: lower probe.k, or enlarge the subset (data.subset or "
                f"interventions.<name>.subset)"
            )
