"""Models of the study and where their k-NN probes sit. Importing this package registers every architecture
of ``pdepth.architectures``."""

import importlib

from pdepth.architectures import ARCHITECTURES
from pdepth.models.registry import INPUT, MODELS, SOFTMAX, InputShape, ProbedModel, build

for _arch in ARCHITECTURES.values():
    importlib.import_module(_arch.module)  # registers its builder

__all__ = ["INPUT", "MODELS", "SOFTMAX", "InputShape", "ProbedModel", "build"]
