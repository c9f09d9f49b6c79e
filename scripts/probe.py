"""Snakemake adapter of pdepth.pipeline.probe."""

from pdepth.logs import logged
from pdepth.pipeline import probe
from pdepth.study import Study

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    study = Study(sm.config)
    probe.run(
        study,
        study.variant(sm.wildcards.variant),
        sm.input.prepared,
        sm.input.run,
        sm.input.embeddings,
        sm.output[0],
        threads=sm.threads,
    )
