# Helpers shared by the stage files: the typed study and the paths of its files.
import sys

# The Snakefile reads the config through the package; the scripts import it through scripts/pdepth (a link).
sys.path.insert(0, f"{workflow.basedir}/src")

from pdepth.study import Study  # noqa: E402

STUDY = Study(config)
RESOURCES = "resources"
RESULTS = "results"
LOGS = "logs"


wildcard_constraints:
    dataset="[a-z0-9]+",
    arch="[a-z0-9]+",
    seed=r"\d+",


def run_file(name):
    """A file of one training run (dataset, arch, seed)."""
    return f"{RESULTS}/{{dataset}}/{{arch}}/seed{{seed}}/{name}"


def all_seeds(name):
    """A run file of every seed of the (dataset, arch) in the rule's wildcards."""
    return expand(run_file(name), seed=STUDY.seeds, allow_missing=True)


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
