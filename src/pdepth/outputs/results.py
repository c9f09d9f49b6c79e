"""The workflow's results of one model: its cube, per-example metrics and images opened together, its examples'
mean depths, and its trained models."""

from pathlib import Path

import numpy as np
import xarray as xr

from pdepth import paths
from pdepth.data import registry
from pdepth.data.prepared import Prepared
from pdepth.outputs.cube import filled_depth
from pdepth.training.runs import load_weights, trained_model


def model_folder(results_dir: str | Path, variant: str, dataset: str, arch: str, *names: str) -> Path:
    """The folder of one model, if it holds the files ``names``; else an error that says what to run."""
    folder = paths.model_dir(results_dir, variant, dataset, arch)
    missing = [name for name in names if not (folder / name).exists()]
    if missing:
        raise FileNotFoundError(
            f"{', '.join(missing)} not in {folder}: run the workflow for it first "
            f"(snakemake --cores 8 {dataset}, or a target under {folder})"
        )
    return folder


def open_results(
    results_dir: str | Path, dataset: str, arch: str, variant: str = "", resources_dir: str | Path | None = None
) -> xr.Dataset:
    """One dataset of the cube (``cube.nc``), the metrics (``metrics.nc``) and the ``image`` of every example of
    (``variant``, ``dataset``, ``arch``): ``variant`` is "" for the 90:10 splits, ``full`` or an intervention's name.

    Images come from the prepared dataset, ``resources/{dataset}.npz`` next to ``results_dir`` unless
    ``resources_dir`` says otherwise; the cube's attributes are kept.
    """
    results_dir = Path(results_dir)
    folder = model_folder(results_dir, variant, dataset, arch, paths.CUBE, paths.METRICS)
    prepared_file = Path(resources_dir or results_dir.parent / paths.RESOURCES) / f"{dataset}.npz"
    if not prepared_file.exists():
        raise FileNotFoundError(f"{prepared_file} (the prepared {dataset}) is missing: give resources_dir")
    with xr.open_dataset(folder / paths.CUBE) as cube, xr.open_dataset(folder / paths.METRICS) as metrics:
        data = xr.merge([cube.load(), metrics.load()], compat="override", combine_attrs="override")
    images = Prepared.load(prepared_file).images[np.asarray(data.example)]
    data["image"] = (("example", "row", "column", "channel"), images, {"long_name": "the example's image (uint8)"})
    return data


def mean_depth(results: xr.Dataset, held_out: bool = True, min_draws: int = 2) -> xr.DataArray:
    """Per example of :func:`open_results`, its mean prediction depth over the seeds that held it out (``held_out``;
    else those that trained on it), an undefined depth counted as one beyond the deepest probe (as the fidelity
    table does: dropping it would drop the hardest examples); NaN where fewer than ``min_draws`` seeds did."""
    depth = results.pd.copy(data=filled_depth(results)).where(results.in_train != held_out)
    mean = depth.mean("seed").where(depth.count("seed") >= min_draws)
    split = "held out" if held_out else "in the training split"
    return mean.rename("mean_depth").assign_attrs(long_name=f"mean prediction depth {split}", units="layer")


def load_model(results_dir: str | Path, dataset: str, arch: str, seed: int = 0, variant: str = "", device="cpu"):
    """The trained model of ``seed`` of (``variant``, ``dataset``, ``arch``) in a finished study, in eval mode on
    ``device``. It takes images standardised as in training, ``(image / 255 - mean) / std`` per channel, with the
    ``normalisation_mean`` and ``normalisation_std`` of the model's cube (``open_results(...).attrs``)."""
    from pdepth.models import InputShape

    weights = f"seed{seed}/{paths.WEIGHTS}"
    folder = model_folder(results_dir, variant, dataset, arch, weights)
    spec = registry.get(dataset)
    height, width, channels = spec.image_shape
    shape = InputShape(channels=channels, height=height, width=width, num_classes=spec.num_classes)
    return trained_model(load_weights(folder / weights, device), shape, device)
