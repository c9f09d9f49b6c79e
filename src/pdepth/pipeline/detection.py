"""Stage: detection.csv of a label-noise study (one model): how well every difficulty score, at every point of
training it was read, and the k-NN probes' vote for the given label at every layer find the flipped labels; and
cleanlab's confident learning on the held-out predictions of the seeds (docs/outputs.md, "Mislabel detection")."""

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from pdepth.config.jobs import DetectionJob
from pdepth.data.prepared import TRAIN
from pdepth.metrics.detection import LARGER_IS_FLIPPED, SMALLER_IS_FLIPPED, detect
from pdepth.metrics.learning import CURVE_GROUPS
from pdepth.metrics.per_example import DYNAMICS
from pdepth.metrics.scores import softmax
from pdepth.pipeline.probe import ProbeResults
from pdepth.training.runs import RunOutputs

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


def earlier_votes(probe_files: list[Path], epochs: np.ndarray) -> dict[int, np.ndarray]:
    """Point -> (N, S, L) vote fractions for the given label of the models after the earlier points' epochs."""
    results = [ProbeResults.load(path) for path in probe_files]
    found = {}
    for point, epoch in enumerate(epochs[:-1]):
        index = [list(r.earlier_epochs).index(epoch) if epoch in r.earlier_epochs else None for r in results]
        if all(i is not None for i in index):
            found[point] = np.stack([r.earlier_label_votes[i] for r, i in zip(results, index, strict=True)], axis=1)
    return found


def score_columns(
    cube: xr.Dataset, metrics: xr.Dataset, earlier: dict[int, np.ndarray]
) -> list[tuple[str, int, int | None, np.ndarray]]:
    """(score, point, layer, values (N, S)) of every row: the training-dynamics scores at each point, the end-only
    scores at the last, the k-NN vote for the given label at each layer at every point whose models were probed."""
    last = metrics.sizes["score_point"] - 1
    seeds = cube.sizes["seed"]
    rows = [(name, p, None, metrics[name].values[..., p]) for name in DYNAMICS for p in range(last + 1)]
    pd_values = np.nan_to_num(cube.pd.values, nan=cube.sizes["layer"])  # undefined: deeper than every probe
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


def held_out_probabilities(cube: xr.Dataset, run_files: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """Per example, the mean softmax of the seeds that held it out, and which examples have one."""
    held_out = ~cube.in_train.values
    total = 0.0
    for seed, path in enumerate(run_files):
        total = total + np.where(held_out[:, seed, None], softmax(RunOutputs.load(path).logits), 0.0)
    count = held_out.sum(axis=1)
    return total / np.maximum(count, 1)[:, None], count > 0


def cleanlab_row(cube: xr.Dataset, run_files: list[Path], flipped: np.ndarray, seed: int) -> dict:
    """Confident learning (cleanlab) on the held-out probabilities of the original training set's examples."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores
    from scipy import stats
    from sklearn.metrics import average_precision_score, roc_auc_score

    probs, has = held_out_probabilities(cube, run_files)
    keep = has & (cube.orig_split.values == TRAIN)  # only the original training set has flipped labels
    labels, truth = cube.label.values.astype(np.int64)[keep], flipped[keep]
    quality = get_label_quality_scores(labels, probs[keep])
    issues = find_label_issues(labels, probs[keep])

    def metric(fn):
        estimate = fn(truth, -quality)
        interval = stats.bootstrap(
            (truth, -quality), fn, paired=True, vectorized=False, n_resamples=200, random_state=seed
        ).confidence_interval
        return estimate, interval.low, interval.high

    roc, prc = metric(roc_auc_score), metric(average_precision_score)
    return {
        "score": "cleanlab_held_out",
        "auroc": roc[0],
        "auroc_low": roc[1],
        "auroc_high": roc[2],
        "auprc": prc[0],
        "auprc_low": prc[1],
        "auprc_high": prc[2],
        "flipped_share": float(truth.mean()),
        "examples": int(keep.sum()),
        "seeds": len(run_files),
        "issues_precision": float(truth[issues].mean()) if issues.any() else np.nan,
        "issues_recall": float(issues[truth].mean()) if truth.any() else np.nan,
        "note": "quality scores and find_label_issues on the mean softmax of the seeds that held each example out; "
        "interval over examples only",
    }


def run(
    job: DetectionJob,
    cube_path: Path,
    metrics_path: Path,
    run_files: list[Path],
    probe_files: list[Path],
    output: Path,
) -> pd.DataFrame:
    cube, metrics = xr.load_dataset(cube_path), xr.load_dataset(metrics_path)
    if "mislabelled" not in cube.coords:
        raise ValueError(f"{cube_path}: no label noise in this study, nothing to detect")
    flipped = cube.mislabelled.values.astype(bool)
    in_train, classes = cube.in_train.values, cube.label.values.astype(np.int64)
    epochs = metrics.score_epoch.values
    share = memorised(metrics, epochs)
    rows = []
    for name, point, layer, values in score_columns(cube, metrics, earlier_votes(probe_files, epochs)):
        found = detect(values, in_train, flipped, classes, job.settings, ORIENTATION[name])
        rows.append(
            {
                "score": name,
                "layer": layer,
                "epoch": int(epochs[point]),
                "memorised": share[point],
                **{f"auroc{key}": value for key, value in _evidence(found.auroc).items()},
                **{f"auprc{key}": value for key, value in _evidence(found.auprc).items()},
                "examples": found.auroc.units,
                "seeds": found.auroc.runs,
            }
        )
        where = "" if layer is None else f" at layer {layer}"
        log.info("%s%s after epoch %d: AUROC %.3f", name, where, epochs[point], found.auroc.estimate)
    last = {"epoch": int(epochs[-1]), "memorised": share[-1]}
    rows.append(last | cleanlab_row(cube, run_files, flipped, job.settings.seed))
    table = pd.DataFrame(rows)
    table.to_csv(output, index=False, float_format="%.6g")
    return table


def _evidence(evidence) -> dict:
    return {
        "": evidence.estimate,
        "_low": evidence.low,
        "_high": evidence.high,
        "_null": evidence.null,
        "_p": evidence.p_value,
    }
