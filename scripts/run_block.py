"""Snakemake adapter of every per-run stage (pdepth.workflow.stages): calls the stage's ``run_block`` with its job's
record (params), its files by rule key, its threads and resources."""

from importlib import import_module

from pdepth.config import jobs
from pdepth.workflow.gpu_slots import claimed_gpus
from pdepth.workflow.logs import logged, progress_bars
from pdepth.workflow.stages import STAGES

# Guarded: the worker processes that train models side by side (pdepth.pipeline.side_by_side) start by importing
# this script as __mp_main__, and must not run the job again.
if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    stage = STAGES[sm.params.stage]
    files = {key: list(sm.input[key]) for key in stage.inputs} | {key: list(sm.output[key]) for key in stage.outputs}
    with logged(sm.log[0]), claimed_gpus(sm.resources.get("gpu", 0)):
        import_module(stage.runner).run_block(
            jobs.from_params(stage.block_record, sm.params.job),
            sm.input.prepared,
            **files,
            threads=sm.threads,
            progress=progress_bars(sm.threads),
        )
