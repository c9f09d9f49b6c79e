"""The paper's quantitative relations, computed from cubes and metrics files: what the figures draw and the
fidelity table tests. Every function reads arrays only, never models.

"Held out" appearances are (example, seed) pairs where the example was not in the seed's training split. Each
``*_test`` function returns a :class:`pdepth.verdicts.Test`: the statistic as a function of per-example weights (for
the bootstrap over examples) and one draw of its permutation null.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy import stats

from pdepth import difficulty
from pdepth.data.prepared import TEST
from pdepth.verdicts import Test, shuffler, weighted_pearson


@dataclass
class PerDepth:
    """A quantity averaged over the appearances at each prediction depth."""

    depth: np.ndarray  # (D,) the depths with at least one appearance
    mean: np.ndarray  # (D,)
    fraction: np.ndarray  # (D,) share of the counted appearances at this depth


@dataclass(frozen=True)
class Floor:
    """How the consensus-consistency floor of Figure 4 (left) is measured (config block ``fidelity``)."""

    min_held_out: int  # examples with fewer held-out appearances are left out (their score is coarse, or 1 by design)
    quantile: float  # the floor: this quantile of consensus-consistency per depth bin
    min_bin_examples: int  # depth bins with fewer examples are left out


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


def held_out(cube: xr.Dataset) -> np.ndarray:
    return ~cube.in_train.values


def correct(cube: xr.Dataset) -> np.ndarray:
    """(example, seed): the network's prediction equals the label."""
    return (cube.pred.values == cube.label.values[:, None]).astype(float)


def appearance_correlation_test(pd: np.ndarray, values: np.ndarray, mask: np.ndarray) -> Test:
    """Pearson r of depth and ``values`` over the masked (example, seed) appearances where both are finite.

    Resampled by example (all appearances of an example together); null: ``values`` shuffled among the appearances
    of each seed, which keeps every seed's distribution of both."""
    keep = mask & np.isfinite(pd) & np.isfinite(values)
    example, seed = np.nonzero(keep)
    x, y = pd[keep].astype(float), values[keep].astype(float)
    within_seeds = shuffler(seed)
    return Test(
        statistic=lambda w: weighted_pearson(x, y, w[example]),
        permuted=lambda rng: weighted_pearson(x, y[within_seeds(rng)], np.ones(len(x))),
        units=pd.shape[0],
    )


def accuracy_by_depth(cube: xr.Dataset) -> PerDepth:
    """Figure 4 (right): accuracy of the network's held-out predictions at each prediction depth."""
    return per_depth(cube.pd.values, correct(cube), held_out(cube))


def accuracy_test(cube: xr.Dataset) -> Test:
    """Figure 4 (right): r of depth and correctness (point-biserial) over the held-out appearances."""
    return appearance_correlation_test(cube.pd.values, correct(cube), held_out(cube))


def consensus_consistency_by_depth(cube: xr.Dataset, metrics: xr.Dataset) -> PerDepth:
    """Figure 4 (middle): the depth in one model against the consensus-consistency of the other models."""
    return per_depth(cube.pd.values, metrics.loo_consensus_consistency.values, held_out(cube))


def iteration_learned_by_depth(cube: xr.Dataset, metrics: xr.Dataset) -> tuple[PerDepth, float]:
    """Figure 5 (left): mean iteration learned per depth, held out, and Pearson r over the appearances."""
    pd, learned, mask = cube.pd.values, metrics.iteration_learned.values, held_out(cube)
    return per_depth(pd, learned, mask), pearson(pd[mask], learned[mask])


def iteration_learned_test(cube: xr.Dataset, metrics: xr.Dataset) -> Test:
    """Figure 5 (left), as its caption reads: r of depth and iteration learned over every held-out appearance."""
    return appearance_correlation_test(cube.pd.values, metrics.iteration_learned.values, held_out(cube))


def iteration_learned_readings(cube: xr.Dataset, metrics: xr.Dataset, floor: Floor) -> dict[str, float]:
    """The other readings of the paper's r: per example (mean held-out depth and mean iteration learned, examples
    with at least ``floor.min_held_out`` appearances) and over the per-depth means (one point per depth)."""
    per_example = metrics.n_held_out.values >= floor.min_held_out
    by_depth, _ = iteration_learned_by_depth(cube, metrics)
    return {
        f"per example (≥ {floor.min_held_out} held out)": pearson(
            metrics.pd_val.values[per_example], metrics.iteration_learned_val.values[per_example]
        ),
        "per-depth means": pearson(by_depth.depth, by_depth.mean),
    }


def test_mean_depth(cube: xr.Dataset) -> np.ndarray:
    """Per example of the original test set, its mean depth over the seeds (NaN for training-set examples)."""
    test = cube.orig_split.values == TEST
    pd = cube.pd.values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: training-set examples without a test seed
        mean = np.nanmean(pd, axis=1)
    return np.where(test, mean, np.nan)


def log_margin(metrics: xr.Dataset, margin: str) -> np.ndarray:
    """log10 of the mean held-out ``margin`` (output/input) per example; NaN where not positive."""
    values = metrics[f"{margin}_margin_val"].values
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(values > 0, np.log10(values), np.nan)


def margin_correlation(cube: xr.Dataset, metrics: xr.Dataset, margin: str) -> float:
    """Figure 6 (left, middle): Pearson r of the test examples' mean depth and log10 mean ``margin`` (output/input)."""
    return pearson(test_mean_depth(cube), log_margin(metrics, margin))


def margin_test(cube: xr.Dataset, metrics: xr.Dataset, margin: str) -> Test:
    """Figure 6: r of mean depth and log10 mean margin over the test examples; null: margins shuffled among them."""
    depth, logs = test_mean_depth(cube), log_margin(metrics, margin)
    keep = np.isfinite(depth) & np.isfinite(logs)
    x, y = depth[keep], logs[keep]
    return Test(
        statistic=lambda w: weighted_pearson(x, y, w),
        permuted=lambda rng: weighted_pearson(x, rng.permutation(y), np.ones(len(x))),
        units=len(x),
    )


def seed_pairs(first: list[int], second: list[int], same: bool, limit: int = 50) -> list[tuple[int, int]]:
    """Seed positions to compare, always two different seeds (so two different splits and data orders): disjoint
    consecutive pairs (i, i+1) within a model; across models (i of one, i+1 of the other) and (i+1, i)."""
    count = min(len(first), len(second))
    couples = [(i, i + 1) for i in range(0, count - 1, 2)]
    pairs = couples if same else [pair for i, j in couples for pair in ((i, j), (j, i))]
    return pairs[:limit]


def depth_correlation_test(a: xr.Dataset, b: xr.Dataset, split: str) -> Test:
    """Figure 2 (left): mean Pearson r of single-model depths of two models (or two seeds of one model), over the
    examples both have in the training split (``split="train"``) or both hold out (``"val"``); pairs of
    :func:`seed_pairs`. Null: within each pair, one model's depths shuffled among the examples."""
    pairs = []
    for i, j in seed_pairs(list(a.seed.values), list(b.seed.values), a is b):
        in_a, in_b = a.in_train.values[:, i], b.in_train.values[:, j]
        x, y = a.pd.values[:, i], b.pd.values[:, j]
        both = (in_a & in_b if split == "train" else ~in_a & ~in_b) & np.isfinite(x) & np.isfinite(y)
        pairs.append((np.flatnonzero(both), x[both], y[both]))

    def mean_r(correlations):
        rs = [r for r in correlations if np.isfinite(r)]
        return float(np.mean(rs)) if rs else float("nan")

    return Test(
        statistic=lambda w: mean_r(weighted_pearson(x, y, w[ex]) for ex, x, y in pairs),
        permuted=lambda rng: mean_r(weighted_pearson(x, rng.permutation(y), np.ones(len(x))) for _, x, y in pairs),
        units=a.sizes["example"],
    )


def depth_correlation(a: xr.Dataset, b: xr.Dataset, split: str) -> float:
    """The estimate of :func:`depth_correlation_test` (Figure 2, left)."""
    test = depth_correlation_test(a, b, split)
    return test.statistic(np.ones(test.units))


def floor_bins(pd_val: np.ndarray) -> np.ndarray:
    """Mean depth to its bin: the nearest integer, halves rounded up (0.5 -> 1, 1.5 -> 2), never to even."""
    return np.floor(np.asarray(pd_val) + 0.5).astype(np.int64)


def _floor_examples(metrics: xr.Dataset, floor: Floor) -> np.ndarray:
    pd_val, cc = metrics.pd_val.values, metrics.consensus_consistency.values
    return np.flatnonzero(np.isfinite(pd_val) & np.isfinite(cc) & (metrics.n_held_out.values >= floor.min_held_out))


def _weighted_floor(bins: np.ndarray, cc: np.ndarray, w: np.ndarray, floor: Floor) -> PerDepth:
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
    return _weighted_floor(bins, metrics.consensus_consistency.values[keep], np.ones(len(keep)), floor)


def floor_trend(values: PerDepth) -> float:
    """Spearman ρ of the floor against depth; 0 for a flat floor; NaN with fewer than 3 bins."""
    if len(values.depth) < 3:
        return float("nan")
    rho = spearman(values.depth, values.mean)
    return 0.0 if np.isnan(rho) else rho


def floor_test(metrics: xr.Dataset, floor: Floor) -> Test:
    """Figure 4 (left): Spearman ρ of the floor against depth. Null: mean depths shuffled among the examples with the
    same number of held-out appearances (which fixes how coarse each consensus-consistency can be)."""
    keep = _floor_examples(metrics, floor)
    pd_val, cc = metrics.pd_val.values[keep], metrics.consensus_consistency.values[keep]
    bins = floor_bins(pd_val)
    within_strata = shuffler(metrics.n_held_out.values[keep])
    return Test(
        statistic=lambda w: floor_trend(_weighted_floor(bins, cc, w, floor)),
        permuted=lambda rng: floor_trend(_weighted_floor(bins[within_strata(rng)], cc, np.ones(len(cc)), floor)),
        units=len(keep),
    )


def gain_counts(cube: xr.Dataset, chosen: np.ndarray, layer: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per chosen example: correct held-out predictions of the k-NN probe at ``layer``, of the network, and its
    held-out appearances. Section 4's gain is (probe - network) / appearances, summed over the examples."""
    labels = cube.label.values[chosen, None]
    mask = held_out(cube)[chosen]
    probe = ((cube.knn_pred.values[chosen, :, layer] == labels) & mask).sum(axis=1).astype(float)
    network = ((cube.pred.values[chosen] == labels) & mask).sum(axis=1).astype(float)
    return probe, network, mask.sum(axis=1).astype(float)


def gain_test(cube: xr.Dataset, metrics: xr.Dataset) -> Test:
    """Section 4: for the held-out appearances of the examples closest to the "ambiguous unless the label is given"
    corner, the k-NN probe's accuracy at ``metrics.attrs["gain_layer"]`` minus the network's. Null: per example,
    which of the two made which prediction is a coin flip (the two are exchangeable)."""
    corner = 1 + difficulty.CORNER_NAMES.index("ambiguous_unless_label_given")
    chosen = np.flatnonzero(metrics.difficulty.values == corner) if "difficulty" in metrics else np.array([], int)
    probe, network, appearances = gain_counts(cube, chosen, int(metrics.attrs.get("gain_layer", 0)))

    def gain(w, first, second):
        total = w @ appearances
        return float((w @ first - w @ second) / total) if total > 0 else float("nan")

    def permuted(rng):
        swap = rng.random(len(chosen)) < 0.5
        return gain(np.ones(len(chosen)), np.where(swap, network, probe), np.where(swap, probe, network))

    return Test(statistic=lambda w: gain(w, probe, network), permuted=permuted, units=len(chosen))


def training_depth_sums(cube: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Per example, the sum of its defined training-split depths and how many there are."""
    pd = np.where(cube.in_train.values, cube.pd.values, np.nan)
    return np.nansum(pd, axis=1), np.isfinite(pd).sum(axis=1).astype(float)


def mean_training_depth(cube: xr.Dataset) -> float:
    """Figure 1 (right): mean depth of the training-split appearances with a defined depth."""
    sums, counts = training_depth_sums(cube)
    return float(sums.sum() / counts.sum()) if counts.sum() else float("nan")


def dataset_order_test(cubes: dict[str, xr.Dataset]) -> Test:
    """Figure 1 (right), for datasets given easiest first: the smallest step of mean training-split depth from one
    dataset to the next (positive when they are in that order). Resampled within each dataset; null: the examples'
    datasets shuffled."""
    sums, counts, group = [], [], []
    for g, cube in enumerate(cubes.values()):
        s, c = training_depth_sums(cube)
        sums.append(s), counts.append(c), group.append(np.full(len(s), g))
    sums, counts, group = np.concatenate(sums), np.concatenate(counts), np.concatenate(group)

    def smallest_step(w, of):
        means = [(w * (of == g)) @ sums / ((w * (of == g)) @ counts) for g in range(len(cubes))]
        return float(np.min(np.diff(means))) if len(means) >= 2 else float("nan")

    return Test(
        statistic=lambda w: smallest_step(w, group),
        permuted=lambda rng: smallest_step(np.ones(len(group)), rng.permutation(group)),
        units=len(group),
        strata=group,
    )


def margin_ratio_test(hinge: np.ndarray, control: np.ndarray) -> Test:
    """Section 3.3: log10(mean control margin / mean 0-Hinge margin) over the same examples (paired). Null: per
    example, which study gave which margin is a coin flip."""
    keep = np.isfinite(hinge) & np.isfinite(control)
    h, c = hinge[keep], control[keep]

    def orders(w, small, large):
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.log10((w @ large) / (w @ small)))

    def permuted(rng):
        swap = rng.random(len(h)) < 0.5
        return orders(np.ones(len(h)), np.where(swap, c, h), np.where(swap, h, c))

    return Test(statistic=lambda w: orders(w, h, c), permuted=permuted, units=len(h))


def rescaled(values: np.ndarray, cube: xr.Dataset) -> np.ndarray:
    """Depth divided by the deepest probe's depth: [0, 1] whatever the architecture (Figure 2, right)."""
    return values / float(cube.depth.values.max())
