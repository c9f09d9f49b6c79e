"""Prediction depth of any classifier, outside the workflow: k-NN probes on its layers, the cube of one seed.

The workflow's stages use the same pieces: :func:`pdepth.embeddings.write_probes`, :func:`pdepth.knn.probe`,
:func:`pdepth.cube.build` (which computes the depth with :func:`pdepth.depth.prediction_depth`).
"""

import json
import logging
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import xarray as xr
from torch import nn

from pdepth import cube, embeddings, knn, schema
from pdepth.device import usable_cpus
from pdepth.models import INPUT, SOFTMAX, ProbedModel
from pdepth.reduction import Reducer

log = logging.getLogger(__name__)

PROBE = schema.defaults("probe")  # the study's defaults: k, max_dim, reduction, ...
BACKENDS = ("auto", "exact", "pynndescent")
SKIPPED = (nn.Dropout, nn.Identity, nn.Flatten)  # their output has the neighbours of their input


class KnnProbe(NamedTuple):
    """The k-NN probe's class of every example, and its votes (counts out of k) for every class."""

    pred: np.ndarray  # (N,)
    votes: np.ndarray  # (N, C)


def settings(k: int, backend: str, device: str | torch.device = "cpu", random_state: int = 0) -> knn.ProbeSettings:
    """The probe settings of a backend name: ``auto`` searches exactly below the study's ``exact_below`` training
    examples and with pynndescent above; ``exact`` and ``pynndescent`` always use that search."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    by_name = {"auto": {}, "exact": {"backend": "exact"}, "pynndescent": {"backend": "pynndescent", "exact_below": 0}}
    return knn.ProbeSettings.defaults(
        k=k, random_state=random_state, n_jobs=usable_cpus(), device=str(device), **by_name[backend]
    )


def knn_probe(
    embedding: np.ndarray,
    labels: np.ndarray,
    in_train: np.ndarray,
    k: int = PROBE["k"],
    *,
    backend: str = "auto",
    num_classes: int | None = None,
    device: str | torch.device = "cpu",
    random_state: int = 0,
) -> KnnProbe:
    """Classify every example by the majority of its k nearest training examples (Euclidean) in ``embedding`` (N, D).

    The support set is the examples with ``in_train``; a training example never votes for itself (its own index is
    excluded, not whatever lies at distance 0: data hold exact duplicates). Ties go to the class of the nearest
    neighbour among the tied classes.
    """
    labels = np.asarray(labels)
    in_train = np.asarray(in_train, dtype=bool)
    if not len(labels) == len(in_train) == len(embedding):
        raise ValueError(f"{len(embedding)} embeddings, {len(labels)} labels and {len(in_train)} in_train flags")
    if in_train.sum() <= k:
        raise ValueError(f"k={k} needs more than {k} training examples (in_train), got {int(in_train.sum())}")
    num_classes = int(labels.max()) + 1 if num_classes is None else num_classes
    embedding = np.asarray(embedding, dtype=np.float32).reshape(len(labels), -1)
    votes, pred = knn.probe(embedding, in_train, labels, num_classes, settings(k, backend, device, random_state))
    return KnnProbe(pred, votes)


def default_layers(model: nn.Module) -> list[str]:
    """The probes of a model when none are named: a study model's own; otherwise its top-level submodules in
    order, with each ``nn.Sequential`` or ``nn.ModuleList`` among them opened one level (a ResNet's stages give one
    probe per residual block), leaving out dropout, identity and flatten (same neighbours as their input) and the last
    one, taken to be the classifier head (the softmax probe stands for the model's output, as in the study)."""
    if isinstance(model, ProbedModel):
        return [name for name in model.probe_names() if name not in (INPUT, SOFTMAX)]
    names = []
    for name, child in model.named_children():
        members = child.named_children() if isinstance(child, nn.Sequential | nn.ModuleList) else [("", child)]
        for member, module in members:
            if not isinstance(module, SKIPPED):
                names.append(f"{name}.{member}" if member else name)
    return names[:-1]


def probe_layers(
    folder: Path,
    layers: list[embeddings.Layer],
    in_train: np.ndarray,
    labels: np.ndarray,
    num_classes: int,
    search: knn.ProbeSettings,
) -> tuple[np.ndarray, np.ndarray]:
    """The k-NN probe of every layer written to ``folder``, one layer in memory at a time: (knn_pred (N, L+1),
    votes (N, L+1, C) counts out of k)."""
    knn_pred = np.zeros((len(labels), len(layers)), dtype=np.int16)
    votes = np.zeros((len(labels), len(layers), num_classes), dtype=knn.vote_dtype(search.k))
    method = search.backend_for(int(in_train.sum()))
    for layer in layers:
        started = time.perf_counter()
        embedding = embeddings.load_layer(folder, layer)
        votes[:, layer.depth], knn_pred[:, layer.depth] = knn.probe(embedding, in_train, labels, num_classes, search)
        log.info(
            "layer %2d %-12s dim %6d  k-NN accuracy %.4f  %.1f s (%s)",
            layer.depth,
            layer.name,
            layer.dim,
            (knn_pred[:, layer.depth] == labels).mean(),
            time.perf_counter() - started,
            method,
        )
    return knn_pred, votes


def batches_of(images, batch_size: int, device: torch.device) -> Iterator[torch.Tensor]:
    """Model inputs, a batch at a time, on ``device``: from a tensor, an array, or a DataLoader of tensors or of
    (inputs, ...) tuples, which must not shuffle."""
    if isinstance(images, torch.utils.data.DataLoader):
        if isinstance(images.sampler, torch.utils.data.RandomSampler):
            raise ValueError("the DataLoader shuffles: give one with shuffle=False, so that examples keep their order")
        for batch in images:
            yield (batch[0] if isinstance(batch, list | tuple) else batch).to(device)
        return
    images = torch.as_tensor(images)
    for start in range(0, len(images), batch_size):
        yield images[start : start + batch_size].to(device)


def probe_model(
    model: nn.Module,
    images: torch.Tensor | np.ndarray | Iterable,
    labels: np.ndarray,
    in_train: np.ndarray,
    layers: list[str] | None = None,
    *,
    k: int = PROBE["k"],
    backend: str = "auto",
    device: str | torch.device | None = None,
    max_dim: int | None = PROBE["max_dim"],
    reduction: str = PROBE["reduction"],
    batch_size: int = 256,
    progress: bool = True,
    classes: list[str] | None = None,
    seed: int = 0,
    workdir: str | Path | None = None,
) -> xr.Dataset:
    """Prediction depth of every example for a trained classifier, with the study's k-NN probes.

    ``images`` are the model's inputs (already normalised as the model expects), in the order of ``labels``;
    ``in_train`` marks the examples the model was trained on, the support set of every probe. ``layers`` names the
    probed submodules (or torchvision graph nodes); by default :func:`default_layers`. The input and the softmax of the
    model's output are probed too, first and last, as in the study. Probes wider than ``max_dim`` are reduced
    (``project``: a seeded Gaussian random projection; ``pool``: average pooling first). The embeddings are written
    to a temporary folder (in ``workdir`` if given), never all held in memory.

    Returns the cube of one seed (``seed``): ``pd``, ``knn_pred``, ``knn_conf``, ``knn_true_conf``, ``pred``,
    ``in_train``, ``label``, ``layer_name``, ... as ``xarray.open_dataset`` gives the workflow's ``cube.nc``.
    """
    labels = np.asarray(labels)
    in_train = np.asarray(in_train, dtype=bool)
    if len(labels) != len(in_train):
        raise ValueError(f"{len(labels)} labels but {len(in_train)} in_train flags")
    device = torch.device(device) if device is not None else next(model.parameters(), torch.empty(0)).device
    names = [INPUT, *(default_layers(model) if layers is None else layers), SOFTMAX]
    search = settings(k, backend, device, seed)
    model = model.to(device)
    with tempfile.TemporaryDirectory(prefix="pdepth-", dir=workdir) as folder:
        probes, pred = embeddings.write_probes(
            model,
            names,
            batches_of(images, batch_size, device),
            len(labels),
            Path(folder),
            reducer=Reducer(max_dim, seed, reduction),
            progress=progress,
        )
        num_classes = probes[-1].dim
        if labels.max(initial=0) >= num_classes or labels.min(initial=0) < 0:
            raise ValueError(f"labels span {labels.min()}..{labels.max()}, the model has {num_classes} outputs")
        knn_pred, votes = probe_layers(Path(folder), probes, in_train, labels, num_classes, search)
    return cube.build(
        example_index=np.arange(len(labels)),
        labels=labels,
        orig_split=None,
        orig_index=None,
        classes=tuple(classes) if classes is not None else tuple(str(c) for c in range(num_classes)),
        seeds=[seed],
        in_train=in_train[:, None],
        pred=pred[:, None],
        knn_pred=knn_pred[:, None],
        votes=votes[:, None],
        layer_names=[layer.name for layer in probes],
        layer_dims=[layer.dim for layer in probes],
        layer_reductions=[layer.reduction for layer in probes],
        k=k,
        attrs={
            "architecture": type(model).__name__,
            "probe_backend": search.backend_for(int(in_train.sum())),
            "probe_settings": json.dumps(asdict(search)),
        },
    )
