"""Stage: detection.csv of a label-noise study (one model): how well every difficulty score, at every point of
training it was read, and the k-NN probes' vote for the given label at every layer find the flipped labels; the
probes' best layer and point chosen out of sample; and cleanlab's confident learning, as its docs prescribe, on
out-of-sample probabilities: the probes' leave-one-out votes, and K-fold cross-validated models' softmax
(docs/outputs.md, "Mislabel detection")."""

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from pdepth.config.jobs import DetectionJob, FidelitySettings
from pdepth.metrics.detection import (
    LARGER_IS_FLIPPED,
    SMALLER_IS_FLIPPED,
    chosen_out_of_sample,
    cleanlab_scores,
    detect,
)
from pdepth.metrics.learning import CURVE_GROUPS
from pdepth.metrics.per_example import DYNAMICS
from pdepth.outputs.cube import filled_depth
from pdepth.probing.results import ProbeResults
from pdepth.records import atomic_write
from pdepth.statistics.verdicts import Evidence
from pdepth.training.runs import CrossvalResults, same_points

log = logging.getLogger(__name__)

# Where each score's larger values point: to a flipped label, or away from it.
ORIENTATION = {
    "forgetting": LARGER_IS_FLIPPED,
    "forgetting_events": LARGER_IS_FLIPPED,  # the raw count (never learned: 0), beside Toneva et al.'s score
    "never_learned": LARGER_IS_FLIPPED,
    "aum": SMALLER_IS_FLIPPED,
    "confidence": SMALLER_IS_FLIPPED,
    "variability": SMALLER_IS_FLIPPED,  # Swayamdipta et al.: mislabelled examples are "hard to learn", low in both
    "correctness": SMALLER_IS_FLIPPED,
    "el2n": LARGER_IS_FLIPPED,
    "final_loss": LARGER_IS_FLIPPED,
    "iteration_learned": LARGER_IS_FLIPPED,
    "pd": LARGER_IS_FLIPPED,
    "consistency": SMALLER_IS_FLIPPED,
    "knn_vote": SMALLER_IS_FLIPPED,
}
CHOSEN_NOTE = "the probes' vote at the layer and point with the best AUROC on the other seeds, scored on each seed"
VOTES_NOTE = "cleanlab on the final probes' vote fractions (training examples: leave-one-out), per seed"
CROSSVAL_NOTE = "cleanlab on {folds}-fold cross-validated probabilities of every training example, per seed"
END_ONLY = ("el2n", "final_loss", "iteration_learned", "pd", "consistency")  # read once, from the final model


def memorised(metrics: xr.Dataset, epochs: np.ndarray) -> np.ndarray:
    """Per point, the training passes' accuracy on the flipped labels at the end of that epoch (mean over seeds)."""
    curve = metrics.learning_curve.sel(group=CURVE_GROUPS[1]).values  # (seed, snapshot)
    steps = metrics.snapshot_step.values  # (seed, snapshot): initialisation, then ..., then the final model
    per_epoch = steps[:, -1] / max(int(epochs[-1]), 1)
    found = []
    for epoch in epochs:
        index = [int(np.argmin(np.abs(steps[s, :-1] - epoch * per_epoch[s]))) for s in range(len(steps))]
        found.append(float(np.nanmean([curve[s, i] for s, i in enumerate(index)])))
    return np.array(found)


def earlier_votes(probe_files: list[Path], points: int) -> dict[int, np.ndarray]:
    """Point -> (N, S, L) vote fractions for the given label of the models at the score points before the last."""
    results = [ProbeResults.load(path) for path in probe_files]
    for path, result in zip(probe_files, results, strict=True):
        same_points(path, len(result.earlier_label_votes), points - 1)
    return {p: np.stack([r.earlier_label_votes[p] for r in results], axis=1) for p in range(points - 1)}


def score_columns(
    cube: xr.Dataset, metrics: xr.Dataset, earlier: dict[int, np.ndarray]
) -> list[tuple[str, int, int | None, np.ndarray]]:
    """(score, point, layer, values (N, S)) of every row: the training-dynamics scores at each point, the end-only
    scores at the last, the k-NN vote for the given label at each layer at every point whose models were probed."""
    last = metrics.sizes["score_point"] - 1
    seeds = cube.sizes["seed"]
    rows = [(name, p, None, metrics[name].values[..., p]) for name in DYNAMICS for p in range(last + 1)]
    pd_values = filled_depth(cube)  # undefined: deeper than every probe
    end = {
        "el2n": metrics.el2n.values,
        "final_loss": metrics.final_loss.values,
        "iteration_learned": metrics.iteration_learned.values,
        "pd": pd_values,
        "consistency": np.repeat(metrics.consistency.values[:, None], seeds, axis=1),
    }
    rows += [(name, last, None, end[name]) for name in END_ONLY]
    votes = earlier | {last: cube.knn_true_conf.values}
    rows += [
        ("knn_vote", p, layer, votes[p][:, :, layer]) for p in sorted(votes) for layer in range(cube.sizes["layer"])
    ]
    return rows


def probe_probabilities(probe_files: list[Path]) -> list[np.ndarray]:
    """Per layer, (N, S, C): the final models' probes' vote fractions (the training examples' leave-one-out)."""
    votes = np.stack([ProbeResults.load(path).votes for path in probe_files], axis=1).astype(np.float64)
    votes /= votes.sum(axis=-1, keepdims=True)  # counts out of k: equal counts, equal fractions (ties kept)
    return [votes[:, :, layer] for layer in range(votes.shape[2])]


def crossval_probabilities(crossval_files: list[Path], points: int) -> list[np.ndarray]:
    """Per point, (N, S, C): the out-of-fold probabilities of the seeds' fold models (pdepth.pipeline.crossval)."""
    results = [CrossvalResults.load(path) for path in crossval_files]
    for path, result in zip(crossval_files, results, strict=True):
        same_points(path, len(result.probabilities), points)
    return [np.stack([r.probabilities[p] for r in results], axis=1) for p in range(points)]


def cleanlab_row(probs: np.ndarray, cube: xr.Dataset, flipped: np.ndarray, settings: FidelitySettings) -> dict:
    """cleanlab's label quality tested like every other row, and find_label_issues' precision and recall (the
    seeds' means) on out-of-sample probabilities (N, S, C)."""
    in_train, labels = cube.in_train.values, cube.label.values.astype(np.int64)
    quality, issues = cleanlab_scores(probs, labels, in_train)
    found = detect(quality, in_train, flipped, labels, settings, SMALLER_IS_FLIPPED)
    seeds = range(issues.shape[1])
    precision = [flipped[issues[:, s]].mean() for s in seeds if issues[:, s].any()]
    recall = [issues[in_train[:, s] & flipped, s].mean() for s in seeds]
    return {
        "found": found,
        "issues_precision": float(np.mean(precision)) if precision else np.nan,
        "issues_recall": float(np.mean(recall)),
    }


def chosen_row(columns: list[tuple], cube: xr.Dataset, flipped: np.ndarray, settings: FidelitySettings, epochs):
    """The probes' vote at the layer and point chosen on the other seeds (metrics.detection.chosen_out_of_sample):
    its AUROC, and which layer and point each seed was scored at."""
    candidates = [(point, layer, values) for name, point, layer, values in columns if name == "knn_vote"]
    chosen = chosen_out_of_sample(
        [values for *_, values in candidates],
        cube.in_train.values,
        flipped,
        cube.label.values.astype(np.int64),
        settings,
        SMALLER_IS_FLIPPED,
    )
    picks = pd.Series([candidates[c][:2] for c in chosen.choice if c >= 0]).value_counts()
    said = [f"layer {layer} after epoch {epochs[p]} ({n} of {picks.sum()} seeds)" for (p, layer), n in picks.items()]
    return chosen.auroc, "; ".join(said)


def run(
    job: DetectionJob,
    cube_path: Path,
    metrics_path: Path,
    probe_files: list[Path],
    output: Path,
    crossval_files: list[Path] = (),
) -> pd.DataFrame:
    cube, metrics = xr.load_dataset(cube_path), xr.load_dataset(metrics_path)
    if "mislabelled" not in cube.coords:
        raise ValueError(f"{cube_path}: no label noise in this study, nothing to detect")
    flipped = cube.mislabelled.values.astype(bool)
    in_train, classes = cube.in_train.values, cube.label.values.astype(np.int64)
    epochs = metrics.score_epoch.values
    share, last = memorised(metrics, epochs), len(epochs) - 1

    def row(score: str, point: int, layer: int | None, auroc: Evidence, auprc: Evidence | None = None, **extra):
        where = "" if layer is None else f" at layer {layer}"
        log.info("%s%s after epoch %d: AUROC %.3f", score, where, epochs[point], auroc.estimate)
        return (
            {"score": score, "layer": layer, "epoch": int(epochs[point]), "memorised": share[point]}
            | {f"auroc{key}": value for key, value in _evidence(auroc).items()}
            | ({f"auprc{key}": value for key, value in _evidence(auprc).items()} if auprc is not None else {})
            | {"examples": auroc.units, "seeds": auroc.runs}
            | extra
        )

    columns = score_columns(cube, metrics, earlier_votes(probe_files, len(epochs)))
    rows = []
    for name, point, layer, values in columns:
        found = detect(values, in_train, flipped, classes, job.settings, ORIENTATION[name])
        rows.append(row(name, point, layer, found.auroc, found.auprc))
    chosen, picks = chosen_row(columns, cube, flipped, job.settings, epochs)
    rows.append(row("knn_vote_chosen", last, None, chosen, note=f"{CHOSEN_NOTE}: {picks}"))

    def cleanlab(score: str, point: int, layer: int | None, probs: np.ndarray, note: str) -> dict:
        found = cleanlab_row(probs, cube, flipped, job.settings)
        detection = found.pop("found")
        return row(score, point, layer, detection.auroc, detection.auprc, note=note, **found)

    for layer, probs in enumerate(probe_probabilities(probe_files)):
        rows.append(cleanlab("cleanlab_knn_vote", last, layer, probs, VOTES_NOTE))
    if crossval_files:
        for point, probs in enumerate(crossval_probabilities(crossval_files, len(epochs))):
            rows.append(cleanlab("cleanlab_cv", point, None, probs, CROSSVAL_NOTE.format(folds=job.cleanlab_folds)))
    table = pd.DataFrame(rows)
    with atomic_write(output) as partial:
        table.to_csv(partial, index=False, float_format="%.6g")
    return table


def _evidence(evidence) -> dict:
    return {
        "": evidence.estimate,
        "_low": evidence.low,
        "_high": evidence.high,
        "_null": evidence.null,
        "_p": evidence.p_value,
    }
