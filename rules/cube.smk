# Cube stage: all seeds of one (variant, dataset, arch) in results/{variant}{dataset}/{arch}/cube.nc.


rule cube:
    input:
        prepared=f"{RESOURCES}/{{dataset}}.npz",
        runs=all_seeds("run.npz"),
        probes=all_seeds("probes.npz"),
    output:
        model_file("cube.nc"),
    log:
        f"{LOGS}/{{variant}}{{dataset}}/{{arch}}/cube.log",
    localrule: True
    conda:
        "../envs/pdepth.yaml"
    params:
        job=job_record("cube"),
    script:
        "../scripts/cube.py"
