# Cube stage: all seeds of one (dataset, arch) in results/{dataset}/{arch}/cube.nc.


localrules:
    cube,


rule cube:
    input:
        prepared=f"{RESOURCES}/{{dataset}}.npz",
        runs=expand(run_dir(dataset="{{dataset}}", arch="{{arch}}") + "/run.npz", seed=STUDY.seeds),
        probes=expand(run_dir(dataset="{{dataset}}", arch="{{arch}}") + "/probes.npz", seed=STUDY.seeds),
    output:
        f"{RESULTS}/{{dataset}}/{{arch}}/cube.nc",
    log:
        f"{LOGS}/{{dataset}}/{{arch}}/cube.log",
    script:
        "../scripts/cube.py"
