"""Snakemake adapter of pdepth.pipeline.metrics: reads only its job's record (params) and files."""

from pdepth.config import jobs
from pdepth.pipeline import metrics
from pdepth.workflow.logs import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    metrics.run(
        jobs.from_params(jobs.MetricsJob, sm.params.job),
        sm.input.cube,
        list(sm.input.runs),
        list(sm.input.probes),
        list(sm.input.margins),
        sm.output[0],
    )
