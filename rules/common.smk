# Helpers shared by the stage files: the typed study, paths, and per-rule resources.
import os
import sys

SRC = os.path.join(workflow.basedir, "src")
sys.path.insert(0, SRC)
# Jobs (scripts, cluster jobs) import pdepth from this checkout even without `pip install -e .`.
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)

from pdepth.study import Study  # noqa: E402

STUDY = Study(config)
RESOURCES = "resources"
RESULTS = "results"
LOGS = "logs"


wildcard_constraints:
    dataset="[a-z0-9]+",
    arch="[a-z0-9]+",
    seed=r"\d+",


def run_dir(dataset="{dataset}", arch="{arch}", seed="{seed}"):
    return f"{RESULTS}/{dataset}/{arch}/seed{seed}"


def study_targets(dataset):
    """Everything the study produces for one dataset."""
    return expand(
        run_dir(dataset=dataset) + "/{file}",
        arch=STUDY.architectures,
        seed=STUDY.seeds,
        file=["run.npz", "history.tsv"],
    )
