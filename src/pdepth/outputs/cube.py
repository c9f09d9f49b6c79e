"""The cube: every per-(example, seed, layer) result of one (dataset, arch) in one NetCDF file.

Layout (the contract between the stages): dims ``example`` (the study's examples in the prepared order), ``seed``,
``layer`` (probe depth 0..L). Open it with ``xarray.open_dataset``.
"""

import datetime
import errno
import importlib.metadata
import json
import subprocess
from pathlib import Path

import numpy as np
import xarray as xr

from pdepth.data.prepared import SPLIT_NAMES
from pdepth.errors import storage_error
from pdepth.probing.depth import UNDEFINED, depth_dtype, prediction_depth

COORD_NAMES = {
    "coarse_label": "coarse (superclass) label provided by the dataset",
    "clean_label": "the dataset's label, before label noise replaced some training labels",
    "mislabelled": "the label the models trained with differs from the dataset's (label noise)",
}
PACKAGES = ("pdepth", "torch", "torchvision", "pynndescent", "numpy", "xarray", "netCDF4", "snakemake")


def build(
    example_index: np.ndarray,
    labels: np.ndarray,
    orig_split: np.ndarray | None,  # None (a model probed outside the workflow): no orig_split, no orig_index
    orig_index: np.ndarray | None,
    classes: tuple[str, ...],
    seeds: list[int],
    in_train: np.ndarray,  # (N, S) bool
    pred: np.ndarray,  # (N, S)
    knn_pred: np.ndarray,  # (N, S, L+1)
    votes: np.ndarray,  # (N, S, L+1, C) counts out of k
    layer_names: list[str],
    layer_dims: list[int],
    layer_reductions: list[str],
    k: int,
    attrs: dict,
    categorical_coords: dict[str, tuple[np.ndarray, tuple[str, ...]]] | None = None,
    flags: dict[str, np.ndarray] | None = None,
) -> xr.Dataset:
    """Assemble the cube; prediction depth is computed here from ``knn_pred`` and ``pred``."""
    pd = prediction_depth(knn_pred, pred)
    knn_votes = np.take_along_axis(votes, knn_pred[..., None].astype(np.int64), axis=-1)[..., 0]
    true_votes = np.take_along_axis(
        votes, np.broadcast_to(labels[:, None, None, None], votes.shape[:3] + (1,)), axis=-1
    )[..., 0]
    n_layers = len(layer_names)
    class_type = np.min_scalar_type(-len(classes))  # signed: -1 marks "no class" downstream
    undefined = float((pd == UNDEFINED).mean())
    cube = xr.Dataset(
        data_vars={
            "in_train": (
                ("example", "seed"),
                in_train.astype(bool),
                {"long_name": "example is in this seed's training split"},
            ),
            "pred": (
                ("example", "seed"),
                pred.astype(class_type),
                {"long_name": "class predicted by the trained network (argmax of its logits)"},
            ),
            "knn_pred": (
                ("example", "seed", "layer"),
                knn_pred.astype(class_type),
                {
                    "long_name": f"class predicted by the k-NN probe (k={k}) on this seed's training split",
                    "tie_break": "among the classes with most votes, the class of the nearest neighbour among them",
                },
            ),
            "knn_conf": (
                ("example", "seed", "layer"),
                knn_votes.astype(np.float32) / k,
                {"long_name": "fraction of the k votes for the probe's class", "units": "1"},
            ),
            "knn_true_conf": (
                ("example", "seed", "layer"),
                true_votes.astype(np.float32) / k,
                {"long_name": "fraction of the k votes for the ground-truth class", "units": "1"},
            ),
            "pd": (
                ("example", "seed"),
                np.where(pd == UNDEFINED, np.nan, pd).astype(np.float32),
                {
                    "long_name": "prediction depth",
                    "comment": "smallest layer l such that the k-NN probes at every layer >= l agree with pred; "
                    "0 when all agree; missing (NaN) when even the last probe disagrees with the network",
                    "undefined_fraction": undefined,
                },
            ),
        },
        coords={
            "example": (
                "example",
                example_index.astype(np.int32),
                {"long_name": "index of the example in the prepared dataset (original train set, then test set)"},
            ),
            "label": (
                "example",
                labels.astype(class_type),
                category_attrs("ground-truth class, as given to the models", classes),
            ),
            **(
                {}
                if orig_split is None
                else {
                    "orig_split": (
                        "example",
                        orig_split.astype(np.int8),
                        category_attrs("split of the original dataset", SPLIT_NAMES),
                    ),
                    "orig_index": (
                        "example",
                        orig_index.astype(np.int32),
                        {"long_name": "index within the original split"},
                    ),
                }
            ),
            **{
                name: ("example", values.astype(np.int8), category_attrs(COORD_NAMES.get(name, name), names))
                for name, (values, names) in (categorical_coords or {}).items()
            },
            **{
                name: ("example", values.astype(bool), {"long_name": COORD_NAMES.get(name, name)})
                for name, values in (flags or {}).items()
            },
            "seed": ("seed", np.asarray(seeds, dtype=np.int32), {"long_name": "training seed"}),
            "layer": ("layer", np.arange(n_layers, dtype=depth_dtype(n_layers)), {"long_name": "probe index"}),
            "layer_name": ("layer", np.asarray(layer_names, dtype=str), {"long_name": "probe placement"}),
            "layer_dim": (
                "layer",
                np.asarray(layer_dims, dtype=np.int32),
                {"long_name": "dimension of the embedding the probe searches"},
            ),
            "layer_reduction": (
                "layer",
                np.asarray(layer_reductions, dtype=str),
                {"long_name": "reduction applied to the activation before probing (pdepth.probing.reduction)"},
            ),
            "depth": (
                "layer",
                np.arange(n_layers, dtype=depth_dtype(n_layers)),
                {"long_name": "depth of the probe (0 = input, L = softmax)"},
            ),
        },
        attrs={
            "title": "prediction depth cube",
            "Conventions": "CF-1.10",
            "k": k,
            "class_names": ", ".join(classes),
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            **versions(),
            **attrs,
        },
    )
    return cube


def category_attrs(long_name: str, names: tuple[str, ...]) -> dict:
    """CF attributes of a categorical variable whose value i means ``names[i]``: ``flag_meanings`` (CF: words,
    so ``T-shirt_top``) and ``flag_names`` (the names as the dataset spells them, JSON)."""
    attrs = {"long_name": long_name}
    if names:
        attrs["flag_values"] = np.arange(len(names), dtype=np.int8)
        attrs["flag_meanings"] = " ".join(n.replace(" ", "_").replace("/", "_") for n in names)
        attrs["flag_names"] = json.dumps(list(names))
    return attrs


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
    path = Path(path)
    partial = path.with_name(path.name + ".part")
    try:
        data.to_netcdf(partial, engine="netcdf4", encoding=encoding if encoding is not None else cube_encoding(data))
    except BaseException as exc:
        partial.unlink(missing_ok=True)
        if isinstance(exc, OSError) or "HDF error" in str(exc):  # netCDF4 reports a full disk as an HDF error
            raise storage_error(path, exc if isinstance(exc, OSError) else OSError(errno.ENOSPC, str(exc))) from exc
        raise
    partial.replace(path)


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
