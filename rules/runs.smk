# Per-run stages (pdepth.workflow.stages: train, then probe; crossval for label-noise models): one job per block of
# seeds of a (variant, dataset, arch) (config key seeds_per_job), each seed's files as a one-seed job would write them. One rule per stage and
# block of seeds: train_seeds0_3, probe_seeds0_3, train_seeds4_7, ...


for _stage in STAGES.values():
    for _seeds, _variants in stage_blocks(_stage).items():

        rule:
            name:
                block_rule(_stage.name, _seeds)
            input:
                **block_inputs(_stage, _seeds),
                prepared=paths.prepared(),
            output:
                **block_outputs(_stage, _seeds),
            log:
                block_log(_stage.name, _seeds),
            benchmark:
                block_benchmark(_stage.name, _seeds)
            wildcard_constraints:
                variant=block_variants(_variants),
            conda:
                "../envs/pdepth.yaml"
            threads: STUDY.threads(_stage.name)
            resources:
                mem_mb=block_resource(_stage.name, "mem_mb", _seeds),
                runtime=block_resource(_stage.name, "runtime", _seeds),
                gpu=STUDY.gpus(_stage.name),
            params:
                stage=_stage.name,
                job=block_record(_stage.name, _seeds),
            script:
                "../scripts/run_block.py"
