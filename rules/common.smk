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
    """Everything the study produces for one dataset: its cubes and figures."""
    per_arch = [
        f"{RESULTS}/{{dataset}}/{{arch}}/cube.nc",
        f"{RESULTS}/{{dataset}}/{{arch}}/figures/knn_accuracy.png",
        f"{RESULTS}/{{dataset}}/{{arch}}/figures/knn_accuracy.pdf",
    ]
    return expand(per_arch, dataset=dataset, arch=STUDY.architectures)


def figure_targets():
    """Figures that compare datasets."""
    return expand(
        f"{RESULTS}/figures/pd_distribution_{{arch}}.{{ext}}",
        arch=STUDY.architectures,
        ext=["png", "pdf"],
    )
