"""Snakemake adapter of pdepth.pipeline.detection: reads only its job's record (params) and files."""

from pdepth.config import jobs
from pdepth.pipeline import detection
from pdepth.workflow.logs import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    detection.run(
        jobs.from_params(jobs.DetectionJob, sm.params.job),
        sm.input.cube,
        sm.input.metrics,
        list(sm.input.probes),
        sm.output[0],
        list(sm.input.crossval),
    )
