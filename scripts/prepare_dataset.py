"""Snakemake adapter of pdepth.pipeline.prepare: reads only its job's record (params) and output."""

from pdepth import jobs
from pdepth.logs import logged
from pdepth.pipeline import prepare

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    prepare.run(jobs.from_params(jobs.PrepareJob, sm.params.job), sm.output[0])
