"""Per-seed 90:10 splits of the original training set."""

import numpy as np
import pytest

from pdepth.data.prepared import TEST, TRAIN
from pdepth.data.splits import train_mask
from pdepth.errors import ConfigError

ORIG = np.repeat([TRAIN, TEST], [60000, 10000]).astype(np.uint8)


def test_sizes_and_test_set_always_held_out():
    mask = train_mask(ORIG, 0.1, seed=0)
    assert mask.sum() == 54000
    assert not mask[ORIG == TEST].any()
    assert (~mask[ORIG == TRAIN]).sum() == 6000


def test_deterministic_per_seed_and_different_across_seeds():
    a, b = train_mask(ORIG, 0.1, seed=7), train_mask(ORIG, 0.1, seed=7)
    np.testing.assert_array_equal(a, b)
    c = train_mask(ORIG, 0.1, seed=8)
    held_a, held_c = set(np.flatnonzero(~a & (ORIG == TRAIN))), set(np.flatnonzero(~c & (ORIG == TRAIN)))
    assert held_a != held_c
    assert len(held_a & held_c) < 1200  # independent draws overlap in ~10% of 6000


def test_train_and_holdout_are_disjoint_and_cover_the_training_set():
    mask = train_mask(ORIG, 0.25, seed=1)
    holdout = ~mask & (ORIG == TRAIN)
    assert not (mask & holdout).any()
    assert (mask | holdout).sum() == 60000


def test_zero_holdout_trains_on_the_whole_original_training_set():
    np.testing.assert_array_equal(train_mask(ORIG, 0.0, seed=3), ORIG == TRAIN)


@pytest.mark.parametrize("fraction", [1.0, -0.1, 1.5])
def test_fraction_outside_half_open_interval_is_rejected(fraction):
    with pytest.raises(ConfigError, match="holdout_fraction"):
        train_mask(ORIG, fraction, seed=0)
