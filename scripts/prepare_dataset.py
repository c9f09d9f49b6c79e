"""Snakemake adapter of pdepth.pipeline.prepare."""

from pdepth.logs import logged
from pdepth.pipeline import prepare
from pdepth.study import Study

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    prepare.run(
        Study(sm.config),
        sm.wildcards.dataset,
        sm.output[0],
    )
