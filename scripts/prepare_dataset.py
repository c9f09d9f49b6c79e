"""Snakemake adapter of pdepth.pipeline.prepare: reads only its job's record (params) and output."""

from pdepth.config import jobs
from pdepth.pipeline import prepare
from pdepth.workflow.logs import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    prepare.run(jobs.from_params(jobs.PrepareJob, sm.params.job), sm.output[0])
