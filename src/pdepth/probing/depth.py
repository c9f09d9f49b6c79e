"""Prediction depth (Section 2.1 of the paper)."""

import numpy as np

UNDEFINED = -1


def depth_dtype(n_layers: int) -> np.dtype:
    """The smallest signed integer type that holds every depth of ``n_layers`` probes and UNDEFINED."""
    return np.min_scalar_type(-max(n_layers, 1))  # signed, and holds 0 .. n_layers - 1 and UNDEFINED


def prediction_depth(knn_pred: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """The smallest layer l such that the probes at every layer >= l agree with the network's prediction.

    ``knn_pred`` has probe classes along its last axis, layers 0..L in order; ``pred`` is the network's final class
    with the remaining shape. 0 when every probe agrees; UNDEFINED (-1) when even the last probe (layer L) disagrees.
    Arrays or torch tensors.
    """
    knn_pred, pred = to_numpy(knn_pred), to_numpy(pred)
    if knn_pred.ndim == 0 or knn_pred.shape[:-1] != pred.shape:
        raise ValueError(
            f"knn_pred {knn_pred.shape} and pred {pred.shape}: knn_pred has one probe class per layer along its last "
            "axis and pred one class for each of its other entries (e.g. (N, L+1) and (N,))"
        )
    agree = knn_pred == pred[..., None]
    n_layers = agree.shape[-1]
    trailing = np.cumprod(agree[..., ::-1], axis=-1).sum(-1)  # probes agreeing from the last layer backwards
    return np.where(trailing > 0, n_layers - trailing, UNDEFINED).astype(depth_dtype(n_layers))


def to_numpy(value) -> np.ndarray:
    """A numpy array of an array, a list or a torch tensor (without importing torch)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)
