"""Snakemake adapter of pdepth.pipeline.figures.pd_distribution."""

from pdepth.logs import logged
from pdepth.pipeline import figures

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    figures.pd_distribution(dict(zip(sm.params.datasets, sm.input.cubes, strict=True)), sm.output.png, sm.output.pdf)
