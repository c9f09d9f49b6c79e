"""Per-example tables: the metrics file of one model as one row per example, for spreadsheets and dataframes."""

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from pdepth.data.prepared import SPLIT_NAMES
from pdepth.outputs.cube import category_names
from pdepth.records import atomic_write

# Per-example variables of metrics.nc, as columns after the consensus class (docs/outputs.md describes each).
SCORES = (
    "consensus_consistency",
    "prediction_entropy",
    "iteration_learned_train",
    "iteration_learned_val",
    "output_margin_val",
    "input_margin_val",
    "forgetting_train",
    "forgetting_events_train",
    "never_learned_train",
    "aum_train",
    "confidence_train",
    "variability_train",
    "correctness_train",
    "el2n_train",
    "final_loss_train",
    "final_loss_val",
)


def _names(coord: xr.DataArray, values: np.ndarray) -> np.ndarray:
    names = np.array(category_names(coord))
    return np.where(values >= 0, names[np.clip(values, 0, None)], "")


def examples(metrics: xr.Dataset) -> pd.DataFrame:
    """One row per example of the model's study, in the cube's order."""
    labels = metrics.label.values.astype(np.int64)
    consensus = metrics.consensus_class.values.astype(np.int64)
    table = {
        "example": metrics.example.values,
        "orig_split": np.array(SPLIT_NAMES)[metrics.orig_split.values],
        "orig_index": metrics.orig_index.values,
        "label": labels,
        "label_name": _names(metrics.label, labels),
    }
    for extra in ("clean_label", "coarse_label"):
        if extra in metrics.coords:
            table[extra] = metrics[extra].values
    if "mislabelled" in metrics.coords:
        table["mislabelled"] = metrics.mislabelled.values
    for name in ("pd_train", "pd_val", "consistency"):
        table[name] = metrics[name].values
    table["consensus_class"] = consensus
    table["consensus_name"] = _names(metrics.label, consensus)
    for name in SCORES:
        table[name] = metrics[name].values
    if "difficulty" in metrics:  # designs with a holdout only
        table["difficulty"] = np.array(metrics.difficulty.attrs["flag_meanings"].split())[metrics.difficulty.values]
    return pd.DataFrame(table)


def write(table: pd.DataFrame, csv: Path, parquet: Path) -> None:
    with atomic_write(csv) as partial:
        table.to_csv(partial, index=False, float_format="%.6g")
    with atomic_write(parquet) as partial:
        table.to_parquet(partial, index=False)
