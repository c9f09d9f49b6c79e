"""Stage: cleanlab's recipe for mislabel detection, out-of-sample predicted probabilities for every training example
by K-fold cross-validation. For each seed of a block, its training split is cut into stratified folds of the given
labels, and each fold is predicted by a model trained like the seed's (the same architecture, hyper-parameters and
initial weights) on the other folds, after each of training.score_epochs and at the end (docs/outputs.md)."""

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pdepth.config import jobs
from pdepth.data.augment import Normalizer
from pdepth.data.examples import Examples
from pdepth.data.splits import train_mask
from pdepth.device import pick_device
from pdepth.errors import TrainingDiverged
from pdepth.metrics.scores import softmax
from pdepth.pipeline import side_by_side
from pdepth.pipeline.trained import examples_of
from pdepth.training.loop import fit, memory_format, predict_logits
from pdepth.training.runs import CrossvalResults

log = logging.getLogger(__name__)
NOT_TRAINED = -1  # the fold of an example outside the seed's training split


def stratified_folds(labels: np.ndarray, in_train: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """(N,) the fold of each training example (scikit-learn's StratifiedKFold, shuffled with ``seed``, as cleanlab's
    ``estimate_cv_predicted_probabilities`` cuts them); NOT_TRAINED elsewhere."""
    from sklearn.model_selection import StratifiedKFold

    fold = np.full(len(labels), NOT_TRAINED, np.int8)
    members = np.flatnonzero(in_train)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for number, (_, predicted) in enumerate(splitter.split(members, labels[members])):
        fold[members[predicted]] = number
    return fold


def run_block(
    block: jobs.CrossvalBlock, prepared: Path, crossval: list[Path], threads: int, progress: bool = True
) -> None:
    """Every fold model of the block's seeds, side by side where its threads allow
    (:mod:`pdepth.pipeline.side_by_side`); then each seed's out-of-fold probabilities."""
    first = block.runs[0].train
    examples = examples_of(first.examples, prepared)  # every seed of a block sees the same examples
    folds = [seed_folds(job, examples) for job in block.runs]
    models = [
        FoldModel(job, first.examples, prepared, fold, n)
        for job, fold in zip(block.runs, folds, strict=True)
        for n in range(job.folds)
    ]
    names = [f"{model.job.train.run}, fold {model.number + 1} of {model.job.folds}" for model in models]
    on_cpu = pick_device(first.device).type == "cpu"
    cpu_threads = first.training.cpu_threads
    predicted = iter(side_by_side.run_all(predict_fold, models, names, threads, cpu_threads, on_cpu, progress))
    for job, fold, output in zip(block.runs, folds, crossval, strict=True):
        gathered(job, examples, fold, [next(predicted) for _ in range(job.folds)]).save(output)


def run(job: jobs.CrossvalJob, examples: Examples, progress: bool = True) -> CrossvalResults:
    """One seed's fold models, one after the other in this process, and its out-of-fold probabilities."""
    fold = seed_folds(job, examples)
    folds = [fold_probabilities(job, examples, fold, number, progress) for number in range(job.folds)]
    return gathered(job, examples, fold, folds)


def seed_folds(job: jobs.CrossvalJob, examples: Examples) -> np.ndarray:
    """The fold of each of the seed's training examples (NOT_TRAINED elsewhere)."""
    in_train = train_mask(examples.orig_split, job.train.holdout_fraction, job.train.run.seed)
    return stratified_folds(examples.labels, in_train, job.folds, job.train.run.seed)


def gathered(job: jobs.CrossvalJob, examples: Examples, fold: np.ndarray, folds: list[np.ndarray]) -> CrossvalResults:
    """The seed's results from each fold's probabilities (:func:`fold_probabilities`, in the folds' order)."""
    shape = (len(job.train.training.score_points), len(examples), len(examples.classes))
    probabilities = np.full(shape, np.nan, np.float32)
    for number, predicted in enumerate(folds):
        probabilities[:, fold == number] = predicted
    return CrossvalResults(probabilities, fold, jobs.to_json(job))


@dataclass(frozen=True)
class FoldModel:
    """One fold model of a seed, as a worker process gets it: the examples to load, the seed's folds, which fold."""

    job: jobs.CrossvalJob
    examples: jobs.ExampleSet
    prepared: Path
    fold: np.ndarray  # (N,) each example's fold, NOT_TRAINED outside the seed's training split
    number: int


def predict_fold(model: FoldModel, progress: bool) -> np.ndarray:
    """:func:`fold_probabilities` of one fold model."""
    return fold_probabilities(
        model.job, examples_of(model.examples, model.prepared), model.fold, model.number, progress
    )


def fold_probabilities(
    job: jobs.CrossvalJob, examples: Examples, fold: np.ndarray, number: int, progress: bool
) -> np.ndarray:
    """(score points, examples of fold ``number``, classes): the fold's softmax after each score point and at the end,
    by a model trained like the seed's on the seed's other folds."""
    train, config = job.train, job.train.training
    device = pick_device(train.device)
    normalize = Normalizer(*train.normalisation.resolve(examples), device=device)
    predicted = fold == number
    trained_on = (fold != NOT_TRAINED) & ~predicted
    log.info("%s: fold %d of %d, %d examples predicted", train.run, number + 1, job.folds, predicted.sum())
    arch, options, seed = train.run.arch, train.model_options, train.run.seed
    model, result = fit(arch, options, examples, trained_on, normalize, config, seed, progress, record=False)
    images = examples.image_tensor(device)[torch.from_numpy(np.flatnonzero(predicted)).to(device)]
    which, points = f"{train.run}, the model of fold {number + 1}", config.score_points
    probabilities = np.empty((len(points), len(images), len(examples.classes)), np.float32)
    # the final weights first: loading an earlier point's state replaces them
    probabilities[-1] = softmax_of(model, images, normalize, config, f"{which} at the end")
    for point, state in enumerate(result.states_at_points):
        model.load_state_dict(state)
        probabilities[point] = softmax_of(model, images, normalize, config, f"{which} after epoch {points[point]}")
    return probabilities


def softmax_of(model, images: torch.Tensor, normalize: Normalizer, config, which: str) -> np.ndarray:
    """The model's softmax of ``images``, checked finite: an unrecorded run has no eval pass that would have seen a
    blow-up at its last step."""
    logits = predict_logits(model, images, normalize, config.eval_batch_size, memory_format(config))
    if not bool(torch.isfinite(logits).all()):
        raise TrainingDiverged(
            f"{which}: its outputs became non-finite; lower training.lr or raise training.warmup_epochs"
        )
    return softmax(logits.cpu().numpy())
