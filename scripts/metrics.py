"""Snakemake adapter of pdepth.pipeline.metrics: reads only its job's record (params) and files."""

from pdepth import jobs
from pdepth.logs import logged
from pdepth.pipeline import metrics

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
