"""Label noise (Section 3.2, Figure 5): a fixed, seeded fraction of training labels replaced by another class."""

import numpy as np

_NOISE_STREAM = 0x401CE


def corrupt_labels(
    labels: np.ndarray, candidates: np.ndarray, fraction: float, num_classes: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(given labels, mislabelled mask): round(fraction x #candidates) of the ``candidates`` get a different class.

    The new class is drawn uniformly from the other num_classes - 1 classes, so a flipped label never equals the
    original one. The draw depends only on ``seed`` and the examples, never on a model's seed: every model of a study
    sees the same noisy labels.
    """
    pool = np.flatnonzero(candidates)
    rng = np.random.default_rng([seed, _NOISE_STREAM])
    flipped = np.sort(rng.choice(pool, size=int(round(fraction * len(pool))), replace=False))
    given = labels.copy()
    shift = rng.integers(1, num_classes, size=len(flipped)) if num_classes > 1 else np.zeros(len(flipped), int)
    given[flipped] = (labels[flipped] + shift) % num_classes
    mislabelled = np.zeros(len(labels), bool)
    mislabelled[flipped] = True
    return given, mislabelled
