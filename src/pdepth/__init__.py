"""pdepth: prediction depth and example difficulty (Baldock, Maennel & Neyshabur, NeurIPS 2021).

The public API: :func:`probe_model` (prediction depth of any torch classifier), its building blocks
:func:`knn_probe` and :func:`prediction_depth`; for a finished study, :func:`open_results` (the workflow's results of
one model), :func:`mean_depth` (each example's), :func:`show_examples` (the hardest and easiest as images) and
:func:`load_model` (a trained model).
They are imported on first use, so that ``import pdepth`` stays light.
"""

from importlib import import_module
from typing import TYPE_CHECKING

__version__ = "0.2.0"
__all__ = [
    "knn_probe",
    "load_model",
    "mean_depth",
    "open_results",
    "prediction_depth",
    "probe_model",
    "show_examples",
]

_HOMES = {
    "knn_probe": "pdepth.api",
    "probe_model": "pdepth.api",
    "prediction_depth": "pdepth.probing.depth",
    "open_results": "pdepth.outputs.results",
    "mean_depth": "pdepth.outputs.results",
    "load_model": "pdepth.outputs.results",
    "show_examples": "pdepth.figures.examples",
}

if TYPE_CHECKING:
    from pdepth.api import knn_probe, probe_model
    from pdepth.figures.examples import show_examples
    from pdepth.outputs.results import load_model, mean_depth, open_results
    from pdepth.probing.depth import prediction_depth


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'pdepth' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
