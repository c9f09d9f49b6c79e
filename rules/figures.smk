# Figures, one rule per figure of the paper (pdepth.figures.registry), drawn from cubes and metrics files only.
# A figure the config cannot support is skipped; results/report/figures.csv says why.
from pdepth.figures import plan as figure_plan
from pdepth.figures import registry as figure_registry

FIGURE_PLAN = figure_plan.planned_figures(STUDY)
FIGURE_PATTERNS = {
    figure_registry.MODEL: model_file("figures/{name}"),
    figure_registry.DATASET: f"{paths.FIGURES}/{{name}}_{{dataset}}",
    figure_registry.ARCHITECTURE: f"{paths.FIGURES}/{{name}}_{{arch}}",
    figure_registry.INTERVENTIONS: f"{paths.FIGURES}/{{name}}_{{dataset}}_{{arch}}",
}
FIGURE_SCOPES_OF_ONE_DATASET = (
    figure_registry.MODEL,
    figure_registry.DATASET,
    figure_registry.INTERVENTIONS,
)
FIGURE_SUBCATEGORY = {
    figure_registry.MODEL: "{variant}{dataset}/{arch}",
    figure_registry.DATASET: "{dataset}",
    figure_registry.ARCHITECTURE: "{arch}",
    figure_registry.INTERVENTIONS: "{dataset}/{arch}",
}


def figure_stem(spec):
    """Path of a figure without its extension, with the wildcards of its scope."""
    return FIGURE_PATTERNS[spec.scope].replace("{name}", spec.name)


def figure_sources(spec, wildcards):
    """(labels, [(variant prefix, dataset, arch)]) of the models a figure reads."""
    if spec.scope == figure_registry.MODEL:
        return [""], [(wildcards.variant, wildcards.dataset, wildcards.arch)]
    prefix = figure_plan.source_variant(STUDY, spec).prefix
    if spec.scope == figure_registry.DATASET:
        return STUDY.architectures, [
            (prefix, wildcards.dataset, a) for a in STUDY.architectures
        ]
    if spec.scope == figure_registry.ARCHITECTURE:
        return STUDY.datasets, [(prefix, d, wildcards.arch) for d in STUDY.datasets]
    found = figure_plan.margin_interventions(STUDY, wildcards.dataset, wildcards.arch)
    return list(found), [
        (v.prefix, wildcards.dataset, wildcards.arch) for v in found.values()
    ]


def figure_inputs(spec):
    def inputs(wildcards):
        _, models = figure_sources(spec, wildcards)
        used = lambda kind, name: model_files(name, models) if kind in spec.uses else []
        files = {
            "cubes": used("cube", paths.CUBE),
            "metrics": used("metrics", paths.METRICS),
        }
        if "detection" in spec.uses:
            files["detection"] = model_files(paths.DETECTION, models)
        if "prepared" in spec.uses:
            files["prepared"] = paths.prepared(wildcards.dataset)
        return files

    return inputs


def figure_targets(dataset=None, scopes=tuple(FIGURE_PATTERNS)):
    """PNG and PDF of every figure the plan draws (of one dataset, when given), in the given scopes."""
    targets = []
    for planned in FIGURE_PLAN:
        spec = figure_registry.FIGURES[planned.figure]
        if planned.skipped or spec.scope not in scopes:
            continue
        if dataset is not None and planned.keys.get("dataset") != dataset:
            continue
        targets += [
            f"{figure_stem(spec).format(**planned.keys)}.{ext}"
            for ext in ("png", "pdf")
        ]
    return targets


for _spec in figure_registry.FIGURES.values():

    rule:
        name:
            f"figure_{_spec.name}"
        input:
            unpack(figure_inputs(_spec)),
        output:
            png=report(
                f"{figure_stem(_spec)}.png",
                caption=f"../report/figures/{_spec.name}.rst",
                category=_spec.paper,
                subcategory=FIGURE_SUBCATEGORY[_spec.scope],
                labels={
                    "figure": _spec.name.replace("_", " "),
                    "of": FIGURE_SUBCATEGORY[_spec.scope],
                },
            ),
            pdf=f"{figure_stem(_spec)}.pdf",
        log:
            f"{figure_stem(_spec).replace(RESULTS, LOGS, 1)}.log",
        localrule: True
        conda:
            "../envs/pdepth.yaml"
        params:
            figure=_spec.name,
            labels=lambda wildcards, spec=_spec: figure_sources(spec, wildcards)[0],
            options=lambda wildcards: jobs.params(
                RECORDS.figure_options(wildcards.get("dataset", ""))
            ),
        script:
            "../scripts/figure.py"
