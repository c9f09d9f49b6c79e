# Helpers shared by the stage files: the typed study and the paths of its files.
import functools
import os
import re
import sys

# The Snakefile and every job import this checkout's package, before any pdepth installed in the environment. The
# checkout is this file's parent folder (workflow.basedir is the outer workflow's when pdepth is used as a module).
PACKAGE_ROOT = os.path.normpath(f"{workflow.current_basedir}/../src")
sys.path.insert(0, PACKAGE_ROOT)
from pdepth.workflow.checkout import import_first  # noqa: E402

import_first(PACKAGE_ROOT)

from pdepth import paths  # noqa: E402
from pdepth.config import jobs  # noqa: E402
from pdepth.config.records import JobRecords  # noqa: E402
from pdepth.config.study import Study  # noqa: E402
from pdepth.workflow import cluster  # noqa: E402
from pdepth.workflow.logs import CORES  # noqa: E402
from pdepth.workflow.stages import STAGES, block_job  # noqa: E402

# The config, checked before any job: YAML slips by key, then the schema (which fills in the defaults), then what the
# schema cannot say (names of datasets, architectures and options; k against the training splits).
STUDY = Study.checked(config)
RECORDS = JobRecords(STUDY)  # every job's record (rule params)
if workflow.local_exec and str(config["device"]).startswith("cuda"):
    # A GPU the local jobs would not find; torch is imported only for such a device.
    from pdepth.device import pick_device

    pick_device(config["device"])
# Jobs show progress bars only when they run alone on a terminal (pdepth.workflow.logs.progress_bars).
os.environ[CORES] = str(workflow.cores)
RESOURCES, RESULTS, LOGS, SUMMARY = (
    paths.RESOURCES,
    paths.RESULTS,
    paths.LOGS,
    paths.SUMMARY,
)  # pdepth.paths
# The results of a variant live under results/{variant}{dataset}/{arch}: "" for the 90:10 splits, "full/" for the
# full-training-set models, "{name}/" for each intervention of the config (pdepth.config.study.Variant).
VARIANT_PREFIXES = [variant.prefix for variant in STUDY.variants]


wildcard_constraints:
    variant="(?:" + "|".join(re.escape(prefix) for prefix in VARIANT_PREFIXES) + ")",
    dataset=paths.NAME,
    arch=paths.NAME,
    seed=r"\d+",


model_file = paths.model_file
run_file = paths.run_file


def model_files(name, models):
    """``name`` (cube.nc, metrics.nc) of each (variant prefix, dataset, arch) in ``models``."""
    return [model_file(name).format(variant=v, dataset=d, arch=a) for v, d, a in models]


def block_files(name, seeds):
    """``name`` of every run of a block of seeds, for the models of the rule's (variant, dataset, arch)."""
    return [run_file(name, seed) for seed in seeds]


def block_inputs(stage, seeds):
    """Inputs of a per-run stage, by name: each of its input files for every seed of the block."""
    return {key: block_files(name, seeds) for key, name in stage.inputs.items()}


def block_outputs(stage, seeds):
    """Outputs of a per-run stage, by name: each of its files for every seed of the block."""
    return {key: block_files(name, seeds) for key, name in stage.outputs.items()}


def block_rule(stage, seeds):
    """The name of a per-run rule of one block of seeds (train_seeds0-3 -> train_seeds0_3)."""
    return f"{stage}_{jobs.block_label(seeds)}".replace("-", "_")


def block_variants(variants):
    """Wildcard constraint: the results prefixes of the variants whose models are cut into this rule's block."""
    return "(?:" + "|".join(re.escape(variant.prefix) for variant in variants) + ")"


def block_log(stage, seeds):
    """The log of a per-run job (train, probe) of one block of seeds."""
    return paths.block_log(stage, jobs.block_label(seeds))


def block_benchmark(stage, seeds):
    return paths.block_benchmark(stage, jobs.block_label(seeds))


def block_record(stage, seeds):
    """Rule params: the record of the block's job (pdepth.config.jobs) for its wildcards, as canonical plain data, so that
    a job re-runs exactly when a value it uses changes."""
    return lambda wildcards: jobs.params(
        block_job(RECORDS, stage, seeds, **dict(wildcards.items()))
    )


def job_record(stage):
    """Rule params: the record of the rule's job (pdepth.config.jobs) for its wildcards, as canonical plain data."""
    return lambda wildcards: jobs.params(RECORDS.job(stage, **dict(wildcards.items())))


@functools.cache
def model_resources(stage, variant, dataset, arch, attempt, seeds):
    """mem_mb and runtime of a per-run job: the same for every block of a model's size, so computed once
    (pdepth.workflow.cluster)."""
    return cluster.resources(STUDY, stage, variant, dataset, arch, attempt, seeds)


def block_resource(stage, key, seeds):
    """Resource function: ``key`` (mem_mb or runtime) of the job of a block of seeds, growing with the attempt."""

    def value(wildcards, attempt):
        return model_resources(
            stage,
            wildcards.variant,
            wildcards.dataset,
            wildcards.arch,
            attempt,
            len(seeds),
        )[key]

    return value


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
    """Everything the study produces for one dataset: per model its cube, metrics and tables, and the figures."""
    per_model = [paths.CUBE, paths.METRICS, paths.EXAMPLES_CSV, paths.EXAMPLES_PARQUET]
    noisy = [
        paths.DETECTION
    ]  # mislabel detection, in label-noise studies (rules/metrics.smk)
    models = [
        model_file(name).format(variant=variant.prefix, dataset=dataset, arch=arch)
        for variant, run_dataset, arch in STUDY.runs()
        if run_dataset == dataset
        for name in per_model + (noisy if variant.label_noise > 0 else [])
    ]
    return models + figure_targets(dataset, scopes=FIGURE_SCOPES_OF_ONE_DATASET)


def study_summary_targets():
    """The fidelity table and the report's tables (rules/tables.smk)."""
    return [
        paths.FIDELITY,
        *(
            f"{SUMMARY}/{name}"
            for name in ("figures.csv", "config.yaml", "benchmarks.csv")
        ),
    ]


def stage_blocks(stage):
    """Every block of seeds with the variants whose models have jobs of the per-run ``stage``."""
    found = {}
    for seeds, variants in STUDY.seed_blocks().items():
        wanted = [variant for variant in variants if stage.wanted(STUDY, variant)]
        if wanted:
            found[seeds] = wanted
    return found


def every_benchmark():
    """The benchmark file of every per-run job, for the report's benchmark table."""
    return [
        block_benchmark(name, seeds).format(
            variant=variant.prefix, dataset=dataset, arch=arch
        )
        for variant, dataset, arch in STUDY.runs()
        for seeds in STUDY.blocks(variant)
        for name, stage in STAGES.items()
        if stage.wanted(STUDY, variant)
    ]
