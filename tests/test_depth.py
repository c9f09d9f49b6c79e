"""Prediction depth on hand-built probe predictions with known answers (Section 2.1 of the paper)."""

import numpy as np

from pdepth.probing.depth import UNDEFINED, prediction_depth


def depth(probes, pred):
    return int(prediction_depth(np.array([probes]), np.array([pred]))[0])


def test_all_layers_agree_is_depth_zero():
    assert depth([3, 3, 3, 3, 3], 3) == 0


def test_only_the_last_agrees_is_depth_L():
    assert depth([1, 2, 0, 2, 3], 3) == 4  # L = 4


def test_agree_disagree_agree_is_one_past_the_last_disagreement():
    assert depth([3, 3, 1, 3, 3], 3) == 3
    assert depth([3, 1, 1, 3, 3], 3) == 3
    assert depth([1, 3, 3, 3, 3], 3) == 1


def test_last_probe_disagrees_is_undefined():
    assert depth([3, 3, 3, 3, 1], 3) == UNDEFINED
    assert depth([1, 1, 1, 1, 1], 3) == UNDEFINED


def test_vectorised_over_examples_and_seeds():
    knn_pred = np.array([[[0, 0, 0], [1, 0, 0]], [[2, 2, 1], [2, 1, 1]]])  # (example, seed, layer)
    pred = np.array([[0, 0], [1, 1]])
    np.testing.assert_array_equal(prediction_depth(knn_pred, pred), [[0, 1], [2, 1]])
