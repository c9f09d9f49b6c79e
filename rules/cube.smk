# Cube stage: all seeds of one (dataset, arch) in results/{dataset}/{arch}/cube.nc.


localrules:
    cube,


rule cube:
    input:
        prepared=f"{RESOURCES}/{{dataset}}.npz",
        runs=all_seeds("run.npz"),
        probes=all_seeds("probes.npz"),
    output:
        f"{RESULTS}/{{dataset}}/{{arch}}/cube.nc",
    conda:
        "../envs/pdepth.yaml"
    log:
        f"{LOGS}/{{dataset}}/{{arch}}/cube.log",
    script:
        "../scripts/cube.py"
