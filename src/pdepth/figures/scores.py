"""Prediction depth next to the standard difficulty scores: their agreement across seeds, the dataset map, and which
score (and which layer's probe) finds the flipped labels of a label-noise study."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr

from pdepth.config.jobs import FidelitySettings
from pdepth.fidelity import claims
from pdepth.figures.style import SCORE_LABELS, describe, layer_axis, model_title
from pdepth.metrics import agreement


def score_correlations(cube: xr.Dataset, metrics: xr.Dataset, settings: FidelitySettings) -> plt.Figure:
    """Spearman r of every pair of scores, each on one half of the seeds (pdepth.metrics.agreement), with its
    interval over runs and examples."""
    found = agreement.correlations(cube, metrics, settings)
    names = list(agreement.SCORES)
    matrix = np.array([[found[a, b].estimate for b in names] for a in names])
    fig, ax = plt.subplots(figsize=(11, 9.5))
    image = ax.imshow(matrix, cmap="RdBu_r", vmin=-1, vmax=1)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            evidence = found[a, b]
            text = f"{evidence.estimate:.2f}\n[{_short(evidence.low)}, {_short(evidence.high)}]"
            ax.text(
                j, i, text if evidence.testable else f"{evidence.estimate:.2f}", ha="center", va="center", fontsize=7
            )
    labels = [SCORE_LABELS[name] for name in names]
    ax.set_xticks(range(len(names)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), labels)
    ax.set_xlabel("score on the odd seeds (and the even ones: the mean of both)")
    ax.set_ylabel("score on the even seeds")
    fig.colorbar(image, ax=ax, label="Spearman r of the per-example means", shrink=0.8)
    any_pair = found[names[0], names[1]]
    intervals = (
        f"[{settings.confidence:.0%} interval over runs and examples]"
        if any_pair.testable
        else f"no intervals: {any_pair.why}"
    )
    ax.set_title(
        f"How the difficulty scores agree across seeds, {model_title(cube)}: {any_pair.units:,} examples, "
        f"{any_pair.runs} seeds; {intervals}"
    )
    return fig


def dataset_map(cube: xr.Dataset, metrics: xr.Dataset) -> plt.Figure:
    """Swayamdipta et al.'s dataset map (confidence against variability of the assigned label's probability over
    the training passes), each example coloured by its mean prediction depth in training."""
    fig, ax = plt.subplots(figsize=(7, 5.5))
    x, y = metrics.variability_train.values, metrics.confidence_train.values
    sums, counts = claims.training_depth_sums(cube)  # an example no seed trained on, or always undefined: NaN
    depth = np.divide(sums, counts, out=np.full(len(sums), np.nan), where=counts > 0)
    keep = np.isfinite(x) & np.isfinite(y) & np.isfinite(depth)
    order = np.flatnonzero(keep)[np.argsort(depth[keep], kind="stable")]  # the deepest drawn last, on top
    points = ax.scatter(x[order], y[order], c=depth[order], s=3, cmap="viridis", alpha=0.7, linewidths=0)
    fig.colorbar(points, ax=ax, label="mean prediction depth, in training")
    ax.set_xlabel("variability: std of the assigned label's probability over training passes")
    ax.set_ylabel("confidence: its mean")
    ax.set_title(f"Dataset map coloured by prediction depth. {describe(cube)}; {keep.sum():,} examples")
    return fig


def mislabel_detection(table: pd.DataFrame, cube: xr.Dataset) -> plt.Figure:
    """AUROC of finding the flipped labels: the k-NN probes' vote for the given label by layer (left); every score
    at each point of training it was read, and the network's memorisation of the flipped labels (right)."""
    fig, (by_layer, by_time) = plt.subplots(1, 2, figsize=(13, 4.8), layout="constrained")
    votes = table[table.score == "knn_vote"].sort_values("layer")
    last_epoch = votes.epoch.max()
    probed = sorted(votes.epoch.unique())
    for shade, epoch in zip(np.linspace(0.35, 1.0, len(probed)), probed, strict=True):
        rows = votes[votes.epoch == epoch]
        colour = plt.cm.Blues(shade)
        label = f"after epoch {epoch}, {rows.memorised.iloc[0]:.0%} of the flipped labels memorised"
        by_layer.errorbar(rows.layer, rows.auroc, yerr=_spread(rows), marker="o", color=colour, capsize=3, label=label)
    final = votes[votes.epoch == last_epoch]
    by_layer.plot(final.layer, final.auroc_null, linestyle=":", color="grey", label="null (scores shuffled in class)")
    on_votes = table[table.score == "cleanlab_knn_vote"].sort_values("layer")
    if len(on_votes):
        label = f"{SCORE_LABELS['cleanlab_knn_vote']}, at the end"
        by_layer.plot(on_votes.layer, on_votes.auroc, "x", color="tab:red", markersize=7, label=label)
    best = final.loc[final.auroc.idxmax()]
    by_layer.set_title(_chosen_title(table, best))
    layer_axis(by_layer, cube)
    by_layer.set_ylabel("AUROC, flipped labels first")
    by_layer.legend(fontsize=7)
    scores = table[~table.score.isin(BY_LAYER) & table.auroc.notna()]
    colours = plt.cm.tab20(np.arange(scores.score.nunique()) % 20)
    for colour, (name, rows) in zip(colours, scores.groupby("score", sort=False), strict=True):
        rows = rows.sort_values("epoch")
        by_time.errorbar(
            rows.epoch, rows.auroc, yerr=_spread(rows), marker="o", color=colour, capsize=3, label=SCORE_LABELS[name]
        )
    layer_rows = votes[votes.layer == best.layer].sort_values("epoch")
    by_time.errorbar(
        layer_rows.epoch,
        layer_rows.auroc,
        yerr=_spread(layer_rows),
        marker="*",
        markersize=12,
        color="black",
        label=f"{SCORE_LABELS['knn_vote']}, layer {int(best.layer)}",
    )
    by_time.set_xlabel("epochs of training")
    by_time.set_xticks(sorted(table.epoch.unique()))
    by_time.set_ylabel("AUROC, flipped labels first")
    memorised = by_time.twinx()
    points = table.drop_duplicates("epoch").sort_values("epoch")
    memorised.plot(points.epoch, points.memorised, color="grey", linestyle="--", label="flipped labels memorised")
    memorised.set_ylabel("training accuracy on the flipped labels (dashed)")
    memorised.set_ylim(0, 1.05)
    by_time.legend(fontsize=7, ncols=1, loc="center left", bbox_to_anchor=(1.12, 0.5))
    last = points.iloc[-1]
    by_time.set_title(f"Each score when it was read; at the end {last.memorised:.0%} of the flipped labels memorised")
    fig.suptitle(
        f"Finding the flipped labels, {model_title(cube)}: {int(table.examples.max()):,} training examples, "
        f"{int(table.seeds.max())} seeds, {table[table.score == 'knn_vote'].layer.nunique()} probes"
    )
    return fig


BY_LAYER = ("knn_vote", "knn_vote_chosen", "cleanlab_knn_vote")  # drawn (or named) in the by-layer panel


def _chosen_title(table: pd.DataFrame, best: pd.Series) -> str:
    """The probes' headline: the layer and point chosen out of sample (where the table has it), then the best
    layer at the end, chosen on the same data it is scored on."""
    chosen = table[table.score == "knn_vote_chosen"]
    after_the_fact = f"best at the end, chosen after the fact: layer {int(best.layer)}, {best.auroc:.3f}"
    if chosen.empty:
        return f"{SCORE_LABELS['knn_vote']}\n{after_the_fact}"
    row = chosen.iloc[0]
    return (
        f"{SCORE_LABELS['knn_vote']}\nlayer and point chosen out of sample: {row.auroc:.3f} "
        f"[{row.auroc_low:.3f}, {row.auroc_high:.3f}]\n({after_the_fact})"
    )


def _short(value: float) -> str:
    """0.84 -> .84, -0.57 -> -.57: an interval that fits its cell."""
    return f"{value:.2f}".replace("0.", ".", 1)


def _spread(rows: pd.DataFrame) -> np.ndarray:
    """Error bars from the intervals (none where a row has no interval)."""
    low = (rows.auroc - rows.auroc_low).fillna(0).clip(lower=0)
    high = (rows.auroc_high - rows.auroc).fillna(0).clip(lower=0)
    return np.vstack([low.to_numpy(float), high.to_numpy(float)])
