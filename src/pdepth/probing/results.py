"""What the probe stage leaves on disk for each run (``probes.npz``): torch-free, read by the cube, metrics and
detection stages."""

from dataclasses import dataclass

import numpy as np

from pdepth.records import NpzRecord


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
    job: str = ""  # JSON of the probe job that made it (pdepth.config.jobs.ProbeJob)
