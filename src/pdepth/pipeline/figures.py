"""Stage: figures from the cubes."""

import xarray as xr

from pdepth import plots


def pd_distribution(cube_files: dict[str, str], png: str, pdf: str) -> None:
    cubes = {dataset: xr.load_dataset(path) for dataset, path in cube_files.items()}
    plots.pd_distribution(cubes, png, pdf)


def inference_learning_curve(cube_file: str, png: str, pdf: str) -> None:
    plots.inference_learning_curve(xr.load_dataset(cube_file), png, pdf)
