# Embedding stage: per-probe activations of every example; temporary, removed once the probes have run.


rule embed:
    input:
        prepared=f"{RESOURCES}/{{dataset}}.npz",
        weights=run_file("model.pt"),
    output:
        temp(directory(run_file("embeddings"))),
    log:
        log_file("embed"),
    benchmark:
        benchmark_file("embed")
    conda:
        "../envs/pdepth.yaml"
    threads: config["threads"]["embed"]
    resources:
        mem_mb=job_resource("embed", "mem_mb"),
        runtime=job_resource("embed", "runtime"),
        gpu=config["gpus"]["embed"],
    params:
        job=job_record("embed"),
    script:
        "../scripts/embed.py"
