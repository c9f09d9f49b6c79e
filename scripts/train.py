"""Snakemake adapter of pdepth.pipeline.train."""

from pdepth.gpu_slots import claimed_gpus
from pdepth.logs import logged
from pdepth.pipeline import train
from pdepth.study import Study

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]), claimed_gpus(sm.resources.get("gpu", 0)):
    study = Study(sm.config)
    train.run(
        study,
        study.variant(sm.wildcards.variant),
        sm.wildcards.dataset,
        sm.wildcards.arch,
        int(sm.wildcards.seed),
        sm.input.prepared,
        weights=sm.output.weights,
        outputs=sm.output.outputs,
        history=sm.output.history,
        threads=sm.threads,
    )
