"""Snakemake adapter of pdepth.pipeline.margins: reads only its job's record (params), files, threads and resources."""

from pdepth import jobs
from pdepth.gpu_slots import claimed_gpus
from pdepth.logs import logged, progress_bars
from pdepth.pipeline import margins

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]), claimed_gpus(sm.resources.get("gpu", 0)):
    margins.run(
        jobs.from_params(jobs.MarginsJob, sm.params.job),
        sm.input.prepared,
        sm.input.weights,
        sm.output[0],
        threads=sm.threads,
        progress=progress_bars(sm.threads),
    )
