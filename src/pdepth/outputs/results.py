"""The workflow's results of one model, opened together: its cube, its per-example metrics and its images."""

from pathlib import Path

import numpy as np
import xarray as xr

from pdepth import paths
from pdepth.data.prepared import Prepared


def open_results(
    results_dir: str | Path, dataset: str, arch: str, variant: str = "", resources_dir: str | Path | None = None
) -> xr.Dataset:
    """One dataset of the cube (``cube.nc``), the metrics (``metrics.nc``) and the ``image`` of every example of
    (``variant``, ``dataset``, ``arch``): ``variant`` is "" for the 90:10 splits, ``full`` or an intervention's name.

    Images come from the prepared dataset, ``resources/{dataset}.npz`` next to ``results_dir`` unless
    ``resources_dir`` says otherwise; the cube's attributes are kept.
    """
    results_dir = Path(results_dir)
    folder = paths.model_dir(results_dir, variant, dataset, arch)
    missing = [name for name in ("cube.nc", "metrics.nc") if not (folder / name).exists()]
    if missing:
        raise FileNotFoundError(
            f"{', '.join(missing)} not in {folder}: run the workflow for it first "
            f"(snakemake --cores 8 {dataset}, or a target under {folder})"
        )
    prepared_file = Path(resources_dir or results_dir.parent / paths.RESOURCES) / f"{dataset}.npz"
    if not prepared_file.exists():
        raise FileNotFoundError(f"{prepared_file} (the prepared {dataset}) is missing: give resources_dir")
    with xr.open_dataset(folder / "cube.nc") as cube, xr.open_dataset(folder / "metrics.nc") as metrics:
        data = xr.merge([cube.load(), metrics.load()], compat="override", combine_attrs="override")
    images = Prepared.load(prepared_file).images[np.asarray(data.example)]
    data["image"] = (("example", "row", "column", "channel"), images, {"long_name": "the example's image (uint8)"})
    return data
