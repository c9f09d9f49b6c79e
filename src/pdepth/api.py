"""Prediction depth of any classifier, outside the workflow: k-NN probes on its layers, the cube of one seed.

The workflow's stages use the same pieces: :func:`pdepth.probing.embeddings.write_probes`,
:func:`pdepth.probing.knn.probe`, :func:`pdepth.outputs.cube.build` (which computes the depth with
:func:`pdepth.probing.depth.prediction_depth`).
"""

import itertools
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
from tqdm import tqdm

from pdepth import schema
from pdepth.device import pick_device, usable_cpus
from pdepth.models import INPUT, SOFTMAX, ProbedModel
from pdepth.outputs import cube
from pdepth.probing import embeddings, knn
from pdepth.probing.depth import to_numpy
from pdepth.probing.reduction import Reducer

log = logging.getLogger(__name__)

PROBE = schema.defaults("probe")  # the study's defaults: k, max_dim, reduction, ...
BACKENDS = ("auto", *schema.choices("probe.backend"))
SKIPPED = (nn.Dropout, nn.Identity, nn.Flatten)  # their output has the neighbours of their input


class KnnProbe(NamedTuple):
    """The k-NN probe's class of every example, and its votes (counts out of k) for every class."""

    pred: np.ndarray  # (N,)
    votes: np.ndarray  # (N, C)


def settings(k: int, backend: str, device: str | torch.device = "cpu", random_state: int = 0) -> knn.ProbeSettings:
    """The probe settings of a backend name: ``auto`` searches a probe exactly where its work (examples x training
    examples x dims) is at most the study's ``probe.exact_work``, or on a GPU, and with pynndescent above
    (:func:`probe_model` plans further: :meth:`~pdepth.probing.knn.ProbeSettings.planned`); ``exact`` and
    ``pynndescent`` always use that search."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    by_name = {"auto": {}, "exact": {"backend": "exact"}, "pynndescent": {"backend": "pynndescent", "exact_work": 0}}
    return knn.ProbeSettings.defaults(
        k=k, random_state=random_state, n_jobs=usable_cpus(), device=str(device), **by_name[backend]
    )


def as_array(value, name: str) -> np.ndarray:
    """A numpy array of a list, an array or a torch tensor (on any device)."""
    try:
        return to_numpy(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: cannot be read as an array ({exc}); pass a numpy array or a torch tensor") from exc


def checked_labels(labels, n: int | None = None) -> np.ndarray:
    """``labels`` as int64 class indices: integer-valued, one per example (``n``), none negative."""
    labels = as_array(labels, "labels")
    if labels.ndim != 1:
        raise ValueError(f"labels: one class index per example, a 1-D array; got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        numeric = np.issubdtype(labels.dtype, np.number) or labels.dtype == bool
        if not numeric or not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)):
            sample = labels[:3].tolist()
            raise TypeError(f"labels: class indices must be integers, got {labels.dtype} values such as {sample}")
        labels = labels.astype(np.int64)
    if n is not None and len(labels) != n:
        raise ValueError(f"labels: {len(labels)} labels for {n} examples; pass one per example, in the same order")
    if len(labels) and labels.min() < 0:
        raise ValueError(f"labels: class indices start at 0, got {labels.min()}")
    return labels.astype(np.int64, copy=False)


def checked_in_train(in_train, n: int, k: int) -> np.ndarray:
    """``in_train`` as booleans, one per example, marking more than ``k`` training examples (a training example's
    neighbours exclude itself)."""
    flags = as_array(in_train, "in_train")
    if flags.ndim != 1 or len(flags) != n:
        raise ValueError(f"in_train: {flags.shape} flags for {n} examples; pass one boolean per example")
    if flags.dtype != bool:
        if not np.isin(flags, (0, 1)).all():
            raise TypeError(f"in_train: booleans (or 0/1) marking the training examples, got {flags.dtype} values")
        flags = flags.astype(bool)
    if not isinstance(k, int | np.integer) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k: the number of neighbours, an integer of at least 1; got {k!r}")
    knn.check_support(k, int(flags.sum()))
    return flags


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
    embedding = as_array(embedding, "embedding")
    labels = checked_labels(labels, len(embedding))
    in_train = checked_in_train(in_train, len(labels), k)
    num_classes = int(labels.max()) + 1 if num_classes is None else num_classes
    if labels.max() >= num_classes:
        raise ValueError(f"labels: class {labels.max()} is not below num_classes={num_classes}")
    embedding = embedding.astype(np.float32, copy=False).reshape(len(labels), -1)
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
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The k-NN probe of every layer written to ``folder``, one layer in memory at a time: (knn_pred (N, L+1),
    votes (N, L+1, C) counts out of k); with ``progress``, a bar over the layers."""
    knn_pred = np.zeros((len(labels), len(layers)), dtype=np.int16)
    votes = np.zeros((len(labels), len(layers), num_classes), dtype=knn.vote_dtype(search.k))
    for layer in tqdm(layers, desc="probe", unit="layer", disable=not progress, dynamic_ncols=True):
        started = time.perf_counter()
        embedding = embeddings.load_layer(folder, layer)
        try:
            votes[:, layer.depth], knn_pred[:, layer.depth] = knn.probe(
                embedding, in_train, labels, num_classes, search
            )
        except ValueError as exc:
            raise ValueError(f"probe {layer.depth} ({layer.name}): {exc}") from exc
        log.info(
            "layer %2d %-12s dim %6d  k-NN accuracy %.4f  %.1f s (%s)",
            layer.depth,
            layer.name,
            layer.dim,
            (knn_pred[:, layer.depth] == labels).mean(),
            time.perf_counter() - started,
            search.backend_for(len(labels), int(in_train.sum()), layer.dim),
        )
    return knn_pred, votes


def keeps_order(loader: torch.utils.data.DataLoader) -> bool:
    """Whether the loader yields its dataset's examples in order, once each: judged by the indices its batch
    sampler gives (a random sampler is refused without drawing from it)."""
    if isinstance(loader.dataset, torch.utils.data.IterableDataset):
        return True  # its order is its own (and its sampler never ends)
    sampler = getattr(loader.batch_sampler, "sampler", loader.sampler)
    if isinstance(sampler, torch.utils.data.SequentialSampler):
        return True
    if isinstance(sampler, torch.utils.data.RandomSampler):
        return False
    batches = loader.batch_sampler if loader.batch_sampler is not None else ([index] for index in loader.sampler)
    return [index for batch in batches for index in batch] == list(range(len(loader.dataset)))


def batches_of(images, batch_size: int, device: torch.device, dtype: torch.dtype) -> Iterator[torch.Tensor]:
    """Model inputs, a batch at a time, on ``device`` in the model's floating ``dtype``: from a tensor, an array, or
    a DataLoader of tensors or of (inputs, ...) tuples that keeps its examples' order. A batch with NaN or infinite
    values is refused with its first example's index."""
    if isinstance(images, torch.utils.data.DataLoader):
        if not keeps_order(images):
            raise ValueError(
                "images: the DataLoader does not yield its examples in order (a shuffling or subset sampler): give one "
                "with shuffle=False and no sampler, so that example i matches labels[i]"
            )
        batches = (batch[0] if isinstance(batch, list | tuple) else batch for batch in images)
    else:
        tensor = torch.as_tensor(images)
        batches = (tensor[start : start + batch_size] for start in range(0, len(tensor), batch_size))
    start = 0
    for batch in batches:
        if not torch.is_floating_point(batch):
            raise TypeError(
                f"images: {batch.dtype} inputs; pass floats normalised as the model expects (e.g. uint8 / 255, then "
                "the model's mean and std)"
            )
        finite = torch.isfinite(batch.reshape(len(batch), -1)).all(1)
        if not bool(finite.all()):
            first = start + int(torch.nonzero(~finite)[0])
            raise ValueError(f"images: example {first} has NaN or infinite values; its neighbours would be arbitrary")
        start += len(batch)
        yield batch.to(device=device, dtype=dtype)


def check_model_takes(model: nn.Module, batch: torch.Tensor) -> None:
    """The model runs on the first input (eval mode, one example), or a ValueError that names the inputs' shape,
    before any embedding is written; channels-last images are the common cause."""
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(batch[:1])
    except RuntimeError as error:
        shape = tuple(batch.shape[1:])
        hint = ""
        if len(shape) == 3 and shape[-1] in (1, 3, 4) and shape[0] not in (1, 3, 4):
            hint = (
                " They look channels-last (H, W, C); a torch model takes (C, H, W): pass images.permute(0, 3, 1, 2) "
                "(a tensor) or images.transpose(0, 3, 1, 2) (an array)."
            )
        raise ValueError(
            f"images: the model cannot take inputs of shape {shape} per example ({error}).{hint}"
        ) from error
    finally:
        model.train(training)


def probe_names(model: nn.Module, layers: list[str] | None) -> list[str]:
    """The probes of :func:`probe_model`: the model's input, then ``layers`` (by default :func:`default_layers`),
    then the softmax of its output."""
    requested = default_layers(model) if layers is None else list(layers)
    clashes = {INPUT, SOFTMAX} & set(requested)
    if clashes:
        raise ValueError(
            f"layers: {sorted(clashes)} are the names of the probes probe_model adds for the model's input and "
            "output; rename that submodule (or wrap the model) to probe it"
        )
    return [INPUT, *requested, SOFTMAX]


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
    labels = checked_labels(labels)
    if (
        hasattr(images, "__len__")
        and not isinstance(images, torch.utils.data.DataLoader)
        and len(images) != len(labels)
    ):
        raise ValueError(f"images: {len(images)} images for {len(labels)} labels; pass one label per image")
    in_train = checked_in_train(in_train, len(labels), k)
    parameter = next(model.parameters(), torch.empty(0))
    device = pick_device(str(device)) if device is not None else parameter.device  # a missing GPU, said before any work
    names = probe_names(model, layers)
    search = settings(k, backend, device, seed)
    model = model.to(device)
    inputs = batches_of(images, batch_size, device, parameter.dtype if parameter.is_floating_point() else torch.float32)
    first = next(inputs, None)
    if first is not None:
        check_model_takes(model, first)
    with tempfile.TemporaryDirectory(prefix="pdepth-", dir=workdir) as folder:
        probes, logits = embeddings.write_probes(
            model,
            names,
            itertools.chain([] if first is None else [first], inputs),
            len(labels),
            Path(folder),
            reducer=Reducer(max_dim, seed, reduction),
            progress=progress,
        )
        num_classes = probes[-1].dim
        if labels.max(initial=0) >= num_classes or labels.min(initial=0) < 0:
            raise ValueError(f"labels span {labels.min()}..{labels.max()}, the model has {num_classes} outputs")
        search = search.planned(len(labels), int(in_train.sum()), [layer.dim for layer in probes])
        knn_pred, votes = probe_layers(Path(folder), probes, in_train, labels, num_classes, search, progress)
    classes = tuple(classes) if classes is not None else tuple(str(c) for c in range(num_classes))
    used = search.searches(len(labels), int(in_train.sum()), [layer.dim for layer in probes])
    return cube.build(
        cube.ExampleCoords(np.arange(len(labels)), labels, classes),
        cube.SeedResults.stacked([seed], [in_train], [logits.argmax(1)], [knn_pred], [votes]),
        cube.Probes(
            [layer.name for layer in probes], [layer.dim for layer in probes], [layer.reduction for layer in probes], k
        ),
        {
            "architecture": type(model).__name__,
            "probe_backend": used,
            "probe_settings": json.dumps(asdict(search) | {"search_used": used}),
        },
    )
