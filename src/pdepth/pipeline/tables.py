"""Stage: the study's tables: per-example tables, the fidelity table, the figure index and the benchmark table."""

import csv
import logging
from pathlib import Path

import pandas as pd
import xarray as xr
import yaml

from pdepth import paths
from pdepth.config.jobs import FidelityJob
from pdepth.fidelity import table as fidelity
from pdepth.outputs import tables
from pdepth.records import atomic_write
from pdepth.statistics.verdicts import HOLDS

log = logging.getLogger(__name__)


def example_table(metrics_file: str, csv_file: str, parquet_file: str) -> None:
    table = tables.examples(xr.load_dataset(metrics_file))
    tables.write(table, Path(csv_file), Path(parquet_file))
    log.info("%d examples, %d columns -> %s", len(table), table.shape[1], csv_file)


def fidelity_table(
    models: list[tuple[str, str]],
    cube_files: list[str],
    metrics_files: list[str],
    interventions: list[tuple[str, str, str]],
    intervention_metrics: list[str],
    csv_file: str,
    job: FidelityJob,
) -> None:
    """``models``: (dataset, arch) of each 90:10-split cube and metrics file; ``interventions``: (dataset, arch,
    role) of each margin intervention's metrics file (roles: pdepth.config.study.HINGE, CONTROL, UNTRAINED)."""
    settings, floor, gain_folds = job.settings, job.floor, job.gain_folds
    cubes = {key: xr.load_dataset(path) for key, path in zip(models, cube_files, strict=True)}
    metrics = {key: xr.load_dataset(path) for key, path in zip(models, metrics_files, strict=True)}
    rows = []
    for dataset, arch in models:
        log.info("testing the claims of %s / %s", dataset, arch)
        rows += fidelity.model_claims(
            dataset, arch, cubes[dataset, arch], metrics[dataset, arch], settings, floor, gain_folds
        )
    for dataset in dict.fromkeys(d for d, _ in models):
        found = {a: c for (d, a), c in cubes.items() if d == dataset}
        rows += fidelity.architecture_claims(dataset, found, settings)
    for arch in dict.fromkeys(a for _, a in models):
        rows.append(fidelity.dataset_order_claim(arch, {d: c for (d, a), c in cubes.items() if a == arch}, settings))
    for dataset, arch in dict.fromkeys((d, a) for d, a, _ in interventions) or [("all", "all")]:
        found: dict[str, list[xr.Dataset]] = {}
        for (d, a, role), path in zip(interventions, intervention_metrics, strict=True):
            if (d, a) == (dataset, arch):
                found.setdefault(role, []).append(xr.load_dataset(path))
        rows.append(fidelity.margin_intervention_claim(dataset, arch, found, settings))
    table = fidelity.table(rows, settings)
    with atomic_write(csv_file) as partial:
        table.to_csv(partial, index=False, float_format="%.4g")
    shown = table[["claim", "dataset", "architecture", "shown", "direction", "mde", "vs_paper"]]
    log.info(
        "%d rows, %d tested (Holm over them), %d hold:\n%s",
        len(table),
        table.rows_tested.max() if len(table) else 0,
        (table.direction == HOLDS).sum(),
        shown.to_string(),
    )


def figure_index(plan: list[dict], csv_file: str) -> None:
    """What the config draws and what it skips, and why."""
    with atomic_write(csv_file) as partial, open(partial, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["figure", "paper", "for", "status"])
        for row in plan:
            writer.writerow([row["figure"], row["paper"], row["for"], row["skipped"] or "drawn"])


def study_config(config: dict, yaml_file: str) -> None:
    with atomic_write(yaml_file) as partial:
        partial.write_text(yaml.safe_dump(config, sort_keys=False))


def benchmark_table(files: list[str], csv_file: str) -> None:
    """Every job's benchmark (wall time, memory) as one table, the job named by its path under ``benchmarks/``."""
    frames = []
    for path in files:
        frame = pd.read_csv(path, sep="\t")
        frame.insert(0, "job", paths.benchmark_job(path))
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["job"])
    with atomic_write(csv_file) as partial:
        table.to_csv(partial, index=False, float_format="%.4g")
