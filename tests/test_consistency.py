"""Ensemble scores on 4 examples x 5 seeds, worked out by hand."""

import numpy as np

from pdepth.metrics import consistency

LABELS = np.array([1, 0, 3, 2])
PRED = np.array(
    [
        [1, 1, 1, 2, 1],  # held out 5 times: 4 right
        [2, 2, 0, 0, 3],  # held out in the first 4 seeds: 2 vs 0 tied, the label (0) is among the tied
        [1, 2, 1, 2, 0],  # 1 vs 2 tied, the label (3) is not: the smaller class wins
        [2, 2, 2, 2, 2],  # never held out
    ]
)
HELD_OUT = np.array(
    [
        [True] * 5,
        [True, True, True, True, False],
        [True] * 5,
        [False] * 5,
    ]
)


def test_counts_consensus_and_its_tie_break():
    counts = consistency.class_counts(PRED, HELD_OUT, num_classes=4)
    np.testing.assert_array_equal(counts, [[0, 4, 1, 0], [2, 0, 2, 0], [1, 2, 2, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(consistency.consensus_class(counts, LABELS), [1, 0, 1, consistency.NO_CLASS])


def test_consistency_and_consensus_consistency():
    counts = consistency.class_counts(PRED, HELD_OUT, num_classes=4)
    consensus = consistency.consensus_class(counts, LABELS)
    np.testing.assert_allclose(consistency.consistency(PRED, LABELS, HELD_OUT), [0.8, 0.5, 0.0, np.nan])
    np.testing.assert_allclose(consistency.consensus_consistency(PRED, consensus, HELD_OUT), [0.8, 0.5, 0.4, np.nan])


def test_entropy_in_nats():
    counts = consistency.class_counts(PRED, HELD_OUT, num_classes=4)
    expected = [
        -(0.8 * np.log(0.8) + 0.2 * np.log(0.2)),  # 0.5004
        np.log(2),
        -(0.2 * np.log(0.2) + 2 * 0.4 * np.log(0.4)),  # 1.0549
        np.nan,
    ]
    np.testing.assert_allclose(consistency.prediction_entropy(counts), expected)
    assert consistency.prediction_entropy(np.array([[7, 0, 0]]))[0] == 0


def test_masked_mean_skips_missing_depths():
    pd = np.array([[0, 2, np.nan, 4], [1, 1, 1, 1]], dtype=float)
    mask = np.array([[True, True, True, False], [False] * 4])
    mean, n = consistency.masked_mean(pd, mask)
    np.testing.assert_allclose(mean, [1.0, np.nan])
    np.testing.assert_array_equal(n, [2, 0])
