"""Stage: locate, verify and convert a dataset's raw files into the prepared format."""

import logging
from pathlib import Path

from pdepth.data import registry
from pdepth.data.prepared import SPLIT_NAMES
from pdepth.study import Study

log = logging.getLogger(__name__)


def run(study: Study, dataset: str, output: Path) -> None:
    """Downloads, if any are needed, land in ``downloads/`` beside the prepared file."""
    options = study.source_options(dataset, Path(output).parent)
    prepared = registry.prepare(dataset, options, study.checksums(dataset))
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
