"""What the probe stage leaves on disk for each run (``probes.npz``): torch-free, read by the cube, metrics and
detection stages."""

from dataclasses import dataclass

import numpy as np

from pdepth.records import NpzRecord, load_array


@dataclass
class ProbeResults(NpzRecord):
    """Per example and layer, the probe's class and the full vote histogram (counts out of k)."""

    RETIRED = ("earlier_epochs",)  # older files: the score points' epochs, kept in run.npz

    knn_pred: np.ndarray  # (N, L+1) int16
    votes: np.ndarray  # (N, L+1, C) counts out of k, knn.vote_dtype(k)
    layer_names: np.ndarray
    layer_dims: np.ndarray
    layer_reductions: np.ndarray
    settings: str  # JSON of the probe settings, pynndescent's parameters included
    search: str  # the search that ran: exact, pynndescent, or per probe (probe.exact_work decides by the work)
    earlier_label_votes: np.ndarray  # (P-1, N, L+1) float32: at the score points before the last (run.npz's
    # score_epochs[:-1]), the models' vote fraction for the given label
    logits: np.ndarray  # (N, C) float32: the final model's eval-mode outputs, from the embedding pass (the network's
    # prediction is their argmax)
    job: str = ""  # JSON of the probe job that made it (pdepth.config.jobs.ProbeJob)

    @staticmethod
    def final_logits(path) -> np.ndarray:
        """The ``logits`` of a probes.npz alone (its votes are the file's bulk)."""
        return load_array(path, "logits")
