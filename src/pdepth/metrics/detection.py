"""Finding the flipped labels of a label-noise study: how well each difficulty score, and the k-NN probes' vote for
the given label at every layer, ranks the mislabelled training examples first (docs/outputs.md, "Mislabel
detection").

Per seed, the examples are that seed's training split; a score is oriented so that larger means "more likely
flipped"; AUROC and average precision (AUPRC) are averaged over the seeds, with intervals over runs and examples
(pdepth.fidelity.verdicts). The AUROC's null keeps the given class: its exact mean when each seed's scores are
shuffled within each given class (so a score that only knows the class, in a study whose flips differ by class, does
not pass for a detector). The AUPRC's reference is the share of flipped labels, the precision of a random ranking.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pdepth.config.jobs import FidelitySettings
from pdepth.fidelity.verdicts import Evidence, Test, assess

LARGER_IS_FLIPPED, SMALLER_IS_FLIPPED = 1, -1


@dataclass(frozen=True)
class Ranking:
    """A score's per-seed values on the examples, their tie groups, and which examples each seed trained on."""

    values: np.ndarray  # (N, S), oriented: larger = more likely flipped; NaN: not scored
    scored: np.ndarray  # (N, S) bool: in the seed's training split and finite
    groups: list[np.ndarray]  # per seed, the tie group (rank of its distinct value) of each scored example


def ranking(values: np.ndarray, in_train: np.ndarray, orientation: int) -> Ranking:
    values = orientation * np.asarray(values, np.float64)
    scored = in_train & np.isfinite(values)
    groups = [np.unique(values[scored[:, s], s], return_inverse=True)[1] for s in range(values.shape[1])]
    return Ranking(values, scored, groups)


def _pos_neg(groups: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    size = groups.max() + 1 if len(groups) else 0
    return (
        np.bincount(groups, weights * positive, minlength=size),
        np.bincount(groups, weights * ~positive, minlength=size),
    )


def auroc(groups: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> float:
    """Weighted AUROC of a ranking given as tie groups (ascending): the chance that a positive outranks a negative,
    ties counting half (sklearn.metrics.roc_auc_score with sample_weight; O(n) for a bootstrap resample)."""
    pos, neg = _pos_neg(groups, positive, weights)
    total = pos.sum() * neg.sum()
    if total <= 0:
        return np.nan
    below = np.cumsum(neg) - neg
    return float((pos * (below + 0.5 * neg)).sum() / total)


def average_precision(groups: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> float:
    """Weighted average precision, thresholds from the highest score down (sklearn.metrics.average_precision_score
    with sample_weight)."""
    pos, neg = _pos_neg(groups, positive, weights)
    if pos.sum() <= 0:
        return np.nan
    true, false = np.cumsum(pos[::-1]), np.cumsum(neg[::-1])
    precision = true / np.maximum(true + false, 1e-300)
    return float((pos[::-1] / pos.sum() * precision).sum())


def within_class_null(values: np.ndarray, positive: np.ndarray, classes: np.ndarray) -> float:
    """The exact mean AUROC when the scores are shuffled within each given class: pairs in one class tie (0.5), a
    pair across classes keeps the chance that a score of the one class outranks a score of the other."""
    names = np.unique(classes)
    pos = np.array([(positive & (classes == c)).sum() for c in names], np.float64)
    neg = np.array([(~positive & (classes == c)).sum() for c in names], np.float64)
    chance = np.full((len(names), len(names)), 0.5)
    for a, first in enumerate(names):
        for b, second in enumerate(names):
            if a != b:
                both = np.concatenate([values[classes == first], values[classes == second]])
                groups = np.unique(both, return_inverse=True)[1]
                is_first = np.arange(len(both)) < (classes == first).sum()
                chance[a, b] = auroc(groups, is_first, np.ones(len(both)))
    total = pos.sum() * neg.sum()
    return float(pos @ np.nan_to_num(chance, nan=0.5) @ neg / total) if total > 0 else np.nan


def detection_test(
    rank: Ranking, flipped: np.ndarray, classes: np.ndarray, metric: Callable, null: Callable[[int], float]
) -> Test:
    """The seeds' mean of ``metric`` over each seed's scored examples, resampled over examples and seeds."""

    def statistic(weights: np.ndarray, kept: np.ndarray) -> float:
        values = [
            metric(rank.groups[s], flipped[rank.scored[:, s]], weights[rank.scored[:, s]]) for s in np.flatnonzero(kept)
        ]
        return float(np.mean(values)) if values else np.nan

    return Test(
        statistic,
        lambda rng, draws: float(np.mean([null(s) for s in range(rank.values.shape[1])])),
        units=len(flipped),
        runs=rank.values.shape[1],
        strata=classes,
        examples=int(rank.scored.any(axis=1).sum()),
    )


@dataclass(frozen=True)
class Detection:
    auroc: Evidence
    auprc: Evidence


def detect(
    values: np.ndarray,
    in_train: np.ndarray,
    flipped: np.ndarray,
    classes: np.ndarray,
    settings: FidelitySettings,
    orientation: int = LARGER_IS_FLIPPED,
) -> Detection:
    """AUROC and AUPRC of a score (N, S) at finding the flipped labels among each seed's training examples."""
    rank = ranking(values, in_train, orientation)

    def class_null(seed: int) -> float:
        keep = rank.scored[:, seed]
        return within_class_null(rank.values[keep, seed], flipped[keep], classes[keep])

    def share_flipped(seed: int) -> float:
        return float(flipped[rank.scored[:, seed]].mean()) if rank.scored[:, seed].any() else np.nan

    roc = detection_test(rank, flipped, classes, auroc, class_null)
    prc = detection_test(rank, flipped, classes, average_precision, share_flipped)
    return Detection(assess(roc, 1, 0.0, settings), assess(prc, 1, 0.0, settings))


def probe_layers(cube, flipped: np.ndarray, settings: FidelitySettings | None = None):
    """Per layer, how well the probes' vote for the given label (``knn_true_conf``) finds the ``flipped`` labels of
    a cube (``pdepth.probe_model``'s, or seeds concatenated along ``seed``): a DataFrame of AUROC and AUPRC with their
    intervals (those need several seeds); ``settings`` default to the study's (config block ``fidelity``)."""
    import pandas as pd

    from pdepth.config.schema import defaults

    settings = settings or FidelitySettings.of(defaults("fidelity"))
    rows = []
    for layer in range(cube.sizes["layer"]):
        votes = cube.knn_true_conf.values[:, :, layer]
        found = detect(votes, cube.in_train.values, flipped, cube.label.values, settings, SMALLER_IS_FLIPPED)
        rows.append(
            {"layer": layer, "auroc": found.auroc.estimate, "auroc_low": found.auroc.low}
            | {"auroc_high": found.auroc.high, "auprc": found.auprc.estimate, "why": found.auroc.why}
        )
    return pd.DataFrame(rows)
