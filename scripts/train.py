"""Snakemake adapter of pdepth.pipeline.train: reads only its job's record (params), files, threads and resources."""

from pdepth.config import jobs
from pdepth.pipeline import train
from pdepth.workflow.gpu_slots import claimed_gpus
from pdepth.workflow.logs import logged, progress_bars

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]), claimed_gpus(sm.resources.get("gpu", 0)):
    train.run_block(
        jobs.from_params(jobs.TrainBlock, sm.params.job),
        sm.input.prepared,
        weights=sm.output.weights,
        outputs=sm.output.outputs,
        histories=sm.output.history,
        threads=sm.threads,
        progress=progress_bars(sm.threads),
    )
