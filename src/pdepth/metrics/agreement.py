"""How the difficulty scores agree (docs/outputs.md, "Scores from training dynamics"): Spearman correlations between
prediction depth, consistency and the standard scores, each measured on one half of the seeds and correlated with
the other measured on the other half, so that two scores of the same networks are not correlated through the
network itself (the diagonal: a score's agreement with itself across seeds). Intervals over runs and examples
(pdepth.statistics.verdicts); the ranks are those of all examples, resamples reweight them."""

import functools
import warnings

import numpy as np
import xarray as xr
from scipy import stats

from pdepth.config.jobs import FidelitySettings
from pdepth.outputs.cube import filled_depth
from pdepth.statistics.verdicts import Evidence, Test, assess, weighted_pearson

# name -> what the matrix calls it; each is read per (example, seed) where the seed trained on the example, but
# consistency, from the seeds that held it out (a half's consistency: the held-out accuracy of that half's seeds).
SCORES = {
    "pd": "prediction depth",
    "consistency": "consistency (C-score)",
    "iteration_learned": "iteration learned",
    "forgetting": "forgetting (Toneva et al.)",
    "aum": "AUM",
    "confidence": "confidence",
    "variability": "variability",
    "correctness": "correctness",
    "el2n": "EL2N",
    "final_loss": "final loss",
}


def per_seed_scores(cube: xr.Dataset, metrics: xr.Dataset) -> dict[str, np.ndarray]:
    """Each score as (N, S), NaN where the seed did not train on the example (consistency: where it did)."""
    in_train = cube.in_train.values
    correct = (cube.pred == cube.label).values.astype(np.float64)
    values = {
        "pd": filled_depth(cube),  # undefined: deeper than every probe
        "consistency": np.where(in_train, np.nan, correct),
        "iteration_learned": metrics.iteration_learned.values,
        "el2n": metrics.el2n.values,
        "final_loss": metrics.final_loss.values,
    }
    values |= {name: metrics[name].values[..., -1] for name in SCORES if name not in values}
    trained = {name: np.where(in_train, value, np.nan) for name, value in values.items() if name != "consistency"}
    return {name: trained.get(name, values[name]).astype(np.float64) for name in SCORES}


def _ranks_of_means(values: np.ndarray, seeds: tuple[int, ...]) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an example no kept seed trained on: its mean is NaN
        means = np.nanmean(values[:, list(seeds)], axis=1)
    ranks = np.full(len(means), np.nan)
    finite = np.isfinite(means)
    ranks[finite] = stats.rankdata(means[finite])
    return ranks


def cross_seed_test(first: np.ndarray, second: np.ndarray) -> Test:
    """Spearman r of ``first`` on the even seeds kept against ``second`` on the odd ones, and the other way round."""
    ranks = functools.cache(lambda which, seeds: _ranks_of_means((first, second)[which], seeds))

    def statistic(weights: np.ndarray, kept: np.ndarray) -> float | np.ndarray:
        seeds = tuple(np.flatnonzero(kept))
        halves = (seeds[0::2], seeds[1::2])
        values = []
        for a, b in (halves, halves[::-1]):
            x, y = ranks(0, a), ranks(1, b)
            both = np.isfinite(x) & np.isfinite(y)
            values.append(weighted_pearson(x[both], y[both], weights[..., both]))
        return np.mean(values, axis=0) if weights.ndim == 2 else float(np.mean(values))

    return Test(
        statistic, None, units=len(first), runs=first.shape[1], needs=(3, "two halves of the seeds"), batched=statistic
    )


def correlations(cube: xr.Dataset, metrics: xr.Dataset, settings: FidelitySettings) -> dict[tuple[str, str], Evidence]:
    """Every pair of scores, with its interval (the statistic takes both orders of the halves: it is symmetric)."""
    values = per_seed_scores(cube, metrics)
    names = list(SCORES)
    found = {}
    for i, a in enumerate(names):
        for b in names[i:]:
            found[a, b] = found[b, a] = assess(cross_seed_test(values[a], values[b]), 1, 0.0, settings)
    return found
