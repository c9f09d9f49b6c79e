"""The paper's quantitative relations, computed from cubes and metrics files: what the figures draw and the
fidelity table reports. Every function reads arrays only, never models.

"Held out" appearances are (example, seed) pairs where the example was not in the seed's training split.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy import stats

from pdepth.data.prepared import TEST


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
    if keep.sum() < 3 or np.ptp(x[keep]) == 0 or np.ptp(y[keep]) == 0:
        return float("nan")
    return float(np.corrcoef(x[keep], y[keep])[0, 1])


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


def held_out(cube: xr.Dataset) -> np.ndarray:
    return ~cube.in_train.values


def accuracy_by_depth(cube: xr.Dataset) -> PerDepth:
    """Figure 4 (right): accuracy of the network's held-out predictions at each prediction depth."""
    correct = (cube.pred.values == cube.label.values[:, None]).astype(float)
    return per_depth(cube.pd.values, correct, held_out(cube))


def consensus_consistency_by_depth(cube: xr.Dataset, metrics: xr.Dataset) -> PerDepth:
    """Figure 4 (middle): the depth in one model against the consensus-consistency of the other models."""
    return per_depth(cube.pd.values, metrics.loo_consensus_consistency.values, held_out(cube))


def iteration_learned_by_depth(cube: xr.Dataset, metrics: xr.Dataset) -> tuple[PerDepth, float]:
    """Figure 5 (left): mean iteration learned per depth, held out, and Pearson r over the appearances."""
    pd, learned, mask = cube.pd.values, metrics.iteration_learned.values, held_out(cube)
    return per_depth(pd, learned, mask), pearson(pd[mask], learned[mask])


def test_mean_depth(cube: xr.Dataset) -> np.ndarray:
    """Per example of the original test set, its mean depth over the seeds (NaN for training-set examples)."""
    test = cube.orig_split.values == TEST
    pd = cube.pd.values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: training-set examples without a test seed
        mean = np.nanmean(pd, axis=1)
    return np.where(test, mean, np.nan)


def margin_correlation(cube: xr.Dataset, metrics: xr.Dataset, margin: str) -> float:
    """Figure 6 (left, middle): Pearson r of the test examples' mean depth and log10 mean ``margin`` (output/input)."""
    values = metrics[f"{margin}_margin_val"].values
    with np.errstate(divide="ignore", invalid="ignore"):
        log_margin = np.where(values > 0, np.log10(values), np.nan)
    return pearson(test_mean_depth(cube), log_margin)


def seed_pairs(first: list[int], second: list[int], same: bool, limit: int = 50) -> list[tuple[int, int]]:
    """Seed positions to compare: disjoint consecutive pairs within a model, aligned positions across models."""
    if same:
        return [(i, i + 1) for i in range(0, len(first) - 1, 2)][:limit]
    return [(i, i) for i in range(min(len(first), len(second)))][:limit]


def depth_correlation(a: xr.Dataset, b: xr.Dataset, split: str) -> float:
    """Figure 2 (left): mean Pearson r of single-model depths of two models (or two seeds of one model), over the
    examples both have in the training split (``split="train"``) or both hold out (``"val"``)."""
    same = a is b
    rs = []
    for i, j in seed_pairs(list(a.seed.values), list(b.seed.values), same):
        in_a, in_b = a.in_train.values[:, i], b.in_train.values[:, j]
        both = in_a & in_b if split == "train" else ~in_a & ~in_b
        rs.append(pearson(a.pd.values[both, i], b.pd.values[both, j]))
    rs = [r for r in rs if np.isfinite(r)]
    return float(np.mean(rs)) if rs else float("nan")


def consensus_consistency_floor(metrics: xr.Dataset, quantile: float = 0.05) -> PerDepth:
    """Figure 4 (left): the ``quantile`` of consensus-consistency among examples whose mean held-out depth rounds to
    each depth; a lower bound falling with depth shows as a falling floor."""
    pd_val, cc = metrics.pd_val.values, metrics.consensus_consistency.values
    keep = np.isfinite(pd_val) & np.isfinite(cc)
    bins = np.rint(pd_val[keep]).astype(np.int64)
    depth = np.unique(bins)
    floor = np.array([np.quantile(cc[keep][bins == d], quantile) for d in depth])
    counts = np.array([(bins == d).sum() for d in depth])
    return PerDepth(depth, floor, counts / max(counts.sum(), 1))


def mean_training_depth(cube: xr.Dataset) -> float:
    """Figure 1 (right): mean depth of the training-split appearances with a defined depth."""
    pd = cube.pd.values[cube.in_train.values]
    return float(np.nanmean(pd)) if np.isfinite(pd).any() else float("nan")


def rescaled(values: np.ndarray, cube: xr.Dataset) -> np.ndarray:
    """Depth divided by the deepest probe's depth: [0, 1] whatever the architecture (Figure 2, right)."""
    return values / float(cube.depth.values.max())
