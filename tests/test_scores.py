"""The training-dynamics scores against hand computations, and the on-device accumulator against the numpy
definitions on a random history."""

import io
import math
import statistics

import numpy as np
import pytest
import torch

from pdepth.metrics import scores
from pdepth.training.dynamics import TrainingScores

# Correctness histories (T, N), one column per example.
HISTORIES = {
    "forgotten twice": ([1, 0, 1, 0], 2, False),
    "never learned": ([0, 0, 0, 0], 0, True),
    "learned at the first presentation": ([1, 1, 1, 1], 0, False),
    "learned late, then forgotten": ([0, 1, 1, 0], 1, False),
    "forgotten, relearned": ([1, 0, 0, 1], 1, False),
}


def columns(sequences) -> np.ndarray:
    return np.array(sequences, bool).T


def test_forgetting_events_and_never_learned():
    correct = columns([sequence for sequence, _, _ in HISTORIES.values()])
    assert scores.forgetting_events(correct).tolist() == [events for _, events, _ in HISTORIES.values()]
    assert scores.never_learned(correct).tolist() == [never for _, _, never in HISTORIES.values()]
    assert scores.forgetting_score(correct).tolist() == [2.0, 4.0, 0.0, 1.0, 1.0]  # never learned: T presentations


def test_forgetting_counts_only_seen_presentations():
    correct = columns([[1, 0, 0, 1], [0, 1, 1, 1], [1, 1, 1, 1]])
    seen = columns([[1, 1, 0, 1], [1, 0, 1, 1], [0, 0, 0, 0]])  # seen: [1, 0, 1], [0, 1, 1] and nothing
    assert scores.forgetting_events(correct, seen).tolist() == [1, 0, 0]
    assert scores.never_learned(correct, seen).tolist() == [False, False, True]
    score = scores.forgetting_score(correct, seen)
    assert score[:2].tolist() == [1.0, 0.0] and np.isnan(score[2])
    # An unseen correct entry between two seen incorrect ones is not a presentation: no forgetting event.
    assert scores.forgetting_events(columns([[0, 1, 0]]), columns([[1, 0, 1]])).tolist() == [0]
    assert scores.never_learned(columns([[0, 1, 0]]), columns([[1, 0, 1]])).tolist() == [True]


# Two runs of 4 presentations, one column per example, and the total that Toneva et al.'s code gives them
# (mtoneva/example_forgetting, order_examples_by_forgetting.py: compute_forgetting_statistics, then
# sort_examples_by_forgetting, run unchanged on these histories): never learned in a run adds its presentations.
TONEVA_RUNS = (
    [[1, 1, 1, 1], [0, 1, 0, 1], [0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 1, 1]],
    [[1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0], [1, 1, 0, 1]],
)
TONEVA_TOTALS = [0, 5, 8, 3, 1]


def test_the_forgetting_score_is_the_count_toneva_et_als_code_sorts_by():
    per_run = [scores.forgetting_score(columns(run)) for run in TONEVA_RUNS]
    assert np.sum(per_run, axis=0).tolist() == TONEVA_TOTALS
    events = [scores.forgetting_events(columns(run)) for run in TONEVA_RUNS]
    never = [scores.never_learned(columns(run)) for run in TONEVA_RUNS]
    assert np.sum(scores.toneva_forgetting(np.array(events), np.array(never), 4), axis=0).tolist() == TONEVA_TOTALS


def test_ties_go_to_the_first_largest_logit():
    logits = np.array([[2.0, 2.0, 1.0], [2.0, 2.0, 1.0], [0.0, 3.0, 3.0]])
    assert scores.correct_predictions(logits, np.array([0, 1, 2])).tolist() == [True, False, False]
    assert scores.margins(logits, np.array([0, 1, 2])).tolist() == [0.0, 0.0, 0.0]


def test_area_under_margin_by_hand():
    labels = np.array([0, 2])
    logits = np.array(
        [
            [[3.0, 1.0, 2.0], [0.0, 0.0, 5.0]],  # margins 3 - 2 = 1 and 5 - 0 = 5
            [[1.0, 4.0, 0.0], [2.0, -1.0, 2.0]],  # margins 1 - 4 = -3 and 2 - 2 = 0 (tie)
        ]
    )
    np.testing.assert_allclose(scores.area_under_margin(logits, labels), [-1.0, 2.5])
    seen = np.array([[True, False], [True, False]])
    logits[0, 1] = np.nan  # an unseen presentation's logits are ignored
    aum = scores.area_under_margin(logits, labels, seen)
    assert aum[0] == -1.0 and np.isnan(aum[1])
    seen = np.array([[True, True], [False, True]])
    logits[0, 1] = [0.0, 0.0, 5.0]
    logits[1, 0] = np.nan
    np.testing.assert_allclose(scores.area_under_margin(logits, labels, seen), [1.0, 2.5])


def test_dataset_map_against_statistics():
    probs = np.array([[0.9, 0.1, 0.5], [0.7, 0.2, 0.5], [0.2, 0.6, 0.5], [0.95, 0.3, 0.5]])
    correct = probs > 0.5
    seen = np.array([[1, 1, 1], [1, 0, 1], [0, 1, 1], [1, 1, 1]], bool)
    for mask in (None, seen):
        keep = np.ones_like(seen) if mask is None else seen
        confidence, variability, correctness = scores.dataset_map(probs, correct, mask)
        for n in range(3):
            values = probs[keep[:, n], n].tolist()
            assert confidence[n] == pytest.approx(statistics.mean(values))
            assert variability[n] == pytest.approx(statistics.pstdev(values), abs=1e-12)
            assert correctness[n] == pytest.approx(statistics.mean(correct[keep[:, n], n].tolist()))
    confidence, variability, correctness = scores.dataset_map(probs, correct, np.zeros_like(seen))
    assert np.isnan(confidence).all() and np.isnan(variability).all() and np.isnan(correctness).all()


@pytest.mark.parametrize("classes", [2, 3, 10])
def test_el2n(classes):
    labels = np.array([1, 0])
    probs = np.stack([np.eye(classes)[1], np.full(classes, 1 / classes)])
    expected_uniform = math.sqrt((1 - 1 / classes) ** 2 + (classes - 1) / classes**2)
    np.testing.assert_allclose(scores.el2n(probs, labels), [0.0, expected_uniform], atol=1e-15)


def test_el2n_by_hand():
    assert scores.el2n(np.array([[0.5, 0.3, 0.2]]), np.array([1]))[0] == pytest.approx(math.sqrt(0.25 + 0.49 + 0.04))


def test_final_loss():
    logits = np.array([[0.0, 0.0, 0.0], [1000.0, 0.0, -1000.0], [1000.0, 0.0, -1000.0], [2.0, 1.0, 0.0]])
    loss = scores.final_loss(logits, np.array([2, 0, 1, 1]))
    expected_last = -math.log(math.e / (math.e**2 + math.e + 1))
    np.testing.assert_allclose(loss, [math.log(3), 0.0, 1000.0, expected_last], atol=1e-12)


def random_history(seed: int, n=23, presented=20, classes=4, epochs=6, batch_size=6):
    """Per epoch, a random order of the first ``presented`` examples in batches, the last partial batch dropped (so
    a few examples miss each epoch and some may never come); logits on a half-integer grid so that ties happen."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(classes, size=n)
    logits = np.round(rng.normal(scale=2.0, size=(epochs, n, classes)) * 2) / 2
    batches = []
    for _ in range(epochs):
        order = rng.permutation(presented)
        batches.append([order[i : i + batch_size] for i in range(0, presented - batch_size + 1, batch_size)])
    seen = np.zeros((epochs, n), bool)
    for epoch, epoch_batches in enumerate(batches):
        seen[epoch, np.concatenate(epoch_batches)] = True
    logits[~seen] = np.nan
    return labels, logits, batches, seen


def expected_scores(labels, logits, seen, el2n_epoch):
    correct = scores.correct_predictions(np.nan_to_num(logits), labels) & seen
    confidence, variability, correctness = scores.dataset_map(
        scores.assigned_probability(logits, labels), correct, seen
    )
    el2n = np.where(seen[el2n_epoch], scores.el2n(scores.softmax(logits[el2n_epoch]), labels), np.nan)
    return {
        "forgetting_events": scores.forgetting_events(correct, seen),
        "never_learned": scores.never_learned(correct, seen),
        "presentations": seen.sum(axis=0),
        "aum": scores.area_under_margin(logits, labels, seen),
        "confidence": confidence,
        "variability": variability,
        "correctness": correctness,
        "el2n": el2n,
    }


def feed(accumulator, labels, logits, schedule: dict[int, list], el2n_epoch: int):
    """Presents each epoch's batches (epoch -> list of index arrays) in order, marking EL2N during ``el2n_epoch``."""
    for epoch, batches in schedule.items():
        for batch in batches:
            index = torch.as_tensor(batch, device=accumulator.device)
            batch_logits = torch.as_tensor(logits[epoch, batch], dtype=torch.float32, device=accumulator.device)
            batch_labels = torch.as_tensor(labels[batch], device=accumulator.device)
            accumulator.observe(index, batch_logits, batch_labels)
            if epoch == el2n_epoch:
                accumulator.mark_el2n(index, batch_logits, batch_labels)


def assert_same_scores(result, expected):
    assert result.keys() == expected.keys()
    for name, value in expected.items():
        if name in ("forgetting_events", "presentations"):
            assert result[name].dtype == np.int32
        elif name == "never_learned":
            assert result[name].dtype == bool
        else:
            assert result[name].dtype == np.float32
        np.testing.assert_allclose(result[name], value, rtol=1e-6, atol=1e-6, err_msg=name)


DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA"))]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_accumulator_equals_the_definitions(seed, device):
    labels, logits, batches, seen = random_history(seed)
    accumulator = TrainingScores(len(labels), device)
    feed(accumulator, labels, logits, dict(enumerate(batches)), el2n_epoch=3)
    result = accumulator.result()
    expected = expected_scores(labels, logits, seen, el2n_epoch=3)
    assert_same_scores(result, expected)
    assert np.isnan(result["aum"][-3:]).all() and (result["presentations"][-3:] == 0).all()
    assert result["forgetting_events"].any() and result["never_learned"][:20].any()


def test_accumulator_resumes_from_a_checkpoint():
    labels, logits, batches, _ = random_history(seed=4)
    whole = TrainingScores(len(labels))
    feed(whole, labels, logits, dict(enumerate(batches)), el2n_epoch=3)
    # The checkpoint is taken after the first batch of the EL2N epoch.
    before = {**dict(enumerate(batches[:3])), 3: batches[3][:1]}
    after = {3: batches[3][1:], **{epoch: batches[epoch] for epoch in range(4, len(batches))}}
    interrupted = TrainingScores(len(labels))
    feed(interrupted, labels, logits, before, el2n_epoch=3)
    checkpoint = io.BytesIO()
    torch.save(interrupted.state(), checkpoint)
    checkpoint.seek(0)
    resumed = TrainingScores(len(labels))
    resumed.restore(torch.load(checkpoint))
    feed(resumed, labels, logits, after, el2n_epoch=3)
    expected, result = whole.result(), resumed.result()
    for name, value in expected.items():
        np.testing.assert_array_equal(result[name], value, err_msg=name)


def test_state_is_a_copy_and_restore_checks_the_size():
    accumulator = TrainingScores(3)
    state = accumulator.state()
    assert all(tensor.device.type == "cpu" for tensor in state.values())
    accumulator.observe(torch.tensor([0, 2]), torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0]))
    assert state["presentations"].tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="over 4 examples"):
        TrainingScores(4).restore(state)


def test_the_last_el2n_mark_wins():
    accumulator = TrainingScores(2)
    accumulator.mark_el2n(torch.tensor([0]), torch.tensor([[0.0, 0.0]]), torch.tensor([0]))
    assert accumulator.result()["el2n"][0] == pytest.approx(math.sqrt(0.5))
    accumulator.mark_el2n(torch.tensor([0]), torch.tensor([[0.0, math.log(3)]]), torch.tensor([1]))
    el2n = accumulator.result()["el2n"]
    assert el2n[0] == pytest.approx(math.sqrt(2 * 0.25**2)) and np.isnan(el2n[1])


def test_accumulator_never_synchronises_with_the_host():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA")
    labels, logits, batches, _ = random_history(seed=5)
    accumulator = TrainingScores(len(labels), "cuda")
    inputs = [
        (torch.as_tensor(batch, device="cuda"), torch.as_tensor(logits[0, batch], device="cuda"))
        for batch in batches[0]
    ]
    targets = [torch.as_tensor(labels[batch], device="cuda") for batch in batches[0]]
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for (index, batch_logits), batch_labels in zip(inputs, targets, strict=True):
            accumulator.observe(index, batch_logits, batch_labels)
            accumulator.mark_el2n(index, batch_logits, batch_labels)
    finally:
        torch.cuda.set_sync_debug_mode("default")


def test_an_index_repeated_within_one_call_is_refused_at_the_next_read():
    """Its sums would count the example twice in one presentation; the check stays on the device until the state is
    read (no host synchronisation per minibatch)."""
    accumulator = TrainingScores(3)
    logits, labels = torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0])
    accumulator.observe(torch.tensor([0, 2]), logits, labels)
    assert accumulator.result()["presentations"].tolist() == [1, 0, 1]
    accumulator.observe(torch.tensor([1, 1]), logits, labels)
    for read in (accumulator.state, accumulator.result):
        with pytest.raises(ValueError, match="one example index twice in one call"):
            read()


@pytest.mark.parametrize(
    ("skipped", "first_six"),
    [
        (0, [-1.0, -3.5, -2.1, -1.6667, -1.1667, -2.6667]),
        (1, [-1.0, -4.125, -1.625, -1.6, -1.6, -2.9]),
    ],
)
def test_aum_equals_the_authors_calculator_with_and_without_the_first_epoch(skipped, first_six):
    """The values asappresearch/aum's AUMCalculator (aum 1.0.2, aum/aum.py) gave on this history, fed every
    presentation, or from the second epoch on as its runner does (examples/paper_replication/runner.py: "after the
    first epoch due to variability of random initialization"); run outside this repository, pinned here."""
    labels, logits, batches, seen = random_history(0)
    accumulator = TrainingScores(len(labels))
    for epoch, epoch_batches in enumerate(batches):
        for batch in epoch_batches:
            index, batch_logits = torch.as_tensor(batch), torch.as_tensor(logits[epoch, batch], dtype=torch.float32)
            accumulator.observe(index, batch_logits, torch.as_tensor(labels[batch]), margin=epoch >= skipped)
    result = accumulator.result()
    np.testing.assert_allclose(result["aum"][:6], first_six, atol=1e-4)
    later = seen.copy()
    later[:skipped] = False
    np.testing.assert_allclose(result["aum"], scores.area_under_margin(logits, labels, later), rtol=1e-6)
    assert (result["presentations"] == seen.sum(0)).all()  # the other scores still see every presentation


def test_the_observer_counts_aum_from_the_configured_epoch_across_a_checkpoint():
    from pdepth.training.dynamics import DynamicsObserver

    labels = torch.tensor([0, 1])
    first, second = torch.tensor([[1.0, 0.0], [0.0, 3.0]]), torch.tensor([[3.0, 0.0], [0.0, 1.0]])
    observer = DynamicsObserver(labels, set(), aum_from_epoch=2)
    observer.trained(torch.tensor([0, 1]), first, step=0)
    observer.epoch_done(1)
    resumed = DynamicsObserver(labels, set(), aum_from_epoch=2)
    resumed.restore(observer.state())
    resumed.trained(torch.tensor([0, 1]), second, step=1)
    result = resumed.result(last_epoch=2)
    np.testing.assert_allclose(result.values["aum"][-1], [3.0, 1.0])  # epoch 2's margins only
    np.testing.assert_allclose(result.values["confidence"][-1], [(0.7311 + 0.9526) / 2] * 2, atol=1e-4)
