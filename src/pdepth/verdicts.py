"""Verdicts that can fail: an estimate with a bootstrap interval over examples, a permutation null, and two
verdicts (direction against the null, distance from the paper's number).

A claim's statistic is a function of per-example *weights*: all ones for the data as they are, the multiplicities of
a resample for the bootstrap. So the resampled unit is always the example, never the (example, seed) appearance,
whose depths and predictions are correlated within an example. The null is the same statistic on data permuted so
that the claimed relation is destroyed while what the statistic needs is kept (e.g. within strata of the number of
held-out appearances); its mean is the *null value* the interval is compared with, so an artefact built into the
statistic (one that shows on data with no signal) is part of the null, not of the effect.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

HOLDS, FAILS, INCONCLUSIVE, UNTESTABLE = "holds", "fails", "inconclusive", "not testable"
WITHIN, OUTSIDE, NO_NUMBER = "within", "outside", "no number in the paper"


@dataclass(frozen=True)
class Settings:
    """How hard each claim is tested (config block ``fidelity``; defaults in the schema)."""

    bootstrap: int  # resamples of the examples for the confidence interval
    permutations: int  # draws of the null distribution
    confidence: float  # of the interval; a "holds" also needs a one-sided p below (1 - confidence) / 2
    seed: int

    @property
    def alpha(self) -> float:
        return (1 - self.confidence) / 2


@dataclass(frozen=True)
class Test:
    """What a claim measures, in a form that can be resampled and permuted.

    ``statistic(weights)``: the statistic with per-unit (example) weights; ``permuted(rng)``: the statistic on one
    draw of the null; ``strata``: per unit, the group it is resampled within (e.g. the dataset), or None.
    """

    statistic: Callable[[np.ndarray], float]
    permuted: Callable[[np.random.Generator], float]
    units: int
    strata: np.ndarray | None = None


@dataclass(frozen=True)
class Evidence:
    estimate: float
    low: float  # the confidence interval, from resampling examples
    high: float
    null: float  # mean of the statistic under the permutation null
    p_value: float  # one-sided, in the claimed direction
    units: int  # examples the statistic is computed over

    @property
    def testable(self) -> bool:
        return bool(np.isfinite([self.estimate, self.low, self.high, self.null]).all())


def resample_weights(strata: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Multiplicities of one bootstrap resample: each stratum's units drawn with replacement, as many as it has."""
    weights = np.zeros(len(strata), np.float64)
    for stratum in np.unique(strata):
        members = np.flatnonzero(strata == stratum)
        weights += np.bincount(members[rng.integers(0, len(members), len(members))], minlength=len(strata))
    return weights


def shuffler(groups: np.ndarray) -> Callable[[np.random.Generator], np.ndarray]:
    """A draw of permutations that move each position only within its group (``x[draw(rng)]`` shuffles x per
    group); the groups are sorted once, so a draw costs one shuffle per group."""
    order = np.argsort(groups, kind="stable")
    bounds = np.flatnonzero(np.r_[True, groups[order][1:] != groups[order][:-1], True])
    segments = [order[start:stop] for start, stop in zip(bounds[:-1], bounds[1:], strict=True)]

    def draw(rng: np.random.Generator) -> np.ndarray:
        permutation = np.empty(len(groups), np.int64)
        for members in segments:
            permutation[members] = rng.permutation(members)
        return permutation

    return draw


def assess(test: Test, side: int, settings: Settings) -> Evidence:
    """Estimate, percentile interval over ``settings.bootstrap`` resamples, null mean and one-sided p-value for a
    claim whose effect has sign ``side`` (+1: larger than the null, -1: smaller)."""
    estimate = float(test.statistic(np.ones(test.units)))
    if not np.isfinite(estimate) or test.units == 0:
        return Evidence(estimate, np.nan, np.nan, np.nan, np.nan, test.units)
    rng = np.random.default_rng(settings.seed)
    strata = test.strata if test.strata is not None else np.zeros(test.units, np.int64)
    boots = np.array([test.statistic(resample_weights(strata, rng)) for _ in range(settings.bootstrap)])
    nulls = np.array([test.permuted(rng) for _ in range(settings.permutations)])
    nulls = nulls[np.isfinite(nulls)]
    tail = (1 - settings.confidence) / 2
    low, high = np.nanquantile(boots, [tail, 1 - tail]) if np.isfinite(boots).any() else (np.nan, np.nan)
    if not len(nulls):
        return Evidence(estimate, float(low), float(high), np.nan, np.nan, test.units)
    p_value = (1 + np.sum(side * nulls >= side * estimate)) / (1 + len(nulls))
    return Evidence(estimate, float(low), float(high), float(nulls.mean()), float(p_value), test.units)


def direction(evidence: Evidence, side: int, negligible: float, settings: Settings) -> str:
    """holds: the whole interval is beyond the null value by more than ``negligible`` on the claimed side, and the
    permutation p-value is below alpha; fails: the whole interval is short of that (the effect is negligible or
    opposite); inconclusive otherwise (the interval straddles the smallest effect that counts)."""
    if not evidence.testable:
        return UNTESTABLE
    low, high = sorted((side * (evidence.low - evidence.null), side * (evidence.high - evidence.null)))
    if low > negligible and evidence.p_value < settings.alpha:
        return HOLDS
    if high < negligible:
        return FAILS
    return INCONCLUSIVE


def versus_paper(evidence: Evidence, band: tuple[float, float] | None) -> str:
    """within: the whole interval lies in the paper's tolerance ``band``; outside: none of it does."""
    if band is None:
        return NO_NUMBER
    if not evidence.testable:
        return UNTESTABLE
    if band[0] <= evidence.low and evidence.high <= band[1]:
        return WITHIN
    if evidence.high < band[0] or evidence.low > band[1]:
        return OUTSIDE
    return INCONCLUSIVE


def weighted_pearson(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Pearson r of (x, y) pairs counted ``w`` times each; NaN with fewer than 3 pairs or a constant side."""
    total = w.sum()
    if np.count_nonzero(w) < 3 or total <= 0:
        return float("nan")
    dx, dy = x - (w @ x) / total, y - (w @ y) / total
    vx, vy = w @ (dx * dx), w @ (dy * dy)
    if vx <= 1e-12 * total or vy <= 1e-12 * total:
        return float("nan")
    return float((w @ (dx * dy)) / np.sqrt(vx * vy))
