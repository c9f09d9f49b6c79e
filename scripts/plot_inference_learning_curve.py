"""Snakemake adapter of pdepth.pipeline.figures.inference_learning_curve."""

from pdepth.logs import logged
from pdepth.pipeline import figures

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    figures.inference_learning_curve(sm.input.cube, sm.output.png, sm.output.pdf)
