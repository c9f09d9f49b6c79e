# Probe stage: per block of seeds, each model's embeddings (in a temporary folder, removed as soon as its probes have
# run), its k-NN probes at every layer and its input margins, in one process (pynndescent compiles once per block).


for _seeds, _variants in STUDY.seed_blocks().items():

    rule:
        name:
            block_rule("probe", _seeds)
        input:
            prepared=paths.prepared(),
            weights=block_files("model.pt", _seeds),
            runs=block_files("run.npz", _seeds),
        output:
            probes=block_files("probes.npz", _seeds),
            margins=block_files("margins.npz", _seeds),
        log:
            block_log("probe", _seeds),
        benchmark:
            block_benchmark("probe", _seeds)
        wildcard_constraints:
            variant=block_variants(_variants),
        conda:
            "../envs/pdepth.yaml"
        threads: max(config["threads"]["embed"], config["threads"]["probe"])
        resources:
            mem_mb=block_resource("probe", "mem_mb", _seeds),
            runtime=block_resource("probe", "runtime", _seeds),
            gpu=config["gpus"]["embed"],
        params:
            job=block_record("probe", _seeds),
        script:
            "../scripts/probe.py"
