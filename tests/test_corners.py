"""Difficulty corners, leave-one-out consensus-consistency and label noise on hand-made inputs."""

import numpy as np
import pytest

from pdepth.data.label_noise import corrupt_labels
from pdepth.metrics import consistency, corners
from pdepth.metrics import per_example as metrics
from pdepth.metrics.consistency import class_counts


def test_corners_on_a_hand_made_point_set():
    # PD_val and PD_train in layers; rescaled by their ranges (0..4 and 0..2)
    pd_val = np.array([0.0, 0.0, 4.0, 4.0, 2.0, 0.4, np.nan])
    pd_train = np.array([0.0, 2.0, 0.0, 2.0, 1.0, 0.2, 1.0])
    distances = corners.corner_distances(pd_val, pd_train)
    np.testing.assert_allclose(distances[0], [0, 1, 1, np.sqrt(2)])
    np.testing.assert_allclose(distances[4], [np.sqrt(0.5)] * 4)
    np.testing.assert_allclose(distances[5, 0], np.hypot(0.1, 0.1))
    assert np.isnan(distances[6]).all()
    category = corners.closest_to_corners(distances, n=1)
    np.testing.assert_array_equal(category, [1, 2, 3, 4, 0, 0, 0])
    category = corners.closest_to_corners(distances, n=2)  # example 5 is second closest to "easy"
    assert category[5] == 1 and category[6] == corners.NONE


def test_leave_one_out_consensus_consistency():
    pred = np.array([[1, 1, 2], [0, 0, 0]])
    held_out = np.array([[True, True, True], [True, False, True]])
    labels = np.array([1, 0])
    counts = class_counts(pred, held_out, 3)
    loo = consistency.leave_one_out_consensus_consistency(pred, labels, held_out, counts)
    # example 0: without seed 0 -> {1, 2} tie, label 1 wins, 1/2; without seed 2 -> {1, 1}: 1
    np.testing.assert_allclose(loo[0], [0.5, 0.5, 1.0])
    np.testing.assert_allclose(loo[1], [1.0, np.nan, 1.0])  # not held out in seed 1


def test_consensus_vote_fraction():
    votes = np.array([[[3, 0], [1, 2]], [[0, 3], [2, 1]]], np.uint8)  # (N=2, L=2, C=2), k = 3
    np.testing.assert_allclose(metrics.consensus_fraction(votes, np.array([1, -1]), 3), [[0, 2 / 3], [np.nan] * 2])


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.4])
def test_label_noise_flips_exactly_the_fraction_and_never_keeps_the_label(fraction):
    labels = np.tile(np.arange(10), 100)
    candidates = np.arange(1000) < 800  # the original training set; the last 200 are test examples
    given, flipped = corrupt_labels(labels, candidates, fraction, 10, seed=3)
    assert flipped.sum() == round(fraction * 800) and not flipped[~candidates].any()
    assert (given[flipped] != labels[flipped]).all() and (given[~flipped] == labels[~flipped]).all()
    again, _ = corrupt_labels(labels, candidates, fraction, 10, seed=3)
    np.testing.assert_array_equal(given, again)
    if fraction:
        other, _ = corrupt_labels(labels, candidates, fraction, 10, seed=4)
        assert not np.array_equal(given, other)
        assert len(np.unique(given[flipped])) == 10  # new classes spread over all classes


def test_two_classes_flip_to_the_other_one():
    given, flipped = corrupt_labels(np.array([0, 1, 0, 1]), np.ones(4, bool), 0.5, 2, seed=0)
    np.testing.assert_array_equal(given[flipped], 1 - np.array([0, 1, 0, 1])[flipped])
