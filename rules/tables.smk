# Tables: one row per example of each model (CSV and Parquet), the fidelity table of the paper's claims, and the
# report's index of figures, configuration and job benchmarks. All aggregations: local rules.


FIDELITY_MODELS = [
    (dataset, arch) for dataset in STUDY.datasets for arch in STUDY.architectures
]
FIDELITY_INTERVENTIONS = [
    (dataset, arch, role, variant.prefix)
    for dataset, arch in FIDELITY_MODELS
    for role, variant in figure_plan.margin_roles(STUDY, dataset, arch)
]


rule example_table:
    input:
        model_file(paths.METRICS),
    output:
        csv=report(
            model_file(paths.EXAMPLES_CSV),
            caption="../report/examples.rst",
            category="Tables",
            subcategory="{variant}{dataset}/{arch}",
            labels={
                "table": "per-example metrics",
                "model": "{variant}{dataset}/{arch}",
            },
        ),
        parquet=model_file(paths.EXAMPLES_PARQUET),
    log:
        paths.model_log("examples"),
    localrule: True
    conda:
        "../envs/pdepth.yaml"
    script:
        "../scripts/example_table.py"


rule fidelity:
    input:
        cubes=model_files(paths.CUBE, [("", d, a) for d, a in FIDELITY_MODELS]),
        metrics=model_files(paths.METRICS, [("", d, a) for d, a in FIDELITY_MODELS]),
        interventions=model_files(
            paths.METRICS, [(p, d, a) for d, a, _, p in FIDELITY_INTERVENTIONS]
        ),
    output:
        report(
            paths.FIDELITY,
            caption="../report/fidelity.rst",
            category="Study",
            labels={"table": "fidelity: the paper's claims tested"},
        ),
    log:
        f"{LOGS}/fidelity.log",
    localrule: True
    conda:
        "../envs/pdepth.yaml"
    params:
        models=FIDELITY_MODELS,
        interventions=[(d, a, role) for d, a, role, _ in FIDELITY_INTERVENTIONS],
        job=jobs.params(RECORDS.fidelity_job()),
    script:
        "../scripts/fidelity.py"


rule study_summary:
    input:
        benchmarks=every_benchmark(),
    output:
        figures=report(
            f"{SUMMARY}/figures.csv",
            caption="../report/figure_index.rst",
            category="Study",
            labels={"table": "figure index: drawn and skipped"},
        ),
        config=report(
            f"{SUMMARY}/config.yaml",
            caption="../report/config.rst",
            category="Study",
            labels={"table": "configuration"},
        ),
        benchmarks=report(
            f"{SUMMARY}/benchmarks.csv",
            caption="../report/benchmarks.rst",
            category="Study",
            labels={"table": "job times and memory"},
        ),
    log:
        f"{LOGS}/study_summary.log",
    localrule: True
    conda:
        "../envs/pdepth.yaml"
    params:
        config=jobs.canonical(config),
        plan=[
            {
                "figure": planned.figure,
                "paper": figure_registry.FIGURES[planned.figure].paper,
                "for": planned.label,
                "skipped": planned.skipped,
            }
            for planned in FIGURE_PLAN
        ],
    script:
        "../scripts/study_summary.py"
