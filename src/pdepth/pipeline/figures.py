"""Stage: one figure from cubes and metrics files (never from models)."""

import pandas as pd
import xarray as xr

from pdepth.config.jobs import FigureOptions
from pdepth.data.prepared import Prepared
from pdepth.figures import style
from pdepth.figures.registry import FIGURES, Inputs


def render(
    figure: str,
    labels: list[str],
    cubes: list[str],
    metrics: list[str],
    prepared: str | None,
    options: FigureOptions,
    png: str,
    pdf: str,
    detection: list[str] = (),
) -> None:
    """Draw ``figure`` from the files of each label (architecture, dataset, intervention or "" for one model)."""
    inputs = Inputs(
        cubes={label: xr.load_dataset(path) for label, path in zip(labels, cubes, strict=True)} if cubes else {},
        metrics={label: xr.load_dataset(path) for label, path in zip(labels, metrics, strict=True)} if metrics else {},
        prepared=Prepared.load(prepared) if prepared else None,
        options=options,
        tables={label: pd.read_csv(path) for label, path in zip(labels, detection, strict=True)} if detection else {},
    )
    with style.drawing():
        style.save(FIGURES[figure].draw(inputs), png, pdf)
