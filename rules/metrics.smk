# Metrics stage: the input margins of every model (a job per seed: backward passes), then metrics.nc per
# (variant, dataset, arch), next to the cube (an aggregation: local, like the cube).


rule margins:
    input:
        prepared=f"{RESOURCES}/{{dataset}}.npz",
        weights=run_file("model.pt"),
    output:
        run_file("margins.npz"),
    log:
        log_file("margins"),
    benchmark:
        benchmark_file("margins")
    conda:
        "../envs/pdepth.yaml"
    threads: config["threads"]["embed"]
    resources:
        mem_mb=job_resource("margins", "mem_mb"),
        runtime=job_resource("margins", "runtime"),
        gpu=config["gpus"]["embed"],
    params:
        job=job_record("margins"),
    script:
        "../scripts/margins.py"


rule metrics:
    input:
        cube=model_file("cube.nc"),
        runs=all_seeds("run.npz"),
        probes=all_seeds("probes.npz"),
        margins=all_seeds("margins.npz"),
    output:
        model_file("metrics.nc"),
    log:
        f"{LOGS}/{{variant}}{{dataset}}/{{arch}}/metrics.log",
    localrule: True
    conda:
        "../envs/pdepth.yaml"
    params:
        job=job_record("metrics"),
    script:
        "../scripts/metrics.py"
