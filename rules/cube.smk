# Cube stage: all seeds of one (variant, dataset, arch) in results/{variant}{dataset}/{arch}/cube.nc.


rule cube:
    input:
        prepared=paths.prepared(),
        runs=all_seeds("run.npz"),
        probes=all_seeds("probes.npz"),
    output:
        model_file("cube.nc"),
    log:
        paths.model_log("cube"),
    localrule: True
    conda:
        "../envs/pdepth.yaml"
    params:
        job=job_record("cube"),
    script:
        "../scripts/cube.py"
