"""The statistical view of difficulty (Section 3.1): what an ensemble of seeds predicts for each example.

Every function takes per-(example, seed) arrays and a boolean ``mask`` of the appearances to count (for the paper's
scores: the seeds in which the example was held out). An example without appearances gets NaN (or -1 for a class).
"""

import numpy as np

NO_CLASS = -1


def class_counts(pred: np.ndarray, mask: np.ndarray, num_classes: int) -> np.ndarray:
    """(N, C) number of counted appearances in which each class was predicted."""
    counts = np.zeros((pred.shape[0], num_classes), np.int32)
    rows = np.arange(pred.shape[0])
    for seed in range(pred.shape[1]):
        np.add.at(counts, (rows, pred[:, seed].astype(np.int64)), mask[:, seed].astype(np.int32))
    return counts


def consensus_class(counts: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Majority vote of the counted predictions.

    Tie-break (as in the paper's Figure 7): the ground-truth class if it is among the tied classes, else the tied
    class with the smallest index. NO_CLASS (-1) for an example never counted.
    """
    top = counts.max(axis=1)
    tied = counts == top[:, None]
    label_tied = tied[np.arange(len(labels)), labels.astype(np.int64)]
    consensus = np.where(label_tied, labels, tied.argmax(axis=1))
    return np.where(top > 0, consensus, NO_CLASS).astype(np.int16)


def fraction_equal(pred: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per example, the fraction of counted appearances whose prediction equals ``target`` (N,); NaN if none."""
    hits = ((pred == target[:, None]) & mask).sum(axis=1)
    appearances = mask.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(appearances > 0, hits / appearances, np.nan)


def consistency(pred: np.ndarray, labels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Consistency score (eq. 1): fraction of counted predictions equal to the ground truth."""
    return fraction_equal(pred, labels, mask)


def consensus_consistency(pred: np.ndarray, consensus: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Consensus-consistency score (eq. 2): fraction of counted predictions equal to the consensus class."""
    return fraction_equal(pred, consensus, mask)


def prediction_entropy(counts: np.ndarray) -> np.ndarray:
    """Shannon entropy (nats) of the distribution of counted predictions over classes; NaN if none."""
    total = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = counts / total
        terms = np.where(counts > 0, -p * np.log(np.where(counts > 0, p, 1)), 0.0)
    return np.where(total[:, 0] > 0, terms.sum(axis=1), np.nan)


def masked_mean(values: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per example, the mean of the finite ``values`` where ``mask`` (NaN if none) and how many were averaged."""
    use = mask & np.isfinite(values)
    n = use.sum(axis=1)
    total = np.where(use, values, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / n, np.nan), n


def leave_one_out_consensus_consistency(
    pred: np.ndarray, labels: np.ndarray, held_out: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """(N, S): for each held-out appearance, the consensus-consistency of the *other* held-out models' predictions.

    The quantity of Figure 4 (middle): one model's depth against the uncertainty of an ensemble without it.
    """
    result = np.full(pred.shape, np.nan)
    rows = np.arange(len(pred))
    for seed in range(pred.shape[1]):
        others = counts.copy()
        mine = held_out[:, seed]
        np.subtract.at(others, (rows, pred[:, seed].astype(np.int64)), mine.astype(np.int32))
        consensus = consensus_class(others, labels)
        n_others = others.sum(axis=1)
        agree = others[rows, np.clip(consensus, 0, None)]
        with np.errstate(invalid="ignore", divide="ignore"):
            result[:, seed] = np.where(mine & (n_others > 0), agree / n_others, np.nan)
    return result
