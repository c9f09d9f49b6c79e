"""Snakemake adapter of pdepth.pipeline.figures.render (one rule per figure, see rules/figures.smk)."""

import matplotlib

from pdepth.config import jobs
from pdepth.pipeline import figures
from pdepth.workflow.logs import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
matplotlib.use("Agg")  # a job draws to files only
with logged(sm.log[0]):
    figures.render(
        sm.params.figure,
        list(sm.params.labels),
        list(sm.input.cubes),
        list(sm.input.get("metrics", [])),
        sm.input.get("prepared"),
        jobs.from_params(jobs.FigureOptions, sm.params.options),
        sm.output.png,
        sm.output.pdf,
        list(sm.input.get("detection", [])),
    )
