# Embedding stage: per-probe activations of every example; temporary, removed once the probes have run.


rule embed:
    input:
        prepared=f"{RESOURCES}/{{dataset}}.npz",
        weights=run_dir() + "/model.pt",
    output:
        temp(directory(run_dir() + "/embeddings")),
    threads: config["threads"]["embed"]
    log:
        f"{LOGS}/{{dataset}}/{{arch}}/embed_seed{{seed}}.log",
    benchmark:
        f"{LOGS}/benchmarks/{{dataset}}/{{arch}}/embed_seed{{seed}}.tsv"
    script:
        "../scripts/embed.py"
