"""Snakemake adapter of pdepth.pipeline.margins."""

from pdepth.gpu_slots import claimed_gpus
from pdepth.logs import logged
from pdepth.pipeline import margins
from pdepth.study import Study

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]), claimed_gpus(sm.resources.get("gpu", 0)):
    study = Study(sm.config)
    margins.run(
        study,
        study.variant(sm.wildcards.variant),
        sm.wildcards.dataset,
        sm.input.prepared,
        sm.input.weights,
        sm.output[0],
        threads=sm.threads,
    )
