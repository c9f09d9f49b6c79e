"""Snakemake adapter of pdepth.pipeline.cube."""

from pdepth.logs import logged
from pdepth.pipeline import cube
from pdepth.study import Study

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    study = Study(sm.config)
    cube.run(
        study,
        study.variant(sm.wildcards.variant),
        sm.wildcards.dataset,
        sm.wildcards.arch,
        sm.input.prepared,
        list(sm.input.runs),
        list(sm.input.probes),
        sm.output[0],
        workflow_dir=sm.scriptdir,
    )
