"""The input margin of one trained model (dataset, arch, seed) for the configured examples."""

import logging
from pathlib import Path

import numpy as np

from pdepth.config.jobs import MarginsJob
from pdepth.data.prepared import TEST
from pdepth.metrics.margins import input_margin
from pdepth.pipeline.trained import TrainedModel
from pdepth.records import save_npz

log = logging.getLogger(__name__)


def run(job: MarginsJob, trained: TrainedModel, output: Path, progress: bool = True) -> np.ndarray:
    """Writes ``input_margin`` (N,) float32, NaN for the examples not measured (metrics.input_margin.split)."""
    settings = job.input_margin
    examples = trained.examples
    measured = {"all": np.ones(len(examples), bool), "test": examples.orig_split == TEST}.get(
        settings.split, np.zeros(len(examples), bool)
    )
    margins = np.full(len(examples), np.nan, np.float32)
    if measured.any():
        images = examples.image_tensor(trained.device)[np.flatnonzero(measured)]
        margins[measured] = input_margin(
            trained.model,
            images,
            trained.normalize,
            batch_size=settings.batch_size,
            candidates=settings.candidates,
            progress=progress,
        )
    save_npz(output, {"input_margin": margins, "measured": measured})
    log.info(
        "%s: input margin of %d examples (%s), median %.4g",
        job.run,
        measured.sum(),
        settings.split,
        float(np.nanmedian(margins)) if measured.any() else float("nan"),
    )
    return margins
