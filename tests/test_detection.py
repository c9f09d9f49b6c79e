"""Mislabel detection (pdepth.metrics.detection): AUROC and AUPRC against sklearn, the within-class null against
shuffles, and the benchmark on planted studies: a detector is found, a score without information and one that only
knows the class are not."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from pdepth.config.jobs import FidelitySettings
from pdepth.metrics import detection
from pdepth.metrics.per_example import DYNAMICS
from pdepth.pipeline.detection import ORIENTATION
from pdepth.statistics.verdicts import resampler

SETTINGS = FidelitySettings(
    bootstrap=200, permutations=100, confidence=0.95, seed=0, run_groups=10, seed_pairs=60, power=0.8
)


@pytest.mark.parametrize("seed", range(5))
def test_auroc_and_average_precision_equal_sklearns_with_ties_and_weights(seed):
    rng = np.random.default_rng(seed)
    score = rng.integers(0, 6, 200).astype(float)  # many ties
    positive = rng.random(200) < 0.3
    weights = rng.integers(0, 4, 200).astype(float)
    groups = np.unique(score, return_inverse=True)[1]
    assert detection.auroc(groups, positive, weights) == pytest.approx(
        roc_auc_score(positive, score, sample_weight=weights)
    )
    assert detection.average_precision(groups, positive, weights) == pytest.approx(
        average_precision_score(positive, score, sample_weight=weights)
    )


def test_the_within_class_null_is_the_mean_of_shuffles_within_class():
    rng = np.random.default_rng(0)
    classes = rng.integers(0, 3, 300)
    positive = rng.random(300) < np.array([0.1, 0.4, 0.7])[classes]  # flips differ by class
    values = classes + rng.normal(0, 0.5, 300)  # a score that knows the class
    shuffled = []
    for _ in range(2000):
        order = np.arange(300)
        for c in range(3):
            members = np.flatnonzero(classes == c)
            order[members] = rng.permutation(members)
        shuffled.append(roc_auc_score(positive, values[order]))
    exact = detection.within_class_null(values, positive, classes)
    assert exact > 0.6  # the class alone finds flips here
    assert exact == pytest.approx(np.mean(shuffled), abs=0.005)


def planted(kind: str, n=3000, seeds=4, seed=0):
    """A label-noise study: 30% flipped, flips by class when ``kind`` is "class"; per seed a 90% training split and a
    score that finds the flips ("detector"), carries nothing ("null") or only knows the class ("class")."""
    rng = np.random.default_rng(seed)
    classes = rng.integers(0, 4, n)
    rate = np.array([0.1, 0.2, 0.4, 0.5])[classes] if kind == "class" else np.full(n, 0.3)
    flipped = rng.random(n) < rate
    in_train = rng.random((n, seeds)) < 0.9
    noise = rng.normal(size=(n, seeds))
    values = {"detector": 2 * flipped[:, None] + noise, "null": noise, "class": classes[:, None] + noise}[kind]
    return values, in_train, flipped, classes


def test_a_planted_detector_is_found_and_a_score_without_information_is_not():
    found = detection.detect(*planted("detector"), settings=SETTINGS, orientation=1)
    assert found.auroc.estimate > 0.9 and found.auroc.low > 0.85 and found.auroc.p_value < 0.01
    assert found.auprc.estimate > 0.7 and found.auprc.null == pytest.approx(0.3, abs=0.02)
    null = detection.detect(*planted("null"), settings=SETTINGS, orientation=1)
    assert null.auroc.low < 0.5 < null.auroc.high and null.auroc.p_value > 0.05
    assert abs(null.auroc.null - 0.5) < 0.01


def test_a_score_that_only_knows_the_class_is_no_detector():
    """Flips differ by class: the class alone ranks them (AUROC well above 0.5), but not beyond the null that keeps
    the class."""
    known = detection.detect(*planted("class"), settings=SETTINGS, orientation=1)
    assert known.auroc.estimate > 0.6
    assert known.auroc.null == pytest.approx(known.auroc.estimate, abs=0.02) and known.auroc.p_value > 0.05


def test_the_orientation_and_the_training_split_are_respected():
    values, in_train, flipped, classes = planted("detector")
    reversed_ = detection.detect(-values, in_train, flipped, classes, SETTINGS, orientation=-1)
    forward = detection.detect(values, in_train, flipped, classes, SETTINGS)
    assert reversed_.auroc.estimate == pytest.approx(forward.auroc.estimate)
    held_out_only = values.copy()
    held_out_only[in_train] = -100.0  # a seed's held-out examples are not scored: only training values count
    assert detection.detect(held_out_only, in_train, flipped, classes, SETTINGS).auroc.estimate == pytest.approx(0.5)


def test_the_api_table_finds_the_layer_whose_probe_rejects_the_flipped_labels():
    """pdepth.metrics.detection.probe_layers on a cube of 4 seeds: layer 0's vote for the given label is low for
    flipped labels (found), layer 1's carries nothing (AUROC near 0.5, its interval covering it)."""
    import xarray as xr

    rng = np.random.default_rng(1)
    n, seeds = 2000, 4
    flipped = rng.random(n) < 0.3
    votes = np.stack([1 - flipped[:, None] * 0.6 + rng.normal(0, 0.2, (n, seeds)), rng.random((n, seeds))], axis=2)
    cube = xr.Dataset(
        {
            "knn_true_conf": (("example", "seed", "layer"), votes),
            "in_train": (("example", "seed"), rng.random((n, seeds)) < 0.9),
        },
        coords={"label": ("example", rng.integers(0, 10, n))},
    )
    table = detection.probe_layers(cube, flipped, SETTINGS)
    assert list(table.layer) == [0, 1]
    assert table.auroc[0] > 0.9 and table.auroc_low[0] > 0.85
    assert table.auroc_low[1] < 0.5 < table.auroc_high[1]


def test_score_agreement_is_measured_across_halves_of_the_seeds():
    """pdepth.metrics.agreement: a per-example difficulty shared by every seed is found (r near 1 across halves); a
    per-seed quirk that one network's two scores share, with no difficulty, gives r near 0 across halves, though the
    same-seed correlation of the two scores is near 1."""
    from pdepth.metrics import agreement
    from pdepth.statistics.verdicts import assess

    rng = np.random.default_rng(0)
    n, seeds = 1500, 4
    difficulty = rng.normal(size=(n, 1))
    quirk = rng.normal(size=(n, seeds))
    echo = quirk + 0.1 * rng.normal(size=(n, seeds))
    planted = agreement.cross_seed_test(difficulty + 0.3 * rng.normal(size=(n, seeds)), np.repeat(difficulty, seeds, 1))
    found = assess(planted, 1, 0.0, SETTINGS)
    coupled = assess(agreement.cross_seed_test(quirk, echo), 1, 0.0, SETTINGS)
    assert found.estimate > 0.9 and found.low > 0.85
    assert abs(coupled.estimate) < 0.1 and coupled.low < 0 < coupled.high
    assert np.corrcoef(quirk[:, 0], echo[:, 0])[0, 1] > 0.9


def test_every_training_dynamics_score_has_an_orientation():
    """The benchmark scores every variable of per_example.DYNAMICS: each needs its direction (a new score without
    one stopped the noise40 study's detection job)."""
    assert set(DYNAMICS) <= set(ORIENTATION)


def test_the_layer_chosen_out_of_sample_is_scored_on_seeds_it_was_not_chosen_on():
    """Two candidates on 4 seeds: A finds every flip on seeds 0-2 and nothing (a constant: AUROC 0.5) on seed 3, B the
    reverse. Each seed is scored with the candidate best on the other three: A everywhere, so the cross-fitted AUROC
    is (1 + 1 + 1 + 0.5) / 4, where the best per seed would claim 1."""
    rng = np.random.default_rng(0)
    n, seeds = 400, 4
    flipped, classes = rng.random(n) < 0.3, rng.integers(0, 4, n)
    in_train = np.ones((n, seeds), bool)
    perfect, constant = flipped.astype(float)[:, None], np.zeros((n, 1))
    a = np.hstack([perfect, perfect, perfect, constant])
    b = np.hstack([constant, constant, constant, perfect])
    chosen = detection.chosen_out_of_sample([a, b], in_train, flipped, classes, SETTINGS)
    np.testing.assert_array_equal(chosen.choice, [0, 0, 0, 0])
    assert chosen.auroc.estimate == pytest.approx(0.875)
    assert chosen.auroc.null == pytest.approx(0.5, abs=0.02)  # the chosen candidates shuffled within class
    swapped = detection.chosen_out_of_sample([b, a], in_train, flipped, classes, SETTINGS)
    np.testing.assert_array_equal(swapped.choice, [1, 1, 1, 1])  # the same candidate, whatever its position


def test_cleanlab_scores_each_seeds_training_examples_by_self_confidence():
    """cleanlab's default label quality is the probability of the given label, so on the probes' vote fractions it
    ranks exactly as the probe's vote does; examples outside a seed's training split get none."""
    rng = np.random.default_rng(1)
    n, seeds, classes = 300, 2, 3
    labels = rng.integers(0, classes, n)
    probs = rng.dirichlet(np.ones(classes), size=(n, seeds))
    probs[np.arange(n), :, labels] += 2.0 * (rng.random((n, seeds)) < 0.7)  # most labels look right
    probs /= probs.sum(-1, keepdims=True)
    in_train = rng.random((n, seeds)) < 0.8
    quality, issues = detection.cleanlab_scores(probs, labels, in_train)
    expected = np.where(in_train, probs[np.arange(n), :, labels], np.nan)
    np.testing.assert_allclose(quality, expected, rtol=1e-6)
    assert issues[in_train].any() and not issues[~in_train].any()


def test_files_by_score_point_load_from_older_versions_and_refuse_other_points(tmp_path):
    """Older probes.npz / crossval.npz copied the points' epochs (skipped on load), older model.pt kept the earlier
    weights by epoch (read as the list, in epoch order); a file with other points than its run is refused by name."""
    import torch

    from pdepth.pipeline.detection import crossval_probabilities, earlier_votes
    from pdepth.probing.results import ProbeResults
    from pdepth.records import save_npz
    from pdepth.training.runs import load_weights

    votes = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)  # 2 earlier points, 3 examples, 4 probes
    fields = {name: np.zeros(1) for name in ("knn_pred", "votes", "layer_names", "layer_dims", "layer_reductions")}
    fields |= {"logits": np.zeros((3, 2), np.float32)}
    older = fields | {"settings": "{}", "search": "exact", "earlier_epochs": np.array([1, 5]), "job": ""}
    save_npz(tmp_path / "probes.npz", older | {"earlier_label_votes": votes})
    assert not hasattr(ProbeResults.load(tmp_path / "probes.npz"), "earlier_epochs")
    found = earlier_votes([tmp_path / "probes.npz"], points=3)
    np.testing.assert_array_equal(found[1][:, 0], votes[1])
    with pytest.raises(ValueError, match="probes.npz: 2 score points, but the runs have 3"):
        earlier_votes([tmp_path / "probes.npz"], points=4)
    save_npz(
        tmp_path / "crossval.npz", {"probabilities": votes, "score_epochs": [1, 5], "fold": np.zeros(3), "job": ""}
    )
    assert len(crossval_probabilities([tmp_path / "crossval.npz"], points=2)) == 2
    with pytest.raises(ValueError, match="crossval.npz: 2 score points, but the runs have 3"):
        crossval_probabilities([tmp_path / "crossval.npz"], points=3)
    torch.save(
        {"state_dict": {}, "state_dict_after": {5: {"w": torch.ones(1)}, 1: {"w": torch.zeros(1)}}}, tmp_path / "m"
    )
    saved = load_weights(tmp_path / "m", "cpu")
    assert [float(state["w"]) for state in saved["state_dicts_at_points"]] == [0.0, 1.0]  # after epochs 1, then 5


def test_files_of_another_version_are_refused_with_what_to_do(tmp_path):
    """A probes.npz from before the final model's logits moved there, a run.npz that still holds them: each names
    itself, what differs and the way out, instead of a TypeError from the dataclass."""
    from pdepth.probing.results import ProbeResults
    from pdepth.records import save_npz
    from pdepth.training.runs import RunOutputs

    names = ("knn_pred", "votes", "layer_names", "layer_dims", "layer_reductions", "earlier_label_votes")
    save_npz(tmp_path / "probes.npz", {name: np.zeros(1) for name in names} | {"settings": "{}", "search": "exact"})
    with pytest.raises(ValueError, match=r"probes.npz: it lacks \['logits'\].*Remove it .* run the workflow again"):
        ProbeResults.load(tmp_path / "probes.npz")
    with pytest.raises(ValueError, match=r"probes.npz: it has no 'logits'"):
        ProbeResults.final_logits(tmp_path / "probes.npz")
    run = {name: np.zeros(1) for name in ("example_index", "in_train", "snapshot_preds", "snapshot_steps")}
    run |= {name: np.zeros(1) for name in ("snapshot_lag", "score_epochs", "forgetting_events", "never_learned")}
    run |= {name: np.zeros(1) for name in ("aum", "confidence", "variability", "correctness", "presentations")}
    save_npz(tmp_path / "run.npz", run | {"el2n": np.zeros(1), "logits": np.zeros((1, 2))})
    with pytest.raises(ValueError, match=r"run.npz: it holds \['logits'\], which this version does not"):
        RunOutputs.load(tmp_path / "run.npz")


def test_the_bootstraps_batched_statistics_equal_the_row_by_row_ones():
    """Every Test with a fast path (``batched``) gives, for a batch of resampled weights, what its statistic gives
    row by row, to rounding (the sums over tie groups run along another axis)."""
    from pdepth.metrics import agreement

    values, in_train, flipped, classes = planted("detector", n=600)
    rank = detection.ranking(np.round(values, 1), in_train, 1)  # ties
    weights = resampler(classes)(np.random.default_rng(1), 7)
    tests = {
        "auroc": detection.detection_test(rank, flipped, classes, detection.auroc_of, lambda s: 0.5),
        "auprc": detection.detection_test(rank, flipped, classes, detection.average_precision_of, lambda s: 0.3),
        "chosen": detection.chosen_test([values, -values, values**2], in_train, flipped, classes, 1)[0],
        "agreement": agreement.cross_seed_test(values, np.where(in_train, values + 1, np.nan)),
    }
    everything = np.ones(values.shape[1], bool)
    for name, test in tests.items():
        rows = [test.statistic(row, everything) for row in weights]
        np.testing.assert_allclose(test.batched(weights, everything), rows, rtol=1e-12, atol=0, err_msg=name)
        assert len(set(np.round(rows, 12))) > 1, name  # the resamples move the statistic: the check can fail
    some = everything.copy()
    some[0] = False  # a statistic of some seeds only: row by row still
    for name in ("auroc", "chosen"):
        rows = [tests[name].statistic(row, some) for row in weights]
        np.testing.assert_allclose(tests[name].batched(weights, some), rows, rtol=1e-12, err_msg=name)


def test_a_seed_whose_other_seeds_define_no_candidate_gets_none():
    """A candidate scored on seed 3 only: seeds 0-2 choose it on seed 3 and are NaN on themselves; seed 3, whose
    other seeds define no candidate, gets none (-1) rather than an error, row by row and in the batched path."""
    values, in_train, flipped, classes = planted("detector", n=400)
    only_last = np.where(np.arange(4) == 3, values, np.nan)
    test, choice = detection.chosen_test([only_last, only_last + 1], in_train, flipped, classes, 1)
    assert list(choice) == [0, 0, 0, -1]
    everything = np.ones(4, bool)
    weights = resampler(classes)(np.random.default_rng(0), 3)
    with pytest.warns(RuntimeWarning):  # no seed has a value: the mean of nothing
        rows = [test.statistic(row, everything) for row in weights]
    assert np.isnan(rows).all() and np.isnan(test.batched(weights, everything)).all()
    assert detection.best_candidate(np.full((2, 3), np.nan)) == -1
    assert detection.best_candidate(np.array([[np.nan, 0.6], [0.7, np.nan]])) == 1
