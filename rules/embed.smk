# Embedding stage: per-probe activations of every example; temporary, removed once the probes have run.


rule embed:
    input:
        prepared=f"{RESOURCES}/{{dataset}}.npz",
        weights=run_file("model.pt"),
    output:
        temp(directory(run_file("embeddings"))),
    conda:
        "../envs/pdepth.yaml"
    log:
        f"{LOGS}/{{dataset}}/{{arch}}/embed_seed{{seed}}.log",
    benchmark:
        f"{LOGS}/benchmarks/{{dataset}}/{{arch}}/embed_seed{{seed}}.tsv"
    params:
        reduction={
            key: config["probe"][key]
            for key in ("max_dim", "reduction", "reduction_seed", "embedding_dtype")
        },
    threads: config["threads"]["embed"]
    script:
        "../scripts/embed.py"
