"""Stage: locate, verify and convert a dataset's raw files into the prepared format."""

import logging
from pathlib import Path

from pdepth.data import registry
from pdepth.study import Study

log = logging.getLogger(__name__)


def run(study: Study, dataset: str, output: Path) -> None:
    """Downloads, if any are needed, land in ``downloads/`` beside the prepared file."""
    prepared = registry.prepare(dataset, study.source_options(dataset, Path(output).parent))
    prepared.save(output)
    counts = {s: int((prepared.orig_split == i).sum()) for i, s in enumerate(("train", "test"))}
    log.info(
        "%s: %d examples (%s), images %s, %d classes -> %s",
        dataset,
        len(prepared.labels),
        counts,
        prepared.images.shape[1:],
        prepared.num_classes,
        output,
    )
