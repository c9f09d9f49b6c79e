"""The paper's claims as tests that fail where the paper's idea is absent (``pdepth.statistics.verdicts``).

Depth is measured against the network's own prediction, so correctness, margins, iteration learned and consistency
measured on the *same* network are coupled to it by definition. A claim about examples is therefore tested across
seeds: what describes or selects an example (its depth, its corner) comes from some networks, the outcome from
others (seed i's depth against seed j's outcome, j ≠ i, over the examples both hold out). Its null keeps every
stratum of the design (:func:`design_strata`): outcomes shuffled within class × original split, so that "deep
classes are less accurate" or "the test split is harder than the training split" is part of the null, not of the
effect (a study has one variant and one subset per cube, so these strata are the rest of its design). The
same-seed numbers the paper reports are kept as described readings (``*_reading(s)``), never as verdicts: each
reading the paper's text allows, labelled.

Undefined depths (even the last probe disagrees with the network) count as one beyond the deepest probe: dropping
them would select on the outcome (they are several times more common among wrong predictions). ``fidelity`` shows
the estimate with them dropped next to it.
"""

import functools
from collections.abc import Callable

import numpy as np
import xarray as xr

from pdepth.config.jobs import Floor
from pdepth.data.prepared import TEST
from pdepth.fidelity import claims
from pdepth.metrics import consistency, corners
from pdepth.outputs.cube import category_names, filled_depth, held_out
from pdepth.statistics.verdicts import Test, between_groups_pearson, estimate, shuffler, weighted_pearson

CROSS_SEED = (3, "cross-seed pairs, with one seed left out for run-to-run variation")


def dropped_depth(cube: xr.Dataset) -> np.ndarray:
    return cube.pd.values.astype(float)


def design_strata(cube: xr.Dataset) -> np.ndarray:
    """Per example, its stratum of the design: class × original split (a test split that is harder than the held-out
    part of the training split is a difference between strata, not between examples)."""
    return cube.label.values.astype(np.int64) * 2 + (cube.orig_split.values == TEST)


def seed_pairs(first: list, second: list, limit: int) -> list[tuple[int, int]]:
    """Positions (i, j) of two different seeds (so different splits and data orders), nearest first in cyclic
    order ((i, i + 1), then (i, i + 2), ...), at most ``limit``."""
    span = max(len(first), len(second))
    pairs = [(i, j) for i in range(len(first)) for j in range(len(second)) if first[i] != second[j]]
    return sorted(pairs, key=lambda pair: ((pair[1] - pair[0]) % span, pair[0]))[:limit]


def mean_finite(values) -> float:
    values = [v for v in values if np.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")


def paired_correlation_test(
    x: np.ndarray,
    y: np.ndarray,
    usable: Callable[[int, int], np.ndarray],
    strata: np.ndarray,
    pairs: list[tuple[int, int]],
    x_runs: int,
    needs: tuple[int, str] = CROSS_SEED,
) -> Test:
    """Mean over ``pairs`` (i, j) of Pearson r of ``x[:, i]`` and ``y[:, j]`` over the examples where
    ``usable(i, j)`` (an (N,) mask) holds. Runs: the columns of x, then those of y (``x_runs`` of them first), so a
    pair is dropped when either of its runs is left out. Null: y shuffled within ``strata`` (exact mean, no
    draws)."""
    columns = []
    for i, j in pairs:
        use = usable(i, j) & np.isfinite(x[:, i]) & np.isfinite(y[:, j])
        index = np.flatnonzero(use)
        columns.append((i, x_runs + j, index, x[index, i], y[index, j]))
    runs = x_runs + y.shape[1]

    def statistic(w: np.ndarray, kept: np.ndarray) -> float:
        return mean_finite(weighted_pearson(a, b, w[index]) for i, j, index, a, b in columns if kept[i] and kept[j])

    def null(rng, draws):
        return mean_finite(between_groups_pearson(a, b, strata[index]) for _, _, index, a, b in columns)

    used = len(np.unique(np.concatenate([index for _, _, index, _, _ in columns]))) if columns else 0
    return Test(statistic, null, units=len(x), runs=runs, needs=needs, examples=used, pairs=len(columns))


def model_pairs(cube: xr.Dataset, limit: int, symmetric: bool = False) -> list[tuple[int, int]]:
    """:func:`seed_pairs` of one model; ``symmetric`` (x is y, r(i, j) = r(j, i)): each pair once."""
    seeds = list(cube.seed.values)
    pairs = seed_pairs(seeds, seeds, limit)
    return [pair for k, pair in enumerate(pairs) if not symmetric or pair[::-1] not in pairs[:k]]


def one_model_test(x: np.ndarray, y: np.ndarray, usable: np.ndarray, cube: xr.Dataset, limit: int) -> Test:
    """Seed i's ``x`` against seed j's ``y`` (j ≠ i), over the examples both seeds may use (``usable``); the runs
    are the seeds (``x_runs`` = 0: column j of y is run j)."""
    pairs = model_pairs(cube, limit, symmetric=x is y)
    return paired_correlation_test(x, y, lambda i, j: usable[:, i] & usable[:, j], design_strata(cube), pairs, 0)


def seeds_test(cube: xr.Dataset, limit: int, depth=filled_depth, split: str = "val") -> Test:
    """Figure 2 (left, diagonal): seed i's depth against seed j's, over the examples both hold out (``split="val"``,
    the table's row) or both train on (``"train"``)."""
    depths = depth(cube)
    return one_model_test(depths, depths, held_out(cube) if split == "val" else cube.in_train.values, cube, limit)


def architectures_test(a: xr.Dataset, b: xr.Dataset, split: str, limit: int, depth=filled_depth) -> Test:
    """Figure 2 (left, off-diagonal): seed i of one architecture against seed j ≠ i of the other, over the examples
    both train on (``split="train"``) or both hold out (``"val"``). Runs: a's seeds, then b's."""
    if not np.array_equal(a.example.values, b.example.values):
        raise ValueError("the two cubes must hold the same examples in the same order (one dataset)")
    in_a, in_b = a.in_train.values, b.in_train.values
    if split == "train":
        usable = lambda i, j: in_a[:, i] & in_b[:, j]  # noqa: E731
    else:
        usable = lambda i, j: ~in_a[:, i] & ~in_b[:, j]  # noqa: E731
    pairs = seed_pairs(list(a.seed.values), list(b.seed.values), limit)
    return paired_correlation_test(depth(a), depth(b), usable, design_strata(a), pairs, a.sizes["seed"])


def depth_correlation(a: xr.Dataset, b: xr.Dataset, split: str, limit: int) -> float:
    """Figure 2 (left): the table's estimate of one cell, over ``limit`` seed pairs (``fidelity.seed_pairs``): seeds
    of one model (``a`` is ``b``) as :func:`seeds_test`, two architectures as :func:`architectures_test`."""
    return estimate(seeds_test(a, limit, split=split) if a is b else architectures_test(a, b, split, limit))


def accuracy_test(cube: xr.Dataset, limit: int, depth=filled_depth) -> Test:
    """Figure 4 (right): seed i's depth against seed j's correctness, examples both hold out."""
    return one_model_test(depth(cube), claims.correct(cube), held_out(cube), cube, limit)


def learned_test(cube: xr.Dataset, metrics: xr.Dataset, limit: int, depth=filled_depth) -> Test:
    """Figure 5 (left): seed i's depth against seed j's iteration learned, examples both hold out."""
    return one_model_test(depth(cube), metrics.iteration_learned.values, held_out(cube), cube, limit)


def margin_test(cube: xr.Dataset, metrics: xr.Dataset, margin: str, limit: int, depth=filled_depth) -> Test:
    """Figure 6 (left, middle): seed i's depth against seed j's log10 margin, over the test examples."""
    test = (cube.orig_split.values == TEST)[:, None] & held_out(cube)
    return one_model_test(depth(cube), claims.log10_positive(metrics[f"{margin}_margin"].values), test, cube, limit)


def pooled_correlation_test(x: np.ndarray, y: np.ndarray, usable: np.ndarray) -> Test:
    """A described reading: Pearson r of x and y over every usable (example, seed) appearance of the same seed, as
    the paper pools them. Coupled by definition where y comes from the network x is measured against; no null."""
    keep = usable & np.isfinite(x) & np.isfinite(y)
    example, seed = np.nonzero(keep)
    a, b = x[keep], y[keep]
    statistic = lambda w, kept: weighted_pearson(a, b, w[example] * kept[seed])  # noqa: E731
    return Test(statistic, None, units=len(x), runs=x.shape[1], examples=len(np.unique(example)))


def accuracy_reading(cube: xr.Dataset) -> Test:
    return pooled_correlation_test(filled_depth(cube), claims.correct(cube), held_out(cube))


def example_means_reading(x: np.ndarray, y: np.ndarray, usable: np.ndarray, transform=None) -> Test:
    """A described reading: Pearson r over examples of x's mean and y's mean (then ``transform``ed, e.g. log10) over
    each example's usable appearances in the kept runs."""

    @functools.cache
    def means(kept: tuple[bool, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        kept = np.asarray(kept)
        mean_x, _ = consistency.masked_mean(x[:, kept], usable[:, kept])
        mean_y, _ = consistency.masked_mean(y[:, kept], usable[:, kept])
        mean_y = mean_y if transform is None else transform(mean_y)
        use = np.isfinite(mean_x) & np.isfinite(mean_y)
        return mean_x[use], mean_y[use], use

    def statistic(w, kept):
        a, b, use = means(tuple(kept))
        return weighted_pearson(a, b, w[use])

    examples = int((usable & np.isfinite(x) & np.isfinite(y)).any(axis=1).sum())
    return Test(statistic, None, units=len(x), runs=x.shape[1], examples=examples)


def depth_means_reading(depth: np.ndarray, y: np.ndarray, usable: np.ndarray, weighted: bool) -> Test:
    """A described reading: Pearson r of each prediction depth and the mean of y over the usable appearances at
    that depth (what Figure 5 (left) draws), the depths weighted by their appearances (``weighted``) or each once."""
    keep = usable & np.isfinite(depth) & np.isfinite(y)
    example, seed = np.nonzero(keep)
    bins, values = depth[keep].astype(np.int64), y[keep]
    size = int(bins.max()) + 1 if len(bins) else 0

    def statistic(w, kept):
        weight = w[example] * kept[seed]
        count = np.bincount(bins, weight, size)
        present = count > 0
        means = np.bincount(bins, weight * values, size)[present] / count[present]
        at = np.arange(size, dtype=float)[present]
        return weighted_pearson(at, means, count[present] if weighted else np.ones(len(at)))

    return Test(statistic, None, units=len(depth), runs=depth.shape[1], examples=len(np.unique(example)))


PER_APPEARANCE, EXAMPLE_MEANS = "per appearance", "per-example means"
DEPTH_MEANS, DEPTH_MEANS_WEIGHTED = "per-depth means, unweighted", "per-depth means, weighted by appearances"
VERDICT, SAME_SEED = "cross-seed verdict", "same seed"


def labelled(verdict: Test, readings: dict[str, Test] | None = None) -> dict[str, float]:
    """What a figure prints, by reading: the estimate of the table's verdict (its ``ours``) and of the same-seed
    ``readings`` (its ``shown``), computed as the table computes them."""
    same_seed = {f"{SAME_SEED}, {label}": estimate(test) for label, test in (readings or {}).items()}
    return {VERDICT: estimate(verdict)} | same_seed


def learned_readings(cube: xr.Dataset, metrics: xr.Dataset) -> dict[str, Test]:
    """Figure 5 (left), same network, every held-out appearance: r of depth and iteration learned read per
    appearance, between per-example means, and between each depth and the mean iteration learned at it."""
    depth, learned, held = filled_depth(cube), metrics.iteration_learned.values.astype(float), held_out(cube)
    return {
        PER_APPEARANCE: pooled_correlation_test(depth, learned, held),
        EXAMPLE_MEANS: example_means_reading(depth, learned, held),
        DEPTH_MEANS: depth_means_reading(depth, learned, held, weighted=False),
        DEPTH_MEANS_WEIGHTED: depth_means_reading(depth, learned, held, weighted=True),
    }


def margin_readings(cube: xr.Dataset, metrics: xr.Dataset, margin: str) -> dict[str, Test]:
    """Figure 6 (left, middle), same network, the test examples: r of depth and log10 margin per appearance, and
    of each example's mean depth and log10 mean margin over the seeds (as the caption says)."""
    test = np.broadcast_to((cube.orig_split.values == TEST)[:, None], cube.pd.shape)
    depth, values = filled_depth(cube), metrics[f"{margin}_margin"].values.astype(float)
    return {
        PER_APPEARANCE: pooled_correlation_test(depth, claims.log10_positive(values), test),
        EXAMPLE_MEANS: example_means_reading(depth, values, test, transform=claims.log10_positive),
    }


def floor_test(cube: xr.Dataset, floor: Floor, depth_seeds: int) -> Test:
    """Figure 4, across seeds: seed s's depth against the consensus-consistency of the *other* seeds'
    held-out predictions (at least ``floor.min_held_out`` of them), per held-out appearance (of a test example where
    ``floor.split`` is "test": each consensus then of all S - 1 other seeds, as in Figure 4, middle) of the first
    ``depth_seeds`` seeds (the cost grows with the appearances); the floor is the ``floor.quantile`` per depth with
    at least ``floor.min_bin_examples`` appearances, and the statistic its Spearman ρ against depth. Run-to-run
    variation: the spread of the per-seed floors (a consensus of fewer seeds would change what is measured). Null:
    consensus-consistency shuffled within seed × :func:`design_strata`."""
    pred, labels = cube.pred.values.astype(np.int64), cube.label.values.astype(np.int64)
    held, depth = held_out(cube), filled_depth(cube)
    counts = consistency.class_counts(pred, held, len(category_names(cube.label)))
    others = consistency.leave_one_out_consensus_consistency(pred, labels, held, counts)
    use = held & (counts.sum(axis=1)[:, None] - held >= floor.min_held_out) & np.isfinite(others)
    if floor.split == "test":
        use &= (cube.orig_split.values == TEST)[:, None]
    use[:, depth_seeds:] = False
    example, seed = np.nonzero(use)
    bins, values, ones = depth[use].astype(np.int64), others[use], np.ones(int(use.sum()))

    def trend(rows, w, shuffled=values):
        return claims.floor_trend(claims.weighted_floor(bins[rows], shuffled[rows], w, floor))

    def null(rng, draws):
        strata = design_strata(cube)
        within = shuffler(seed * (strata.max() + 1) + strata[example])
        return mean_finite(trend(slice(None), ones, values[within(rng)]) for _ in range(draws))

    return Test(
        lambda w, kept: trend(slice(None), w[example]),
        null,
        units=len(labels),
        runs=cube.sizes["seed"],
        needs=(floor.min_held_out + 1, f"consensus-consistency of ≥ {floor.min_held_out} other seeds"),
        parts=lambda: [trend(seed == s, ones[seed == s]) for s in range(min(depth_seeds, cube.sizes["seed"]))],
        examples=len(np.unique(example)),
    )


AMBIGUOUS = 1 + corners.CORNER_NAMES.index("ambiguous_unless_label_given")


def gain_scores(cube: xr.Dataset, corner_examples: int, layer: int, folds: int, cross: bool = True):
    """Section 4, cross-fitted: the kept seeds are split into ``folds`` interleaved groups; for each, the corner
    "ambiguous unless the label is given" is chosen from the other kept seeds' depths and scored on this group's
    held-out appearances. ``cross=False``: chosen and scored on the same appearances, as the paper does.

    Returns ``scores(kept)`` -> per example (probe correct, network correct, appearances) summed over the groups
    where it was chosen, and the same sums expected of a comparison group of the corner's size drawn within each
    stratum (:func:`design_strata`) from the examples that could have been chosen (``gain_null``, ``count_null``)."""
    labels, strata = cube.label.values, design_strata(cube)
    held, depth = held_out(cube), filled_depth(cube)
    probe_ok = (cube.knn_pred.values[:, :, layer] == labels[:, None]) & held
    network_ok = (cube.pred.values == labels[:, None]) & held

    def corner(chooser: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pd_val, _ = consistency.masked_mean(depth[:, chooser], held[:, chooser])
        pd_train, _ = consistency.masked_mean(depth[:, chooser], ~held[:, chooser])
        distances = corners.corner_distances(pd_val, pd_train)
        chosen = corners.closest_to_corners(distances, corner_examples) == AMBIGUOUS
        return chosen, np.isfinite(distances[:, 0])

    @functools.cache
    def scores(kept: tuple[bool, ...]) -> dict[str, np.ndarray]:
        positions = np.flatnonzero(kept)
        count = min(folds, len(positions))
        sums = {name: np.zeros(len(labels)) for name in ("probe", "network", "count", "gain_null", "count_null")}
        sums["folds"] = []
        for group in range(count) if cross else [None]:
            scorer = np.zeros(len(kept), bool)
            scorer[positions if group is None else positions[group::count]] = True
            chosen, eligible = corner(scorer if group is None else np.asarray(kept) & ~scorer)
            probe, network = probe_ok[:, scorer].sum(axis=1), network_ok[:, scorer].sum(axis=1)
            appearances = held[:, scorer].sum(axis=1)
            sums["probe"] += np.where(chosen, probe, 0)
            sums["network"] += np.where(chosen, network, 0)
            sums["count"] += np.where(chosen, appearances, 0)
            scored = appearances[chosen].sum()
            sums["folds"].append((probe - network)[chosen].sum() / scored if scored else np.nan)
            for c in np.unique(strata[chosen]):
                pool = eligible & (strata == c)
                share = (chosen & (strata == c)).sum() / pool.sum()
                sums["gain_null"] += np.where(pool, share * (probe - network), 0)
                sums["count_null"] += np.where(pool, share * appearances, 0)
        return sums

    return scores


def gain_test(cube: xr.Dataset, corner_examples: int, layer: int, folds: int, cross: bool = True, scores=None) -> Test:
    """The k-NN probe's accuracy at ``layer`` minus the network's over the corner's scored appearances
    (:func:`gain_scores`, or ``scores`` already made of them). Null: the same for the within-stratum comparison group
    (its exact mean), or 0 where that is lower: the probe must beat the network, not only do less badly than
    elsewhere."""
    scores = scores or gain_scores(cube, corner_examples, layer, folds, cross)
    everything = (True,) * cube.sizes["seed"]

    def statistic(w, kept):
        s = scores(tuple(kept))
        total = w @ s["count"]
        return float(w @ (s["probe"] - s["network"]) / total) if total > 0 else float("nan")

    def null(rng, draws):
        s = scores(everything)
        return float(s["gain_null"].sum() / s["count_null"].sum()) if s["count_null"].sum() > 0 else float("nan")

    needs = (4, "the corner chosen on ≥ 2 seeds and scored on others, in ≥ 2 folds") if cross else (2, "")
    parts = (lambda: np.asarray(scores(everything)["folds"])) if cross else None
    scored = int((scores(everything)["count"] > 0).sum())
    return Test(statistic, null, len(cube.label), cube.sizes["seed"], needs, parts=parts, examples=scored, at_least=0.0)


def gain_accuracies(scores, seeds: int) -> tuple[float, float, int]:
    """(network, probe accuracy, scored appearances) of :func:`gain_scores` over all ``seeds``, for display."""
    s = scores((True,) * seeds)
    total = s["count"].sum()
    return (s["network"].sum() / total, s["probe"].sum() / total, int(total)) if total else (np.nan, np.nan, 0)


def dataset_order_test(cubes: dict[str, xr.Dataset]) -> Test:
    """Figure 1 (right), for datasets given easiest first: the smallest step of mean training-split depth from one
    dataset to the next (positive when they are in that order). Examples resampled within each dataset; runs:
    every dataset's seeds. Null: the examples' datasets shuffled."""
    depths = [np.where(cube.in_train.values, filled_depth(cube), np.nan) for cube in cubes.values()]
    group = np.concatenate([np.full(len(d), g) for g, d in enumerate(depths)])
    run_of = np.concatenate([np.full(d.shape[1], g) for g, d in enumerate(depths)])
    everything = np.ones(len(run_of), bool)

    @functools.cache
    def sums(kept: tuple[bool, ...]) -> tuple[np.ndarray, np.ndarray]:
        parts = [d[:, np.asarray(kept)[run_of == g]] for g, d in enumerate(depths)]
        return np.concatenate([np.nansum(p, axis=1) for p in parts]), np.concatenate(
            [np.isfinite(p).sum(1) for p in parts]
        )

    def smallest_step(w, of, kept):
        total, counts = sums(tuple(kept))
        numerators, denominators = (
            np.array([(w * (of == g)) @ v for g in range(len(depths))]) for v in (total, counts)
        )
        if len(depths) < 2 or not denominators.all():
            return float("nan")
        return float(np.min(np.diff(numerators / denominators)))

    def null(rng, draws):
        return mean_finite(smallest_step(np.ones(len(group)), rng.permutation(group), everything) for _ in range(draws))

    return Test(
        lambda w, kept: smallest_step(w, group, kept),
        null,
        units=len(group),
        runs=len(run_of),
        needs=(len(depths) + 1, "a seed of some dataset left out"),
        strata=group,
    )


def margin_ratio_test(hinge: np.ndarray, control: np.ndarray) -> Test:
    """Section 3.3: log10(mean control margin / mean 0-Hinge margin) over the same examples, from (example, seed)
    margins of each study; runs: the 0-Hinge seeds, then the control's. Null: per example, which study gave which
    margin is a coin flip."""
    keep = np.isfinite(hinge).any(axis=1) & np.isfinite(control).any(axis=1)
    h, c = hinge[keep], control[keep]
    runs = h.shape[1] + c.shape[1]

    def orders(w, small, large):
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.log10((w @ large) / (w @ small)))

    def statistic(w, kept):
        small, large = kept[: h.shape[1]], kept[h.shape[1] :]
        if not small.any() or not large.any():
            return float("nan")
        return orders(w, np.nanmean(h[:, small], axis=1), np.nanmean(c[:, large], axis=1))

    def null(rng, draws):
        mean_h, mean_c = np.nanmean(h, axis=1), np.nanmean(c, axis=1)
        swaps = (rng.random(len(h)) < 0.5 for _ in range(draws))
        ones = np.ones(len(h))
        return mean_finite(orders(ones, np.where(s, mean_c, mean_h), np.where(s, mean_h, mean_c)) for s in swaps)

    return Test(statistic, null, units=len(h), runs=runs, needs=(4, "≥ 2 runs of each study, one left out"))
