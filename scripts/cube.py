"""Snakemake adapter of pdepth.pipeline.cube: reads only its job's record (params) and files."""

from pdepth.config import jobs
from pdepth.pipeline import cube
from pdepth.workflow.logs import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    cube.run(
        jobs.from_params(jobs.CubeJob, sm.params.job),
        sm.input.prepared,
        list(sm.input.runs),
        list(sm.input.probes),
        sm.output[0],
        workflow_dir=sm.scriptdir,
    )
