"""Verdicts that fail where the paper's idea is absent: studies with no per-example difficulty (exchangeable
examples, per-appearance coupling by definition, class differences only, corners chosen from noise) give no "holds"
in any row, at 2 and at 4 seeds; a planted per-example difficulty is found by every claim it plants at 4 seeds; with
run-to-run variation the interval covers the population value; the same inputs give the same table."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import integrate, optimize, stats
from synthetic import GAIN_LAYER, difficulty_world, random_networks

from pdepth.config.jobs import Floor
from pdepth.config.study import CONTROL, HINGE
from pdepth.fidelity import claims, crossfit
from pdepth.fidelity import table as fidelity
from pdepth.outputs.cube import filled_depth, held_out
from pdepth.statistics import verdicts
from pdepth.statistics.verdicts import (
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    NOT_COMPARABLE,
    OUTSIDE,
    UNTESTABLE,
    WITHIN,
    Evidence,
    FidelitySettings,
)

SETTINGS = FidelitySettings(
    bootstrap=200, permutations=100, confidence=0.95, seed=0, run_groups=10, seed_pairs=60, power=0.8
)
FLOOR = Floor(min_held_out=2, quantile=0.05, min_bin_examples=20, split="test")
FOLDS = 4
PER_EXAMPLE = {fidelity.SEEDS.text, fidelity.ACCURACY.text, fidelity.LEARNED.text, fidelity.GAIN.text}
PER_EXAMPLE |= {spec.text for spec in fidelity.MARGINS.values()} | {
    spec.text for spec in fidelity.ARCHITECTURES.values()
}


def worlds_of(kind: str, seeds: int) -> list[tuple[xr.Dataset, xr.Dataset]]:
    """Three studies of one kind: two architectures on the same examples, and a third."""
    if kind in ("random", "accurate"):
        return [random_networks(seed, accurate=kind == "accurate", seeds=seeds) for seed in range(3)]
    return [difficulty_world(seed, kind, seeds=seeds) for seed in range(3)]


def every_claim(worlds, arch: str = "mlp", shifts=(0.0, 0.0, 0.0), hinge=None) -> pd.DataFrame:
    (cube, metrics), (other, other_metrics), (third, _) = worlds
    rows = fidelity.model_claims("fmnist", arch, cube, metrics, SETTINGS, FLOOR, FOLDS)
    rows += fidelity.architecture_claims("fmnist", {arch: cube, "resnet18": other}, SETTINGS)
    datasets = {
        name: c.assign(pd=c.pd + s)
        for name, c, s in zip(("fmnist", "svhn", "cifar10"), (cube, other, third), shifts, strict=True)
    }
    rows.append(fidelity.dataset_order_claim(arch, datasets, SETTINGS))
    margins = hinge or {HINGE: [metrics], CONTROL: [other_metrics]}  # one distribution: no signal
    rows.append(fidelity.margin_intervention_claim("fmnist", arch, margins, SETTINGS))
    return fidelity.table(rows, SETTINGS)


@pytest.mark.parametrize("seeds", [2, 4])
@pytest.mark.parametrize("kind", ["random", "accurate", "coupled", "class"])
def test_no_claim_holds_without_per_example_difficulty(kind, seeds):
    """Exchangeable examples (random or accurate networks), per-appearance coupling of correctness, iteration
    learned, margins and the gain with depth, or differences by class only: no row holds, none is "within" the
    paper. At 4 seeds every per-example row is tested (so this can fail); at 2 they say they are not testable."""
    table = every_claim(worlds_of(kind, seeds), arch="vgg16")
    assert len(table) == len(fidelity.CLAIMS)
    assert HOLDS not in set(table.direction), table[["claim", "ours", "null", "p_holm", "direction"]].to_string()
    if kind in ("random", "accurate"):  # elsewhere the paper's own (same-seed) reading carries the coupling
        assert WITHIN not in set(table.vs_paper)
    per_example = table[table.claim.isin(PER_EXAMPLE)]
    if seeds == 4:
        assert (per_example.direction != UNTESTABLE).all(), per_example[["claim", "detail"]].to_string()
        assert (table.rows_tested == (table.direction != UNTESTABLE).sum()).all()
    else:  # one model's cross-seed rows need a third seed; two architectures of 2 seeds are 4 networks
        one_model = per_example[~per_example.claim.isin([s.text for s in fidelity.ARCHITECTURES.values()])]
        assert (one_model.direction == UNTESTABLE).all()
        assert one_model.detail.str.contains("not testable with 2 run").all()


@pytest.mark.parametrize("holdout", [0.1, 0.3, 0.5])
def test_no_claim_holds_where_difficulty_depends_only_on_the_design_strata(holdout):
    """Difficulty by class and original split only (the test split harder than the held-out training examples): no
    row holds at any holdout. A null that shuffled within class only would leak here: the split's shift makes depth
    correlate across seeds beyond it (checked, so that this test can fail)."""
    worlds = [difficulty_world(seed, "stratum", holdout=holdout) for seed in range(3)]
    table = every_claim(worlds, arch="vgg16")
    assert HOLDS not in set(table.direction), table[["claim", "ours", "null", "p_holm", "direction"]].to_string()
    cube = worlds[0][0]
    depth, held = filled_depth(cube), held_out(cube)
    usable = lambda i, j: held[:, i] & held[:, j]  # noqa: E731
    pairs = crossfit.model_pairs(cube, 60, symmetric=True)
    by_class, by_stratum = (
        crossfit.paired_correlation_test(depth, depth, usable, strata, pairs, 0).null(None, 0)
        for strata in (cube.label.values, crossfit.design_strata(cube))
    )
    assert by_stratum > by_class + (0.05 if holdout >= 0.3 else 0.01)


def test_the_readings_the_verdicts_replace_show_the_artefacts():
    """What the old verdicts measured does show signal on these no-signal studies, so the tests above are not
    passing for want of power: the same-seed accuracy r and the gain scored on the appearances that chose the corner
    in the coupled study; the cross-seed r of depth in the class-only study (absorbed by its within-class null)."""
    (cube, metrics), *_ = worlds_of("coupled", 4)
    assert fidelity.estimate(crossfit.accuracy_reading(cube)) < -0.3
    chosen_on_scored = crossfit.gain_test(cube, 100, metrics.attrs["gain_layer"], FOLDS, cross=False)
    assert fidelity.estimate(chosen_on_scored) > 0.15
    cube, _ = difficulty_world(0, "coupled", holdout=0.5)  # enough scored appearances to compare point estimates
    excess = {}
    for cross in (False, True):  # the same appearances choose and score the corner, or disjoint seeds do
        test = crossfit.gain_test(cube, 100, GAIN_LAYER, FOLDS, cross=cross)
        excess[cross] = fidelity.estimate(test) - test.null(None, 0)
    assert excess[False] > 0.2 and abs(excess[True]) < 0.05, excess
    (cube, _), *_ = worlds_of("class", 4)
    seeds = verdicts.assess(crossfit.seeds_test(cube, 60), +1, 0.1, SETTINGS)
    assert seeds.estimate > 0.4 and abs(seeds.estimate - seeds.null) < 0.05


def planted_worlds(seeds: int = 4):
    """Held out at 50:50, so that Section 4's corner (50 examples) has ~100 scored appearances at 4 seeds."""
    return [difficulty_world(seed, "planted", seeds=seeds, holdout=0.5) for seed in range(3)]


def test_a_planted_per_example_difficulty_is_found_by_every_claim_at_4_seeds():
    worlds = planted_worlds()
    rng = np.random.default_rng(6)
    shape = worlds[0][1].output_margin.shape[:1] + (2,)
    hinge = {
        HINGE: [xr.Dataset({"output_margin": (("example", "seed"), 1e-4 * rng.lognormal(0, 1, shape))})],
        CONTROL: [xr.Dataset({"output_margin": (("example", "seed"), 16 * rng.lognormal(0, 0.3, shape))})],
    }
    for (margins,) in hinge.values():
        margins.coords["example"] = worlds[0][1].example.values
    table = every_claim(worlds, arch="vgg16", shifts=(0.0, 0.5, 1.0), hinge=hinge)
    assert (table.direction == HOLDS).all(), table[["claim", "ours", "null", "ci_low", "p_holm", "detail"]].to_string()
    assert table.rows_tested.iloc[0] == len(table)
    assert (table.p_holm >= table.p_value).all()


def test_the_floor_needs_enough_other_seeds():
    (cube, metrics), *_ = planted_worlds()
    four = Floor(min_held_out=4, quantile=0.05, min_bin_examples=20, split="test")
    row = fidelity.model_claims("fmnist", "mlp", cube, metrics, SETTINGS, four, FOLDS)[2]
    assert row.claim == fidelity.FLOOR.text and "not testable with 4 run(s): needs ≥ 5" in row.detail


def test_the_floor_reads_test_examples_each_against_every_other_seed():
    """split "test" (Figure 4, middle): only test examples, each consensus of all S - 1 other seeds, so the floor's
    low quantile does not depend on how often a training example happened to be held out; the planted difficulty is
    found against a null near 0. split "all" also reads the held-out training examples."""
    (cube, metrics), *_ = planted_worlds(seeds=8)
    n_test = int((cube.orig_split.values == crossfit.TEST).sum())
    tests = {split: crossfit.floor_test(cube, Floor(3, 0.05, 20, split), 4) for split in ("test", "all")}
    assert tests["test"].examples == n_test and tests["all"].examples > 3 * n_test
    evidence = verdicts.assess(tests["test"], -1, 0.1, SETTINGS)
    assert evidence.estimate < -0.7 and abs(evidence.null) < 0.15, evidence


def cross_seed_population_r(beta: float, spread: float, noise: float) -> float:
    """E over runs of corr(depth of seed i, outcome of seed j) when the outcome's slope on the shared difficulty is
    beta + spread · z per run: b / sqrt((1 + noise²)(b² + noise²)) averaged over b."""

    def r(z):
        b = beta + spread * z
        return b / np.sqrt((1 + noise**2) * (b**2 + noise**2)) * stats.norm.pdf(z)

    return integrate.quad(r, -10, 10)[0]


@pytest.mark.parametrize("design", ["4 seeds", "3 seeds", "2+2 seeds"])
def test_intervals_cover_the_population_value_with_run_to_run_variation(design):
    """Depth d + noise in every seed; an outcome b_s · d + noise with b_s varying by run (r varies by about 0.06
    between runs): the 95% interval covers the population value in ≥ 90 of 100 studies, for one model's
    iteration-learned row at 4 and 3 seeds and for two architectures of 2 seeds each (whose 2 seed pairs are the
    independent groups: the jackknife's 4 runs would overstate its degrees of freedom)."""
    n, beta, spread, noise = 1000, 0.6, 0.13, 1.0
    seeds = {"4 seeds": 4, "3 seeds": 3, "2+2 seeds": 2}[design]
    truth = cross_seed_population_r(beta, spread, noise)
    base, base_metrics = random_networks(0, n_train=0, n_test=n, seeds=seeds)
    settings = FidelitySettings(100, 10, 0.95, 0, 10, 60, 0.8)
    rng = np.random.default_rng(7)
    covered = 0
    for _ in range(100):
        difficulty = rng.normal(size=(n, 1))
        depth = difficulty + noise * rng.normal(size=(n, seeds))
        outcome = (beta + spread * rng.normal(size=(1, seeds))) * difficulty + noise * rng.normal(size=(n, seeds))
        cube = base.assign(pd=(base.pd.dims, depth))
        if design == "2+2 seeds":
            test = crossfit.architectures_test(cube, base.assign(pd=(base.pd.dims, outcome)), "val", 60)
        else:
            test = crossfit.learned_test(cube, base_metrics.assign(iteration_learned=(base.pd.dims, outcome)), 60)
        evidence = verdicts.assess(test, +1, 0.1, settings)
        covered += evidence.low <= truth <= evidence.high
    assert covered >= 90, f"{covered} of 100 intervals cover {truth:.3f}"


def test_an_effect_the_size_of_the_minimum_detectable_one_is_found_with_the_stated_power():
    """A pilot study states its minimum detectable effect (80% power, one row: level alpha); studies whose
    population r is the pilot's null plus that effect find it at least that often (the standard error errs wide,
    so the stated effect is an upper bound: 95 of 100 here), and one half as large beyond the negligible effect
    needs 4 times the design."""
    n, seeds, spread, noise = 1000, 4, 0.13, 1.0
    base, base_metrics = random_networks(0, n_train=0, n_test=n, seeds=seeds)
    settings = FidelitySettings(100, 10, 0.95, 0, 10, 60, 0.8)
    rng = np.random.default_rng(11)

    def study(beta: float) -> Evidence:
        difficulty = rng.normal(size=(n, 1))
        depth = difficulty + noise * rng.normal(size=(n, seeds))
        outcome = (beta + spread * rng.normal(size=(1, seeds))) * difficulty + noise * rng.normal(size=(n, seeds))
        metrics = base_metrics.assign(iteration_learned=(base.pd.dims, outcome))
        test = crossfit.learned_test(base.assign(pd=(base.pd.dims, depth)), metrics, 60)
        return verdicts.assess(test, +1, 0.1, settings)

    pilot = study(0.45)
    mde = verdicts.minimum_detectable(pilot, 0.1, settings.alpha, settings.power)
    beta = optimize.brentq(lambda b: cross_seed_population_r(b, spread, noise) - pilot.null - mde, 0.05, 3)
    found = sum(study(beta).p_value < settings.alpha for _ in range(100))
    assert found >= 72, f"found in {found} of 100 (mde {mde:.3f})"
    assert verdicts.design_scale(pilot, 0.1, 0.1 + (mde - 0.1) / 2, settings.alpha, settings.power) == pytest.approx(4)


def test_same_inputs_same_table():
    (cube, metrics), *_ = worlds_of("coupled", 4)
    first, second = (
        fidelity.table(fidelity.model_claims("fmnist", "vgg16", cube, metrics, SETTINGS, FLOOR, FOLDS), SETTINGS)
        for _ in range(2)
    )
    pd.testing.assert_frame_equal(first, second)


def readings_of(row) -> dict[str, tuple[float, float, float]]:
    """label -> (estimate, low, high) from a row's ``paper_reading_ours`` ("label: 0.48 [0.46, 0.51]; ...")."""
    out = {}
    for part in row.paper_reading_ours.split("; "):
        label, value = part.rsplit(": ", 1)
        ours, bounds = value.split(" [")
        out[label.rstrip("*")] = (float(ours), *(float(v) for v in bounds.rstrip("]").split(", ")))
    return out


def test_the_paper_is_compared_like_for_like_only_under_every_reading():
    (cube, metrics), *_ = planted_worlds()
    rows = {row.claim: row for row in fidelity.model_claims("fmnist", "vgg16", cube, metrics, SETTINGS, FLOOR, FOLDS)}
    learned = rows[fidelity.LEARNED.text]
    readings = readings_of(learned)
    assert learned.paper == 0.79 and list(readings) == list(crossfit.learned_readings(cube, metrics))
    verdict_of = dict(part.rstrip(")").split(" (", 1)[::-1] for part in learned.vs_paper.split("; "))
    for label, (_, low, high) in readings.items():
        starred = label + "*" if label in fidelity.LEARNED.supported else label
        assert verdict_of[starred] == (WITHIN if low <= 0.79 <= high else OUTSIDE)
    assert set(fidelity.LEARNED.supported) == {crossfit.DEPTH_MEANS, crossfit.DEPTH_MEANS_WEIGHTED}
    for label in readings:  # the same numbers in the described readings of every model
        assert f"{label} r = {readings[label][0]:.2f}" in learned.shown
    for margin in fidelity.MARGINS.values():  # the paper measured CIFAR-10
        row = rows[margin.text]
        assert row.vs_paper.startswith(NOT_COMPARABLE) and "cifar10/vgg16" in row.vs_paper
        assert all(f"{label} r = " in row.shown for label in (crossfit.PER_APPEARANCE, crossfit.EXAMPLE_MEANS))
    assert rows[fidelity.GAIN.text].vs_paper.startswith(NOT_COMPARABLE)
    assert rows[fidelity.SEEDS.text].vs_paper == verdicts.NO_NUMBER
    mlp = fidelity.model_claims("fmnist", "mlp", cube, metrics, SETTINGS, FLOOR, FOLDS)[3]
    assert mlp.claim == fidelity.LEARNED.text and mlp.vs_paper.startswith(NOT_COMPARABLE)


def test_the_readings_of_figure_5_on_a_toy_with_known_values():
    """Iteration learned a fixed function of depth (no noise): every per-depth mean is that function, so the
    per-depth readings are Pearson r of the depths and the function, unweighted and weighted by their counts."""
    base, base_metrics = random_networks(0, n_train=400, n_test=0, seeds=3)
    rng = np.random.default_rng(2)
    depth = rng.choice(5, size=(400, 3), p=[0.4, 0.3, 0.2, 0.07, 0.03])
    curve = np.array([0.0, 1.0, 2.0, 3.0, 40.0])
    cube = base.assign(pd=(base.pd.dims, depth.astype(float)), in_train=(base.pd.dims, np.zeros((400, 3), bool)))
    readings = crossfit.learned_readings(cube, base_metrics.assign(iteration_learned=(base.pd.dims, curve[depth])))
    counts = np.bincount(depth.ravel(), minlength=5).astype(float)
    at = np.arange(5.0)
    assert fidelity.estimate(readings[crossfit.DEPTH_MEANS]) == pytest.approx(np.corrcoef(at, curve)[0, 1])
    weighted = verdicts.weighted_pearson(at, curve, counts)
    assert fidelity.estimate(readings[crossfit.DEPTH_MEANS_WEIGHTED]) == pytest.approx(weighted)
    per_appearance = np.corrcoef(depth.ravel(), curve[depth].ravel())[0, 1]
    assert fidelity.estimate(readings[crossfit.PER_APPEARANCE]) == pytest.approx(per_appearance)
    means = depth.mean(axis=1), curve[depth].mean(axis=1)
    assert fidelity.estimate(readings[crossfit.EXAMPLE_MEANS]) == pytest.approx(np.corrcoef(*means)[0, 1])


def evidence(low, high, null=0.0, p=0.001):
    return Evidence((low + high) / 2, low, high, null, p, 100, 4, "", (high - low) / 3.92, 1e6, 1 - p)


@pytest.mark.parametrize(
    ("p_holds", "p_fails", "expected"),
    [
        (0.001, 0.999, HOLDS),
        (0.2, 0.8, INCONCLUSIVE),  # not after Holm
        (0.9, 0.01, FAILS),  # confidently negligible, opposite, or all of it the null's
        (0.97, 0.03, INCONCLUSIVE),  # short of the negligible effect before Holm, not after: as for "holds"
    ],
)
def test_direction_reads_both_holm_adjusted_p_values(p_holds, p_fails, expected):
    assert verdicts.direction(evidence(0.3, 0.5), p_holds, p_fails, SETTINGS) == expected


@pytest.mark.parametrize("side", [+1, -1])
@pytest.mark.parametrize("shift", [-0.3, -0.05, 0.0, 0.05, 0.08, 0.12, 0.3])
def test_unadjusted_fails_is_the_interval_short_of_the_negligible_effect(side, shift):
    """The p of "fails" is the one-sided p of an effect ≥ negligible: below alpha exactly where the interval's end
    on the claim's side lies short of null + negligible; "holds" and "fails" are complementary one-sided tests."""
    values = np.random.default_rng(4).normal(size=400)
    test = verdicts.Test(lambda w, kept: side * (shift + 0.5 * (w @ values) / w.sum()), lambda rng, n: 0.0, 400, 4)
    result = verdicts.assess(test, side, 0.1, SETTINGS)
    end = max(side * result.low, side * result.high)
    assert (result.p_fails < SETTINGS.alpha) == (end < 0.1)
    assert result.p_value + result.p_fails == pytest.approx(1)


def test_a_constant_statistic_is_not_testable():
    test = verdicts.Test(lambda w, kept: 0.3, lambda rng, draws: 0.0, 100, 4)
    result = verdicts.assess(test, +1, 0.1, SETTINGS)
    assert not result.testable and "no variance" in result.why and result.estimate == 0.3


def test_versus_paper_asks_whether_our_interval_holds_the_paper_number():
    assert verdicts.versus_paper(evidence(0.72, 0.86), 0.79) == WITHIN
    assert verdicts.versus_paper(evidence(0.5, 0.6), 0.79) == OUTSIDE
    assert verdicts.versus_paper(Evidence(*[np.nan] * 5, 0, 0), 0.79) == UNTESTABLE


def test_holm_adjusts_over_the_rows_with_a_p_value():
    adjusted = verdicts.holm(np.array([0.01, 0.04, np.nan, 0.03, 0.005]))
    np.testing.assert_allclose(adjusted, [0.03, 0.06, np.nan, 0.06, 0.02])  # sorted × 4, 3, 2, 1, then running max


def test_the_within_class_null_of_a_correlation_is_the_mean_over_permutations():
    rng = np.random.default_rng(3)
    groups = rng.integers(0, 4, 300)
    x, y = groups + rng.normal(size=300), 2 * groups + rng.normal(size=300)
    shuffle = verdicts.shuffler(groups)
    draws = [verdicts.weighted_pearson(x, y[shuffle(rng)], np.ones(300)) for _ in range(3000)]
    assert verdicts.between_groups_pearson(x, y, groups) == pytest.approx(np.mean(draws), abs=0.003)
    assert verdicts.between_groups_pearson(x, y, np.zeros(300)) == pytest.approx(0.0)  # one group: no part


def test_degrees_of_freedom_and_run_groups():
    assert verdicts.degrees_of_freedom(1.0, 0.0, 4) == 1e6  # examples only: normal
    assert verdicts.degrees_of_freedom(0.0, 1.0, 4) == pytest.approx(3)  # runs only: groups - 1
    assert 3 < verdicts.degrees_of_freedom(1.0, 1.0, 4) < 1e6
    assert [list(g) for g in verdicts.run_groups(5, 2)] == [[0, 2, 4], [1, 3]]


def test_resampling_keeps_strata_and_shuffling_stays_within_groups():
    rng = np.random.default_rng(0)
    strata = np.array([0, 0, 0, 1, 1, 2])
    draw = verdicts.resampler(strata)
    for weights in draw(rng, 20):
        assert [weights[strata == s].sum() for s in range(3)] == [3, 2, 1]
    groups = np.array([2, 0, 2, 1, 0, 2, 1])
    permutation = verdicts.shuffler(groups)(rng)
    assert sorted(permutation) == list(range(len(groups)))
    np.testing.assert_array_equal(groups[permutation], groups)


def test_a_resample_draws_what_a_loop_over_the_strata_draws():
    """The same generator gives the same multiplicities as drawing each stratum's members (ascending) in turn, the
    strata in ascending order: the fidelity table's intervals do not depend on how the draw is computed."""
    strata = np.random.default_rng(2).integers(0, 7, 500) * 3 - 4
    draw, ours, loop = verdicts.resampler(strata), np.random.default_rng(5), np.random.default_rng(5)
    for count in (1, 3, 6):  # drawn in batches of any size: the same stream
        got = draw(ours, count)
        for row in got:
            expected = np.zeros(len(strata))
            for stratum in np.unique(strata):
                members = np.flatnonzero(strata == stratum)
                expected += np.bincount(members[loop.integers(0, len(members), len(members))], minlength=len(strata))
            np.testing.assert_array_equal(row, expected)
    assert ours.random() == loop.random()  # and the generator left where the loop leaves it


def test_a_bootstrap_from_the_same_state_gets_the_same_weights_again_and_the_generator_where_drawing_leaves_it(
    monkeypatch,
):
    """The latest resamples are kept for the next test that draws them from the same generator state (a model's 55
    score pairs): the same weights, read-only, the generator advanced past each batch handed out as drawing it would;
    other strata or another state draw afresh."""
    monkeypatch.setattr(verdicts, "BATCH_VALUES", 200)  # 100 units: batches of 2, 2 and 1 resamples
    strata = np.repeat([2, 0, 1], [40, 25, 35])
    drawing, draw = np.random.default_rng(8), verdicts.resampler(strata)
    expected = [draw(drawing, 2)]
    after_first = drawing.bit_generator.state
    expected += [draw(drawing, 2), draw(drawing, 1)]
    after = drawing.random()
    for _ in range(2):  # drawn, then handed out again
        rng = np.random.default_rng(8)
        got = list(verdicts.resamples(strata, rng, 5))
        np.testing.assert_array_equal(np.concatenate(got), np.concatenate(expected))
        assert rng.random() == after and not got[0].flags.writeable
    partly = np.random.default_rng(8)
    next(verdicts.resamples(strata, partly, 5))  # a hit, one batch taken
    assert partly.bit_generator.state == after_first
    other = np.concatenate(list(verdicts.resamples(strata[::-1].copy(), np.random.default_rng(8), 5)))
    assert not np.array_equal(other, np.concatenate(expected))
    assert not np.array_equal(next(verdicts.resamples(strata, np.random.default_rng(9), 5)), expected[0])


def test_weighted_pearson_equals_pearson_of_the_repeated_pairs():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=50), rng.normal(size=50)
    w = rng.integers(0, 4, 50).astype(float)
    repeated = np.corrcoef(np.repeat(x, w.astype(int)), np.repeat(y, w.astype(int)))[0, 1]
    assert verdicts.weighted_pearson(x, y, w) == pytest.approx(repeated)


def test_floor_bins_round_halves_up():
    np.testing.assert_array_equal(claims.floor_bins(np.array([0.49, 0.5, 1.5, 2.5, 2.51])), [0, 1, 2, 3, 3])


def test_the_gain_must_beat_the_network_not_only_its_comparison_group():
    """The probe is never better than the network, but much worse on easy examples than on hard ones: the corner's
    gain (−0.17) beats its within-class comparison group (−0.35), yet the claim is that the probe beats the network."""
    rng = np.random.default_rng(1)
    seeds, n = 8, 3000
    base, _ = random_networks(0, n_train=n, n_test=0, seeds=seeds)
    labels = base.label.values
    in_train = rng.random((n, seeds)) >= 0.5
    hard = rng.normal(size=(n, 1)) + 0.5 * rng.normal(size=(n, seeds))
    depth = np.clip(np.round(np.where(in_train, 1 + 0.7 * hard, 2.5 + 1.5 * hard)), 0, 6)
    network_right = np.where(in_train, 0.99, 1 / (1 + np.exp(3 * hard)))
    network_ok, probe_ok = (rng.random((n, seeds)) < share * network_right for share in (1.0, 0.3))
    knn_pred, pred = base.knn_pred.values.copy(), np.empty((n, seeds), np.int64)
    for out, ok in ((pred, network_ok), (knn_pred[:, :, GAIN_LAYER], probe_ok)):
        out[...] = np.where(ok, labels[:, None], (labels[:, None] + rng.integers(1, 10, (n, seeds))) % 10)
    dims = base.pd.dims
    cube = base.assign(pd=(dims, depth), pred=(dims, pred), knn_pred=(base.knn_pred.dims, knn_pred))
    cube = cube.assign(in_train=(dims, in_train))
    scores = crossfit.gain_scores(cube, 100, GAIN_LAYER, FOLDS)
    network, probe, _ = crossfit.gain_accuracies(scores, seeds)
    test = crossfit.gain_test(cube, 100, GAIN_LAYER, FOLDS, scores=scores)
    assert probe < network and test.null(None, 0) < fidelity.estimate(test) < 0  # better than its group, still worse
    evidence = verdicts.assess(test, +1, fidelity.GAIN.negligible, SETTINGS)
    assert verdicts.direction(evidence, evidence.p_value, evidence.p_fails, SETTINGS) == FAILS


def test_weighted_pearson_of_many_weight_rows_is_the_row_by_row_one():
    """Rows of weights (the bootstrap's batches) give each row's r, NaN where a row has a flat side (a rank near
    N, varying by 1e-10: the scalar formula's flat case), fewer than 3 pairs or no weight."""
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=60) * 100, rng.normal(size=60)
    nearly_flat = np.full(60, 7000.0) + np.r_[1e-10, np.zeros(59)]
    weights = rng.integers(0, 3, (5, 60)).astype(float)
    weights[3] = 0.0
    weights[4] = 0.0
    weights[4, :2] = 1.0  # two pairs
    for first in (x, nearly_flat):
        rows = [verdicts.weighted_pearson(first, y, w) for w in weights]
        np.testing.assert_allclose(verdicts.weighted_pearson(first, y, weights), rows, rtol=1e-12)
    assert np.isnan([verdicts.weighted_pearson(nearly_flat, y, w) for w in weights]).all()
    assert np.isnan(verdicts.weighted_pearson(x, y, weights)[3:]).all()
    assert verdicts.resampler(np.zeros(4))(rng, 0).shape == (0, 4)


def test_a_resample_of_equal_values_among_others_is_flat_in_rows_as_alone(monkeypatch):
    """Ranks in the thousands, resamples drawing only examples of one value (the others differ): the one-pass sums
    cancel to rounding noise, so such rows are summed again in two passes and come out flat (NaN), as the scalar
    formula's; resamples with spread give the scalar r."""
    rng = np.random.default_rng(6)
    values = rng.uniform(1000, 15000, 20)
    x = np.r_[np.repeat(values, 5), rng.permutation(np.arange(1.0, 1001.0))]
    y = rng.normal(size=len(x))
    weights = np.zeros((22, len(x)))
    for row in range(20):  # five equal x values each
        weights[row, 5 * row : 5 * row + 5] = rng.integers(1, 4, 5)
    weights[20, 98:104] = 1  # two of the last equal ones, four others
    weights[21] = rng.integers(0, 3, len(x))
    rows = verdicts.weighted_pearson(x, y, weights)
    assert np.isnan(rows[:20]).all() and np.isnan([verdicts.weighted_pearson(x, y, w) for w in weights[:20]]).all()
    np.testing.assert_allclose(rows[20:], [verdicts.weighted_pearson(x, y, w) for w in weights[20:]], rtol=1e-12)
    monkeypatch.setattr(verdicts, "CANCELLED", 0.0)  # one pass only: some of those rows get an r of noise
    assert np.isfinite(verdicts.weighted_pearson(x, y, weights)[:20]).any()
