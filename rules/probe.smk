# Probe stage: k-NN probes at every layer of one model, in one job (pynndescent compiles once per process).


rule probe:
    input:
        prepared=f"{RESOURCES}/{{dataset}}.npz",
        run=run_dir() + "/run.npz",
        embeddings=run_dir() + "/embeddings",
    output:
        run_dir() + "/probes.npz",
    params:
        probe=config["probe"],
    threads: config["threads"]["probe"]
    log:
        f"{LOGS}/{{dataset}}/{{arch}}/probe_seed{{seed}}.log",
    benchmark:
        f"{LOGS}/benchmarks/{{dataset}}/{{arch}}/probe_seed{{seed}}.tsv"
    script:
        "../scripts/probe.py"
