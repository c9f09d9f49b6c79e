"""Per-probe activations of every example, streamed to one .npy file per probe (never all layers in memory)."""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from pdepth.augment import Normalizer
from pdepth.models import INPUT, SOFTMAX, ProbedModel
from pdepth.records import allocate
from pdepth.reduction import Reducer

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


@torch.no_grad()
def extract(
    model: ProbedModel,
    images: torch.Tensor,
    normalize: Normalizer,
    out_dir: Path,
    batch_size: int = 1024,
    dtype: str = "float32",
    reducer: Reducer | None = None,
    progress: bool = True,
) -> list[Layer]:
    """Run ``model`` in eval mode over ``images`` (uint8 NCHW) and write each probe's flattened output to ``out_dir``.

    Probe activations come from forward hooks on the named submodules, so the model's own forward pass is the only one.
    The model's state (weights, batch-norm statistics, train/eval mode) is left as it was. ``reducer`` bounds the
    width of each probe before it is written (see pdepth.reduction).
    """
    reducer = reducer or Reducer(None, 0, "project")  # max_dim None: nothing is reduced
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = model.probe_names()
    captured: dict[str, torch.Tensor] = {}
    hooks = [
        model.get_submodule(name).register_forward_hook(lambda _m, _i, out, name=name: captured.__setitem__(name, out))
        for name in names
        if name not in (INPUT, SOFTMAX)
    ]
    was_training = model.training
    model.eval()
    arrays: dict[str, np.ndarray] = {}
    shapes: dict[str, tuple[int, ...]] = {}
    try:
        for start in tqdm(range(0, len(images), batch_size), disable=not progress, desc="embed", unit="batch"):
            x = normalize(images[start : start + batch_size])
            captured[INPUT] = x
            captured[SOFTMAX] = torch.softmax(model(x), dim=1)
            for name in names:
                shapes[name] = tuple(captured[name].shape[1:])
                batch = reducer(name, captured[name]).cpu().numpy()
                if name not in arrays:
                    path = out_dir / _file_name(names, name)
                    arrays[name] = np.lib.format.open_memmap(
                        path, mode="w+", dtype=dtype, shape=(len(images), batch.shape[1])
                    )
                    allocate(path, arrays[name].offset + arrays[name].nbytes)
                arrays[name][start : start + len(batch)] = batch
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    layers = [
        Layer(name, depth, arrays[name].shape[1], _file_name(names, name), shapes[name], reducer.descriptions[name])
        for depth, name in enumerate(names)
    ]
    for array in arrays.values():
        array.flush()
    (out_dir / MANIFEST).write_text(json.dumps([asdict(layer) for layer in layers], indent=1))
    return layers


def _file_name(names: list[str], name: str) -> str:
    return f"layer{names.index(name):02d}.npy"


def read_manifest(out_dir: Path) -> list[Layer]:
    entries = json.loads((Path(out_dir) / MANIFEST).read_text())
    return [Layer(**{**entry, "shape": tuple(entry["shape"])}) for entry in entries]


def load_layer(out_dir: Path, layer: Layer) -> np.ndarray:
    """The embedding of one probe as float32 (memory-mapped when already float32)."""
    array = np.load(Path(out_dir) / layer.file, mmap_mode="r")
    return array if array.dtype == np.float32 else array.astype(np.float32)
