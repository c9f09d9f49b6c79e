"""Snakemake adapter of pdepth.pipeline.tables.example_table."""

from pdepth.pipeline import tables
from pdepth.workflow.logs import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    tables.example_table(sm.input[0], sm.output.csv, sm.output.parquet)
