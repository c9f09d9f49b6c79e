"""Snakemake adapter of pdepth.pipeline.probe: reads only its job's record (params), files and threads."""

from pdepth import jobs
from pdepth.logs import logged
from pdepth.pipeline import probe

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    probe.run(
        jobs.from_params(jobs.ProbeJob, sm.params.job),
        sm.input.prepared,
        sm.input.run,
        sm.input.embeddings,
        sm.output[0],
        threads=sm.threads,
    )
