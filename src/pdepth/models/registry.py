"""Registry of architectures. Each model names its probe points, ordered by depth 0..L."""

from collections.abc import Callable
from importlib import import_module

from torch import nn

from pdepth.models import architectures
from pdepth.models.architectures import InputShape

INPUT = "input"  # probe on the flattened input, as fed to the network
SOFTMAX = "softmax"  # probe on the softmax of the logits


class ProbedModel(nn.Module):
    """A classifier that lists its probe points: ``input``, names of submodules (their outputs), ``softmax``."""

    def probe_names(self) -> list[str]:
        raise NotImplementedError


Builder = Callable[[InputShape, dict], ProbedModel]
MODELS: dict[str, Builder] = {}


def register(name: str):
    def decorator(builder: Builder) -> Builder:
        MODELS[name] = builder
        return builder

    return decorator


def register_all() -> None:
    """Import every architecture's module, each registering its builder."""
    for arch in architectures.ARCHITECTURES.values():
        import_module(arch.module)


def build(name: str, shape: InputShape, options: dict | None = None) -> ProbedModel:
    """Architecture ``name`` for inputs of ``shape``; options not given take pdepth.models.architectures' defaults."""
    spec = architectures.get(name)
    import_module(spec.module)
    return MODELS[name](shape, spec.resolve(options))
