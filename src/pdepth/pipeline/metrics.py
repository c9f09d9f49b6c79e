"""Stage: metrics.nc of one (variant, dataset, arch) from its cube and every seed's run, probe and margin files."""

import logging
from pathlib import Path

import numpy as np
import xarray as xr

from pdepth.config.jobs import MetricsJob
from pdepth.metrics import per_example as metrics
from pdepth.outputs import cube as cubes
from pdepth.probing.results import ProbeResults
from pdepth.records import load_npz
from pdepth.training.runs import RunOutputs

log = logging.getLogger(__name__)


def run(
    job: MetricsJob,
    cube_path: Path,
    run_files: list[Path],
    probe_files: list[Path],
    margin_files: list[Path],
    output: Path,
) -> xr.Dataset:
    cube = xr.load_dataset(cube_path)
    runs = [
        metrics.SeedRun(
            RunOutputs.load(run_path), ProbeResults.final_logits(probe_path), load_npz(margin_path)["input_margin"]
        )
        for run_path, probe_path, margin_path in zip(run_files, probe_files, margin_files, strict=True)
    ]
    k = int(cube.attrs["k"])

    def consensus_votes(consensus: np.ndarray) -> np.ndarray:
        fractions = [metrics.consensus_fraction(ProbeResults.load(path).votes, consensus, k) for path in probe_files]
        return np.stack(fractions, axis=1)

    result = metrics.build(
        cube,
        runs,
        consensus_votes,
        corner_examples=job.corner_examples,
        gain_layer=job.gain_layer,
    )
    cubes.write(result, output, encoding=cubes.compression(result))
    log.info(
        "%s: consistency %.3f, consensus-consistency %.3f (means over examples); PD_val %.3f, PD_train %.3f; "
        "gain at layer %d: probe %.3f vs network %.3f (NaN: no example in that corner)",
        output,
        float(result.consistency.mean()),
        float(result.consensus_consistency.mean()),
        float(result.pd_val.mean()),
        float(result.pd_train.mean()),
        result.attrs["gain_layer"],
        float(result.get("gain_probe_accuracy", np.nan)),
        float(result.get("gain_network_accuracy", np.nan)),
    )
    return result
