"""Example-difficulty scores from training dynamics, to compare with prediction depth.

The numpy functions are the definitions: they take a whole training history, T presentations of N examples, with
an optional ``seen`` mask (T, N) whose False entries are ignored (an example's presentations are its seen entries,
in order; one never seen gets NaN means and zero counts). pdepth.training.dynamics.TrainingScores computes the same
scores on the device from the training minibatches, keeping only per-example running sums.

A prediction is correct iff the first largest logit (numpy's and torch's argmax) is the label's.

This module imports nothing from pdepth, and no torch.
"""

import numpy as np


def _seen_mask(seen: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    return np.ones(shape, bool) if seen is None else np.asarray(seen, bool)


def _mean_over_seen(values: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Per example, the mean of ``values`` (T, N) over its seen presentations; NaN when it has none."""
    count = seen.sum(axis=0)
    total = np.where(seen, values, 0.0).sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the largest logit so that it never overflows."""
    logits = np.asarray(logits, np.float64)
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def correct_predictions(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Whether argmax over the last axis equals the label; a tie goes to the first largest logit."""
    return np.argmax(logits, axis=-1) == labels


def assigned_probability(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The softmax probability of each example's assigned label (logits (..., N, C), labels (N,))."""
    probs = softmax(logits)
    return np.take_along_axis(probs, np.broadcast_to(labels[:, None], probs.shape[:-1] + (1,)), axis=-1)[..., 0]


def forgetting_events(correct: np.ndarray, seen: np.ndarray | None = None) -> np.ndarray:
    """Toneva et al. 2019, "An Empirical Study of Example Forgetting": per example, the number of transitions from
    correct to incorrect between consecutive presentations.

    A never-learned example counts 0 here (the raw count): :func:`toneva_forgetting` is the score.
    """
    correct = np.asarray(correct, bool)
    seen = _seen_mask(seen, correct.shape)
    previous = np.zeros(correct.shape[1], bool)
    events = np.zeros(correct.shape[1], np.int64)
    for now_correct, now_seen in zip(correct, seen, strict=True):
        events += now_seen & previous & ~now_correct
        previous = np.where(now_seen, now_correct, previous)
    return events


def never_learned(correct: np.ndarray, seen: np.ndarray | None = None) -> np.ndarray:
    """Toneva et al. 2019: per example, whether it was correct at no presentation (also when never presented)."""
    correct = np.asarray(correct, bool)
    return ~(correct & _seen_mask(seen, correct.shape)).any(axis=0)


def toneva_forgetting(events: np.ndarray, never: np.ndarray, presentations: np.ndarray) -> np.ndarray:
    """The count Toneva et al.'s code ranks by (mtoneva/example_forgetting, order_examples_by_forgetting.py): the
    forgetting events of a run, or its number of presentations where the example was never learned (the paper: "an
    infinite number of times"; within a run the ranking is the same, a run of T presentations has < T / 2 events)."""
    return np.where(never, presentations, events)


def forgetting_score(correct: np.ndarray, seen: np.ndarray | None = None) -> np.ndarray:
    """:func:`toneva_forgetting` of one run's history (T, N); NaN for an example never presented."""
    correct = np.asarray(correct, bool)
    seen = _seen_mask(seen, correct.shape)
    presented = seen.sum(axis=0)
    score = toneva_forgetting(forgetting_events(correct, seen), never_learned(correct, seen), presented)
    return np.where(presented > 0, score, np.nan)


def margins(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The logit of the assigned label minus the largest other logit (logits (..., N, C), labels (N,))."""
    logits = np.asarray(logits, np.float64)
    is_label = np.arange(logits.shape[-1]) == np.asarray(labels)[:, None]
    assigned = np.where(is_label, logits, 0.0).sum(axis=-1)
    return assigned - np.where(is_label, -np.inf, logits).max(axis=-1)


def area_under_margin(logits: np.ndarray, labels: np.ndarray, seen: np.ndarray | None = None) -> np.ndarray:
    """Pleiss et al. 2020, "Identifying Mislabeled Data using the Area Under the Margin Ranking": per example, the
    mean over presentations of the assigned label's logit minus the largest other logit (logits (T, N, C), as in the
    paper, not probabilities)."""
    logits = np.asarray(logits, np.float64)
    return _mean_over_seen(margins(logits, labels), _seen_mask(seen, logits.shape[:2]))


def dataset_map(
    probs_assigned: np.ndarray, correct: np.ndarray, seen: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Swayamdipta et al. 2020, "Dataset Cartography": per example, over presentations, the mean probability of the
    assigned label (confidence), its population standard deviation (variability, ddof=0 as in allenai/cartography)
    and the fraction of correct predictions (correctness)."""
    probs_assigned = np.asarray(probs_assigned, np.float64)
    seen = _seen_mask(seen, probs_assigned.shape)
    confidence = _mean_over_seen(probs_assigned, seen)
    variability = np.sqrt(_mean_over_seen((probs_assigned - confidence) ** 2, seen))
    correctness = _mean_over_seen(np.asarray(correct, np.float64), seen)
    return confidence, variability, correctness


def el2n(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Paul et al. 2021, "Deep Learning on a Data Diet": the L2 norm of the softmax output minus the one-hot label
    (one network; the paper averages it over several initialisations)."""
    probs = np.asarray(probs, np.float64)
    one_hot = np.arange(probs.shape[-1]) == np.asarray(labels)[:, None]
    return np.linalg.norm(probs - one_hot, axis=-1)


def final_loss(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-example cross-entropy of logits (N, C), with a log-sum-exp that never overflows."""
    logits = np.asarray(logits, np.float64)
    largest = logits.max(axis=-1)
    log_normaliser = largest + np.log(np.exp(logits - largest[:, None]).sum(axis=-1))
    return log_normaliser - logits[np.arange(len(logits)), labels]
