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


def with_final_model(
    snapshot_preds: np.ndarray, snapshot_steps: np.ndarray, snapshot_lag: np.ndarray, final_pred: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A run's snapshots (run.npz: the last at the end of training) followed by the final model's eval-mode
    prediction of every example (probes.npz), made at the last snapshot's step: what :func:`iteration_learned` and
    :func:`learning_curve` read."""
    preds = np.vstack([snapshot_preds, final_pred.astype(snapshot_preds.dtype)[None]])
    steps = np.append(snapshot_steps, snapshot_steps[-1])
    lag = np.vstack([snapshot_lag, np.zeros((1, len(final_pred)), snapshot_lag.dtype)])
    return preds, steps, lag


def iteration_learned(
    snapshot_preds: np.ndarray, snapshot_steps: np.ndarray, snapshot_lag: np.ndarray | None = None
) -> np.ndarray:
    """Per example, the optimiser step at which the first prediction was made from which the prediction equals the
    final one forever.

    ``snapshot_preds`` is (S, N), the last snapshot being the final model; an entry made ``snapshot_lag`` steps before
    its snapshot (a training forward pass) counts from the step it was made at. An example whose prediction never
    changed (from initialisation on) is learned at step 0, as in the paper's footnote 7; a training example has no
    prediction (-1) before its first training batch, so one that never changed afterwards is learned at that batch's
    step (docs/methods.md, "Iteration learned").
    """
    differs = snapshot_preds != snapshot_preds[-1]
    ever = differs.any(axis=0)
    last_different = len(snapshot_preds) - 1 - np.argmax(differs[::-1], axis=0)
    learned_at = np.where(ever, last_different + 1, 0)
    steps = np.asarray(snapshot_steps)[learned_at]
    if snapshot_lag is None:
        return steps
    return steps - np.take_along_axis(snapshot_lag, learned_at[None], axis=0)[0]


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
    """(S, G) accuracy at every snapshot for each group: name -> (mask over examples, the labels to score against),
    over the examples with a prediction at that snapshot (NaN: none)."""
    curve = np.full((len(snapshot_preds), len(targets)), np.nan)
    for g, (mask, labels) in enumerate(targets.values()):
        preds = snapshot_preds[:, mask]
        seen = (preds >= 0).sum(axis=1)
        correct = (preds == labels[mask]).sum(axis=1)
        curve[:, g] = np.where(seen > 0, correct / np.maximum(seen, 1), np.nan)
    return curve
