"""The paper's quantitative relations as the figures draw them, from cubes and metrics files (arrays only, never
models). The fidelity table tests them across seeds (``pdepth.fidelity.crossfit``).

"Held out" appearances are (example, seed) pairs where the example was not in the seed's training split.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy import stats

from pdepth.config.jobs import Floor
from pdepth.data.prepared import TEST
from pdepth.outputs.cube import held_out
from pdepth.statistics.verdicts import weighted_pearson


@dataclass
class PerDepth:
    """A quantity averaged over the appearances at each prediction depth."""

    depth: np.ndarray  # (D,) the depths with at least one appearance
    mean: np.ndarray  # (D,)
    fraction: np.ndarray  # (D,) share of the counted appearances at this depth


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r over the pairs where both are finite; NaN with fewer than 3 pairs or a constant side."""
    x, y = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
    keep = np.isfinite(x) & np.isfinite(y)
    return weighted_pearson(x[keep], y[keep], np.ones(keep.sum()))


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    x, y = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 3 or np.ptp(x[keep]) == 0 or np.ptp(y[keep]) == 0:
        return float("nan")
    return float(stats.spearmanr(x[keep], y[keep]).statistic)


def per_depth(pd: np.ndarray, values: np.ndarray, mask: np.ndarray) -> PerDepth:
    """Mean of ``values`` over the masked appearances with a defined depth, at each integer depth."""
    use = mask & np.isfinite(pd) & np.isfinite(values)
    depth = pd[use].astype(np.int64)
    counts = np.bincount(depth)
    sums = np.bincount(depth, weights=values[use].astype(float))
    present = np.flatnonzero(counts)
    return PerDepth(present, sums[present] / counts[present], counts[present] / counts.sum())


def correct(cube: xr.Dataset) -> np.ndarray:
    """(example, seed): the network's prediction equals the label."""
    return (cube.pred.values == cube.label.values[:, None]).astype(float)


def accuracy_by_depth(cube: xr.Dataset) -> PerDepth:
    """Figure 4 (right): accuracy of the network's held-out predictions at each prediction depth."""
    return per_depth(cube.pd.values, correct(cube), held_out(cube))


def consensus_consistency_by_depth(cube: xr.Dataset, metrics: xr.Dataset) -> PerDepth:
    """Figure 4 (middle): the depth in one model against the consensus-consistency of the other models."""
    return per_depth(cube.pd.values, metrics.loo_consensus_consistency.values, held_out(cube))


def iteration_learned_by_depth(cube: xr.Dataset, metrics: xr.Dataset) -> PerDepth:
    """Figure 5 (left): mean iteration learned per depth, held out (its r: ``crossfit.learned_readings``)."""
    return per_depth(cube.pd.values, metrics.iteration_learned.values, held_out(cube))


def test_mean_depth(cube: xr.Dataset) -> np.ndarray:
    """Per example of the original test set, its mean depth over the seeds (NaN for training-set examples)."""
    test = cube.orig_split.values == TEST
    pd = cube.pd.values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: training-set examples without a test seed
        mean = np.nanmean(pd, axis=1)
    return np.where(test, mean, np.nan)


def log10_positive(values: np.ndarray) -> np.ndarray:
    """log10 where positive, NaN elsewhere (margins: zero or unmeasured)."""
    values = np.asarray(values, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(values > 0, np.log10(values), np.nan)


def floor_bins(pd_val: np.ndarray) -> np.ndarray:
    """Mean depth to its bin: the nearest integer, halves rounded up (0.5 -> 1, 1.5 -> 2), never to even."""
    return np.floor(np.asarray(pd_val) + 0.5).astype(np.int64)


def _floor_examples(metrics: xr.Dataset, floor: Floor) -> np.ndarray:
    pd_val, cc = metrics.pd_val.values, metrics.consensus_consistency.values
    return np.flatnonzero(np.isfinite(pd_val) & np.isfinite(cc) & (metrics.n_held_out.values >= floor.min_held_out))


def weighted_floor(bins: np.ndarray, cc: np.ndarray, w: np.ndarray, floor: Floor) -> PerDepth:
    """The ``floor.quantile`` (inverted CDF) of ``cc`` counted ``w`` times, per bin with enough examples."""
    if not len(bins):
        return PerDepth(np.array([], np.int64), np.array([]), np.array([]))
    order = np.lexsort((cc, bins))
    bins, cc, w = bins[order], cc[order], w[order]
    starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])
    depth, value, count = [], [], []
    for start, stop in zip(starts, np.r_[starts[1:], len(bins)], strict=True):
        cumulative = np.cumsum(w[start:stop])
        if cumulative[-1] < floor.min_bin_examples:
            continue
        at = np.searchsorted(cumulative, max(floor.quantile * cumulative[-1], 1e-9))
        depth.append(bins[start])
        value.append(cc[start + at])
        count.append(cumulative[-1])
    count = np.asarray(count, float)
    return PerDepth(np.asarray(depth), np.asarray(value, float), count / max(count.sum(), 1))


def consensus_consistency_floor(metrics: xr.Dataset, floor: Floor) -> PerDepth:
    """Figure 4 (left): the ``floor.quantile`` of consensus-consistency among the examples with at least
    ``floor.min_held_out`` held-out appearances whose mean held-out depth falls in each bin (:func:`floor_bins`)."""
    keep = _floor_examples(metrics, floor)
    bins = floor_bins(metrics.pd_val.values[keep])
    return weighted_floor(bins, metrics.consensus_consistency.values[keep], np.ones(len(keep)), floor)


def floor_trend(values: PerDepth) -> float:
    """Spearman ρ of the floor against depth; 0 for a flat floor; NaN with fewer than 3 bins."""
    if len(values.depth) < 3:
        return float("nan")
    rho = spearman(values.depth, values.mean)
    return 0.0 if np.isnan(rho) else rho


def training_depth_sums(cube: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Per example, the sum of its defined training-split depths and how many there are."""
    pd = np.where(cube.in_train.values, cube.pd.values, np.nan)
    return np.nansum(pd, axis=1), np.isfinite(pd).sum(axis=1).astype(float)


def mean_training_depth(cube: xr.Dataset) -> float:
    """Figure 1 (right): mean depth of the training-split appearances with a defined depth."""
    sums, counts = training_depth_sums(cube)
    return float(sums.sum() / counts.sum()) if counts.sum() else float("nan")


def rescaled(values: np.ndarray, cube: xr.Dataset) -> np.ndarray:
    """Depth divided by the deepest probe's depth: [0, 1] whatever the architecture (Figure 2, right)."""
    return values / float(cube.depth.values.max())
