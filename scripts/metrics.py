"""Snakemake adapter of pdepth.pipeline.metrics."""

from pdepth.logs import logged
from pdepth.pipeline import metrics

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    metrics.run(
        sm.config,
        sm.wildcards.arch,
        sm.input.cube,
        list(sm.input.runs),
        list(sm.input.probes),
        list(sm.input.margins),
        sm.output[0],
    )
