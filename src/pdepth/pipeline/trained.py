"""What the stages that run a trained model share: its examples, its weights on the device, its normalisation."""

from dataclasses import dataclass
from pathlib import Path

import torch

from pdepth.augment import Normalizer
from pdepth.device import configure_torch, pick_device
from pdepth.examples import Examples
from pdepth.models import ProbedModel, build
from pdepth.study import Study, Variant


@dataclass
class TrainedModel:
    examples: Examples
    model: ProbedModel  # in eval mode
    normalize: Normalizer
    device: torch.device


def load_trained(
    study: Study, variant: Variant, dataset: str, prepared: Path, weights: Path, threads: int
) -> TrainedModel:
    configure_torch(threads)
    device = pick_device(study.config["device"])
    examples = study.examples(prepared, variant)
    saved = torch.load(weights, map_location=device, weights_only=True)
    model = build(saved["arch"], examples.shape, saved["options"]).to(device)
    model.load_state_dict(saved["state_dict"])
    model.eval()
    normalize = Normalizer(*study.normalisation(dataset, (examples.mean, examples.std)), device=device)
    return TrainedModel(examples, model, normalize, device)
