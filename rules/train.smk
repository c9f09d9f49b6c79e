# Training stage: one job per (dataset, arch, seed).


rule train:
    input:
        prepared=f"{RESOURCES}/{{dataset}}.npz",
    output:
        weights=run_file("model.pt"),
        outputs=run_file("run.npz"),
        history=run_file("history.tsv"),
    conda:
        "../envs/pdepth.yaml"
    log:
        f"{LOGS}/{{dataset}}/{{arch}}/train_seed{{seed}}.log",
    benchmark:
        f"{LOGS}/benchmarks/{{dataset}}/{{arch}}/train_seed{{seed}}.tsv"
    threads: config["threads"]["train"]
    params:
        training=lambda wc: STUDY.training(wc.arch),
        model=lambda wc: STUDY.model_options(wc.arch),
        split=STUDY.holdout_fraction,
        subset=STUDY.subset(),
    script:
        "../scripts/train.py"
