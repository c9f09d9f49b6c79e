"""Forms of example difficulty (Section 4): the corners of the (PD_val, PD_train) plane."""

import numpy as np

# (name, rescaled PD_val, rescaled PD_train) of each corner; category 0 is "none of the corners".
CORNERS = (
    ("easy", 0.0, 0.0),
    ("looks_like_a_different_class", 0.0, 1.0),
    ("ambiguous_unless_label_given", 1.0, 0.0),
    ("ambiguous", 1.0, 1.0),
)
CORNER_NAMES = tuple(name for name, _, _ in CORNERS)
NONE = 0


def rescale(values: np.ndarray) -> np.ndarray:
    """Min-max rescaling of the finite values to [0, 1] (NaN stays NaN; a constant axis maps to 0)."""
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return values.astype(np.float64)
    low, span = finite.min(), finite.max() - finite.min()
    return (values - low) / span if span > 0 else np.where(np.isfinite(values), 0.0, np.nan)


def corner_distances(pd_val: np.ndarray, pd_train: np.ndarray) -> np.ndarray:
    """(N, 4) Euclidean distance of each example to each corner, both axes rescaled to [0, 1]; NaN if undefined."""
    x, y = rescale(pd_val), rescale(pd_train)
    return np.stack([np.hypot(x - cx, y - cy) for _, cx, cy in CORNERS], axis=1)


def closest_to_corners(distances: np.ndarray, n: int) -> np.ndarray:
    """Category per example: 1 + corner index for the ``n`` examples closest to each corner, else NONE.

    (example, corner) pairs are taken in order of distance (ties: example order, then corner order); a pair is kept
    while its corner has fewer than ``n`` examples and its example has no corner yet. So every corner gets ``n``
    examples when there are enough, and an example close to two corners goes to the nearer one.
    """
    n_examples, n_corners = distances.shape
    category = np.full(n_examples, NONE, np.int8)
    filled = np.zeros(n_corners, int)
    flat = distances.ravel()
    for pair in np.argsort(np.where(np.isfinite(flat), flat, np.inf), kind="stable"):
        example, corner = divmod(int(pair), n_corners)
        if not np.isfinite(flat[pair]) or filled.min() >= n:
            break
        if category[example] == NONE and filled[corner] < n:
            category[example] = corner + 1
            filled[corner] += 1
    return category
