"""Per-probe activations of every example, streamed to one .npy file per probe (never all layers in memory)."""

import contextlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from pdepth.data.augment import Normalizer
from pdepth.models import INPUT, SOFTMAX, ProbedModel
from pdepth.probing.reduction import Reducer
from pdepth.records import allocate
from pdepth.training.hparams import TrainConfig

MANIFEST = "layers.json"


@dataclass(frozen=True)
class Layer:
    """One probe: its name, depth (0 = input) and embedding width."""

    name: str
    depth: int
    dim: int
    file: str
    shape: tuple[int, ...] = ()  # the activation's shape per example, before any reduction
    reduction: str = "none"


def extract(
    model: ProbedModel,
    images: torch.Tensor,
    normalize: Normalizer,
    out_dir: Path,
    batch_size: int = TrainConfig.eval_batch_size,
    dtype: str = "float32",
    reducer: Reducer | None = None,
    progress: bool = True,
) -> tuple[list[Layer], np.ndarray]:
    """Run a study's ``model`` in eval mode over ``images`` (uint8 NCHW) and write each of its probes' flattened
    outputs to ``out_dir`` (see :func:`write_probes`); returns the probes and the model's (N, C) float32 logits."""
    batches = (normalize(images[start : start + batch_size]) for start in range(0, len(images), batch_size))
    return write_probes(model, model.probe_names(), batches, len(images), out_dir, dtype, reducer, progress)


@torch.no_grad()
def write_probes(
    model: nn.Module,
    names: list[str],
    batches: Iterable[torch.Tensor],
    total: int,
    out_dir: Path,
    dtype: str = "float32",
    reducer: Reducer | None = None,
    progress: bool = True,
) -> tuple[list[Layer], np.ndarray]:
    """Run ``model`` in eval mode over ``batches`` (its inputs, ``total`` examples in all) and write each probe's
    flattened output to ``out_dir``; returns the probes and the model's (N, C) float32 output for every example.

    ``names``: ``input`` (the batch as fed to the model), submodules (their outputs, from forward hooks, so the model's
    own forward pass is the only one) or, where one is not a submodule, nodes of torchvision's feature extraction, and
    ``softmax`` (of the model's output). The model's state (weights, batch-norm statistics, train/eval mode) is left as
    it was. ``reducer`` bounds the width of each probe before it is written (see pdepth.probing.reduction).
    """
    reducer = reducer or Reducer(None, 0, "project")  # max_dim None: nothing is reduced
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    shapes: dict[str, tuple[int, ...]] = {}
    logits_of: np.ndarray | None = None
    was_training = model.training
    model.eval()
    start = 0
    bar = tqdm(total=total, disable=not progress, desc="embed", unit="example", unit_scale=True)
    try:
        with activations(model, [name for name in names if name not in (INPUT, SOFTMAX)]) as forward, bar:
            for x in batches:
                logits, captured = forward(x)
                captured[INPUT] = x
                captured[SOFTMAX] = torch.softmax(logits, dim=1)
                end = start + len(x)
                if logits_of is None:
                    logits_of = np.empty((total, logits.shape[1]), np.float32)
                logits_of[start:end] = logits.float().cpu().numpy()
                for name in names:
                    shapes[name] = tuple(captured[name].shape[1:])
                    batch = reducer(name, captured[name]).cpu().numpy()
                    if name not in arrays:
                        path = out_dir / _file_name(names, name)
                        arrays[name] = np.lib.format.open_memmap(
                            path, mode="w+", dtype=dtype, shape=(total, batch.shape[1])
                        )
                        allocate(path, arrays[name].offset + arrays[name].nbytes)
                    arrays[name][start:end] = batch
                start = end
                bar.update(len(x))
    finally:
        model.train(was_training)
    if start != total:
        raise ValueError(f"the batches held {start} examples, not {total}")
    layers = [
        Layer(name, depth, arrays[name].shape[1], _file_name(names, name), shapes[name], reducer.descriptions[name])
        for depth, name in enumerate(names)
    ]
    for array in arrays.values():
        array.flush()
    (out_dir / MANIFEST).write_text(json.dumps([asdict(layer) for layer in layers], indent=1))
    return layers, logits_of


@contextlib.contextmanager
def activations(model: nn.Module, names: list[str]):
    """A function ``x -> (model(x), {name: activation})`` for submodules (forward hooks) or graph nodes (torchvision's
    feature extraction, used when a name is not a submodule)."""
    modules = dict(model.named_modules())
    if all(name in modules for name in names):
        captured: dict[str, torch.Tensor] = {}
        calls: dict[str, int] = {}

        def keep(name, output):
            captured[name] = output
            calls[name] = calls.get(name, 0) + 1

        def forward(x):
            captured.clear()
            calls.clear()
            logits = model(x)
            twice = sorted(name for name, count in calls.items() if count > 1)
            if twice:
                raise ValueError(
                    f"{twice} run more than once per forward pass, so their output is ambiguous: probe the submodules "
                    "that contain them, or graph nodes (torchvision.models.feature_extraction.get_graph_node_names)"
                )
            missing = sorted(set(names) - set(captured))
            if missing:
                raise ValueError(f"{missing} did not run in the model's forward pass: probe other submodules")
            return logits, dict(captured)

        hooks = [modules[name].register_forward_hook(lambda _m, _i, out, name=name: keep(name, out)) for name in names]
        try:
            yield forward
        finally:
            for hook in hooks:
                hook.remove()
    else:
        from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names

        nodes = get_graph_node_names(model)[1]
        unknown = [name for name in names if name not in nodes and name not in modules]  # a module: its last node
        if unknown:
            raise ValueError(f"{unknown} are neither submodules nor graph nodes of the model; its graph nodes: {nodes}")
        output = nodes[-1]
        extractor = create_feature_extractor(model, return_nodes=list(dict.fromkeys([*names, output])))

        def forward(x):
            captured = extractor(x)
            return captured[output], captured

        yield forward


def _file_name(names: list[str], name: str) -> str:
    return f"layer{names.index(name):02d}.npy"


def read_manifest(out_dir: Path) -> list[Layer]:
    entries = json.loads((Path(out_dir) / MANIFEST).read_text())
    return [Layer(**{**entry, "shape": tuple(entry["shape"])}) for entry in entries]


def load_layer(out_dir: Path, layer: Layer) -> np.ndarray:
    """The embedding of one probe as float32 (memory-mapped when already float32)."""
    array = np.load(Path(out_dir) / layer.file, mmap_mode="r")
    return array if array.dtype == np.float32 else array.astype(np.float32)
