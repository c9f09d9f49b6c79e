"""Stage: cleanlab's recipe for mislabel detection, out-of-sample predicted probabilities for every training example
by K-fold cross-validation. For each seed of a block, its training split is cut into stratified folds of the given
labels, and each fold is predicted by a model trained like the seed's (the same architecture, hyper-parameters and
initial weights) on the other folds, after each of training.score_epochs and at the end (docs/outputs.md)."""

import logging
from pathlib import Path

import numpy as np
import torch

from pdepth.config import jobs
from pdepth.data.augment import Normalizer
from pdepth.data.examples import Examples
from pdepth.data.splits import train_mask
from pdepth.device import configure_torch, pick_device
from pdepth.errors import TrainingDiverged
from pdepth.metrics.scores import softmax
from pdepth.pipeline.trained import each_seed
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
    """Each seed of the block in turn, the examples loaded once."""
    configure_torch(threads)
    examples = block.runs[0].train.examples.load(prepared)
    for job, output in each_seed(block.runs, lambda job: job.train.run, crossval):
        run(job, examples, progress).save(output)


def run(job: jobs.CrossvalJob, examples: Examples, progress: bool = True) -> CrossvalResults:
    """Train the seed's fold models and gather every training example's out-of-fold probabilities."""
    train, device = job.train, pick_device(job.train.device)
    in_train = train_mask(examples.orig_split, train.holdout_fraction, train.run.seed)
    fold = stratified_folds(examples.labels, in_train, job.folds, train.run.seed)
    normalize = Normalizer(*train.normalisation.resolve(examples), device=device)
    epochs = train.training.score_points
    probabilities = np.full((len(epochs), len(examples), len(examples.classes)), np.nan, np.float32)
    options, config, seed = train.model_options, train.training, train.run.seed
    images = examples.image_tensor(device)  # once: every fold predicts its part of them
    for number in range(job.folds):
        predicted = fold == number
        log.info("%s: fold %d of %d, %d examples predicted", train.run, number + 1, job.folds, predicted.sum())
        model, result = fit(
            train.run.arch, options, examples, in_train & ~predicted, normalize, config, seed, progress, record=False
        )
        fold_images = images[torch.from_numpy(np.flatnonzero(predicted)).to(device)]
        fold_model = f"{train.run}, the model of fold {number + 1}"
        # the final weights first: loading an earlier point's state replaces them
        probabilities[-1, predicted] = softmax_of(model, fold_images, normalize, config, f"{fold_model} at the end")
        for point, state in enumerate(result.states_at_points):
            model.load_state_dict(state)
            after = f"{fold_model} after epoch {epochs[point]}"
            probabilities[point, predicted] = softmax_of(model, fold_images, normalize, config, after)
    return CrossvalResults(probabilities, fold, jobs.to_json(job))


def softmax_of(model, images: torch.Tensor, normalize: Normalizer, config, which: str) -> np.ndarray:
    """The model's softmax of ``images``, checked finite: an unrecorded run has no eval pass that would have seen a
    blow-up at its last step."""
    logits = predict_logits(model, images, normalize, config.eval_batch_size, memory_format(config))
    if not bool(torch.isfinite(logits).all()):
        raise TrainingDiverged(
            f"{which}: its outputs became non-finite; lower training.lr or raise training.warmup_epochs"
        )
    return softmax(logits.cpu().numpy())
