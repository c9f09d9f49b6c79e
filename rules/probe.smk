# Probe stage: k-NN probes at every layer of one model, in one job (pynndescent compiles once per process).


rule probe:
    input:
        prepared=f"{RESOURCES}/{{dataset}}.npz",
        run=run_file("run.npz"),
        embeddings=run_file("embeddings"),
    output:
        run_file("probes.npz"),
    log:
        log_file("probe"),
    benchmark:
        benchmark_file("probe")
    conda:
        "../envs/pdepth.yaml"
    threads: config["threads"]["probe"]
    resources:
        mem_mb=job_resource("probe", "mem_mb"),
        runtime=job_resource("probe", "runtime"),
    params:
        job=job_record("probe"),
    script:
        "../scripts/probe.py"
