"""Verdicts that can fail: with no signal (random networks, exchangeable examples) no claim holds; with a planted
signal of known size the claim holds and its interval covers the planted value."""

import numpy as np
import pytest
import xarray as xr
from synthetic import correlated, random_networks

from pdepth import claims, fidelity, verdicts
from pdepth.verdicts import FAILS, HOLDS, INCONCLUSIVE, OUTSIDE, WITHIN, Evidence, Settings

SETTINGS = Settings(bootstrap=300, permutations=300, confidence=0.95, seed=0)
FLOOR = claims.Floor(min_held_out=3, quantile=0.05, min_bin_examples=20)


@pytest.fixture(scope="module", params=[False, True], ids=["random", "accurate"])
def null_worlds(request):
    return [random_networks(seed, accurate=request.param) for seed in range(3)]


@pytest.fixture(scope="module")
def worlds():
    return [random_networks(seed) for seed in range(3)]


def every_claim(worlds, floor=FLOOR) -> list[fidelity.Claim]:
    (cube, metrics), (other, _), (third, _) = worlds
    rows = fidelity.model_claims("fmnist", "mlp", cube, metrics, SETTINGS, floor)
    rows += fidelity.architecture_claims("fmnist", {"mlp": cube, "vgg16": other}, SETTINGS)
    rows.append(fidelity.dataset_order_claim("mlp", {"fmnist": cube, "svhn": other, "cifar10": third}, SETTINGS))
    # two studies of the same examples whose margins come from one distribution
    margins = {label: m for label, (_, m) in zip(("0-Hinge (a)", "cross-entropy (b)"), worlds[:2], strict=True)}
    rows.append(fidelity.margin_intervention_claim("fmnist", "mlp", margins, SETTINGS))
    return rows


@pytest.mark.parametrize("rotation", [0, 1, 2])
@pytest.mark.parametrize("min_held_out", [1, 3])
def test_no_claim_holds_without_signal(null_worlds, rotation, min_held_out):
    """Exchangeable examples (random networks, or accurate ones whose errors hit examples at random): every verdict
    is "fails" or "inconclusive", never "holds", and never "within" the paper's number; also with single-appearance
    examples in the floor (their consensus-consistency is 1 by construction, which made the old floor check pass on
    noise: the stratified null now carries that artefact)."""
    rotated = null_worlds[rotation:] + null_worlds[:rotation]
    floor = claims.Floor(min_held_out=min_held_out, quantile=0.05, min_bin_examples=20)
    table = fidelity.table(every_claim(rotated, floor))
    assert len(table) == len(fidelity.CLAIMS)
    assert set(table.direction) <= {FAILS, INCONCLUSIVE}, table[["claim", "ours", "direction"]].to_string()
    assert WITHIN not in set(table.vs_paper)


def planted(cube: xr.Dataset, metrics: xr.Dataset, r: float, seed: int = 0) -> tuple[xr.Dataset, xr.Dataset]:
    """Depth and iteration learned with correlation ``r`` over appearances, half of it shared within an example."""
    depth, learned = correlated(np.random.default_rng(seed), cube.pd.shape, r, shared=0.5)
    depth = 10 + 2 * depth  # positive, as depths are (the correlation is unchanged)
    return cube.assign(pd=(cube.pd.dims, depth)), metrics.assign(iteration_learned=(cube.pd.dims, learned))


@pytest.mark.parametrize(("r", "vs_paper"), [(0.8, WITHIN), (0.5, OUTSIDE)])
def test_planted_correlation_with_iteration_learned_is_found(worlds, r, vs_paper):
    cube, metrics = planted(*worlds[0], r)
    (row,) = [
        row
        for row in fidelity.model_claims("fmnist", "vgg16", cube, metrics, SETTINGS, FLOOR)
        if row.claim == fidelity.LEARNED.text
    ]
    assert row.direction == HOLDS
    assert row.ci_low <= r <= row.ci_high
    assert row.ci_high - row.ci_low < 0.1
    assert row.paper == 0.79 and row.vs_paper == vs_paper  # FMNIST, VGG16: 0.79 ± 0.1


def test_planted_margin_correlation_is_found(worlds):
    cube, metrics = worlds[0]
    test = cube.orig_split.values == 1
    depth, log_margin = correlated(np.random.default_rng(1), (int(test.sum()),), -0.7)
    pd = cube.pd.values.copy()
    pd[test] = depth[:, None]  # every seed: the same depth, so the mean is ``depth``
    margin = metrics.output_margin_val.values.copy()
    margin[test] = 10.0**log_margin
    cube, metrics = cube.assign(pd=(cube.pd.dims, pd)), metrics.assign(output_margin_val=("example", margin))
    evidence = verdicts.assess(claims.margin_test(cube, metrics, "output"), -1, SETTINGS)
    assert verdicts.direction(evidence, -1, 0.1, SETTINGS) == HOLDS
    assert evidence.low <= -0.7 <= evidence.high


def test_planted_seed_agreement_is_found(worlds):
    cube, _ = worlds[0]
    rng = np.random.default_rng(2)
    difficulty = rng.normal(size=(cube.sizes["example"], 1))
    pd = np.sqrt(0.6) * difficulty + np.sqrt(0.4) * rng.normal(size=cube.pd.shape)  # r = 0.6 between seeds
    evidence = verdicts.assess(
        claims.depth_correlation_test(*(cube.assign(pd=(cube.pd.dims, pd)),) * 2, "val"), +1, SETTINGS
    )
    assert verdicts.direction(evidence, +1, 0.1, SETTINGS) == HOLDS
    assert evidence.low <= 0.6 <= evidence.high


def test_planted_gain_is_found(worlds):
    cube, metrics = worlds[0]
    rng = np.random.default_rng(3)
    corner = 1 + claims.difficulty.CORNER_NAMES.index("ambiguous_unless_label_given")
    chosen = metrics.difficulty.values == corner
    labels = cube.label.values[:, None]
    layer = metrics.attrs["gain_layer"]
    knn_pred, pred = cube.knn_pred.values.copy(), cube.pred.values.copy()
    knn_pred[:, :, layer] = np.where(chosen[:, None] & (rng.random(pred.shape) < 0.9), labels, (labels + 1) % 10)
    pred = np.where(chosen[:, None] & (rng.random(pred.shape) < 0.3), labels, (labels + 2) % 10)
    cube = cube.assign(knn_pred=(cube.knn_pred.dims, knn_pred), pred=(cube.pred.dims, pred))
    evidence = verdicts.assess(claims.gain_test(cube, metrics), +1, SETTINGS)
    assert verdicts.direction(evidence, +1, fidelity.GAIN.negligible, SETTINGS) == HOLDS
    assert evidence.low <= 0.6 <= evidence.high


def test_planted_accuracy_fall_is_found(worlds):
    cube, _ = worlds[0]
    rng = np.random.default_rng(4)
    pd = np.nan_to_num(cube.pd.values, nan=6.0)
    correct = rng.random(pd.shape) < 0.95 - 0.1 * pd
    pred = np.where(correct, cube.label.values[:, None], (cube.label.values[:, None] + 1) % 10)
    evidence = verdicts.assess(claims.accuracy_test(cube.assign(pred=(cube.pred.dims, pred))), -1, SETTINGS)
    assert verdicts.direction(evidence, -1, 0.1, SETTINGS) == HOLDS


def test_planted_floor_is_found(worlds):
    _, metrics = worlds[0]
    rng = np.random.default_rng(5)
    pd_val = rng.uniform(0, 6, metrics.sizes["example"])
    consensus_consistency = 1 - (pd_val / 6) * rng.uniform(0, 1, len(pd_val))  # a floor falling from 1 to ~0
    metrics = metrics.assign(pd_val=("example", pd_val), consensus_consistency=("example", consensus_consistency))
    evidence = verdicts.assess(claims.floor_test(metrics, FLOOR), -1, SETTINGS)
    assert evidence.estimate == pytest.approx(-1.0)
    assert verdicts.direction(evidence, -1, 0.1, SETTINGS) == HOLDS


def test_planted_margin_ratio_and_dataset_order_are_found(worlds):
    rng = np.random.default_rng(6)
    hinge, control = 1e-4 * rng.lognormal(0, 1, 500), 16 * rng.lognormal(0, 0.3, 500)
    evidence = verdicts.assess(claims.margin_ratio_test(hinge, control), +1, SETTINGS)
    assert verdicts.direction(evidence, +1, fidelity.HINGE.negligible, SETTINGS) == HOLDS
    assert verdicts.versus_paper(evidence, fidelity.HINGE.band) == WITHIN  # at least 2 orders of magnitude

    cubes = {
        name: cube.assign(pd=cube.pd + shift)
        for name, (cube, _), shift in zip(("fmnist", "svhn", "cifar10"), worlds, (0.0, 0.5, 1.0), strict=True)
    }
    assert fidelity.dataset_order_claim("resnet18", cubes, SETTINGS).direction == HOLDS
    backwards = dict(zip(cubes, reversed(cubes.values()), strict=True))
    assert fidelity.dataset_order_claim("resnet18", backwards, SETTINGS).direction == FAILS


def evidence(low, high, null=0.0, p=0.001):
    return Evidence((low + high) / 2, low, high, null, p, 100)


@pytest.mark.parametrize(
    ("interval", "null", "p", "side", "expected"),
    [
        ((0.3, 0.5), 0.0, 0.001, +1, HOLDS),
        ((0.3, 0.5), 0.0, 0.2, +1, INCONCLUSIVE),  # the permutation null does not agree
        ((0.3, 0.5), 0.35, 0.001, +1, INCONCLUSIVE),  # an artefact: the null itself sits inside the interval
        ((0.05, 0.3), 0.0, 0.001, +1, INCONCLUSIVE),  # may be negligible (< 0.1)
        ((0.01, 0.05), 0.0, 0.001, +1, FAILS),  # confidently negligible: "r = 0.01 correlates" is no longer a yes
        ((-0.5, -0.3), 0.0, 0.001, +1, FAILS),
        ((-0.5, -0.3), 0.0, 0.001, -1, HOLDS),
    ],
)
def test_direction(interval, null, p, side, expected):
    assert verdicts.direction(evidence(*interval, null, p), side, 0.1, SETTINGS) == expected


def test_versus_paper():
    band = (0.69, 0.89)
    assert verdicts.versus_paper(evidence(0.72, 0.78), band) == WITHIN
    assert verdicts.versus_paper(evidence(0.5, 0.6), band) == OUTSIDE
    assert verdicts.versus_paper(evidence(0.6, 0.75), band) == INCONCLUSIVE
    assert verdicts.versus_paper(evidence(0.6, 0.75), None) == verdicts.NO_NUMBER


def test_resampling_keeps_strata_and_shuffling_stays_within_groups():
    rng = np.random.default_rng(0)
    strata = np.array([0, 0, 0, 1, 1, 2])
    for _ in range(20):
        weights = verdicts.resample_weights(strata, rng)
        assert [weights[strata == s].sum() for s in range(3)] == [3, 2, 1]
    groups = np.array([2, 0, 2, 1, 0, 2, 1])
    permutation = verdicts.shuffler(groups)(rng)
    assert sorted(permutation) == list(range(len(groups)))
    np.testing.assert_array_equal(groups[permutation], groups)


def test_weighted_pearson_equals_pearson_of_the_repeated_pairs():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=50), rng.normal(size=50)
    w = rng.integers(0, 4, 50).astype(float)
    repeated = np.corrcoef(np.repeat(x, w.astype(int)), np.repeat(y, w.astype(int)))[0, 1]
    assert verdicts.weighted_pearson(x, y, w) == pytest.approx(repeated)


def test_floor_bins_round_halves_up():
    np.testing.assert_array_equal(claims.floor_bins(np.array([0.49, 0.5, 1.5, 2.5, 2.51])), [0, 1, 2, 3, 3])
