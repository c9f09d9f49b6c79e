"""Stage: per-probe embeddings of every example for one trained model (temporary files, deleted after probing)."""

import logging
from pathlib import Path

import torch

from pdepth import embeddings
from pdepth.augment import Normalizer
from pdepth.device import configure_torch, pick_device
from pdepth.examples import Examples
from pdepth.models import build
from pdepth.reduction import Reducer
from pdepth.study import Study

log = logging.getLogger(__name__)


def run(
    study: Study,
    dataset: str,
    arch: str,
    prepared: Path,
    weights: Path,
    out_dir: Path,
    threads: int,
    progress: bool = True,
) -> list[embeddings.Layer]:
    configure_torch(threads)
    device = pick_device(study.config["device"])
    examples = Examples.load(prepared, study.subset())
    probe = study.config["probe"]
    saved = torch.load(weights, map_location=device, weights_only=True)
    model = build(saved["arch"], examples.shape, saved["options"]).to(device)
    model.load_state_dict(saved["state_dict"])
    layers = embeddings.extract(
        model,
        examples.image_tensor(device),
        Normalizer(*study.normalisation(dataset, (examples.mean, examples.std)), device=device),
        out_dir,
        batch_size=study.training(arch, dataset).eval_batch_size,
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
