"""Verdicts that can fail: an estimate with an interval over runs *and* examples, a null that keeps what the claim is
not about, a one-sided test against the smallest effect that counts, and Holm's correction over the rows tested.

A claim's statistic is a function of per-example *weights* (all ones for the data as they are, the multiplicities
of a resample for the bootstrap) and of the *runs* (trained networks) it may use. Its variance has two parts, both
in every interval:

- examples: the variance of the statistic over bootstrap resamples of the examples, the runs held fixed;
- runs: a grouped delete-one jackknife over the runs (each group of runs left out in turn), the examples held fixed;
  for a statistic whose meaning changes with the number of runs, the spread of its values on disjoint run folds.

Their sum counts the per-appearance noise twice, so it errs on the wide side (as Owen's pigeonhole bootstrap does).
The interval is ``estimate ± t · se``, t with Welch-Satterthwaite degrees of freedom (the run part has one fewer
than the independent groups of runs: the groups left out, or the distinct seed pairs where a statistic has fewer):
with few runs it widens the interval, and a statistic that is undefined with one group of runs left out (e.g. a
cross-seed correlation of 2 seeds), or that does not vary at all, is "not testable". The null value is what the
statistic gives when the claimed relation is destroyed and the rest kept (e.g. outcomes shuffled within class ×
original split, so differences between the strata of the design are part of the null, not of the effect).

A row holds when the Holm-adjusted p of "the effect beyond the null is no larger than the negligible one" is below
alpha, and fails when the Holm-adjusted p of "it is at least the negligible one" is (both one-sided, both adjusted
over the same family of rows). Each row also says what it could have detected: the smallest true effect beyond the
null that the test finds with the configured power at Holm's strictest level (alpha / rows tested).
"""

import hashlib
import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from scipy import stats

from pdepth.config.jobs import FidelitySettings

HOLDS, FAILS, INCONCLUSIVE, UNTESTABLE = "holds", "fails", "inconclusive", "not testable"
WITHIN, OUTSIDE, NO_NUMBER, NOT_COMPARABLE = "within", "outside", "no number in the paper", "not comparable"


Statistic = Callable[[np.ndarray, np.ndarray], float]  # (example weights (units,), kept runs (runs,) bool) -> value


@dataclass(frozen=True)
class Test:
    """What a claim measures, in a form that can be resampled over examples and runs.

    ``statistic(weights, kept)``; ``null(rng, draws)``: the null value (None: a described reading, no null);
    ``runs``: the trained networks the statistic uses; ``needs``: the least runs it is testable with, and why;
    ``strata``: per unit, the group it is resampled within (e.g. the dataset), or None; ``parts``: for a statistic
    whose meaning changes with the number of runs (a corner chosen on fewer seeds, a consensus of fewer seeds), the
    statistic on each of its disjoint run folds, whose spread replaces the jackknife's; ``examples``: how many
    examples the statistic reads (default ``units``); ``at_least``: where the claim is about the statistic itself
    too (the probe beats the network: a gain above 0), the null is taken as no lower than this; ``batched(weights,
    kept)``: the statistic of each row of weights (resamples, units), as ``statistic`` gives it row by row (the
    bootstrap's fast path).
    """

    statistic: Statistic
    null: Callable[[np.random.Generator, int], float] | None
    units: int
    runs: int
    needs: tuple[int, str] = (2, "run-to-run variation")
    strata: np.ndarray | None = None
    parts: Callable[[], np.ndarray] | None = None
    examples: int | None = None  # the examples the statistic reads (default: units)
    at_least: float | None = None  # the null is never taken below this value (on the claim's side)
    pairs: int | None = None  # distinct run pairs a pairwise statistic averages (bounds the run part's freedom)
    batched: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None  # the statistic of many weights at once


BATCH_VALUES = 1 << 22  # the most example weights (resamples x units) drawn at once: 32 MiB an array of them
KEPT_VALUES = 1 << 25  # the most weights of the latest bootstrap kept for the next test that draws them (256 MiB)
_latest: dict = {}  # (generator state, strata, count) -> each batch of weights with the generator's state after it


@dataclass(frozen=True)
class Evidence:
    estimate: float
    low: float  # the confidence interval over runs and examples
    high: float
    null: float  # the statistic's value under the null
    p_value: float  # one-sided: the effect beyond the null is no larger than the negligible one
    units: int  # examples the statistic reads
    runs: int  # trained networks it uses
    why: str = ""  # why it is not testable
    se: float = np.nan  # the standard error over runs and examples
    freedom: float = np.nan  # the degrees of freedom of its t
    p_fails: float = np.nan  # one-sided: the effect beyond the null is at least the negligible one

    @property
    def testable(self) -> bool:
        return bool(np.isfinite([self.estimate, self.low, self.high]).all())


def _segments(groups: np.ndarray) -> list[np.ndarray]:
    """The positions of each group, the groups in ascending order, each group's positions ascending."""
    order = np.argsort(groups, kind="stable")
    bounds = np.flatnonzero(np.r_[True, groups[order][1:] != groups[order][:-1], True])
    return [order[start:stop] for start, stop in zip(bounds[:-1], bounds[1:], strict=True)]


def resampler(strata: np.ndarray) -> Callable[[np.random.Generator, int], np.ndarray]:
    """Draws of the multiplicities of ``count`` bootstrap resamples, (count, units): in each, every stratum's units
    drawn with replacement, as many as it has. One ``integers`` call for all of them, whose numbers come in the order
    a loop over the resamples, then the strata (ascending), would draw them."""
    segments = _segments(strata)
    members = np.concatenate(segments) if segments else np.zeros(0, np.int64)
    sizes = np.array([len(segment) for segment in segments], np.int64)
    first = np.repeat(np.cumsum(sizes) - sizes, sizes)  # each position's stratum's start in ``members``
    bounds = np.repeat(sizes, sizes)

    def draw(rng: np.random.Generator, count: int = 1) -> np.ndarray:
        if len(sizes) == 1:  # one stratum: a scalar bound, the same numbers drawn faster
            picks = members[rng.integers(0, len(members), (count, len(members)))]
        else:
            picks = members[first + rng.integers(0, np.broadcast_to(bounds, (count, len(bounds))))]
        picks += np.arange(count)[:, None] * len(strata)
        counts = np.bincount(picks.ravel(), minlength=count * len(strata))
        return counts.reshape(count, len(strata)).astype(np.float64)

    return draw


def bootstrap(test: Test, rng: np.random.Generator, count: int) -> np.ndarray:
    """The statistic on ``count`` resamples of the examples (every run kept), drawn in batches of at most
    ``BATCH_VALUES`` weights; by ``test.batched`` where the test has it."""
    everything, values = np.ones(test.runs, bool), []
    for weights in resamples(test.strata if test.strata is not None else np.zeros(test.units, np.int64), rng, count):
        if test.batched is not None:
            values.append(np.asarray(test.batched(weights, everything), float))
        else:
            values.append(np.array([test.statistic(row, everything) for row in weights], float))
    return np.concatenate(values) if values else np.zeros(0)


def resamples(strata: np.ndarray, rng: np.random.Generator, count: int) -> Iterator[np.ndarray]:
    """The weights of ``count`` resamples (:func:`resampler`) in batches, ``rng`` advanced past each as it is handed
    out. Tests that resample the same examples from the same generator state (a model's 55 score pairs) draw the same
    weights: the latest ones, up to ``KEPT_VALUES``, are kept (read-only) and handed out again."""
    strata = np.ascontiguousarray(strata)
    state = pickle.dumps(rng.bit_generator.state)
    key = (state, strata.dtype.str, hashlib.sha1(strata).hexdigest(), count)
    if key in _latest:
        for weights, after in _latest[key]:
            rng.bit_generator.state = after
            yield weights
        return
    kept = 0 < count * len(strata) <= KEPT_VALUES
    if kept:
        _latest.clear()  # before drawing: never two sets of weights held at once
    draw, batches = resampler(strata), []
    batch = max(1, min(count, BATCH_VALUES // max(1, len(strata))))
    for start in range(0, count, batch):
        weights = draw(rng, min(batch, count - start))
        if kept:
            weights.flags.writeable = False
            batches.append((weights, rng.bit_generator.state))
        yield weights
    if kept:
        _latest[key] = batches


def shuffler(groups: np.ndarray) -> Callable[[np.random.Generator], np.ndarray]:
    """A draw of permutations that move each position only within its group (``x[draw(rng)]`` shuffles x per
    group); the groups are sorted once, so a draw costs one shuffle per group."""
    segments = _segments(groups)

    def draw(rng: np.random.Generator) -> np.ndarray:
        permutation = np.empty(len(groups), np.int64)
        for members in segments:
            permutation[members] = rng.permutation(members)
        return permutation

    return draw


def run_groups(runs: int, groups: int) -> list[np.ndarray]:
    """The runs left out together by the jackknife: ``min(runs, groups)`` interleaved groups (0, g, 2g, ...)."""
    count = min(runs, groups)
    return [np.arange(start, runs, count) for start in range(count)]


def estimate(test: Test) -> float:
    """The statistic on the data as they are: every example once, every run."""
    return float(test.statistic(np.ones(test.units), np.ones(test.runs, bool)))


def not_testable(test: Test, why: str, value: float = np.nan) -> Evidence:
    """The estimate alone (described, with no interval), and why no verdict."""
    return Evidence(value, np.nan, np.nan, np.nan, np.nan, examples_used(test), test.runs, why)


def examples_used(test: Test) -> int:
    return test.units if test.examples is None else test.examples


def assess(test: Test, side: int, negligible: float, settings: FidelitySettings) -> Evidence:
    """Estimate, interval over runs and examples, null value and the one-sided p-value of "the effect beyond the
    null is no larger than ``negligible``" (t, :func:`degrees_of_freedom`), for a claim whose effect has sign
    ``side`` (+1: above the null, -1: below)."""
    least, what = test.needs
    value = estimate(test) if test.units else np.nan
    if test.runs < least:
        return not_testable(test, f"not testable with {test.runs} run(s): needs ≥ {least} ({what})", value)
    if not np.isfinite(value):
        return not_testable(test, "undefined on this study (too few usable examples or runs)")
    rng = np.random.default_rng(settings.seed)
    groups, runs_variance = run_variance(test, settings)
    if not np.isfinite(runs_variance):
        return not_testable(test, f"not testable with {test.runs} run(s): needs more ({what})", value)
    boots = bootstrap(test, rng, settings.bootstrap)
    if np.isfinite(boots).mean() < 0.9:  # undefined on many resamples: too few examples to resample
        return not_testable(test, "undefined on more than 10% of the resamples of its examples", value)
    examples_variance = float(np.var(boots[np.isfinite(boots)], ddof=1))
    se = float(np.sqrt(examples_variance + runs_variance))
    if se <= 1e-12 * max(1.0, abs(value)):
        return not_testable(test, "no variance over runs or examples (a constant statistic)", value)
    independent = groups if test.pairs is None else min(groups, test.pairs)
    freedom = degrees_of_freedom(examples_variance, runs_variance, independent)
    quantile = stats.t.ppf(1 - settings.alpha, freedom)
    low, high = value - quantile * se, value + quantile * se
    null = float(test.null(rng, settings.permutations)) if test.null is not None else np.nan
    if test.at_least is not None:  # the claim is also about the statistic itself, not only its excess over the null
        null = side * max(side * null, side * test.at_least)
    beyond = (side * (value - null) - negligible) / se  # NaN where there is no null: a described reading
    p_holds, p_fails = (float(stats.t.sf(beyond, freedom)), float(stats.t.cdf(beyond, freedom)))
    return Evidence(value, low, high, null, p_holds, examples_used(test), test.runs, "", se, freedom, p_fails)


def run_variance(test: Test, settings: FidelitySettings) -> tuple[int, float]:
    """(groups, the run-to-run part of the estimate's variance): a grouped delete-one jackknife over the runs, or
    the variance of the mean of ``test.parts``; NaN where the statistic is undefined with a group left out."""
    if test.parts is not None:
        parts = np.asarray(test.parts(), float)
        if len(parts) < 2 or not np.isfinite(parts).all():
            return len(parts), np.nan
        return len(parts), float(np.var(parts, ddof=1) / len(parts))
    everything = np.ones(test.runs, bool)
    left_out = []
    for group in run_groups(test.runs, settings.run_groups):
        kept = everything.copy()
        kept[group] = False
        left_out.append(test.statistic(np.ones(test.units), kept))
    left_out = np.asarray(left_out, float)
    if not np.isfinite(left_out).all():
        return len(left_out), np.nan
    return len(left_out), float((len(left_out) - 1) / len(left_out) * np.sum((left_out - left_out.mean()) ** 2))


def degrees_of_freedom(examples_variance: float, runs_variance: float, groups: int) -> float:
    """Welch-Satterthwaite: the run part has groups - 1 degrees of freedom (``groups``: the independent groups of
    runs), the example part (thousands of examples) is taken as exact; so the t quantile is heavy-tailed only where
    run-to-run variation dominates."""
    total = examples_variance + runs_variance
    if not np.isfinite(total) or runs_variance <= 1e-12 * total:
        return 1e6
    return float(min(1e6, total**2 / (runs_variance**2 / max(1, groups - 1))))


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN stays NaN and is not counted in the family). Written out: scipy has
    only Benjamini-Hochberg, and statsmodels would be a dependency for five lines."""
    p = np.asarray(p_values, float)
    adjusted = np.full(p.shape, np.nan)
    tested = np.flatnonzero(np.isfinite(p))
    order = tested[np.argsort(p[tested], kind="stable")]
    m = len(order)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    return adjusted


def direction(evidence: Evidence, p_holds: float, p_fails: float, settings: FidelitySettings) -> str:
    """holds: the Holm-adjusted p of "no effect beyond the null larger than the negligible one" is below alpha;
    fails: the Holm-adjusted p of "an effect at least the negligible one" is (the effect is negligible or
    opposite); inconclusive otherwise. Unadjusted, "fails" is the interval lying short of the negligible effect."""
    if not evidence.testable or not np.isfinite(evidence.null):
        return UNTESTABLE
    if p_holds < settings.alpha:
        return HOLDS
    if p_fails < settings.alpha:
        return FAILS
    return INCONCLUSIVE


def minimum_detectable(evidence: Evidence, negligible: float, level: float, power: float) -> float:
    """The smallest true effect beyond the null that a one-sided t test at ``level`` finds with probability
    ``power``, at this design's standard error (NaN where not testable)."""
    if not evidence.testable or not np.isfinite(evidence.null):
        return np.nan
    return negligible + (stats.t.ppf(1 - level, evidence.freedom) + stats.t.ppf(power, evidence.freedom)) * evidence.se


def design_scale(evidence: Evidence, negligible: float, effect: float, level: float, power: float) -> float:
    """How many times the design's seeds × holdout must grow for an effect of ``effect`` beyond the null to be found
    with ``power`` at ``level``, if the standard error falls as 1 / sqrt(seeds × holdout) (the held-out appearances
    a statistic reads grow with both); NaN where the effect is not beyond the negligible one."""
    detectable = minimum_detectable(evidence, negligible, level, power) - negligible
    if not np.isfinite(detectable) or effect <= negligible:
        return np.nan
    return float((detectable / (effect - negligible)) ** 2)


def versus_paper(evidence: Evidence, paper: float) -> str:
    """within: the paper's number lies in our interval over runs and examples; outside: it does not."""
    if not evidence.testable:
        return UNTESTABLE
    return WITHIN if evidence.low <= paper <= evidence.high else OUTSIDE


def weighted_pearson(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float | np.ndarray:
    """Pearson r of (x, y) pairs counted ``w`` times each; NaN with fewer than 3 pairs or a constant side. Weights
    (draws, n): one r per row, by one matrix product (the row-by-row value to about 1e-10, relative)."""
    if w.ndim == 2:
        return _weighted_pearson_rows(x, y, w)
    total = w.sum()
    if np.count_nonzero(w) < 3 or total <= 0:
        return float("nan")
    return float(_pearson(*_centred_sums(x, y, w), total))


def _centred_sums(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float, float]:
    """(Sxx, Syy, Sxy) about the weighted means, in two passes: exact for a (nearly) constant side."""
    total = w.sum()
    dx, dy = x - (w @ x) / total, y - (w @ y) / total
    return w @ (dx * dx), w @ (dy * dy), w @ (dx * dy)


def _pearson(vx, vy, cov, total) -> np.ndarray:
    """r from the centred sums; NaN where a side is flat."""
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / np.sqrt(vx * vy)
    return np.where((vx <= 1e-12 * total) | (vy <= 1e-12 * total), np.nan, r)


CANCELLED = 1e-6  # a row whose centred sum is below this share of its raw one is summed again in two passes


def _weighted_pearson_rows(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The scalar formula row by row: each row's sums from one matrix product of the weights with the pairs' powers
    (the values shifted by their plain means), and in two passes (:func:`_centred_sums`) for the rows where that
    one-pass sum lost its digits to cancellation (a resample whose chosen values are (nearly) all equal)."""
    if not len(x):
        return np.full(len(w), np.nan)
    dx, dy = x - x.mean(), y - y.mean()
    powers = np.stack([np.ones_like(dx), dx, dy, dx * dx, dy * dy, dx * dy], axis=1)
    total, sx, sy, sxx, syy, sxy = (w @ powers).T
    with np.errstate(invalid="ignore", divide="ignore"):
        vx, vy, cov = sxx - sx * sx / total, syy - sy * sy / total, sxy - sx * sy / total
    for row in np.flatnonzero(((vx <= CANCELLED * sxx) | (vy <= CANCELLED * syy)) & (total > 0)):
        vx[row], vy[row], cov[row] = _centred_sums(x, y, w[row])
    r = _pearson(vx, vy, cov, total)
    return np.where((np.count_nonzero(w, axis=1) < 3) | (total <= 0), np.nan, r)


def between_groups_pearson(x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> float:
    """The mean of Pearson r over every permutation of ``y`` within ``groups`` (exact, no draws): the part of r
    that the groups' means carry, sum_g n_g (x̄_g - x̄)(ȳ_g - ȳ) / sqrt(Sxx Syy)."""
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    _, index, counts = np.unique(groups, return_inverse=True, return_counts=True)
    mean_x, mean_y = (np.bincount(index, weights=v) / counts for v in (x, y))
    dx, dy = x - x.mean(), y - y.mean()
    covariance = counts @ ((mean_x - x.mean()) * (mean_y - y.mean()))
    return float(covariance / np.sqrt((dx @ dx) * (dy @ dy)))
