# Training stage: one job per block of seeds of a (variant, dataset, arch) (config key seeds_per_job), each seed's
# files as a one-seed job would write them. One rule per block of seeds: train_seeds0_3, train_seeds4_7, ...


for _seeds, _variants in STUDY.seed_blocks().items():

    rule:
        name:
            block_rule("train", _seeds)
        input:
            prepared=paths.prepared(),
        output:
            weights=block_files("model.pt", _seeds),
            outputs=block_files("run.npz", _seeds),
            history=block_files("history.tsv", _seeds),
        log:
            block_log("train", _seeds),
        benchmark:
            block_benchmark("train", _seeds)
        wildcard_constraints:
            variant=block_variants(_variants),
        conda:
            "../envs/pdepth.yaml"
        threads: config["threads"]["train"]
        resources:
            mem_mb=block_resource("train", "mem_mb", _seeds),
            runtime=block_resource("train", "runtime", _seeds),
            gpu=config["gpus"]["train"],
        params:
            job=block_record("train", _seeds),
        script:
            "../scripts/train.py"
