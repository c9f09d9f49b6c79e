"""Every figure of the study: what it draws from (``pdepth.figures.plan`` decides which runs it covers).

A figure has a scope, which fixes its wildcards and inputs:

- ``model``: one (variant, dataset, arch); inputs its cube, metrics and the prepared dataset (for images).
- ``dataset``: the models of every architecture on one dataset (of the figure's variant: 90:10 splits unless it
  says ``full``).
- ``architecture``: the models of one architecture on every dataset (likewise).
- ``interventions``: the margin interventions (0-Hinge, its cross-entropy control, untrained) of one (dataset, arch).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pdepth.config.study import FULL

if TYPE_CHECKING:
    import matplotlib.pyplot as plt
    import pandas as pd
    import xarray as xr

    from pdepth.config.jobs import FigureOptions
    from pdepth.data.prepared import Prepared

MODEL, DATASET, ARCHITECTURE, INTERVENTIONS = "model", "dataset", "architecture", "interventions"
# Which variants a model figure is drawn for (FigureSpec.covers; a figure that covers none is skipped: "needs ...").
EVERY, SPLITS, NOISY = (
    "any variant",
    "the 90:10 or full-training-set splits",
    "an intervention with label_noise > 0 (configs/label_noise.yaml adds one to the default study)",
)
# What a figure needs of the config (pdepth.figures.plan says why a figure it cannot draw is skipped):
ENSEMBLE = "ensemble"  # at least 2 seeds
HOLDOUT = "holdout"  # examples both held out and trained on (not drawn for a full-training-set variant)
ARCHITECTURES = "architectures"  # at least 2 architectures
PAIRS = "pairs"  # two models to compare: 2 architectures, or 2 seeds
FULL_ENSEMBLE = "full ensemble"  # full-training-set models: one against the consensus of at least 2 others


def _drawing(module: str):
    """A drawing module of pdepth.figures, imported when a figure is drawn: they import matplotlib, which the
    Snakefile (it reads this registry to plan the DAG) must not."""
    return importlib.import_module(f"pdepth.figures.{module}")


@dataclass
class Inputs:
    """What a figure reads, by label (architecture, dataset or intervention; "" for a model figure)."""

    cubes: dict[str, xr.Dataset]
    metrics: dict[str, xr.Dataset] = field(default_factory=dict)
    prepared: Prepared | None = None
    options: FigureOptions | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # detection.csv, by label

    @property
    def cube(self) -> xr.Dataset:
        return next(iter(self.cubes.values()))

    @property
    def model_metrics(self) -> xr.Dataset:
        return next(iter(self.metrics.values()))


@dataclass(frozen=True)
class FigureSpec:
    name: str  # the file name, without extension
    paper: str  # where it is in the paper; the report's category, so no ": " (docutils would cut the name there)
    scope: str
    uses: tuple[str, ...]  # among "cube", "metrics", "prepared", "detection"
    draw: Callable[[Inputs], plt.Figure]
    variant: str = ""  # the name of the design a dataset or architecture figure reads: "" (90:10 splits) or FULL
    covers: str = SPLITS  # a model figure: the variants it is drawn for (EVERY, SPLITS, NOISY)
    needs: tuple[str, ...] = ()  # what it needs of the config, checked in this order (ENSEMBLE, HOLDOUT, ...)


FIGURES = {
    spec.name: spec
    for spec in (
        FigureSpec(
            "pd_distribution",
            "Figure 1 (right)",
            ARCHITECTURE,
            ("cube",),
            lambda i: _drawing("depth").pd_distribution(i.cubes),
        ),
        FigureSpec(
            "depth_examples",
            "Figure 1 (left)",
            MODEL,
            ("metrics", "prepared"),
            lambda i: _drawing("depth").depth_examples(i.model_metrics, i.prepared, i.options.examples_per_class),
        ),
        FigureSpec(
            "depth_agreement",
            "Figure 2 (left)",
            DATASET,
            ("cube",),
            lambda i: _drawing("depth").depth_agreement(i.cubes, i.options.settings.seed_pairs),
            needs=(PAIRS,),
        ),
        FigureSpec(
            "mean_depth_pairs",
            "Figure 2 (right)",
            DATASET,
            ("cube", "metrics"),
            lambda i: _drawing("depth").mean_depth_pairs(i.cubes, i.metrics, i.options.settings.seed_pairs),
            needs=(ARCHITECTURES,),
        ),
        FigureSpec(
            "consistency_vs_depth",
            "Figure 3",
            MODEL,
            ("cube", "metrics"),
            lambda i: _drawing("consistency").consistency_vs_depth(i.cube, i.model_metrics),
            needs=(ENSEMBLE,),
        ),
        FigureSpec(
            "consensus_consistency_vs_depth",
            "Figure 4 (left)",
            MODEL,
            ("cube", "metrics"),
            lambda i: _drawing("consistency").consensus_consistency_vs_depth(
                i.cube, i.model_metrics, i.options.floor, i.options.settings.run_groups
            ),
            needs=(ENSEMBLE,),
        ),
        FigureSpec(
            "depth_predicts_consensus",
            "Figure 4 (middle)",
            ARCHITECTURE,
            ("cube", "metrics"),
            lambda i: _drawing("consistency").depth_predicts_consensus(i.cubes, i.metrics),
            variant=FULL,
            needs=(FULL_ENSEMBLE,),
        ),
        FigureSpec(
            "depth_predicts_accuracy",
            "Figure 4 (right)",
            ARCHITECTURE,
            ("cube",),
            lambda i: _drawing("consistency").depth_predicts_accuracy(i.cubes),
            needs=(ENSEMBLE,),
        ),
        FigureSpec(
            "iteration_learned",
            "Figure 5 (left)",
            ARCHITECTURE,
            ("cube", "metrics"),
            lambda i: _drawing("learning").iteration_learned_by_depth(
                i.cubes, i.metrics, i.options.settings.seed_pairs
            ),
            needs=(ENSEMBLE,),
        ),
        FigureSpec(
            "label_noise_curves",
            "Figure 5 (middle, right)",
            MODEL,
            ("cube", "metrics"),
            lambda i: _drawing("learning").label_noise_curves(i.cube, i.model_metrics),
            covers=NOISY,
        ),
        FigureSpec(
            "margins_vs_depth",
            "Figure 6 (left, middle)",
            MODEL,
            ("cube", "metrics"),
            lambda i: _drawing("margins").margins_vs_depth(i.cube, i.model_metrics, i.options.settings.seed_pairs),
        ),
        FigureSpec(
            "margin_interventions",
            "Figure 6 (right)",
            INTERVENTIONS,
            ("cube",),
            lambda i: _drawing("margins").margin_interventions(i.cubes),
        ),
        FigureSpec(
            "validation_vs_training_depth",
            "Figure 7",
            MODEL,
            ("cube", "metrics", "prepared"),
            lambda i: _drawing("corners").validation_vs_training_depth(
                i.cube, i.model_metrics, i.prepared, i.options.corner_class
            ),
            needs=(HOLDOUT, ENSEMBLE),
        ),
        FigureSpec(
            "corner_probes",
            "Figure 8",
            MODEL,
            ("cube", "metrics"),
            lambda i: _drawing("corners").corner_probes(i.cube, i.model_metrics),
            needs=(HOLDOUT, ENSEMBLE),
        ),
        FigureSpec(
            "score_correlations",
            "beyond the paper (prediction depth and the standard difficulty scores)",
            MODEL,
            ("cube", "metrics"),
            lambda i: _drawing("scores").score_correlations(i.cube, i.model_metrics, i.options.settings),
            needs=(ENSEMBLE,),
        ),
        FigureSpec(
            "dataset_map",
            "beyond the paper (the dataset map of Swayamdipta et al., 2020)",
            MODEL,
            ("cube", "metrics"),
            lambda i: _drawing("scores").dataset_map(i.cube, i.model_metrics),
        ),
        FigureSpec(
            "mislabel_detection",
            "beyond the paper (finding the flipped labels, layer by layer)",
            MODEL,
            ("cube", "detection"),
            lambda i: _drawing("scores").mislabel_detection(next(iter(i.tables.values())), i.cube),
            covers=NOISY,
        ),
        FigureSpec(
            "knn_accuracy",
            "Figures 5 and 6 (inference learning curve)",
            MODEL,
            ("cube",),
            lambda i: _drawing("learning").inference_learning_curve(i.cube),
            covers=EVERY,
        ),
    )
}
