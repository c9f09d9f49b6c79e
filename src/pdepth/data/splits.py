"""Per-seed train:holdout splits of the original training set; the original test set is always held out."""

import numpy as np

from pdepth.data.prepared import TRAIN
from pdepth.errors import ConfigError

_SPLIT_STREAM = 0x5711  # keeps the split's random stream apart from the other uses of the same seed


def holdout_size(n_train: int, holdout_fraction: float) -> int:
    """How many of ``n_train`` original training examples a seed holds out (rounded to the nearest example)."""
    return int(round(holdout_fraction * n_train))


def train_mask(orig_split: np.ndarray, holdout_fraction: float, seed: int) -> np.ndarray:
    """Boolean mask over examples: True for the examples this seed trains on.

    ``holdout_fraction`` of the original training set (rounded to the nearest example) is held out at random;
    0 trains on the whole original training set.
    """
    if not 0 <= holdout_fraction < 1:
        raise ConfigError(f"holdout_fraction must be in [0, 1), got {holdout_fraction}")
    candidates = np.flatnonzero(orig_split == TRAIN)
    n_holdout = holdout_size(len(candidates), holdout_fraction)
    rng = np.random.default_rng([seed, _SPLIT_STREAM])
    held_out = rng.choice(candidates, size=n_holdout, replace=False)
    mask = orig_split == TRAIN
    mask[held_out] = False
    return mask
