# Metrics stage: metrics.nc per (variant, dataset, arch), next to the cube, from every seed's run, probes and input
# margins (an aggregation: local, like the cube).


rule metrics:
    input:
        cube=model_file(paths.CUBE),
        runs=all_seeds(paths.RUN),
        probes=all_seeds(paths.PROBES),
        margins=all_seeds(paths.MARGINS),
    output:
        model_file(paths.METRICS),
    log:
        paths.model_log("metrics"),
    localrule: True
    conda:
        "../envs/pdepth.yaml"
    params:
        job=job_record("metrics"),
    script:
        "../scripts/metrics.py"


rule detection:
    input:
        cube=model_file(paths.CUBE),
        metrics=model_file(paths.METRICS),
        probes=all_seeds(paths.PROBES),
        crossval=all_seeds(paths.CROSSVAL) if STUDY.cleanlab_folds else [],
    output:
        report(
            model_file(paths.DETECTION),
            caption="../report/detection.rst",
            category="Tables",
            subcategory="{variant}{dataset}/{arch}",
            labels={
                "table": "mislabel detection",
                "model": "{variant}{dataset}/{arch}",
            },
        ),
    log:
        paths.model_log("detection"),
    localrule: True
    conda:
        "../envs/pdepth.yaml"
    params:
        job=job_record("detection"),
    script:
        "../scripts/detection.py"
