# Helpers shared by the stage files: the typed study and the paths of its files.
import re
import sys

# The Snakefile reads the config through the package; the scripts import it through scripts/pdepth (a link).
sys.path.insert(0, f"{workflow.basedir}/src")

from pdepth.study import Study  # noqa: E402

STUDY = Study(config)
RESOURCES = "resources"
RESULTS = "results"
LOGS = "logs"
# The results of a variant live under results/{variant}{dataset}/{arch}: "" for the 90:10 splits, "full/" for the
# full-training-set models, "{name}/" for each intervention of the config (pdepth.study.Variant).
VARIANT_PREFIXES = [variant.prefix for variant in STUDY.variants]


wildcard_constraints:
    variant="(?:" + "|".join(re.escape(prefix) for prefix in VARIANT_PREFIXES) + ")",
    dataset="[a-z0-9]+",
    arch="[a-z0-9]+",
    seed=r"\d+",


def model_file(name):
    """A file of one (variant, dataset, arch): its cube, its figures."""
    return f"{RESULTS}/{{variant}}{{dataset}}/{{arch}}/{name}"


def run_file(name):
    """A file of one training run (variant, dataset, arch, seed)."""
    return model_file(f"seed{{seed}}/{name}")


def log_file(stage):
    """The log of a per-run stage (train, embed, probe)."""
    return f"{LOGS}/{{variant}}{{dataset}}/{{arch}}/{stage}_seed{{seed}}.log"


def benchmark_file(stage):
    return f"{LOGS}/benchmarks/{{variant}}{{dataset}}/{{arch}}/{stage}_seed{{seed}}.tsv"


def all_seeds(name):
    """Input function: a run file of every seed of the (variant, dataset, arch) in the rule's wildcards."""

    def files(wildcards):
        return expand(
            run_file(name),
            variant=wildcards.variant,
            dataset=wildcards.dataset,
            arch=wildcards.arch,
            seed=STUDY.variant(wildcards.variant).seeds,
        )

    return files


def study_targets(dataset):
    """Everything the study produces for one dataset: cubes, metrics and figures of every variant and architecture."""
    per_model = [
        "cube.nc",
        "metrics.nc",
        "figures/knn_accuracy.png",
        "figures/knn_accuracy.pdf",
    ]
    return [
        model_file(name).format(variant=variant.prefix, dataset=dataset, arch=arch)
        for variant, run_dataset, arch in STUDY.runs()
        if run_dataset == dataset
        for name in per_model
    ]


def figure_targets():
    """Figures that compare datasets."""
    return expand(
        f"{RESULTS}/figures/pd_distribution_{{arch}}.{{ext}}",
        arch=STUDY.architectures,
        ext=["png", "pdf"],
    )
