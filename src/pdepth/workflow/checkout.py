"""Which ``pdepth`` a workflow's jobs import: the checkout's own, before any installed in the environment."""

import os
from pathlib import Path


def import_first(src: str | Path) -> None:
    """Put ``src`` first on PYTHONPATH, which every job inherits. Snakemake appends a script's folder after
    site-packages, so a ``pdepth`` installed in a venv shared by several checkouts would otherwise win."""
    os.environ["PYTHONPATH"] = os.pathsep.join([str(src), *filter(None, [os.environ.get("PYTHONPATH")])])
