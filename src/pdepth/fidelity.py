"""The fidelity table: each quantitative claim of the paper that a run can test, with our estimate, its interval
over examples, its permutation null, the paper's number, and two verdicts (``pdepth.verdicts``): ``direction``
(holds / fails / inconclusive against the null) and ``vs_paper`` (within / outside the stated tolerance of the
paper's number). One row per claim and (dataset, architecture) it is measured on."""

import itertools
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import xarray as xr

from pdepth import claims
from pdepth.verdicts import Evidence, Settings, Test, assess, direction, versus_paper

# The paper's mean-PD order of the datasets (Figure 1, right: ResNet18), easiest first.
PAPER_DATASET_ORDER = ("fmnist", "svhn", "cifar10", "cifar100")
PAPER_ITERATION_LEARNED_R = {"cifar100": 0.83, "cifar10": 0.7, "fmnist": 0.79, "svhn": 0.77}  # VGG16, Figure 5
CORRELATION_TOLERANCE = 0.1


@dataclass(frozen=True)
class ClaimSpec:
    text: str
    figure: str
    reading: str  # what our number measures: the reading compared with the paper's
    side: int  # +1: the claimed effect is above the null, -1: below
    negligible: float  # the smallest effect that counts, in the statistic's units
    paper: float | None = None  # the paper's number, where it gives one
    paper_setting: str = ""  # where the paper measured it
    band: tuple[float, float] | None = None  # vs_paper is "within" when our whole interval lies in it
    tolerance: str = ""  # the band in words

    def compared_with(self, paper: float, setting: str) -> "ClaimSpec":
        """The same claim against a paper's correlation, within ± CORRELATION_TOLERANCE."""
        band = (paper - CORRELATION_TOLERANCE, paper + CORRELATION_TOLERANCE)
        return ClaimSpec(**(asdict(self) | {"paper": paper, "paper_setting": setting, "band": band}))


SEEDS = ClaimSpec(
    "prediction depth correlates across seeds (held out)",
    "Figure 2 (left)",
    "mean Pearson r of the depths of two seeds over the examples both hold out, over seed pairs (i, i+1)",
    +1,
    0.1,
    paper_setting="'highly consistent' (no number)",
)
ACCURACY = ClaimSpec(
    "accuracy falls with prediction depth",
    "Figure 4 (right)",
    "Pearson r of depth and correctness over held-out appearances",
    -1,
    0.1,
    paper_setting="'more likely to be correct' (no number)",
)
FLOOR = ClaimSpec(
    "prediction depth is a lower bound on consensus-consistency that falls with depth",
    "Figure 4 (left)",
    "Spearman ρ of depth and the consensus-consistency floor per depth bin",
    -1,
    0.1,
    paper_setting="'linear lower bound' (no number)",
)
LEARNED = ClaimSpec(
    "prediction depth correlates with the iteration learned",
    "Figure 5 (left)",
    "Pearson r of depth and iteration learned over held-out appearances (the caption's reading)",
    +1,
    0.1,
    tolerance=f"± {CORRELATION_TOLERANCE}",
)
MARGINS = {
    margin: ClaimSpec(
        f"test examples with a larger {margin} margin have a smaller prediction depth",
        "Figure 6 (left, middle)",
        f"Pearson r of mean depth and log10 mean {margin} margin over test examples",
        -1,
        0.1,
        tolerance=f"± {CORRELATION_TOLERANCE}",
    ).compared_with(paper, "CIFAR-10, VGG16")
    for margin, paper in (("output", -0.70), ("input", -0.69))
}
GAIN = ClaimSpec(
    "for examples 'ambiguous unless the label is given', a middle-layer k-NN probe beats the network",
    "Section 4",
    "probe accuracy minus network accuracy over the corner's held-out appearances",
    +1,
    0.05,
    paper=0.73,
    paper_setting="CIFAR-10, ResNet18: 25% → 98%",
    band=(0.63, 0.83),
    tolerance="± 0.10",
)
ARCHITECTURES = {
    split: ClaimSpec(
        f"prediction depth correlates across architectures ({split})",
        "Figure 2 (left)",
        "mean Pearson r of the depths of seed i of one and seed j ≠ i of the other, over the examples both "
        + ("train on" if split == "train" else "hold out"),
        +1,
        0.1,
        paper_setting="'highly consistent' (no number)",
    )
    for split in ("train", "val")
}
ORDER = ClaimSpec(
    "mean prediction depth orders the datasets",
    "Figure 1 (right)",
    "smallest step of mean training-split depth (layers) between datasets in the paper's order",
    +1,
    0.1,
    paper_setting=" < ".join(PAPER_DATASET_ORDER) + " (ResNet18; no number)",
)
HINGE = ClaimSpec(
    "0-Hinge training gives much smaller output margins than cross-entropy",
    "Section 3.3",
    "log10(mean cross-entropy margin / mean 0-Hinge margin) over the same examples",
    +1,
    1.0,
    paper=float(np.log10(16 / 2.0e-4)),
    paper_setting="CIFAR-10: 2.0e-4 ± 2.0e-4 vs 16 ± 5",
    band=(2.0, np.inf),
    tolerance="at least 2 orders of magnitude",
)
MODEL_CLAIMS = tuple(spec.text for spec in (SEEDS, ACCURACY, FLOOR, LEARNED, *MARGINS.values(), GAIN))
CLAIMS = (*MODEL_CLAIMS, *(spec.text for spec in ARCHITECTURES.values()), ORDER.text, HINGE.text)


def settings_of(block: dict) -> tuple[Settings, claims.Floor]:
    """The config's ``fidelity`` block (schema-validated, defaults filled) as typed settings."""
    tested = {key: value for key, value in block.items() if key != "floor"}
    return Settings(**tested), claims.Floor(**block["floor"])


@dataclass
class Claim:
    claim: str
    figure: str
    dataset: str
    architecture: str
    reading: str
    ours: float
    ci_low: float
    ci_high: float
    null: float
    p_value: float
    examples: int
    direction: str
    paper: float
    paper_setting: str
    tolerance: str
    vs_paper: str
    shown: str  # for display: the estimate with its interval, and what it summarises
    detail: str = ""


def _fmt(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:.2f}"


def judged(
    spec: ClaimSpec, where: tuple[str, str], test: Test, settings: Settings, shown: str = "", detail: str = ""
) -> Claim:
    """A claim row: the test assessed against its null and the paper's number."""
    evidence = assess(test, spec.side, settings)
    return row(spec, where, evidence, settings, shown, detail)


def row(
    spec: ClaimSpec, where: tuple[str, str], evidence: Evidence, settings: Settings, shown: str = "", detail: str = ""
) -> Claim:
    interval = f"{_fmt(evidence.estimate)} [{_fmt(evidence.low)}, {_fmt(evidence.high)}]"
    return Claim(
        claim=spec.text,
        figure=spec.figure,
        dataset=where[0],
        architecture=where[1],
        reading=spec.reading,
        ours=evidence.estimate,
        ci_low=evidence.low,
        ci_high=evidence.high,
        null=evidence.null,
        p_value=evidence.p_value,
        examples=evidence.units,
        direction=direction(evidence, spec.side, spec.negligible, settings),
        paper=np.nan if spec.paper is None else spec.paper,
        paper_setting=spec.paper_setting,
        tolerance=spec.tolerance,
        vs_paper=versus_paper(evidence, spec.band),
        shown=f"{interval}; {shown}" if shown else interval,
        detail=detail,
    )


def untestable(spec: ClaimSpec, where: tuple[str, str], settings: Settings, why: str) -> Claim:
    return row(spec, where, Evidence(np.nan, np.nan, np.nan, np.nan, np.nan, 0), settings, detail=why)


def model_claims(
    dataset: str, arch: str, cube: xr.Dataset, metrics: xr.Dataset, settings: Settings, floor: claims.Floor
) -> list[Claim]:
    """The claims one 90:10-split ensemble can test."""
    where = (dataset, arch)
    seeds = cube.sizes["seed"]
    accuracy = claims.accuracy_by_depth(cube)
    floor_values = claims.consensus_consistency_floor(metrics, floor)
    readings = claims.iteration_learned_readings(cube, metrics, floor)
    paper_r = PAPER_ITERATION_LEARNED_R.get(dataset)
    learned = LEARNED.compared_with(paper_r, f"{dataset}, VGG16") if paper_r else LEARNED
    network, probe = (float(metrics.get(f"gain_{who}_accuracy", np.nan)) for who in ("network", "probe"))
    return [
        judged(
            SEEDS,
            where,
            claims.depth_correlation_test(cube, cube, "val"),
            settings,
            detail=f"{len(claims.seed_pairs(list(cube.seed.values), list(cube.seed.values), True))} seed pair(s) "
            f"of {seeds} seeds",
        ),
        judged(
            ACCURACY,
            where,
            claims.accuracy_test(cube),
            settings,
            shown=f"held-out accuracy {accuracy.mean[0]:.0%} at depth {accuracy.depth[0]}, "
            f"{accuracy.mean[-1]:.0%} at depth {accuracy.depth[-1]}",
        ),
        judged(
            FLOOR,
            where,
            claims.floor_test(metrics, floor),
            settings,
            shown=f"{floor.quantile:.0%} quantile per depth bin: "
            + ", ".join(f"{d}: {q:.2f}" for d, q in zip(floor_values.depth, floor_values.mean, strict=True)),
            detail=f"examples with ≥ {floor.min_held_out} held-out appearances, bins of ≥ {floor.min_bin_examples} "
            "examples (mean depth rounded half up); null: depths shuffled within the same number of appearances",
        ),
        judged(
            learned,
            where,
            claims.iteration_learned_test(cube, metrics),
            settings,
            detail="other readings: " + ", ".join(f"{name} r = {_fmt(r)}" for name, r in readings.items()),
        ),
        *(judged(spec, where, claims.margin_test(cube, metrics, margin), settings) for margin, spec in MARGINS.items()),
        judged(
            GAIN,
            where,
            claims.gain_test(cube, metrics),
            settings,
            shown=f"{_pct(network)} → {_pct(probe)} (layer {metrics.attrs.get('gain_layer', '?')})",
            detail=f"the {metrics.attrs.get('corner_examples', '?')} examples closest to the corner, held out; "
            "null: probe and network swapped per example",
        ),
    ]


def _pct(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:.0%}"


def architecture_claims(dataset: str, cubes: dict[str, xr.Dataset], settings: Settings) -> list[Claim]:
    """Figure 2: depth correlates between architectures, like for like with the seed pairs of the diagonal."""
    return [
        judged(
            ARCHITECTURES[split],
            (dataset, f"{a} vs {b}"),
            claims.depth_correlation_test(cubes[a], cubes[b], split),
            settings,
        )
        for a, b in itertools.combinations(cubes, 2)
        for split in ("train", "val")
    ]


def dataset_order_claim(arch: str, cubes: dict[str, xr.Dataset], settings: Settings) -> Claim:
    """Figure 1 (right): mean depth orders the datasets as FMNIST < SVHN < CIFAR10 < CIFAR100."""
    ordered = {d: cubes[d] for d in PAPER_DATASET_ORDER if d in cubes}
    where = ("all", arch)
    if len(ordered) < 2:
        return untestable(ORDER, where, settings, "needs at least 2 of the paper's datasets")
    means = {d: claims.mean_training_depth(c) for d, c in ordered.items()}
    means = " < ".join(f"{d} ({m:.2f})" for d, m in sorted(means.items(), key=lambda kv: kv[1]))
    return judged(ORDER, where, claims.dataset_order_test(ordered), settings, shown=means)


def margin_intervention_claim(dataset: str, arch: str, margins: dict[str, xr.Dataset], settings: Settings) -> Claim:
    """Section 3.3: the 0-Hinge loss gives output margins orders of magnitude below cross-entropy's, on the same
    examples (the first 0-Hinge study's, averaged over seeds and over the studies of each role on them)."""
    hinge = [m for label, m in margins.items() if label.startswith("0-Hinge")]
    control = [m for label, m in margins.items() if label.startswith("cross-entropy")]
    where = (dataset, arch)
    if not hinge or not control:
        return untestable(HINGE, where, settings, "needs a 0-Hinge intervention and its cross-entropy control")
    examples = hinge[0].example.values

    def per_example(studies):
        same = [m.output_margin.values for m in studies if np.array_equal(m.example.values, examples)]
        return np.nanmean(np.concatenate(same, axis=1), axis=1)

    h, c = per_example(hinge), per_example(control)
    return judged(
        HINGE,
        where,
        claims.margin_ratio_test(h, c),
        settings,
        shown=f"{np.nanmean(h):.2g} ± {np.nanstd(h):.2g} vs {np.nanmean(c):.3g} ± {np.nanstd(c):.2g}",
        detail="null: the two studies' margins swapped per example",
    )


def table(rows: list[Claim]) -> pd.DataFrame:
    return pd.DataFrame([asdict(row) for row in rows])
