# Cube stage: all seeds of one (variant, dataset, arch) in results/{variant}{dataset}/{arch}/cube.nc.


rule cube:
    input:
        prepared=paths.prepared(),
        runs=all_seeds(paths.RUN),
        probes=all_seeds(paths.PROBES),
    output:
        model_file(paths.CUBE),
    log:
        paths.model_log("cube"),
    localrule: True
    conda:
        "../envs/pdepth.yaml"
    params:
        job=job_record("cube"),
    script:
        "../scripts/cube.py"
