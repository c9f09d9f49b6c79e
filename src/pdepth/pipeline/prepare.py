"""Stage: locate, verify and convert a dataset's raw files into the prepared format."""

import logging
from pathlib import Path

from pdepth.config.jobs import PrepareJob
from pdepth.data import registry
from pdepth.data.prepared import SPLIT_NAMES
from pdepth.data.sources import SourceOptions

log = logging.getLogger(__name__)


def source_options(job: PrepareJob, resources_dir: Path) -> SourceOptions:
    """Where to look for the raw files, in order; downloads land in ``resources_dir/downloads/{dataset}``."""
    spec = registry.get(job.dataset)
    return SourceOptions(
        data_dir=Path(job.data_dir) if job.data_dir else None,
        system_dirs=tuple(Path(d) for d in spec.system_dirs) if job.use_system_copies else (),
        download_dir=Path(resources_dir) / "downloads" / job.dataset,
        download=job.download,
        mirrors=job.mirrors,
        retries=job.retries,
    )


def run(job: PrepareJob, output: Path) -> None:
    """Downloads, if any are needed, land in ``downloads/`` beside the prepared file."""
    dataset = job.dataset
    prepared = registry.prepare(dataset, source_options(job, Path(output).parent), job.checksums)
    prepared.save(output)
    counts = {name: int((prepared.orig_split == i).sum()) for i, name in enumerate(SPLIT_NAMES)}
    log.info(
        "%s: %d examples (%s), images %s, %d classes, channel mean %s std %s -> %s",
        dataset,
        len(prepared.labels),
        counts,
        prepared.images.shape[1:],
        prepared.num_classes,
        " ".join(f"{m:.4f}" for m in prepared.mean),
        " ".join(f"{s:.4f}" for s in prepared.std),
        output,
    )
