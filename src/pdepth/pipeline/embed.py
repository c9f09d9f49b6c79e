"""Per-probe embeddings of every example for one trained model (temporary files, deleted after probing)."""

import logging
from pathlib import Path

import numpy as np

from pdepth.config.jobs import EmbedJob
from pdepth.pipeline.trained import TrainedModel
from pdepth.probing import embeddings
from pdepth.probing.reduction import Reducer

log = logging.getLogger(__name__)


def run(
    job: EmbedJob, trained: TrainedModel, out_dir: Path, progress: bool = True
) -> tuple[list[embeddings.Layer], np.ndarray]:
    """Every probe's embeddings of every example in ``out_dir``; returns the probes and the model's (N, C) logits."""
    reduction = job.reduction
    layers, logits = embeddings.extract(
        trained.model,
        trained.examples.image_tensor(trained.device),
        trained.normalize,
        out_dir,
        batch_size=job.batch_size,
        dtype=reduction.dtype,
        reducer=Reducer(reduction.max_dim, reduction.seed, reduction.method),
        progress=progress,
    )
    for layer in layers:
        log.info(
            "probe %2d %-12s %-16s -> dim %6d (%s)",
            layer.depth,
            layer.name,
            "x".join(map(str, layer.shape)),
            layer.dim,
            layer.reduction,
        )
    return layers, logits
