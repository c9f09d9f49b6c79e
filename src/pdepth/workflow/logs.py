"""Logging for workflow steps: clean lines in the rule's log file and on the console, errors included."""

import contextlib
import logging
import os
import sys
from pathlib import Path

from pdepth import paths

CORES = "PDEPTH_WORKFLOW_CORES"  # set by the Snakefile: the cores Snakemake may use at once


@contextlib.contextmanager
def logged(log_path: str | Path | None, level: int = logging.INFO):
    """Send this package's log records to ``log_path`` and stderr; record any exception before it propagates.

    On stderr each line names its job (the log's path under ``logs/``), so that the lines of jobs running side by side
    stay readable."""
    console = logging.StreamHandler(sys.stderr)
    handlers: list[logging.Handler] = [console]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")
    for handler in handlers:
        handler.setFormatter(formatter)
    if log_path:
        job = paths.job_name(log_path)
        console.setFormatter(logging.Formatter(f"%(asctime)s [{job}] %(levelname)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger("pdepth")
    root.setLevel(level)
    for handler in handlers:
        root.addHandler(handler)
    try:
        yield root
    except Exception:
        root.exception("failed")
        raise
    finally:
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()


def progress_bars(threads: int) -> bool:
    """Progress bars only for a job alone on a terminal: stderr is one, and the job takes every core Snakemake may
    use, so no other job runs beside it. Otherwise (jobs side by side, a log, a cluster) the one line per epoch or
    stage that every job logs, which names its job."""
    cores = int(os.environ.get(CORES, "0") or 0)
    return sys.stderr.isatty() and cores > 0 and threads >= cores
