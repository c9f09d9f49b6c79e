"""Snakemake adapter of pdepth.pipeline.probe: reads only its job's record (params), files, threads and resources."""

from pdepth.config import jobs
from pdepth.pipeline import probe
from pdepth.workflow.gpu_slots import claimed_gpus
from pdepth.workflow.logs import logged, progress_bars

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]), claimed_gpus(sm.resources.get("gpu", 0)):
    probe.run_block(
        jobs.from_params(jobs.ProbeBlock, sm.params.job),
        sm.input.prepared,
        weights=sm.input.weights,
        run_outputs=sm.input.runs,
        probe_files=sm.output.probes,
        margin_files=sm.output.margins,
        threads=sm.threads,
        progress=progress_bars(sm.threads),
    )
