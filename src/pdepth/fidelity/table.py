"""The fidelity table: each quantitative claim of the paper that a run can test, one row per claim and (dataset,
architecture). A row has our estimate tested across seeds (``pdepth.fidelity.crossfit``) with its interval over runs and
examples, the null value and what the null keeps, a one-sided p-value and its Holm adjustment over every row tested,
and two verdicts
(``pdepth.fidelity.verdicts``): ``direction`` (holds / fails / inconclusive / not testable) and ``vs_paper``
(our reading of the paper's own number against it, only where dataset, architecture and reading match)."""

import itertools
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from pdepth.config import study
from pdepth.config.jobs import FidelitySettings, Floor
from pdepth.fidelity import crossfit
from pdepth.fidelity.verdicts import (
    NO_NUMBER,
    NOT_COMPARABLE,
    UNTESTABLE,
    Evidence,
    Test,
    assess,
    direction,
    estimate,
    holm,
    versus_paper,
)

# The paper's mean-PD order of the datasets (Figure 1, right: ResNet18), easiest first.
PAPER_DATASET_ORDER = ("fmnist", "svhn", "cifar10", "cifar100")
WITHIN_CLASS = "outcomes shuffled within class (and seed): keeps class differences, destroys the per-example link"


@dataclass(frozen=True)
class PaperNumber:
    value: float
    dataset: str
    architecture: str | None  # None: the paper does not say
    setting: str  # where and how the paper measured it


@dataclass(frozen=True)
class ClaimSpec:
    text: str
    figure: str
    reading: str  # what the verdict's statistic measures
    side: int  # +1: the claimed effect is above the null, -1: below
    negligible: float  # the smallest effect beyond the null that counts, in the statistic's units
    null_keeps: str  # what the null keeps and what it destroys
    paper: tuple[PaperNumber, ...] = ()  # the paper's numbers, where it gives them
    paper_reading: str = ""  # what the paper's number measures; we compute the same reading to compare
    paper_words: str = ""  # what the paper says where it gives no number

    def number_for(self, dataset: str, arch: str) -> PaperNumber | None:
        for number in self.paper:
            if number.dataset == dataset and number.architecture in (None, arch):
                return number
        return None


def _cross_seed(what: str) -> str:
    return f"mean over ordered seed pairs (i, j ≠ i) of Pearson r of seed i's depth and seed j's {what}"


SEEDS = ClaimSpec(
    "prediction depth correlates across seeds (held out)",
    "Figure 2 (left)",
    _cross_seed("depth") + ", examples both hold out",
    +1,
    0.1,
    "depths shuffled within class: keeps class differences in depth",
    paper_words="'highly consistent' (no number)",
)
ACCURACY = ClaimSpec(
    "accuracy falls with prediction depth",
    "Figure 4 (right)",
    _cross_seed("correctness") + ", examples both hold out",
    -1,
    0.1,
    WITHIN_CLASS,
    paper_words="'more likely to be correct' (no number)",
)
FLOOR = ClaimSpec(
    "prediction depth is a lower bound on consensus-consistency that falls with depth",
    "Figure 4 (left)",
    "Spearman ρ against depth of the floor (a low quantile per depth) of the other seeds' consensus-consistency, "
    "per held-out appearance",
    -1,
    0.1,
    "consensus-consistency shuffled within (seed × class): keeps class differences and each seed's distribution",
    paper_words="'linear lower bound' (no number)",
)
LEARNED = ClaimSpec(
    "prediction depth correlates with the iteration learned",
    "Figure 5 (left)",
    _cross_seed("iteration learned") + ", examples both hold out",
    +1,
    0.1,
    WITHIN_CLASS,
    paper=tuple(
        PaperNumber(r, dataset, "vgg16", "250 VGG16s per dataset (Figure 5)")
        for dataset, r in (("cifar100", 0.83), ("cifar10", 0.7), ("fmnist", 0.79), ("svhn", 0.77))
    ),
    paper_reading="Pearson r of depth and iteration learned over every held-out appearance, same network",
)
MARGINS = {
    margin: ClaimSpec(
        f"test examples with a larger {margin} margin have a smaller prediction depth",
        "Figure 6 (left, middle)",
        _cross_seed(f"log10 {margin} margin") + ", test examples",
        -1,
        0.1,
        WITHIN_CLASS,
        paper=(PaperNumber(paper, "cifar10", "vgg16", "25 VGG16s on CIFAR-10 (Figure 6)"),),
        paper_reading=f"Pearson r of the test examples' mean depth and log10 mean {margin} margin over the seeds",
    )
    for margin, paper in (("output", -0.70), ("input", -0.69))
}
GAIN = ClaimSpec(
    "for examples 'ambiguous unless the label is given', a middle-layer k-NN probe beats the network",
    "Section 4",
    "probe minus network accuracy over the held-out appearances of the corner's examples, the corner chosen on "
    "other seeds than those scored",
    +1,
    0.05,
    "a comparison group of the corner's size drawn within class from the examples that could be chosen (keeps "
    "class differences and any overall gain of the probe), or 0 where that is lower (the probe must beat the network)",
    paper=(PaperNumber(0.73, "cifar10", "resnet18", "ResNet18 on CIFAR-10: 25% → 98% at layer 4"),),
    paper_reading="the same difference, the corner chosen and scored on the same appearances",
)
ARCHITECTURES = {
    split: ClaimSpec(
        f"prediction depth correlates across architectures ({split})",
        "Figure 2 (left)",
        "mean Pearson r of the depths of seed i of one and seed j ≠ i of the other, over the examples both "
        + ("train on" if split == "train" else "hold out"),
        +1,
        0.1,
        "one side's depths shuffled within class: keeps class differences in depth",
        paper_words="'highly consistent' (no number)",
    )
    for split in ("train", "val")
}
ORDER = ClaimSpec(
    "mean prediction depth orders the datasets",
    "Figure 1 (right)",
    "smallest step of mean training-split depth (layers) between datasets in the paper's order",
    +1,
    0.1,
    "the examples' datasets shuffled: keeps every depth, destroys the datasets' differences",
    paper_words=" < ".join(PAPER_DATASET_ORDER) + " (ResNet18; no number)",
)
HINGE = ClaimSpec(
    "0-Hinge training gives much smaller output margins than cross-entropy",
    "Section 3.3",
    "log10(mean cross-entropy margin / mean 0-Hinge margin) over the same examples",
    +1,
    1.0,
    "per example, which study gave which margin a coin flip",
    paper=(PaperNumber(float(np.log10(16 / 2.0e-4)), "cifar10", None, "CIFAR-10: 2.0e-4 ± 2.0e-4 vs 16 ± 5"),),
    paper_reading="the same ratio",
)
MODEL_CLAIMS = tuple(spec.text for spec in (SEEDS, ACCURACY, FLOOR, LEARNED, *MARGINS.values(), GAIN))
CLAIMS = (*MODEL_CLAIMS, *(spec.text for spec in ARCHITECTURES.values()), ORDER.text, HINGE.text)


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
    null_keeps: str
    side: int
    negligible: float
    p_value: float
    p_holm: float
    rows_tested: int  # the Holm family: every row of the table with a p-value
    examples: int
    seeds: int  # trained networks the statistic uses
    direction: str
    paper: float
    paper_setting: str
    paper_reading: str
    paper_reading_ours: str  # our estimate of the paper's reading, with its interval, where comparable
    vs_paper: str
    shown: str  # for display: the estimate with its interval, and what it summarises
    detail: str = ""


def _fmt(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:.2f}"


def interval(evidence: Evidence) -> str:
    if not np.isfinite(evidence.low):
        return f"{_fmt(evidence.estimate)} (no interval)"
    return f"{_fmt(evidence.estimate)} [{_fmt(evidence.low)}, {_fmt(evidence.high)}]"


@dataclass
class Comparison:
    paper: float = np.nan
    setting: str = ""
    ours: str = ""
    verdict: str = NO_NUMBER
    notes: list[str] = field(default_factory=list)


def compared(spec: ClaimSpec, where: tuple[str, str], reading: Test | None, settings: FidelitySettings) -> Comparison:
    """Our reading of the paper's number, only where dataset and architecture match it; else why not."""
    number = spec.number_for(*where)
    if number is None:
        others = "; ".join(f"{n.dataset}/{n.architecture or 'its architecture'}" for n in spec.paper)
        if not spec.paper:
            return Comparison(setting=spec.paper_words)
        verdict = f"{NOT_COMPARABLE}: the paper's number is for {others}"
        return Comparison(setting=f"measured on {others}", verdict=verdict)
    if reading is None:
        return Comparison(number.value, number.setting, verdict=f"{NOT_COMPARABLE}: this study cannot compute it")
    evidence = assess(reading, spec.side, 0.0, settings)
    verdict = versus_paper(evidence, number.value)
    if verdict == UNTESTABLE:
        verdict = f"{UNTESTABLE}: {evidence.why}"
    ours = interval(evidence)
    note = "tolerance: our interval over runs and examples (the paper states no spread of its number)"
    return Comparison(number.value, number.setting, ours, verdict, [note])


def judged(
    spec: ClaimSpec,
    where: tuple[str, str],
    test: Test | None,
    settings: FidelitySettings,
    reading: Test | None = None,
    shown: str = "",
    detail: str = "",
) -> Claim:
    """A claim row: the test assessed (its p-value adjusted and its direction decided by :func:`table`), and the
    paper's reading compared where comparable. No test: not testable, ``detail`` says why."""
    if test is None:
        evidence, reading = Evidence(np.nan, np.nan, np.nan, np.nan, np.nan, 0, 0), None
    else:
        evidence = assess(test, spec.side, spec.negligible, settings)
    comparison = compared(spec, where, reading, settings)
    details = [detail] if detail else []
    if not evidence.testable and evidence.why:
        details.append(evidence.why)
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
        null_keeps=spec.null_keeps,
        side=spec.side,
        negligible=spec.negligible,
        p_value=evidence.p_value,
        p_holm=np.nan,
        rows_tested=0,
        examples=evidence.units,
        seeds=evidence.runs,
        direction=UNTESTABLE,
        paper=comparison.paper,
        paper_setting=comparison.setting,
        paper_reading=spec.paper_reading,
        paper_reading_ours=comparison.ours,
        vs_paper=comparison.verdict,
        shown=f"{interval(evidence)}; {shown}" if shown else interval(evidence),
        detail="; ".join(details + comparison.notes),
    )


def undefined_detail(with_dropped: Test, cube: xr.Dataset) -> str:
    share = float(np.isnan(cube.pd.values[~cube.in_train.values]).mean())
    return (
        f"{share:.1%} of held-out depths are undefined, counted as one beyond the deepest probe; dropping them "
        f"gives {_fmt(estimate(with_dropped))}"
    )


def model_claims(
    dataset: str,
    arch: str,
    cube: xr.Dataset,
    metrics: xr.Dataset,
    settings: FidelitySettings,
    floor: Floor,
    gain_folds: int,
) -> list[Claim]:
    """The claims one 90:10-split ensemble can test."""
    where, pairs = (dataset, arch), settings.seed_pairs
    layer, corner = int(metrics.attrs.get("gain_layer", 0)), int(metrics.attrs.get("corner_examples", 100))
    count = len(crossfit.model_pairs(cube, pairs, symmetric=True))
    same_seed = "same-seed reading (coupled by definition, described only): r = {:.2f}"
    learned = crossfit.learned_reading(cube, metrics)
    margins = {margin: crossfit.margin_reading(cube, metrics, margin) for margin in MARGINS}
    scores = crossfit.gain_scores(cube, corner, layer, gain_folds)
    network, probe, scored = crossfit.gain_accuracies(scores, cube.sizes["seed"])
    same_appearances = " → ".join(_pct(float(metrics.get(f"gain_{w}_accuracy", np.nan))) for w in ("network", "probe"))
    rows = [
        judged(
            SEEDS,
            where,
            crossfit.seeds_test(cube, pairs),
            settings,
            detail=f"{count} seed pairs of {cube.sizes['seed']} seeds (r is symmetric: each pair once); "
            + undefined_detail(crossfit.seeds_test(cube, pairs, crossfit.dropped_depth), cube),
        ),
        judged(
            ACCURACY,
            where,
            crossfit.accuracy_test(cube, pairs),
            settings,
            shown=same_seed.format(estimate(crossfit.accuracy_reading(cube))),
            detail=undefined_detail(crossfit.accuracy_test(cube, pairs, crossfit.dropped_depth), cube),
        ),
        judged(
            FLOOR,
            where,
            crossfit.floor_test(cube, floor, settings.run_groups),
            settings,
            detail=f"the {floor.quantile:.0%} quantile per depth of appearances whose other seeds hold the example out "
            f"≥ {floor.min_held_out} times, depths with ≥ {floor.min_bin_examples} appearances, depths of the first "
            f"{min(settings.run_groups, cube.sizes['seed'])} seeds",
        ),
        judged(
            LEARNED,
            where,
            crossfit.learned_test(cube, metrics, pairs),
            settings,
            reading=learned,
            shown=same_seed.format(estimate(learned)),
            detail=undefined_detail(crossfit.learned_test(cube, metrics, pairs, crossfit.dropped_depth), cube),
        ),
        *(
            judged(
                spec,
                where,
                crossfit.margin_test(cube, metrics, margin, pairs),
                settings,
                reading=margins[margin],
                shown="per-example means over the seeds, as the paper reads it: r = " + _fmt(estimate(margins[margin])),
            )
            for margin, spec in MARGINS.items()
        ),
        judged(
            GAIN,
            where,
            crossfit.gain_test(cube, corner, layer, gain_folds, scores=scores),
            settings,
            reading=crossfit.gain_test(cube, corner, layer, gain_folds, cross=False),
            shown=f"network {_pct(network)} → probe {_pct(probe)} at layer {layer} over {scored} scored appearances",
            detail=f"the {corner} examples closest to the corner on the other seeds, {gain_folds} cross-fitting folds; "
            f"chosen and scored on the same appearances (the paper's reading, described): {same_appearances}",
        ),
    ]
    return rows


def _pct(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:.0%}"


def architecture_claims(dataset: str, cubes: dict[str, xr.Dataset], settings: FidelitySettings) -> list[Claim]:
    """Figure 2: depth correlates between architectures, seed i of one against seed j ≠ i of the other."""
    return [
        judged(
            ARCHITECTURES[split],
            (dataset, f"{a} vs {b}"),
            crossfit.architectures_test(cubes[a], cubes[b], split, settings.seed_pairs),
            settings,
        )
        for a, b in itertools.combinations(cubes, 2)
        for split in ("train", "val")
    ]


def dataset_order_claim(arch: str, cubes: dict[str, xr.Dataset], settings: FidelitySettings) -> Claim:
    """Figure 1 (right): mean depth orders the datasets as FMNIST < SVHN < CIFAR10 < CIFAR100."""
    ordered = {d: cubes[d] for d in PAPER_DATASET_ORDER if d in cubes}
    where = ("all", arch)
    if len(ordered) < 2:
        return judged(ORDER, where, None, settings, detail="not testable: needs at least 2 of the paper's datasets")
    means = {d: np.nanmean(np.where(c.in_train.values, crossfit.filled_depth(c), np.nan)) for d, c in ordered.items()}
    means = " < ".join(f"{d} ({m:.2f})" for d, m in sorted(means.items(), key=lambda kv: kv[1]))
    return judged(ORDER, where, crossfit.dataset_order_test(ordered), settings, shown=means)


def margin_intervention_claim(
    dataset: str, arch: str, margins: dict[str, list[xr.Dataset]], settings: FidelitySettings
) -> Claim:
    """Section 3.3: the 0-Hinge loss gives output margins orders of magnitude below cross-entropy's, on the same
    examples (the first 0-Hinge study's); every seed of every study of each role (``margins``: role -> the metrics
    of its studies) on them is a run."""
    hinge, control = margins.get(study.HINGE, []), margins.get(study.CONTROL, [])
    where = (dataset, arch)
    examples = hinge[0].example.values if hinge else np.array([])

    def per_seed(studies):
        same = [m.output_margin.values for m in studies if np.array_equal(m.example.values, examples)]
        return np.concatenate(same, axis=1) if same else np.empty((len(examples), 0))

    h, c = per_seed(hinge), per_seed(control)
    if not h.shape[1] or not c.shape[1]:
        why = "not testable: needs a 0-Hinge intervention and its cross-entropy control on the same examples"
        return judged(HINGE, where, None, settings, detail=why)
    test = crossfit.margin_ratio_test(h, c)
    return judged(
        HINGE,
        where,
        test,
        settings,
        reading=test,
        shown=f"{np.nanmean(h):.2g} ± {np.nanstd(h):.2g} vs {np.nanmean(c):.3g} ± {np.nanstd(c):.2g} "
        f"({h.shape[1]} and {c.shape[1]} run(s))",
    )


def table(rows: list[Claim], settings: FidelitySettings) -> pd.DataFrame:
    """The rows with Holm's adjustment over every row that has a p-value, and each row's direction."""
    adjusted = holm(np.array([row.p_value for row in rows]))
    tested = int(np.isfinite(adjusted).sum())
    for row, p in zip(rows, adjusted, strict=True):
        evidence = Evidence(row.ours, row.ci_low, row.ci_high, row.null, row.p_value, row.examples, row.seeds)
        row.p_holm, row.rows_tested = p, tested
        row.direction = direction(evidence, row.side, row.negligible, p, settings)
    return pd.DataFrame([asdict(row) for row in rows])
