# Training stage: one job per (variant, dataset, arch, seed).


rule train:
    input:
        prepared=f"{RESOURCES}/{{dataset}}.npz",
    output:
        weights=run_file("model.pt"),
        outputs=run_file("run.npz"),
        history=run_file("history.tsv"),
    log:
        log_file("train"),
    benchmark:
        benchmark_file("train")
    conda:
        "../envs/pdepth.yaml"
    threads: config["threads"]["train"]
    resources:
        mem_mb=job_resource("train", "mem_mb"),
        runtime=job_resource("train", "runtime"),
        gpu=config["gpus"]["train"],
    params:
        job=job_record("train"),
    script:
        "../scripts/train.py"
