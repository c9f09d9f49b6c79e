"""Finding the flipped labels of a label-noise study: how well each difficulty score, and the k-NN probes' vote for
the given label at every layer, ranks the mislabelled training examples first (docs/outputs.md, "Mislabel
detection").

Per seed, the examples are that seed's training split; a score is oriented so that larger means "more likely
flipped"; AUROC and average precision (AUPRC) are averaged over the seeds, with intervals over runs and examples
(pdepth.statistics.verdicts). The AUROC's null keeps the given class: its exact mean when each seed's scores are
shuffled within each given class (so a score that only knows the class, in a study whose flips differ by class, does
not pass for a detector). The AUPRC's reference is the share of flipped labels, the precision of a random ranking.
"""

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pdepth.config.jobs import FidelitySettings
from pdepth.statistics.verdicts import Evidence, Test, assess

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


def auroc_of(pos: np.ndarray, neg: np.ndarray) -> float | np.ndarray:
    """AUROC from the weight of the positives and negatives in each tie group (ascending along the first axis; a
    second axis: one AUROC per column): the chance that a positive outranks a negative, ties counting half."""
    total = pos.sum(0) * neg.sum(0)
    below = np.cumsum(neg, axis=0) - neg
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(total > 0, (pos * (below + 0.5 * neg)).sum(0) / total, np.nan)
    return float(value) if value.ndim == 0 else value


def average_precision_of(pos: np.ndarray, neg: np.ndarray) -> float | np.ndarray:
    """Average precision from the same group weights, thresholds from the highest score down."""
    pos, neg = pos[::-1], neg[::-1]
    positives = pos.sum(0)
    true, false = np.cumsum(pos, axis=0), np.cumsum(neg, axis=0)
    precision = true / np.maximum(true + false, 1e-300)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(positives > 0, (pos / positives * precision).sum(0), np.nan)
    return float(value) if value.ndim == 0 else value


def auroc(groups: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> float:
    """Weighted AUROC of a ranking given as tie groups (ascending): the chance that a positive outranks a negative,
    ties counting half (sklearn.metrics.roc_auc_score with sample_weight; O(n) for a bootstrap resample)."""
    return auroc_of(*_pos_neg(groups, positive, weights))


def average_precision(groups: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> float:
    """Weighted average precision, thresholds from the highest score down (sklearn.metrics.average_precision_score
    with sample_weight)."""
    return average_precision_of(*_pos_neg(groups, positive, weights))


def group_sums(groups: np.ndarray, members: np.ndarray, positive: np.ndarray, units: int) -> tuple:
    """Sparse (groups, units) matrices that sum a seed's weights (units, draws) into each tie group's positives and
    negatives, each group's members added in their order (as bincount adds them)."""
    from scipy import sparse

    shape = (groups.max() + 1 if len(groups) else 0, units)
    return tuple(
        sparse.csr_matrix((np.ones(which.sum()), (groups[which], members[which])), shape=shape)
        for which in (positive, ~positive)
    )


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


def seed_group_sums(rank: Ranking, flipped: np.ndarray) -> Callable[[], list[tuple]]:
    """Per seed, :func:`group_sums` of its scored examples: built on first use, once."""
    seeds = range(rank.values.shape[1])

    @functools.cache
    def built() -> list[tuple]:
        members = [np.flatnonzero(rank.scored[:, s]) for s in seeds]
        return [group_sums(rank.groups[s], members[s], flipped[members[s]], len(flipped)) for s in seeds]

    return built


def detection_test(
    rank: Ranking,
    flipped: np.ndarray,
    classes: np.ndarray,
    metric_of: Callable,
    null: Callable[[int], float],
    sums: Callable[[], list[tuple]] | None = None,
) -> Test:
    """The seeds' mean of ``metric_of`` (:func:`auroc_of`, :func:`average_precision_of`) over each seed's scored
    examples, resampled over examples and seeds (``sums``: :func:`seed_group_sums`, to share between tests)."""
    seeds = range(rank.values.shape[1])
    scored = [np.flatnonzero(rank.scored[:, s]) for s in seeds]
    positives = [flipped[members] for members in scored]
    sums = sums or seed_group_sums(rank, flipped)

    def statistic(weights: np.ndarray, kept: np.ndarray) -> float:
        found = [metric_of(*_pos_neg(rank.groups[s], positives[s], weights[scored[s]])) for s in np.flatnonzero(kept)]
        return float(np.mean(found)) if found else np.nan

    def batched(weights: np.ndarray, kept: np.ndarray) -> np.ndarray:
        columns = np.ascontiguousarray(weights.T)  # (units, draws): each group's sums by one sparse product
        found = [metric_of(sums()[s][0] @ columns, sums()[s][1] @ columns) for s in np.flatnonzero(kept)]
        return np.mean(found, axis=0) if found else np.full(len(weights), np.nan)

    return Test(
        statistic,
        lambda rng, draws: float(np.mean([null(s) for s in range(rank.values.shape[1])])),
        units=len(flipped),
        runs=rank.values.shape[1],
        strata=classes,
        examples=int(rank.scored.any(axis=1).sum()),
        batched=batched,
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

    sums = seed_group_sums(rank, flipped)
    roc = detection_test(rank, flipped, classes, auroc_of, class_null, sums)
    prc = detection_test(rank, flipped, classes, average_precision_of, share_flipped, sums)
    return Detection(assess(roc, 1, 0.0, settings), assess(prc, 1, 0.0, settings))


@dataclass(frozen=True)
class Chosen:
    """The candidate chosen out of sample for each seed, and its AUROC on that seed, tested over runs and examples."""

    auroc: Evidence
    choice: np.ndarray  # (S,) per seed, the index of the candidate chosen on the other seeds


def chosen_out_of_sample(
    candidates: list[np.ndarray],
    in_train: np.ndarray,
    flipped: np.ndarray,
    classes: np.ndarray,
    settings: FidelitySettings,
    orientation: int = LARGER_IS_FLIPPED,
) -> Chosen:
    """AUROC of the best of several scores (N, S) (e.g. a probe's vote at each layer and point of training), chosen
    without looking at the seed it is scored on: for each seed, the candidate with the highest mean AUROC over the
    other seeds, scored on that seed; the mean over seeds (cross-fitted, as Section 4's gain is). Each seed's value
    is out of sample, so their spread is the run-to-run part of the interval."""
    test, choice = chosen_test(candidates, in_train, flipped, classes, orientation)
    return Chosen(assess(test, 1, 0.0, settings), choice)


def chosen_test(
    candidates: list[np.ndarray], in_train: np.ndarray, flipped: np.ndarray, classes: np.ndarray, orientation: int
) -> tuple[Test, np.ndarray]:
    """:func:`chosen_out_of_sample`'s test, and the candidate each seed is scored with."""
    ranks = [ranking(values, in_train, orientation) for values in candidates]
    seeds = in_train.shape[1]

    def per_seed(weights: np.ndarray, kept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        table = np.full((len(ranks), seeds), np.nan)
        for s in np.flatnonzero(kept):
            table[:, s] = [auroc(r.groups[s], flipped[r.scored[:, s]], weights[r.scored[:, s]]) for r in ranks]
        values, choice = np.full(seeds, np.nan), np.full(seeds, -1)
        for s in np.flatnonzero(kept):
            others = kept & (np.arange(seeds) != s)
            if others.any():
                choice[s] = int(best_candidate(table[:, others]))  # -1: every candidate undefined there
                values[s] = table[choice[s], s] if choice[s] >= 0 else np.nan
        return values, choice

    everything = np.ones(seeds, bool)
    values, choice = per_seed(np.ones(len(flipped)), everything)

    def null(rng, draws) -> float:
        found = []
        for s in np.flatnonzero(choice >= 0):
            keep = ranks[choice[s]].scored[:, s]
            found.append(within_class_null(ranks[choice[s]].values[keep, s], flipped[keep], classes[keep]))
        return float(np.mean(found))

    sums = [seed_group_sums(r, flipped) for r in ranks]

    def batched(weights: np.ndarray, kept: np.ndarray) -> np.ndarray:
        """per_seed's mean for each row of weights (the bootstrap keeps every seed; else row by row)."""
        if not kept.all():
            return np.array([test.statistic(row, kept) for row in weights])
        columns = np.ascontiguousarray(weights.T)
        table = np.array([[auroc_of(pos @ columns, neg @ columns) for pos, neg in by_seed()] for by_seed in sums])
        found, draws = [], np.arange(len(weights))
        for s in range(seeds):  # table: (candidates, seeds, draws)
            best = best_candidate(table[:, np.arange(seeds) != s])
            found.append(np.where(best >= 0, table[best.clip(0), s, draws], np.nan))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a draw where no seed has a defined candidate
            return np.nanmean(found, axis=0)

    test = Test(
        lambda weights, kept: float(np.nanmean(per_seed(weights, kept)[0][kept])) if kept.sum() > 1 else np.nan,
        null,
        units=len(flipped),
        runs=seeds,
        needs=(2, "a seed to choose on and one to score"),
        strata=classes,
        parts=lambda: values,
        examples=int(np.any([r.scored.any(axis=1) for r in ranks], axis=0).sum()),
        batched=batched if seeds > 1 else None,
    )
    return test, choice


def best_candidate(table: np.ndarray) -> np.ndarray:
    """The candidate (first axis) with the highest mean over the seeds (second axis) that define it; per further
    axis (the draws). -1 where no candidate is defined on any of those seeds."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a candidate undefined on every one of these seeds
        means = np.nanmean(table, axis=1)
    undefined = np.isnan(means)
    return np.where(undefined.all(axis=0), -1, np.argmax(np.where(undefined, -np.inf, means), axis=0))


def cleanlab_scores(probabilities: np.ndarray, labels: np.ndarray, in_train: np.ndarray) -> tuple[np.ndarray, ...]:
    """cleanlab's label quality (``cleanlab.rank.get_label_quality_scores``, its default self-confidence) and issue
    flags (``cleanlab.filter.find_label_issues``, its defaults) of each seed's training examples, from out-of-sample
    probabilities (N, S, C); NaN and False outside each seed's training split."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    quality = np.full(in_train.shape, np.nan)
    issues = np.zeros(in_train.shape, bool)
    for s in range(in_train.shape[1]):
        rows = in_train[:, s]
        probs = probabilities[rows, s].astype(np.float64)  # not renormalised: that would split tied rows
        given = labels[rows].astype(np.int64)
        quality[rows, s] = get_label_quality_scores(given, probs)
        issues[rows, s] = find_label_issues(given, probs, n_jobs=1)
    return quality, issues


def probe_layers(cube, flipped: np.ndarray, settings: FidelitySettings | None = None):
    """Per layer, how well the probes' vote for the given label (``knn_true_conf``) finds the ``flipped`` labels of
    a cube (``pdepth.probe_model``'s, or seeds concatenated along ``seed``): a DataFrame of AUROC and AUPRC with their
    intervals (those need several seeds); ``settings`` default to the study's (config block ``fidelity``)."""
    import pandas as pd

    from pdepth.schema import defaults

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
