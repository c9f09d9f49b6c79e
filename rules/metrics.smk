# Metrics stage: metrics.nc per (variant, dataset, arch), next to the cube, from every seed's run, probes and input
# margins (an aggregation: local, like the cube).


rule metrics:
    input:
        cube=model_file("cube.nc"),
        runs=all_seeds("run.npz"),
        probes=all_seeds("probes.npz"),
        margins=all_seeds("margins.npz"),
    output:
        model_file("metrics.nc"),
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
        cube=model_file("cube.nc"),
        metrics=model_file("metrics.nc"),
        probes=all_seeds("probes.npz"),
        crossval=all_seeds("crossval.npz") if STUDY.cleanlab_folds else [],
    output:
        report(
            model_file("detection.csv"),
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
