"""Snakemake adapter of pdepth.pipeline.tables.fidelity_table."""

from pdepth.config import jobs
from pdepth.pipeline import tables
from pdepth.workflow.logs import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    tables.fidelity_table(
        [tuple(m) for m in sm.params.models],
        list(sm.input.cubes),
        list(sm.input.metrics),
        [tuple(i) for i in sm.params.interventions],
        list(sm.input.interventions),
        sm.output[0],
        jobs.from_params(jobs.FidelityJob, sm.params.job),
    )
