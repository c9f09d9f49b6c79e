"""The cube: every per-(example, seed, layer) result of one (dataset, arch) in one NetCDF file.

Layout (the contract between the stages): dims ``example`` (the study's examples in the prepared order), ``seed``,
``layer`` (probe depth 0..L). Open it with ``xarray.open_dataset``.
"""

import datetime
import errno
import importlib.metadata
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from pdepth.data.prepared import SPLIT_NAMES
from pdepth.probing.depth import UNDEFINED, depth_dtype, prediction_depth
from pdepth.records import atomic_write

COORD_NAMES = {
    "coarse_label": "coarse (superclass) label provided by the dataset",
    "clean_label": "the dataset's label, before label noise replaced some training labels",
    "mislabelled": "the label the models trained with differs from the dataset's (label noise)",
}
PACKAGES = ("pdepth", "torch", "torchvision", "pynndescent", "numpy", "xarray", "netCDF4", "snakemake")


@dataclass(frozen=True)
class ExampleCoords:
    """The cube's examples: their index in the prepared dataset, their label (an index into ``classes``), and the
    coordinates the workflow adds."""

    index: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    orig_split: np.ndarray | None = None  # None (a model probed outside the workflow): no orig_split, no orig_index
    orig_index: np.ndarray | None = None
    categorical: dict[str, tuple[np.ndarray, tuple[str, ...]]] = field(default_factory=dict)  # values, class names
    flags: dict[str, np.ndarray] = field(default_factory=dict)  # booleans


@dataclass(frozen=True)
class SeedResults:
    """Every example's classes per seed: the trained network's, and its k-NN probes' with their votes."""

    seeds: list[int]
    in_train: np.ndarray  # (N, S) bool
    pred: np.ndarray  # (N, S)
    knn_pred: np.ndarray  # (N, S, L+1)
    votes: np.ndarray  # (N, S, L+1, C) counts out of k

    @classmethod
    def stacked(cls, seeds, in_train, pred, knn_pred, votes) -> "SeedResults":
        """From one array of each per seed, stacked along the seed axis."""
        return cls(list(seeds), *(np.stack(arrays, axis=1) for arrays in (in_train, pred, knn_pred, votes)))


@dataclass(frozen=True)
class Probes:
    """The probes, one of each list per layer (the same for every seed), and their number of neighbours."""

    names: list[str]
    dims: list[int]
    reductions: list[str]
    k: int


def build(examples: ExampleCoords, results: SeedResults, probes: Probes, attrs: dict) -> xr.Dataset:
    """Assemble the cube; prediction depth is computed here from the probes' and the networks' classes."""
    class_type = np.min_scalar_type(-len(examples.classes))  # signed: -1 marks "no class" downstream
    return xr.Dataset(
        data_vars=network_variables(results, class_type)
        | probe_variables(results, examples.labels, probes.k, class_type)
        | depth_variables(results),
        coords=example_coords(examples, class_type) | seed_coords(results) | layer_coords(probes),
        attrs={
            "title": "prediction depth cube",
            "Conventions": "CF-1.10",
            "k": probes.k,
            "class_names": ", ".join(examples.classes),
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            **versions(),
            **attrs,
        },
    )


def network_variables(results: SeedResults, class_type: np.dtype) -> dict:
    """Each seed's training split and its network's classes."""
    return {
        "in_train": (
            ("example", "seed"),
            results.in_train.astype(bool),
            {"long_name": "example is in this seed's training split"},
        ),
        "pred": (
            ("example", "seed"),
            results.pred.astype(class_type),
            {"long_name": "class predicted by the trained network (argmax of its logits)"},
        ),
    }


def probe_variables(results: SeedResults, labels: np.ndarray, k: int, class_type: np.dtype) -> dict:
    """The probes' classes, and their share of the k votes and that of the ground-truth class."""
    votes = results.votes
    knn_votes = np.take_along_axis(votes, results.knn_pred[..., None].astype(np.int64), axis=-1)[..., 0]
    true_votes = np.take_along_axis(
        votes, np.broadcast_to(labels[:, None, None, None], votes.shape[:3] + (1,)), axis=-1
    )[..., 0]
    by_probe = ("example", "seed", "layer")
    return {
        "knn_pred": (
            by_probe,
            results.knn_pred.astype(class_type),
            {
                "long_name": f"class predicted by the k-NN probe (k={k}) on this seed's training split",
                "tie_break": "among the classes with most votes, the class of the nearest neighbour among them",
            },
        ),
        "knn_conf": (
            by_probe,
            knn_votes.astype(np.float32) / k,
            {"long_name": "fraction of the k votes for the probe's class", "units": "1"},
        ),
        "knn_true_conf": (
            by_probe,
            true_votes.astype(np.float32) / k,
            {
                "long_name": "fraction of the k votes for the given label (label: the one the models trained with)",
                "units": "1",
            },
        ),
    }


def depth_variables(results: SeedResults) -> dict:
    """The prediction depth of every (example, seed), NaN where undefined."""
    pd = prediction_depth(results.knn_pred, results.pred)
    attrs = {
        "long_name": "prediction depth",
        "comment": "smallest layer l such that the k-NN probes at every layer >= l agree with pred; "
        "0 when all agree; missing (NaN) when even the last probe disagrees with the network",
        "undefined_fraction": float((pd == UNDEFINED).mean()),
    }
    return {"pd": (("example", "seed"), np.where(pd == UNDEFINED, np.nan, pd).astype(np.float32), attrs)}


def example_coords(examples: ExampleCoords, class_type: np.dtype) -> dict:
    """Per example: its index, label, original split and index (in the workflow), and any further coordinates."""
    coords = {
        "example": (
            "example",
            examples.index.astype(np.int32),
            {"long_name": "index of the example in the prepared dataset (original train set, then test set)"},
        ),
        "label": (
            "example",
            examples.labels.astype(class_type),
            category_attrs("ground-truth class, as given to the models", examples.classes),
        ),
    }
    if examples.orig_split is not None:
        coords["orig_split"] = (
            "example",
            examples.orig_split.astype(np.int8),
            category_attrs("split of the original dataset", SPLIT_NAMES),
        )
        coords["orig_index"] = (
            "example",
            examples.orig_index.astype(np.int32),
            {"long_name": "index within the original split"},
        )
    for name, (values, names) in examples.categorical.items():
        coords[name] = ("example", values.astype(np.int8), category_attrs(COORD_NAMES.get(name, name), names))
    for name, values in examples.flags.items():
        coords[name] = ("example", values.astype(bool), {"long_name": COORD_NAMES.get(name, name)})
    return coords


def seed_coords(results: SeedResults) -> dict:
    return {"seed": ("seed", np.asarray(results.seeds, dtype=np.int32), {"long_name": "training seed"})}


def layer_coords(probes: Probes) -> dict:
    probe_index = np.arange(len(probes.names), dtype=depth_dtype(len(probes.names)))
    return {
        "layer": ("layer", probe_index, {"long_name": "probe index"}),
        "layer_name": ("layer", np.asarray(probes.names, dtype=str), {"long_name": "probe placement"}),
        "layer_dim": (
            "layer",
            np.asarray(probes.dims, dtype=np.int32),
            {"long_name": "dimension of the embedding the probe searches"},
        ),
        "layer_reduction": (
            "layer",
            np.asarray(probes.reductions, dtype=str),
            {"long_name": "reduction applied to the activation before probing (pdepth.probing.reduction)"},
        ),
        "depth": ("layer", probe_index.copy(), {"long_name": "depth of the probe (0 = input, L = softmax)"}),
    }


def category_attrs(long_name: str, names: tuple[str, ...]) -> dict:
    """CF attributes of a categorical variable whose value i means ``names[i]``: ``flag_meanings`` (CF: words,
    so ``T-shirt_top``) and ``flag_names`` (the names as the dataset spells them, JSON)."""
    attrs = {"long_name": long_name}
    if names:
        attrs["flag_values"] = np.arange(len(names), dtype=np.int8)
        attrs["flag_meanings"] = " ".join(n.replace(" ", "_").replace("/", "_") for n in names)
        attrs["flag_names"] = json.dumps(list(names))
    return attrs


def held_out(cube: xr.Dataset) -> np.ndarray:
    """(example, seed): the seed held the example out of training."""
    return ~cube.in_train.values


def filled_depth(cube: xr.Dataset) -> np.ndarray:
    """(example, seed) depth as float, undefined (NaN) counted as one beyond the deepest probe."""
    return np.nan_to_num(cube.pd.values.astype(float), nan=float(cube.depth.values.max()) + 1)


def category_names(variable: xr.DataArray) -> list[str]:
    """The name of each value of a categorical variable, as the dataset spells it."""
    if "flag_names" in variable.attrs:
        return json.loads(variable.attrs["flag_names"])
    return variable.attrs["flag_meanings"].split()


def compression(data: xr.Dataset) -> dict:
    """zlib with byte shuffling for every array variable."""
    return {name: {"zlib": True, "complevel": 4, "shuffle": True} for name in data.data_vars if data[name].ndim > 0}


def cube_encoding(cube: xr.Dataset) -> dict:
    """The cube's: compressed; depth as the smallest integer that holds it, -1 marking the undefined (NaN when read)."""
    enc = compression(cube)
    enc["pd"].update({"dtype": depth_dtype(cube.sizes["layer"]).name, "_FillValue": UNDEFINED})
    return enc


def write(data: xr.Dataset, path: Path, encoding: dict | None = None) -> None:
    """Write ``data`` through a temporary name, removed if the write fails (a full disk is a StorageError naming
    ``path``); the cube's encoding unless another is given."""
    with atomic_write(path) as partial:
        try:
            encoding = cube_encoding(data) if encoding is None else encoding
            data.to_netcdf(partial, engine="netcdf4", encoding=encoding)
        except Exception as exc:
            if "HDF error" in str(exc) and not isinstance(exc, OSError):  # netCDF4 reports a full disk so
                raise OSError(errno.ENOSPC, str(exc)) from exc
            raise


def versions() -> dict:
    found = {}
    for package in PACKAGES:
        try:
            found[f"version_{package}"] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def git_commit(directory: Path) -> str:
    try:
        result = subprocess.run(
            ["git", "-C", str(directory), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 else "unknown"
