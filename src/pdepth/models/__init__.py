"""Models of the study and where their k-NN probes sit. ``architectures`` describes them, and ``InputShape`` their
inputs, without torch; the names below (from ``registry``) import torch on first use, each architecture's module
registering its builder."""

from importlib import import_module
from typing import TYPE_CHECKING

from pdepth.models.architectures import InputShape

__all__ = ["INPUT", "MODELS", "SOFTMAX", "InputShape", "ProbedModel", "build"]

if TYPE_CHECKING:
    from pdepth.models.registry import INPUT, MODELS, SOFTMAX, ProbedModel, build


def __getattr__(name: str):
    if name in __all__ and name != "InputShape":
        registry = import_module("pdepth.models.registry")
        registry.register_all()
        return getattr(registry, name)
    raise AttributeError(f"module 'pdepth.models' has no attribute {name!r}")
