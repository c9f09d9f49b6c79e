# pdepth: prediction depth and example difficulty (Baldock, Maennel & Neyshabur, NeurIPS 2021).
# This file only wires the stages together; each stage lives in rules/, the science in src/pdepth/.
from snakemake.utils import min_version

min_version("9.0")


# The study is config.yaml, or the files given with --configfile, which replace it (never merged with it: a user's
# study is what their file says; several are merged in their order, as configs/label_noise.yaml after config.yaml);
# --config key=value overrides single keys of either.
if not workflow.config_settings.configfiles:

    configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/runs.smk"
include: "rules/cube.smk"
include: "rules/metrics.smk"
include: "rules/figures.smk"
include: "rules/tables.smk"


rule all:
    default_target: True
    input:
        [study_targets(dataset) for dataset in STUDY.datasets],
        figure_targets(scopes=[figure_registry.ARCHITECTURE]),
        study_summary_targets(),


for _dataset in STUDY.datasets:

    rule:
        name:
            _dataset
        input:
            study_targets(_dataset),


# A target named for a known dataset that the config does not study stops with what to change.
for _dataset in STUDY.other_datasets:

    rule:
        name:
            _dataset
        input:
            lambda wildcards, dataset=_dataset: STUDY.refuse_target(dataset),
