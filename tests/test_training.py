"""Training on real Fashion-MNIST: accuracy well above chance, bit-identical repeats, divergence caught."""

from dataclasses import replace

import numpy as np
import pytest
import torch

import generated_data as gen
from pdepth.data import registry
from pdepth.data.augment import Augmentation, Normalizer, augment
from pdepth.data.examples import Examples
from pdepth.data.sources import SourceOptions
from pdepth.data.splits import train_mask
from pdepth.errors import TrainingDiverged
from pdepth.metrics import scores
from pdepth.metrics.learning import iteration_learned, with_final_model
from pdepth.models import build
from pdepth.training.checkpoint import Checkpointing
from pdepth.training.loop import NOT_SEEN, TrainConfig, fit, init_seed, lr_factor, predict_logits

CPU = torch.device("cpu")


def short_run(examples: Examples, config: TrainConfig, seed: int = 0, checkpointing=None):
    torch.set_num_threads(2)
    in_train = train_mask(examples.orig_split, 0.1, seed)
    normalize = Normalizer(examples.mean, examples.std, CPU)
    options = {"hidden_layers": 7, "width": 256}
    model, result = fit("mlp", options, examples, in_train, normalize, config, seed, False, checkpointing)
    return model, result


def final_logits(model, examples: Examples, memory_format=torch.contiguous_format) -> np.ndarray:
    """The trained model's eval-mode logits of every example (the probe job's pass, in the workflow)."""
    normalize = Normalizer(examples.mean, examples.std, CPU)
    return predict_logits(model, examples.image_tensor(CPU), normalize, 1024, memory_format).numpy()


@pytest.fixture(scope="module")
def examples(fmnist_prepared):
    return Examples.load(fmnist_prepared, {"train": 12000, "test": 2000, "seed": 0})


@pytest.mark.slow
def test_short_run_beats_chance_and_is_bit_identical(examples):
    config = TrainConfig(epochs=3, batch_size=128, lr=0.05, snapshots_per_epoch=2)
    model_a, a = short_run(examples, config)
    model_b, b = short_run(examples, config)
    holdout = a.history[-1]["holdout_acc"]
    assert holdout > 0.80, a.history
    assert a.history[-1]["test_acc"] > 0.78
    np.testing.assert_array_equal(a.outputs.snapshot_preds, b.outputs.snapshot_preds)
    for pa, pb in zip(model_a.parameters(), model_b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    # initialisation + 2 snapshots per epoch; the last snapshot's held-out predictions are the final model's
    assert a.outputs.snapshot_preds.shape == a.outputs.snapshot_lag.shape == (1 + 2 * 3, len(examples))
    held = ~a.outputs.in_train
    np.testing.assert_array_equal(a.outputs.snapshot_preds[-1][held], final_logits(model_a, examples).argmax(1)[held])
    steps_per_epoch = int(np.ceil(train_mask(examples.orig_split, 0.1, 0).sum() / 128))
    assert a.outputs.snapshot_steps[0] == 0 and a.outputs.snapshot_steps[-1] == 3 * steps_per_epoch
    assert [row["epoch"] for row in a.history] == [1, 2, 3]


@pytest.fixture(scope="module")
def small(fmnist_prepared):
    return Examples.load(fmnist_prepared, {"train": 2500, "test": 500, "seed": 0})


def test_other_seed_gives_other_model(small):
    config = TrainConfig(epochs=1, batch_size=256)
    a, _ = short_run(small, config, seed=0)
    b, _ = short_run(small, config, seed=1)
    assert not np.array_equal(final_logits(a, small), final_logits(b, small))


def test_divergence_stops_with_a_clear_error(small):
    with pytest.raises(TrainingDiverged, match=r"loss became nan during epoch 1 .*lower training.lr"):
        short_run(small, TrainConfig(epochs=2, lr=1e8, warmup_epochs=0))


def test_a_blow_up_at_the_last_step_is_caught_in_the_last_snapshot(small):
    """One full-batch step: its loss (before the step) is finite, the model after it is not: the last snapshot's
    eval pass over the 750 held-out examples (250 of the training set's 2,500, the 500 test ones) sees it."""
    config = TrainConfig(epochs=1, full_batch=True, batch_size=4096, lr=1e12, warmup_epochs=0, schedule="constant")
    with pytest.raises(
        TrainingDiverged, match=r"outputs became non-finite for \d+ of 750 examples during epoch 1 \(by step 1,"
    ):
        short_run(small, config)


def test_lr_schedule_warms_up_then_decays_to_zero():
    assert lr_factor(0, 100, 10, "cosine") == pytest.approx(0.1)
    assert lr_factor(9, 100, 10, "cosine") == pytest.approx(1.0)
    assert lr_factor(10, 100, 10, "cosine") == pytest.approx(1.0)
    assert lr_factor(55, 100, 10, "cosine") == pytest.approx(0.5)
    assert lr_factor(55, 100, 10, "linear") == pytest.approx(0.5)
    assert lr_factor(99, 100, 0, "constant") == 1.0


def test_augment_flip_and_crop_move_pixels_as_asked():
    images = torch.arange(2 * 1 * 4 * 4, dtype=torch.uint8).view(2, 1, 4, 4)
    generator = torch.Generator().manual_seed(0)
    same = augment(images, crop_padding=0, flip=False, generator=generator)
    assert torch.equal(same, images)
    flipped = augment(images, crop_padding=0, flip=True, generator=torch.Generator().manual_seed(0))
    for original, out in zip(images, flipped, strict=True):
        assert torch.equal(out, original) or torch.equal(out, original.flip(2))
    cropped = augment(images, crop_padding=1, flip=False, generator=torch.Generator().manual_seed(3))
    assert cropped.shape == images.shape
    for original, out in zip(images, cropped, strict=True):  # a shifted window of the zero-padded image
        padded = torch.nn.functional.pad(original, (1, 1, 1, 1))
        assert any(torch.equal(out, padded[:, dy : dy + 4, dx : dx + 4]) for dy in range(3) for dx in range(3))


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["resnet18", "vgg16"])
def test_narrow_convolutional_networks_beat_chance(small, arch):
    """Width 1/8 on 2,250 real training examples, 3 epochs: far above the 10% of chance."""
    torch.set_num_threads(2)
    in_train = train_mask(small.orig_split, 0.1, 0)
    normalize = Normalizer(small.mean, small.std, CPU)
    config = TrainConfig(epochs=3, batch_size=64, channels_last=True)
    _, result = fit(arch, {"width": 0.125}, small, in_train, normalize, config, seed=0, progress=False)
    print(arch, result.history[-1])
    assert result.history[-1]["holdout_acc"] > 0.6
    assert result.history[-1]["test_acc"] > 0.6


def test_augmented_convolutional_training_on_cifar_format_is_deterministic(tmp_path):
    """3-channel 32 px data with CIFAR's crop+flip and channels_last: same seed, same model; augmentation matters.

    Width 1/8: at 1/16 (4 channels) torch's channels_last backward on CPU takes minutes per step on AVX2-only
    machines (measured 0.18 s at 1/8, > 100 s at 1/16 on an AMD EPYC without AVX-512)."""
    written = gen.write_cifar10(tmp_path, per_batch=40, n_test=40)
    options = SourceOptions(data_dir=tmp_path, download=False)
    registry.prepare("cifar10", options, {written.path.name: written.md5}).save(tmp_path / "cifar10.npz")
    cifar = Examples.load(tmp_path / "cifar10.npz", {})
    torch.set_num_threads(2)
    in_train = train_mask(cifar.orig_split, 0.1, 0)
    normalize = Normalizer(cifar.mean, cifar.std, CPU)

    def run(augmentation):
        config = TrainConfig(epochs=2, batch_size=32, channels_last=True, augmentation=augmentation)
        model, _ = fit("resnet18", {"width": 0.125}, cifar, in_train, normalize, config, seed=0, progress=False)
        return final_logits(model, cifar, torch.channels_last)

    crop_and_flip = Augmentation(crop_padding=4, flip=True)
    a, b, plain = run(crop_and_flip), run(crop_and_flip), run(Augmentation())
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, plain)
    assert a.shape == (240, 10) and np.isfinite(a).all()


def test_full_batch_gradient_does_not_depend_on_the_chunk_size(small):
    """Full-batch GD (the 0-Hinge intervention) accumulates chunks: any chunk size gives the same steps (no BN)."""
    config = TrainConfig(epochs=3, full_batch=True, lr=0.01, loss="zero_hinge", warmup_epochs=0, schedule="constant")
    chunked_model, chunked = short_run(small, replace(config, batch_size=100))
    whole_model, _ = short_run(small, replace(config, batch_size=100_000))
    np.testing.assert_allclose(
        final_logits(chunked_model, small), final_logits(whole_model, small), rtol=1e-4, atol=1e-5
    )
    assert chunked.outputs.snapshot_steps.tolist() == [0, 1, 2, 3]  # initialisation, then one step per epoch


def test_untrained_network_keeps_its_initial_weights(small):
    model, result = short_run(small, TrainConfig(epochs=0))
    torch.manual_seed(init_seed(0))
    initial = build("mlp", small.shape, {"hidden_layers": 7, "width": 256})
    for trained, fresh in zip(model.parameters(), initial.parameters(), strict=True):
        assert torch.equal(trained, fresh)
    outputs = result.outputs
    assert outputs.snapshot_preds.shape == (1, len(small)) and result.history == []  # initialisation only
    in_train = outputs.in_train
    assert (outputs.snapshot_preds[0][~in_train] >= 0).all() and (outputs.snapshot_preds[0][in_train] == NOT_SEEN).all()
    assert (outputs.snapshot_lag == 0).all()


def test_checkpointed_run_equals_an_uninterrupted_one(small, tmp_path):
    config = TrainConfig(epochs=3, batch_size=256)
    plain_model, plain = short_run(small, config)
    checkpointing = Checkpointing(tmp_path / "checkpoint.pt", every=1, fingerprint="run A")
    checkpointed_model, _ = short_run(small, config, checkpointing=checkpointing)
    np.testing.assert_array_equal(final_logits(plain_model, small), final_logits(checkpointed_model, small))
    state = checkpointing.load()
    assert state["epoch"] == 2  # none after the last epoch: the outputs are the run's record
    resumed_model, resumed = short_run(small, config, checkpointing=checkpointing)  # starts at epoch 3
    np.testing.assert_array_equal(final_logits(plain_model, small), final_logits(resumed_model, small))
    np.testing.assert_array_equal(plain.outputs.snapshot_preds, resumed.outputs.snapshot_preds)
    np.testing.assert_array_equal(plain.outputs.snapshot_lag, resumed.outputs.snapshot_lag)
    assert [row["epoch"] for row in resumed.history] == [1, 2, 3]
    other_run = Checkpointing(tmp_path / "checkpoint.pt", every=1, fingerprint="run B")
    assert other_run.load() is None  # never resumes another run's state


def test_iteration_learned_from_training_passes_equals_the_full_pass_definition(small):
    """Full-batch GD without augmentation or batch norm: the training forward pass of step t predicts with the
    weights after t steps, as an eval pass over every example after t steps would (the full-pass definition, here
    the final predictions of runs stopped after 0, 1, ..., E steps; a constant rate makes them share their steps)."""
    config = TrainConfig(epochs=6, full_batch=True, batch_size=100_000, lr=0.05, warmup_epochs=0, schedule="constant")
    model, recorded = short_run(small, config)
    full_pass = np.stack(
        [final_logits(short_run(small, replace(config, epochs=e))[0], small).argmax(1) for e in range(7)]
    )
    expected = iteration_learned(full_pass, np.arange(7))
    outputs = recorded.outputs
    final_pred = final_logits(model, small).argmax(1)
    got = iteration_learned(
        *with_final_model(outputs.snapshot_preds, outputs.snapshot_steps, outputs.snapshot_lag, final_pred)
    )
    in_train = train_mask(small.orig_split, 0.1, 0)
    assert (outputs.snapshot_preds[0][in_train] == NOT_SEEN).all()  # no training pass before step 0
    assert len(np.unique(expected)) >= 4  # examples are learned at many different steps
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(outputs.snapshot_preds[1:][:, ~in_train], full_pass[1:][:, ~in_train])


def test_training_examples_are_recorded_from_their_training_forward_pass(small):
    """Mini-batches: each training example's entry is its own training-pass prediction, made at most one epoch of
    steps before its snapshot (at least the step itself); held-out examples are evaluated at the snapshot (lag 0)."""
    _, result = short_run(small, TrainConfig(epochs=2, batch_size=256))
    in_train = train_mask(small.orig_split, 0.1, 0)
    steps_per_epoch = int(np.ceil(in_train.sum() / 256))
    assert (result.outputs.snapshot_lag[:, ~in_train] == 0).all()
    lags = result.outputs.snapshot_lag[1:-1][:, in_train]
    assert lags.min() == 1 and lags.max() == steps_per_epoch  # the last batch before the snapshot, the first
    assert (result.outputs.snapshot_preds[1:][:, in_train] >= 0).all()


def test_training_dynamics_scores_equal_their_definitions_on_the_full_history(small):
    """Full-batch GD without augmentation: epoch e's training pass sees the weights after e - 1 steps, i.e. the logits
    of a run stopped after e - 1 epochs. The scores the run accumulated on the device equal the numpy definitions
    (pdepth.metrics.scores) applied to those logits, at the points read (after epoch 2) and at the end."""
    config = TrainConfig(epochs=5, full_batch=True, batch_size=100_000, lr=0.05, warmup_epochs=0, schedule="constant")
    config = replace(config, el2n_epoch=2, score_epochs=(2,))
    _, recorded = short_run(small, config)
    in_train = train_mask(small.orig_split, 0.1, 0)
    labels = small.labels
    stopped_after = [replace(config, epochs=e, score_epochs=(), el2n_epoch=1) for e in range(5)]  # stopped after e
    history = np.stack([final_logits(short_run(small, c)[0], small) for c in stopped_after])[:, in_train]
    correct = scores.correct_predictions(history, labels[in_train])
    got = recorded.outputs
    assert list(got.score_epochs) == [2, 5]
    for point, presented in enumerate((2, 5)):
        seen = correct[:presented]
        confidence, variability, correctness = scores.dataset_map(
            scores.assigned_probability(history[:presented], labels[in_train]), seen
        )
        expected = {
            "forgetting_events": scores.forgetting_events(seen),
            "never_learned": scores.never_learned(seen),
            "aum": scores.area_under_margin(history[:presented], labels[in_train]),
            "confidence": confidence,
            "variability": variability,
            "correctness": correctness,
        }
        for name, values in expected.items():
            np.testing.assert_allclose(getattr(got, name)[point][in_train], values, rtol=1e-5, atol=1e-6, err_msg=name)
    assert (got.presentations[:, ~in_train] == 0).all() and np.isnan(got.aum[:, ~in_train]).all()
    assert got.forgetting_events[-1].max() >= 1  # the history has forgetting to count
    el2n = scores.el2n(scores.softmax(history[2]), labels[in_train])  # eval mode, the weights after epoch 2
    np.testing.assert_allclose(got.el2n[in_train], el2n, rtol=1e-5, atol=1e-6)
    stopped = short_run(small, replace(config, epochs=2))[0].state_dict()  # the weights kept after epoch 2
    assert len(recorded.states_at_points) == 1
    for name, value in stopped.items():
        torch.testing.assert_close(recorded.states_at_points[0][name], value, rtol=0, atol=0)


def test_el2n_is_an_eval_pass_with_the_weights_after_its_epoch_whatever_the_minibatch_order(small):
    """Minibatches in a random order: EL2N equals the score of every training example under the weights kept after
    ``el2n_epoch``, evaluated afterwards in eval mode (Paul et al.), so its place in the shuffle does not enter."""
    config = replace(TrainConfig(epochs=2, batch_size=128), el2n_epoch=1, score_epochs=(1,))
    model, recorded = short_run(small, config)
    in_train = train_mask(small.orig_split, 0.1, 0)
    model.load_state_dict(recorded.states_at_points[0])
    normalize = Normalizer(small.mean, small.std, CPU)
    with torch.no_grad():
        logits = predict_logits(model, small.image_tensor(CPU)[torch.from_numpy(in_train)], normalize, 1024)
    expected = scores.el2n(scores.softmax(logits.numpy()), small.labels[in_train])
    np.testing.assert_allclose(recorded.outputs.el2n[in_train], expected, rtol=1e-4, atol=1e-5)
    assert np.isnan(recorded.outputs.el2n[~in_train]).all()


def test_an_unrecorded_run_trains_the_same_weights(small, tmp_path):
    """``record=False`` (the cross-validation's fold models) skips the snapshots and scores, not a step: a ResNet18
    with batch norm and augmentation (which eval passes or another draw of the generator would disturb) ends with the
    same weights and batch-norm statistics, the same losses; no outputs, no accuracies in the history; no checkpoint."""
    config = TrainConfig(epochs=2, batch_size=256, score_epochs=(1,), augmentation=Augmentation(2, True))
    in_train = train_mask(small.orig_split, 0.1, 0)
    normalize = Normalizer(small.mean, small.std, CPU)
    options = {"width": 0.125}
    runs = [fit("resnet18", options, small, in_train, normalize, config, 0, False, record=r) for r in (True, False)]
    (recorded_model, recorded), (model, unrecorded) = runs
    for name, value in recorded_model.state_dict().items():
        assert torch.equal(value, model.state_dict()[name]), name
    assert unrecorded.outputs is None and recorded.outputs is not None
    for a, b in zip(recorded.states_at_points, unrecorded.states_at_points, strict=True):
        assert all(torch.equal(a[name], b[name]) for name in a)
    assert [row["loss"] for row in unrecorded.history] == [row["loss"] for row in recorded.history]
    assert all(np.isnan(row["test_acc"]) for row in unrecorded.history)
    with pytest.raises(ValueError, match=r"an unrecorded run \(record=False\) is not checkpointed"):
        fit("mlp", {}, small, in_train, normalize, config, 0, False, Checkpointing(tmp_path / "c.pt", 1, "x"), False)
