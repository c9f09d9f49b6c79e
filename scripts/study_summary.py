"""Snakemake adapter: the report's figure index, configuration and benchmark table (pdepth.pipeline.tables)."""

from pdepth.pipeline import tables
from pdepth.workflow.logs import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    tables.figure_index(list(sm.params.plan), sm.output.figures)
    tables.study_config(dict(sm.params.config), sm.output.config)
    tables.benchmark_table(list(sm.input.benchmarks), sm.output.benchmarks)
