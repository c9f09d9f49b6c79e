"""Iteration learned, learning curves, margins, the 0-Hinge loss: small cases worked out by hand."""

import numpy as np
import pytest
import torch
from torch import nn

from pdepth.data.augment import Normalizer
from pdepth.metrics.learning import iteration_learned, learning_curve, rescale_iterations
from pdepth.metrics.margins import input_margin, output_margin
from pdepth.training.losses import zero_hinge

SNAPSHOTS = np.array(
    [  # rows: snapshots at steps 0, 10, 20, 30 (the last is the final model); columns: 4 examples
        [1, 0, 1, 0],
        [1, 2, 0, 0],
        [1, 1, 1, 0],
        [1, 1, 1, 1],
    ]
)


def test_iteration_learned_is_the_first_step_of_the_final_streak():
    # 0: never changed; 1: 0, 2, then 1 from step 20; 2: 1, 0, then 1 from step 20; 3: changes at the very end
    np.testing.assert_array_equal(iteration_learned(SNAPSHOTS, np.array([0, 10, 20, 30])), [0, 20, 20, 30])


def test_rescaling_puts_the_95th_percentile_at_one():
    steps = np.arange(21) * 10.0  # the 95th percentile of 0..200 is 190
    rescaled = rescale_iterations(steps)
    assert rescaled[0] == 0 and rescaled[19] == pytest.approx(1.0) and rescaled[20] == pytest.approx(200 / 190)
    np.testing.assert_array_equal(rescale_iterations(np.zeros(5)), np.zeros(5))
    np.testing.assert_allclose(rescale_iterations(np.array([0.0] * 99 + [50.0])), [0.0] * 99 + [1.0])


def test_learning_curve_per_group():
    labels = np.array([1, 1, 1, 0])
    groups = {"first two": (np.array([True, True, False, False]), labels), "none": (np.zeros(4, bool), labels)}
    curve = learning_curve(SNAPSHOTS, groups)
    np.testing.assert_allclose(curve[:, 0], [0.5, 0.5, 1.0, 1.0])
    assert np.isnan(curve[:, 1]).all()


def test_output_margin():
    np.testing.assert_allclose(
        output_margin(np.array([[1.0, 3.0, 2.0], [2.0, 2.0, 0.0], [-1.0, 5.0, 0.5]])), [1, 0, 4.5]
    )


def test_input_margin_of_a_linear_model_is_its_distance_to_the_boundary():
    torch.manual_seed(0)
    linear = nn.Sequential(nn.Flatten(), nn.Linear(12, 4))
    images = torch.randint(0, 256, (16, 3, 2, 2), dtype=torch.uint8)
    identity = Normalizer((0.0,) * 3, (1.0,) * 3, torch.device("cpu"))  # the model sees pixels in [0, 1]
    margins = input_margin(linear, images, identity, batch_size=5)
    w, b = linear[1].weight.detach().double().numpy(), linear[1].bias.detach().double().numpy()
    x = images.double().flatten(1).numpy() / 255
    z = x @ w.T + b
    expected = []
    for zi, i in zip(z, z.argmax(1), strict=True):
        expected.append(min(abs(zi[i] - zi[j]) / np.linalg.norm(w[i] - w[j]) for j in range(4) if j != i))
    np.testing.assert_allclose(margins, expected, rtol=1e-4)
    runner_up_only = input_margin(linear, images, identity, candidates=1)
    assert (runner_up_only >= margins - 1e-6).all()  # fewer candidates can only miss a nearer boundary


def test_zero_hinge_loss_and_gradient_on_three_classes():
    logits = torch.tensor([[1.0, 3.0, 0.5], [1.0, 3.0, 0.5]], requires_grad=True)
    labels = torch.tensor([0, 1])
    loss = zero_hinge(logits, labels)
    # example 0 (label 0): max(0, 3 - 1) + max(0, 0.5 - 1) = 2; example 1 (label 1, the largest): 0; mean 1
    assert loss.item() == pytest.approx(1.0)
    loss.backward()
    np.testing.assert_allclose(logits.grad.numpy(), [[-0.5, 0.5, 0.0], [0.0, 0.0, 0.0]])


def test_iteration_learned_counts_from_the_step_a_prediction_was_made():
    # Rows at steps 0, 10, 20 and the final model (20). Example 0 was not seen before step 10 (-1) and then predicted 1
    # at step 4 (lag 6) and step 13 (lag 7); example 1 was predicted 0 at step 18 (lag 2), changed at the end.
    preds = np.array([[-1, 2], [1, 2], [1, 0], [1, 1]])
    lag = np.array([[0, 0], [6, 0], [7, 2], [0, 0]])
    np.testing.assert_array_equal(iteration_learned(preds, np.array([0, 10, 20, 20]), lag), [4, 20])
    curve = learning_curve(preds, {"both": (np.ones(2, bool), np.array([1, 1]))})
    np.testing.assert_allclose(curve[:, 0], [0.0, 0.5, 0.5, 1.0])  # row 0: only example 1 has a prediction
    unseen = learning_curve(preds, {"first": (np.array([True, False]), np.array([1, 1]))})
    assert np.isnan(unseen[0, 0]) and unseen[1, 0] == 1.0
