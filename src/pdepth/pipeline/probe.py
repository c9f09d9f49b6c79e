"""Stage: k-NN probes at every layer of one trained model; the embeddings are read one layer at a time."""

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from pdepth import embeddings, jobs, knn, probing
from pdepth.device import pick_device, usable_cpus
from pdepth.jobs import ProbeJob
from pdepth.records import NpzRecord
from pdepth.runs import RunOutputs

log = logging.getLogger(__name__)


@dataclass
class ProbeResults(NpzRecord):
    """Per example and layer, the probe's class and the full vote histogram (counts out of k)."""

    knn_pred: np.ndarray  # (N, L+1) int16
    votes: np.ndarray  # (N, L+1, C) counts out of k, knn.vote_dtype(k)
    layer_names: np.ndarray
    layer_dims: np.ndarray
    layer_reductions: np.ndarray
    settings: str  # JSON of the probe settings, pynndescent's parameters included
    job: str = ""  # JSON of the probe job that made it (pdepth.jobs.ProbeJob)


def settings_for(job: ProbeJob, threads: int) -> knn.ProbeSettings:
    return knn.ProbeSettings(
        **asdict(job.probe), n_jobs=max(1, min(threads, usable_cpus())), device=str(pick_device(job.device))
    )


def run(
    job: ProbeJob, prepared: Path, run_outputs: Path, embedding_dir: Path, output: Path, threads: int
) -> ProbeResults:
    """Probe every layer; the support set carries the labels the network was trained with (noisy ones included)."""
    examples = job.examples.load(prepared)
    outputs = RunOutputs.load(run_outputs)
    settings = settings_for(job, threads)
    num_classes = len(examples.classes)
    layers = embeddings.read_manifest(embedding_dir)
    knn_pred, votes = probing.probe_layers(
        Path(embedding_dir), layers, outputs.in_train, examples.labels, num_classes, settings
    )
    results = ProbeResults(
        knn_pred=knn_pred,
        votes=votes,
        layer_names=np.array([layer.name for layer in layers]),
        layer_dims=np.array([layer.dim for layer in layers]),
        layer_reductions=np.array([layer.reduction for layer in layers]),
        settings=json.dumps(asdict(settings)),
        job=jobs.to_json(job),
    )
    results.save(output)
    return results
