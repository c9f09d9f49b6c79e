"""Where the workflow's files live: the one home of the layout, read by the rules, the stages and the readers.

Patterns keep Snakemake's wildcards: ``{variant}`` (a results prefix: "" for the 90:10 splits, "full/" or an
intervention's "name/"), ``{dataset}``, ``{arch}``, ``{seed}``. Torch-free: the Snakefile imports it.
"""

import re
from pathlib import Path

RESOURCES = "resources"  # the prepared datasets, and what the workflow downloads
RESULTS = "results"
LOGS = "logs"
BENCHMARKS = f"{LOGS}/benchmarks"  # Snakemake's time and memory of every per-run job
SUMMARY = f"{RESULTS}/report"  # the report's tables: figure index, configuration, benchmarks
FIGURES = f"{RESULTS}/figures"  # the figures across models
FIDELITY = f"{RESULTS}/fidelity.csv"  # the fidelity table
NAME = "[a-z0-9]+"  # a dataset's or an architecture's name: one folder of the layout, one wildcard value
MODEL = "{variant}{dataset}/{arch}"  # one (variant, dataset, arch): its seeds, cube, metrics, tables, figures
# The files of one training run (run_file): weights, arrays and history of training; its cleanlab folds' predictions;
# its probes and input margins.
WEIGHTS, RUN, HISTORY, CROSSVAL = "model.pt", "run.npz", "history.tsv", "crossval.npz"
PROBES, MARGINS = "probes.npz", "margins.npz"
# The files of one model (model_file).
CUBE, METRICS, DETECTION = "cube.nc", "metrics.nc", "detection.csv"
EXAMPLES_CSV, EXAMPLES_PARQUET = "examples.csv", "examples.parquet"


def prepared(dataset: str = "{dataset}") -> str:
    return f"{RESOURCES}/{dataset}.npz"


def model_file(name: str) -> str:
    """A file of one (variant, dataset, arch): its cube, metrics, tables, figures."""
    return f"{RESULTS}/{MODEL}/{name}"


def run_file(name: str, seed: int | str = "{seed}") -> str:
    """A file of one training run (variant, dataset, arch, seed)."""
    return model_file(f"seed{seed}/{name}")


def model_log(name: str) -> str:
    return f"{LOGS}/{MODEL}/{name}.log"


def block_log(stage: str, label: str) -> str:
    """The log of a per-run job (train, probe) of the block of seeds ``label`` (pdepth.config.jobs.block_label)."""
    return model_log(f"{stage}_{label}")


def block_benchmark(stage: str, label: str) -> str:
    return f"{BENCHMARKS}/{MODEL}/{stage}_{label}.tsv"


def model_dir(results_dir: str | Path, variant: str, dataset: str, arch: str) -> Path:
    """The folder of one model under ``results_dir``; ``variant`` is a name ("" for the 90:10 splits)."""
    return Path(results_dir) / variant / dataset / arch


def checkpoint(weights: str | Path) -> Path:
    """A training run's checkpoint, next to its weights (removed once its block is done)."""
    return Path(weights).with_name("checkpoint.pt")


def job_name(log: str | Path) -> str:
    """A job's name on the console: its log's path under ``logs/``, without the suffix."""
    return str(Path(log).with_suffix("")).removeprefix(f"{LOGS}/")


def benchmark_job(path: str | Path) -> str:
    """The job a benchmark file belongs to: its path under ``logs/benchmarks/``, without the suffix."""
    parts = Path(path).with_suffix("").parts
    return "/".join(parts[parts.index(Path(BENCHMARKS).name) + 1 :])


def check_name(kind: str, name: str) -> str:
    """``name`` if it can name a dataset or architecture (``NAME``), else a ValueError that says why."""
    if not re.fullmatch(NAME, name):
        raise ValueError(f"{kind} name {name!r}: use lowercase letters and digits only ({NAME}), one part of a path")
    return name
