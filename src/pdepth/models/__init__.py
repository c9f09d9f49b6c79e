"""Models of the study and where their k-NN probes sit. Importing this package registers every architecture."""

from pdepth.models import mlp, resnet, vgg  # noqa: F401  (each registers its architecture)
from pdepth.models.registry import INPUT, MODELS, SOFTMAX, InputShape, ProbedModel, build

__all__ = ["INPUT", "MODELS", "SOFTMAX", "InputShape", "ProbedModel", "build"]
