"""The learning view of difficulty (Section 3.2): when each example is learned, and the training learning curve."""

import numpy as np

# The groups of examples whose learning curves metrics.nc keeps (Figure 5, middle: label-noise splits).
CURVE_GROUPS = (
    "training split, correct labels",
    "training split, mislabelled (given labels)",
    "training split, mislabelled (original labels)",
    "holdout",
    "test",
)


def iteration_learned(snapshot_preds: np.ndarray, snapshot_steps: np.ndarray) -> np.ndarray:
    """Per example, the optimiser step of the first snapshot from which the prediction equals the final one forever.

    ``snapshot_preds`` is (S, N), the last snapshot being the final model. An example whose prediction never changed
    (from initialisation on) is learned at step 0, as in the paper's footnote 7.
    """
    differs = snapshot_preds != snapshot_preds[-1]
    ever = differs.any(axis=0)
    last_different = len(snapshot_preds) - 1 - np.argmax(differs[::-1], axis=0)
    learned_at = np.where(ever, last_different + 1, 0)
    return np.asarray(snapshot_steps)[learned_at]


def rescale_iterations(steps: np.ndarray, quantile: float = 0.95) -> np.ndarray:
    """Steps rescaled so that initialisation is 0 and the model's 95th percentile over its examples is 1.0.

    A model whose 95th percentile is 0 (almost nothing changed) is rescaled by its largest value instead; a model
    whose examples were all learned at initialisation gives zeros.
    """
    steps = np.asarray(steps, dtype=np.float64)
    scale = np.quantile(steps, quantile)
    if scale == 0:
        scale = steps.max()
    return steps / scale if scale > 0 else np.zeros_like(steps)


def learning_curve(snapshot_preds: np.ndarray, targets: dict[str, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """(S, G) accuracy at every snapshot for each group: name -> (mask over examples, the labels to score against)."""
    curve = np.full((len(snapshot_preds), len(targets)), np.nan)
    for g, (mask, labels) in enumerate(targets.values()):
        if mask.any():
            curve[:, g] = (snapshot_preds[:, mask] == labels[mask]).mean(axis=1)
    return curve
