"""Snakemake adapter of pdepth.pipeline.embed."""

from pdepth.gpu_slots import claimed_gpus
from pdepth.logs import logged
from pdepth.pipeline import embed
from pdepth.study import Study

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]), claimed_gpus(sm.resources.get("gpu", 0)):
    study = Study(sm.config)
    embed.run(
        study,
        study.variant(sm.wildcards.variant),
        sm.wildcards.dataset,
        sm.wildcards.arch,
        sm.input.prepared,
        sm.input.weights,
        sm.output[0],
        threads=sm.threads,
    )
