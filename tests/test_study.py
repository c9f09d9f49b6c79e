"""The typed view of the config: per-dataset augmentation and normalisation, variants of the design."""

import copy
from types import SimpleNamespace

import pytest

from pdepth.config.records import JobRecords
from pdepth.config.study import Study
from pdepth.data.augment import Augmentation
from pdepth.errors import ConfigError

BASE = {
    "datasets": ["fmnist", "cifar10", "svhn"],
    "architectures": ["mlp"],
    "seeds": 3,
    "split": {"holdout_fraction": 0.1},
    "data": {},
    "training": {"default": {"epochs": 2}, "mlp": {"lr": 0.01}},
}


def checked(config: dict) -> Study:
    """The study of ``config`` after validation (which fills in the defaults in place)."""
    return Study.checked(copy.deepcopy(config))


def test_augmentation_defaults_per_dataset_and_overrides():
    study = checked(BASE)
    assert study.augmentation("cifar10") == Augmentation(crop_padding=4, flip=True)
    assert study.augmentation("fmnist") == Augmentation() and study.augmentation("svhn") == Augmentation()
    changed = checked({**BASE, "data": {"augmentation": {"cifar10": {"flip": False}, "svhn": {"crop_padding": 2}}}})
    assert changed.augmentation("cifar10") == Augmentation(crop_padding=4, flip=False)
    assert changed.augmentation("svhn") == Augmentation(crop_padding=2)


def test_training_merges_default_arch_and_dataset_augmentation():
    config = checked(BASE).training("mlp", "cifar10")
    assert (config.epochs, config.lr, config.augmentation) == (2, 0.01, Augmentation(4, True))
    assert not checked(BASE).training("mlp", "fmnist").augmentation.active


def test_normalisation_is_computed_unless_configured():
    computed = SimpleNamespace(mean=(0.1, 0.2, 0.3), std=(0.4, 0.5, 0.6))  # an Examples' statistics
    assert JobRecords(checked(BASE)).normalisation("cifar10").resolve(computed) == (computed.mean, computed.std)
    study = checked({**BASE, "data": {"normalisation": {"cifar10": {"mean": [0.5, 0.5, 0.5]}}}})
    assert JobRecords(study).normalisation("cifar10").resolve(computed) == ((0.5, 0.5, 0.5), (0.4, 0.5, 0.6))


def test_variants_and_their_results_prefixes():
    study = checked(BASE)
    assert [(v.prefix, v.seeds, v.holdout_fraction) for v in study.variants] == [("", (0, 1, 2), 0.1)]
    full = checked({**BASE, "full_train_seeds": 2})
    assert [(v.prefix, v.seeds, v.holdout_fraction) for v in full.variants] == [
        ("", (0, 1, 2), 0.1),
        ("full/", (0, 1), 0.0),
    ]
    assert full.variant("full/").name == "full" and "whole original training set" in full.variant("full/").description
    with pytest.raises(ConfigError, match="no variant"):
        study.variant("full/")
