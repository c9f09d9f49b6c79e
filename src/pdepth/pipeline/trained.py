"""What the stages that run a trained model share: its examples, its weights on the device, its normalisation."""

import functools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from pdepth.config.jobs import ExampleSet, Normalisation
from pdepth.data.augment import Normalizer
from pdepth.data.examples import Examples
from pdepth.models import ProbedModel
from pdepth.training.runs import trained_model

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def examples_of(examples: ExampleSet, prepared: Path) -> Examples:
    """The examples of a block's models, read once per process (the job's, or a side-by-side worker's): every seed and
    fold model of a block sees the same ones, and none changes them."""
    return examples.load(prepared)


@dataclass
class TrainedModel:
    examples: Examples
    model: ProbedModel  # in eval mode
    normalize: Normalizer
    device: torch.device


def load_trained(
    examples: Examples, normalisation: Normalisation, device: torch.device, saved: dict, point: int | None = None
) -> TrainedModel:
    """The model of ``saved`` (``pdepth.training.runs.load_weights``) on ``device`` (at the earlier score point
    ``point``: its weights then), with the examples it is run on."""
    model = trained_model(saved, examples.shape, device, point)
    normalize = Normalizer(*normalisation.resolve(examples), device=device)
    return TrainedModel(examples, model, normalize, device)


def each_seed(runs: tuple, run_of: Callable, *files: list) -> Iterator[tuple]:
    """The records of a block's seeds with their files, each seed announced in the job's log as it starts."""
    for n, (record, *its_files) in enumerate(zip(runs, *files, strict=True), 1):
        log.info("%s: %d of %d in this job", run_of(record), n, len(runs))
        yield record, *its_files
