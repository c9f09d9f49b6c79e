"""The cross-validation stage (pdepth.pipeline.crossval): cleanlab's recipe of out-of-sample probabilities for every
training example, each predicted by a model that never trained on it."""

from pathlib import Path

import numpy as np
import pytest

from pdepth.config.records import JobRecords
from pdepth.config.study import Study
from pdepth.data.examples import Examples
from pdepth.data.prepared import TEST, TRAIN
from pdepth.data.splits import train_mask
from pdepth.pipeline import crossval

ROOT = Path(__file__).resolve().parents[1]


def test_the_folds_are_cleanlabs():
    """cleanlab.count.estimate_cv_predicted_probabilities on the same labels and seed holds out the same folds."""
    from cleanlab.count import estimate_cv_predicted_probabilities
    from sklearn.base import BaseEstimator, ClassifierMixin

    held_out = []

    class Recorder(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            self.classes_ = np.unique(y)
            return self

        def predict_proba(self, X):
            held_out.append(X[:, 0].astype(int))
            return np.full((len(X), len(self.classes_)), 1 / len(self.classes_))

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 500)
    in_train = rng.random(500) < 0.8
    members = np.flatnonzero(in_train)
    estimate_cv_predicted_probabilities(
        members[:, None].astype(float), labels[members], Recorder(), cv_n_folds=5, seed=7
    )
    fold = crossval.stratified_folds(labels, in_train, 5, seed=7)
    assert [sorted(members_) for members_ in held_out] == [sorted(np.flatnonzero(fold == f)) for f in range(5)]
    assert (fold[~in_train] == crossval.NOT_TRAINED).all() and (fold[in_train] >= 0).all()


@pytest.fixture
def tiny_examples():
    rng = np.random.default_rng(0)
    n = 120
    labels = rng.integers(0, 3, n).astype(np.int64)
    images = (rng.random((n, 8, 8, 1)) * 60 + labels[:, None, None, None] * 60).astype(np.uint8)
    split = np.where(np.arange(n) < 100, TRAIN, TEST).astype(np.int8)
    return Examples(
        index=np.arange(n),
        images=images,
        labels=labels,
        orig_split=split,
        orig_index=np.arange(n),
        classes=("a", "b", "c"),
        mean=(0.5,),
        std=(0.25,),
    )


def test_every_training_example_is_predicted_by_a_model_that_did_not_train_on_it(tiny_examples, monkeypatch):
    training = {"default": {"epochs": 2, "score_epochs": [1], "batch_size": 16}}
    study = Study.load(ROOT / "config.yaml", training=training, interventions={})
    job = JobRecords(study).crossval_job("fmnist", "", "mlp", 0)
    trained_on = []
    fit = crossval.fit

    def spy(arch, options, examples, in_train, *args, **kwargs):
        trained_on.append(in_train.copy())
        return fit(arch, options, examples, in_train, *args, **kwargs)

    monkeypatch.setattr(crossval, "fit", spy)
    result = crossval.run(job, tiny_examples, progress=False)
    in_train = train_mask(tiny_examples.orig_split, job.train.holdout_fraction, 0)
    assert len(trained_on) == job.folds == 5
    for number, used in enumerate(trained_on):
        np.testing.assert_array_equal(used, in_train & (result.fold != number))
    assert job.train.training.score_points == (1, 2) and len(result.probabilities) == 2
    probs = result.probabilities
    assert np.isfinite(probs[:, in_train]).all() and np.isnan(probs[:, ~in_train]).all()
    np.testing.assert_allclose(probs[:, in_train].sum(-1), 1, rtol=1e-5)
    assert not np.allclose(probs[0, in_train], probs[1, in_train])  # after epoch 1, and at the end


def test_a_fold_model_whose_outputs_blow_up_is_an_error_not_nan_probabilities(tiny_examples, monkeypatch):
    """The fold models train unrecorded (no snapshot would see a blow-up at their last step), and NaN in crossval.npz
    means "not in training": non-finite outputs stop the job, naming the seed and the fold."""
    import torch

    from pdepth.errors import TrainingDiverged

    study = Study.load(ROOT / "config.yaml", training={"default": {"epochs": 1, "batch_size": 16}}, interventions={})
    job = JobRecords(study).crossval_job("fmnist", "", "mlp", 0)
    monkeypatch.setattr(crossval, "predict_logits", lambda model, images, *args: torch.full((len(images), 3), np.nan))
    with pytest.raises(TrainingDiverged, match=r"seed 0, the model of fold 1 at the end: its outputs became non-fin"):
        crossval.run(job, tiny_examples, progress=False)
