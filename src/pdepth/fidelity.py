"""The fidelity table: each quantitative claim of the paper that a run can test, the paper's number, ours, and
whether the direction holds. One row per claim and (dataset, architecture) it is measured on."""

import itertools
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import xarray as xr

from pdepth import claims

# The paper's mean-PD order of the datasets (Figure 1, right: ResNet18), easiest first.
PAPER_DATASET_ORDER = ("fmnist", "svhn", "cifar10", "cifar100")
PAPER_ITERATION_LEARNED_R = {"cifar100": 0.83, "cifar10": 0.7, "fmnist": 0.79, "svhn": 0.77}  # VGG16, Figure 5
YES, NO, UNTESTABLE = "yes", "no", "not testable"

SEEDS = "prediction depth correlates across seeds (held out)"
ACCURACY = "accuracy falls with prediction depth"
FLOOR = "prediction depth is a lower bound on consensus-consistency that falls with depth"
LEARNED = "prediction depth correlates with the iteration learned"
MARGIN = "test examples with a larger {} margin have a smaller prediction depth"
GAIN = "for examples 'ambiguous unless the label is given', a middle-layer k-NN probe beats the network"
ARCHITECTURES = "prediction depth correlates across architectures ({})"
ORDER = "mean prediction depth orders the datasets"
HINGE = "0-Hinge training gives much smaller output margins than cross-entropy"
MODEL_CLAIMS = (SEEDS, ACCURACY, FLOOR, LEARNED, MARGIN.format("output"), MARGIN.format("input"), GAIN)
CLAIMS = (*MODEL_CLAIMS, ARCHITECTURES.format("train"), ARCHITECTURES.format("val"), ORDER, HINGE)


@dataclass
class Claim:
    claim: str
    figure: str
    dataset: str
    architecture: str
    paper: str
    ours: str
    holds: str
    detail: str = ""


def _verdict(value: float, positive: bool) -> str:
    if not np.isfinite(value):
        return UNTESTABLE
    return YES if (value > 0) == positive else NO


def _fmt(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:.2f}"


def measured(
    claim: str,
    figure: str,
    where: tuple[str, str],
    paper: str,
    value: float,
    positive: bool,
    detail: str = "",
    shown: str | None = None,
) -> Claim:
    """A claim whose direction is the sign of ``value`` (positive or negative); ``shown`` replaces the number."""
    return Claim(
        claim, figure, *where, paper, _fmt(value) if shown is None else shown, _verdict(value, positive), detail
    )


def model_claims(dataset: str, arch: str, cube: xr.Dataset, metrics: xr.Dataset) -> list[Claim]:
    """The claims one 90:10-split ensemble can test."""
    where = (dataset, arch)
    seeds = cube.sizes["seed"]
    accuracy = claims.accuracy_by_depth(cube)
    accuracy_rho = claims.spearman(accuracy.depth, accuracy.mean)
    floor = claims.consensus_consistency_floor(metrics)
    floor_rho = claims.spearman(floor.depth, floor.mean)
    _, learned_r = claims.iteration_learned_by_depth(cube, metrics)
    paper_r = PAPER_ITERATION_LEARNED_R.get(dataset)
    probe, network = float(metrics.gain_probe_accuracy), float(metrics.gain_network_accuracy)
    rows = [
        measured(
            SEEDS,
            "Figure 2 (left)",
            where,
            "high (Figure 2)",
            claims.depth_correlation(cube, cube, "val"),
            True,
            f"mean Pearson r over disjoint seed pairs of {seeds} seeds",
        ),
        measured(
            ACCURACY,
            "Figure 4 (right)",
            where,
            "falls (Figure 4)",
            accuracy_rho,
            False,
            f"held-out accuracy {accuracy.mean[0]:.0%} at depth {accuracy.depth[0]}, "
            f"{accuracy.mean[-1]:.0%} at depth {accuracy.depth[-1]}",
            shown=f"Spearman ρ = {_fmt(accuracy_rho)}",
        ),
        measured(
            FLOOR,
            "Figure 4 (left)",
            where,
            "linear lower bound (Figure 4)",
            floor_rho,
            False,
            "5th percentile of consensus-consistency per rounded mean validation depth: "
            + ", ".join(f"{d}: {q:.2f}" for d, q in zip(floor.depth, floor.mean, strict=True)),
            shown=f"Spearman ρ(depth, 5th percentile) = {_fmt(floor_rho)}",
        ),
        measured(
            LEARNED,
            "Figure 5 (left)",
            where,
            f"{paper_r} ({dataset}, VGG16)" if paper_r else "positive",
            learned_r,
            True,
            "Pearson r over held-out appearances",
        ),
        *(
            measured(
                MARGIN.format(margin),
                "Figure 6 (left, middle)",
                where,
                f"{paper:.2f} (CIFAR10, VGG16)",
                claims.margin_correlation(cube, metrics, margin),
                False,
                "Pearson r of mean depth and log10 mean margin, test set",
            )
            for margin, paper in (("output", -0.70), ("input", -0.69))
        ),
        measured(
            GAIN,
            "Section 4",
            where,
            "25% → 98% (CIFAR10, ResNet18, layer 4)",
            probe - network,
            True,
            f"{metrics.attrs['corner_examples']} examples closest to the corner, held out",
            shown=f"{network:.0%} → {probe:.0%} (layer {metrics.attrs['gain_layer']})",
        ),
    ]
    return rows


def architecture_claims(dataset: str, cubes: dict[str, xr.Dataset]) -> list[Claim]:
    """Figure 2: depth correlates between architectures."""
    return [
        measured(
            ARCHITECTURES.format(split),
            "Figure 2 (left)",
            (dataset, f"{a} vs {b}"),
            "high (Figure 2)",
            claims.depth_correlation(cubes[a], cubes[b], split),
            True,
        )
        for a, b in itertools.combinations(cubes, 2)
        for split in ("train", "val")
    ]


def dataset_order_claim(arch: str, cubes: dict[str, xr.Dataset]) -> Claim:
    """Figure 1 (right): mean depth orders the datasets as FMNIST < SVHN < CIFAR10 < CIFAR100."""
    means = {d: claims.mean_training_depth(c) for d, c in cubes.items()}
    ours = " < ".join(f"{d} ({m:.2f})" for d, m in sorted(means.items(), key=lambda kv: kv[1]))
    expected = [d for d in PAPER_DATASET_ORDER if d in means]
    if len(expected) < 2:
        holds = UNTESTABLE
    else:
        holds = YES if sorted(expected, key=means.get) == expected else NO
    return Claim(
        ORDER,
        "Figure 1 (right)",
        "all",
        arch,
        " < ".join(PAPER_DATASET_ORDER) + " (ResNet18)",
        ours,
        holds,
        "needs at least 2 of the paper's datasets" if holds == UNTESTABLE else "training split",
    )


def margin_intervention_claim(dataset: str, arch: str, margins: dict[str, xr.Dataset]) -> Claim:
    """Section 3.3: the 0-Hinge loss gives output margins orders of magnitude below cross-entropy's."""

    def summary(role):
        values = [m.output_margin.values for label, m in margins.items() if label.startswith(role)]
        return np.concatenate([v.ravel() for v in values]) if values else np.array([])

    hinge, control = summary("0-Hinge"), summary("cross-entropy")
    where, paper = (dataset, arch), "2.0e-4 ± 2.0e-4 vs 16 ± 5 (CIFAR10)"
    if not len(hinge) or not len(control):
        return measured(
            HINGE,
            "Section 3.3",
            where,
            paper,
            np.nan,
            True,
            "needs a 0-Hinge intervention and its cross-entropy control",
        )
    h, c = np.nanmean(hinge), np.nanmean(control)
    return measured(
        HINGE,
        "Section 3.3",
        where,
        paper,
        c - h,
        True,
        shown=f"{h:.2g} ± {np.nanstd(hinge):.2g} vs {c:.3g} ± {np.nanstd(control):.2g}",
    )


def table(rows: list[Claim]) -> pd.DataFrame:
    return pd.DataFrame([asdict(row) for row in rows])
