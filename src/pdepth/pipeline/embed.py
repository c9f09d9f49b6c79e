"""Stage: per-probe embeddings of every example for one trained model (temporary files, deleted after probing)."""

import logging
from pathlib import Path

from pdepth import embeddings
from pdepth.pipeline.trained import load_trained
from pdepth.reduction import Reducer
from pdepth.study import Study, Variant

log = logging.getLogger(__name__)


def run(
    study: Study,
    variant: Variant,
    dataset: str,
    arch: str,
    prepared: Path,
    weights: Path,
    out_dir: Path,
    threads: int,
    progress: bool = True,
) -> list[embeddings.Layer]:
    trained = load_trained(study, variant, dataset, prepared, weights, threads)
    probe = study.config["probe"]
    layers = embeddings.extract(
        trained.model,
        trained.examples.image_tensor(trained.device),
        trained.normalize,
        out_dir,
        batch_size=study.training(arch, dataset, variant).eval_batch_size,
        dtype=probe["embedding_dtype"],
        reducer=Reducer(probe["max_dim"], probe["reduction_seed"], probe["reduction"]),
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
    return layers
