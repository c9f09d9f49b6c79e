# Training stage: one job per (dataset, arch, seed).


rule train:
    input:
        prepared=f"{RESOURCES}/{{dataset}}.npz",
    output:
        weights=run_dir() + "/model.pt",
        outputs=run_dir() + "/run.npz",
        history=run_dir() + "/history.tsv",
    params:
        training=lambda wc: STUDY.training(wc.arch),
        model=lambda wc: STUDY.model_options(wc.arch),
        split=STUDY.holdout_fraction,
        subset=STUDY.subset(),
    threads: config["threads"]["train"]
    log:
        f"{LOGS}/{{dataset}}/{{arch}}/train_seed{{seed}}.log",
    benchmark:
        f"{LOGS}/benchmarks/{{dataset}}/{{arch}}/train_seed{{seed}}.tsv"
    script:
        "../scripts/train.py"
