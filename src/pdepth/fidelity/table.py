"""The fidelity table: each quantitative claim of the paper that a run can test, one row per claim and (dataset,
architecture). A row has our estimate tested across seeds (``pdepth.fidelity.crossfit``) with its interval over runs and
examples, the null value and what the null keeps, one-sided p-values (holds, fails) and their Holm adjustment over
every row tested, what the row could have detected (``mde``) and the design that would detect the effect it looks
for (``power``), and two verdicts (``pdepth.statistics.verdicts``): ``direction`` (holds / fails / inconclusive / not
testable) and ``vs_paper`` (each reading of the paper's own number that its text allows, labelled, against our
interval, only where dataset and architecture match)."""

import functools
import itertools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from pdepth.config import study
from pdepth.config.jobs import FidelitySettings, Floor
from pdepth.data.prepared import TEST
from pdepth.fidelity import crossfit
from pdepth.outputs.cube import filled_depth, held_out
from pdepth.statistics.verdicts import (
    NO_NUMBER,
    NOT_COMPARABLE,
    UNTESTABLE,
    Evidence,
    Test,
    assess,
    design_scale,
    direction,
    estimate,
    holm,
    minimum_detectable,
    versus_paper,
)

# The paper's mean-PD order of the datasets (Figure 1, right: ResNet18), easiest first.
PAPER_DATASET_ORDER = ("fmnist", "svhn", "cifar10", "cifar100")
SAME_READING = "the paper's reading"  # the label of a paper number that the text allows one reading of
WITHIN_CLASS = (
    "outcomes shuffled within class × original split: keeps the differences between classes and between the test "
    "and training splits, destroys the per-example link"
)


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
    paper_reading: str = ""  # what the paper's number may measure, and which reading its text supports
    paper_words: str = ""  # what the paper says where it gives no number
    supported: tuple[str, ...] = ()  # the readings (crossfit's labels) the paper's text supports best
    paper_effect: float | None = None  # the paper's effect in the verdict's units, where it gives one
    held_out: bool = False  # the statistic reads held-out appearances, so a larger holdout adds to them

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
    "depths shuffled within class × original split: keeps their differences in depth",
    paper_words="'highly consistent' (no number)",
    held_out=True,
)
ACCURACY = ClaimSpec(
    "accuracy falls with prediction depth",
    "Figure 4 (right)",
    _cross_seed("correctness") + ", examples both hold out",
    -1,
    0.1,
    WITHIN_CLASS,
    paper_words="'more likely to be correct' (no number)",
    held_out=True,
)
FLOOR_SPLITS = {"test": "test examples' appearances", "all": "held-out appearances"}
FLOOR = ClaimSpec(
    "prediction depth is a lower bound on consensus-consistency that falls with depth",
    "Figure 4 (left)",
    "Spearman ρ against depth of the floor (a low quantile per depth) of the other seeds' consensus-consistency, "
    "per held-out appearance (of a test example, by default: fidelity.floor.split)",
    -1,
    0.1,
    "consensus-consistency shuffled within seed × class × original split: keeps their differences and each seed's "
    "distribution",
    paper_words="'linear lower bound' (no number)",
    held_out=True,
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
    paper_reading="Pearson r of depth and iteration learned, same network, held-out appearances: the caption records "
    "both per appearance and plots the mean iteration learned per depth, giving r beside that plot, so the per-depth "
    "means (marker size: the share of appearances, so weighted or not) are the reading its text supports best, per "
    "appearance the other it allows; per-example means (not what it describes) are shown for comparison",
    supported=(crossfit.DEPTH_MEANS, crossfit.DEPTH_MEANS_WEIGHTED),
    held_out=True,
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
        paper_reading=f"Pearson r of depth and log10 {margin} margin, same network, test examples: the caption "
        "compares each test point's mean depth over the runs with its mean margin (log scale), so per-example means "
        "are the reading it states; per appearance is shown for comparison",
        supported=(crossfit.EXAMPLE_MEANS,),
    )
    for margin, paper in (("output", -0.70), ("input", -0.69))
}
PAPER_GAIN = 0.98 - 0.25  # Section 4: ResNet18 on CIFAR-10, the network 25%, the probe at layer 4 98%
GAIN = ClaimSpec(
    "for examples 'ambiguous unless the label is given', a middle-layer k-NN probe beats the network by at least "
    "half the paper's gain",
    "Section 4",
    "probe minus network accuracy over the held-out appearances of the corner's examples, the corner chosen on "
    "other seeds than those scored",
    +1,
    # The claim is a size (25% -> 98%): a gain counts from half the paper's, the Social Sciences Replication
    # Project's standard (Camerer et al. 2018 powered each replication for 50% of the original effect).
    PAPER_GAIN / 2,
    "a comparison group of the corner's size drawn within class from the examples that could be chosen (keeps "
    "class differences and any overall gain of the probe), or 0 where that is lower (the probe must beat the network)",
    paper=(PaperNumber(PAPER_GAIN, "cifar10", "resnet18", "ResNet18 on CIFAR-10: 25% → 98% at layer 4"),),
    paper_reading="the same difference, the corner chosen and scored on the same appearances",
    supported=(SAME_READING,),
    paper_effect=PAPER_GAIN,
    held_out=True,
)
ARCHITECTURES = {
    split: ClaimSpec(
        f"prediction depth correlates across architectures ({split})",
        "Figure 2 (left)",
        "mean Pearson r of the depths of seed i of one and seed j ≠ i of the other, over the examples both "
        + ("train on" if split == "train" else "hold out"),
        +1,
        0.1,
        "one side's depths shuffled within class × original split: keeps their differences in depth",
        paper_words="'highly consistent' (no number)",
        held_out=split == "val",
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
    supported=(SAME_READING,),
)
SPECS = (SEEDS, ACCURACY, FLOOR, LEARNED, *MARGINS.values(), GAIN, *ARCHITECTURES.values(), ORDER, HINGE)
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
    p_value: float  # one-sided: the effect beyond the null is no larger than the negligible one
    p_holm: float
    p_fails: float  # one-sided: the effect beyond the null is at least the negligible one
    p_fails_holm: float
    rows_tested: int  # the Holm family: every row of the table with a p-value
    examples: int
    seeds: int  # trained networks the statistic uses
    se: float  # the estimate's standard error over runs and examples
    freedom: float  # the degrees of freedom of its t
    mde: float  # the smallest effect beyond the null detected with the configured power at alpha / rows_tested
    target: float  # the effect beyond the null the row looks for: the paper's where it gives one, else ours
    power: str  # what the row could detect, and the design that would detect ``target``
    direction: str
    paper: float
    paper_setting: str
    paper_reading: str
    paper_reading_ours: str  # each reading of the paper's number the text allows: ours, interval, within/outside
    vs_paper: str  # the verdict under each of those readings, labelled; "*": the reading the text supports best
    shown: str  # for display: the estimate with its interval, and what it summarises
    detail: str = ""
    seeds_per_model: int = 0  # the design: seeds of each model the row reads
    holdout: float = np.nan  # the design: the share of the original training split each seed holds out


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


def compared(
    spec: ClaimSpec, where: tuple[str, str], readings: dict[str, Test] | None, settings: FidelitySettings
) -> Comparison:
    """Our estimate of the paper's number under each reading its text allows (``readings``: label -> test), only
    where dataset and architecture match it; else why not."""
    number = spec.number_for(*where)
    if number is None:
        others = "; ".join(f"{n.dataset}/{n.architecture or 'its architecture'}" for n in spec.paper)
        if not spec.paper:
            return Comparison(setting=spec.paper_words)
        verdict = f"{NOT_COMPARABLE}: the paper's number is for {others}"
        return Comparison(setting=f"measured on {others}", verdict=verdict)
    if not readings:
        return Comparison(number.value, number.setting, verdict=f"{NOT_COMPARABLE}: this study cannot compute it")
    ours, verdicts = [], []
    for label, reading in readings.items():
        evidence = assess(reading, spec.side, 0.0, settings)
        verdict = versus_paper(evidence, number.value)
        verdict = f"{UNTESTABLE}: {evidence.why}" if verdict == UNTESTABLE else verdict
        mark = "*" if label in spec.supported else ""
        ours.append(f"{label}{mark}: {interval(evidence)}")
        verdicts.append(f"{verdict} ({label}{mark})" if len(readings) > 1 else verdict)
    note = "tolerance: our interval over runs and examples (the paper states no spread of its number)"
    if len(readings) > 1:
        note += "; *: the reading the paper's text supports best (docs/figures.md)"
    return Comparison(number.value, number.setting, "; ".join(ours), "; ".join(verdicts), [note])


def judged(
    spec: ClaimSpec,
    where: tuple[str, str],
    test: Test | None,
    settings: FidelitySettings,
    readings: dict[str, Test] | None = None,
    shown: str = "",
    detail: str = "",
    design: tuple[int, float] = (0, np.nan),
) -> Claim:
    """A claim row: the test assessed (its p-values adjusted, its power and direction decided by :func:`table`),
    and the paper's readings compared where comparable. No test: not testable, ``detail`` says why. ``design``:
    (seeds per model, held-out share), for the design that would detect the row's effect."""
    if test is None:
        evidence, readings = Evidence(np.nan, np.nan, np.nan, np.nan, np.nan, 0, 0), None
    else:
        evidence = assess(test, spec.side, spec.negligible, settings)
    comparison = compared(spec, where, readings, settings)
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
        p_fails=evidence.p_fails,
        p_fails_holm=np.nan,
        rows_tested=0,
        examples=evidence.units,
        seeds=evidence.runs,
        se=evidence.se,
        freedom=evidence.freedom,
        mde=np.nan,
        target=np.nan,
        power="",
        direction=UNTESTABLE,
        paper=comparison.paper,
        paper_setting=comparison.setting,
        paper_reading=spec.paper_reading,
        paper_reading_ours=comparison.ours,
        vs_paper=comparison.verdict,
        shown=f"{interval(evidence)}; {shown}" if shown else interval(evidence),
        detail="; ".join(details + comparison.notes),
        seeds_per_model=design[0],
        holdout=design[1],
    )


def undefined_detail(with_dropped: Test, cube: xr.Dataset) -> str:
    share = float(np.isnan(cube.pd.values[held_out(cube)]).mean())
    return (
        f"{share:.1%} of held-out depths are undefined, counted as one beyond the deepest probe; dropping them "
        f"gives {_fmt(estimate(with_dropped))}"
    )


def described(readings: dict[str, Test]) -> str:
    """The same-seed readings' estimates, labelled (coupled by definition: described, never a verdict)."""
    values = ", ".join(f"{label} r = {_fmt(estimate(test))}" for label, test in readings.items())
    return f"same-seed readings (coupled by definition, described only): {values}"


def holdout_share(cube: xr.Dataset) -> float:
    """The share of the original training split a seed holds out, on average over the seeds."""
    training = cube.orig_split.values != TEST
    return float(held_out(cube)[training].mean()) if training.any() else np.nan


def model_claims(
    dataset: str,
    arch: str,
    cube: xr.Dataset,
    metrics: xr.Dataset,
    settings: FidelitySettings,
    floor: Floor,
    gain_folds: int,
) -> list[Claim]:
    """The claims one ensemble of split models can test."""
    pairs, seeds = settings.seed_pairs, cube.sizes["seed"]
    row = functools.partial(judged, where=(dataset, arch), settings=settings, design=(seeds, holdout_share(cube)))
    count = len(crossfit.model_pairs(cube, pairs, symmetric=True))
    learned = crossfit.learned_readings(cube, metrics)
    dropped = functools.partial(undefined_detail, cube=cube)
    rows = [
        row(
            SEEDS,
            test=crossfit.seeds_test(cube, pairs),
            detail=f"{count} seed pairs of {seeds} seeds (r is symmetric: each pair once); "
            + dropped(crossfit.seeds_test(cube, pairs, crossfit.dropped_depth)),
        ),
        row(
            ACCURACY,
            test=crossfit.accuracy_test(cube, pairs),
            shown=described({crossfit.PER_APPEARANCE: crossfit.accuracy_reading(cube)}),
            detail=dropped(crossfit.accuracy_test(cube, pairs, crossfit.dropped_depth)),
        ),
        row(
            FLOOR,
            test=crossfit.floor_test(cube, floor, settings.run_groups),
            detail=floor_detail(floor, min(settings.run_groups, seeds)),
        ),
        row(
            LEARNED,
            test=crossfit.learned_test(cube, metrics, pairs),
            readings=learned,
            shown=described(learned),
            detail=dropped(crossfit.learned_test(cube, metrics, pairs, crossfit.dropped_depth)),
        ),
    ]
    for margin, spec in MARGINS.items():
        readings = crossfit.margin_readings(cube, metrics, margin)
        test = crossfit.margin_test(cube, metrics, margin, pairs)
        rows.append(row(spec, test=test, readings=readings, shown=described(readings)))
    return rows + [gain_claim(cube, metrics, row, gain_folds)]


def floor_detail(floor: Floor, seeds: int) -> str:
    return (
        f"the {floor.quantile:.0%} quantile per depth of {FLOOR_SPLITS[floor.split]} whose other seeds hold the "
        f"example out ≥ {floor.min_held_out} times, depths with ≥ {floor.min_bin_examples} appearances, depths of the "
        f"first {seeds} seeds"
    )


def gain_claim(cube: xr.Dataset, metrics: xr.Dataset, row: Callable[..., Claim], gain_folds: int) -> Claim:
    """Section 4's gain, cross-fitted: the corner chosen on the other seeds (the paper's reading described)."""
    layer, corner = int(metrics.attrs["gain_layer"]), int(metrics.attrs["corner_examples"])
    scores = crossfit.gain_scores(cube, corner, layer, gain_folds)
    network, probe, scored = crossfit.gain_accuracies(scores, cube.sizes["seed"])
    same_appearances = " → ".join(_pct(float(metrics.get(f"gain_{w}_accuracy", np.nan))) for w in ("network", "probe"))
    return row(
        GAIN,
        test=crossfit.gain_test(cube, corner, layer, gain_folds, scores=scores),
        readings={SAME_READING: crossfit.gain_test(cube, corner, layer, gain_folds, cross=False)},
        shown=f"network {_pct(network)} → probe {_pct(probe)} at layer {layer} over {scored} scored appearances",
        detail=f"the {corner} examples closest to the corner on the other seeds, {gain_folds} cross-fitting folds; "
        f"chosen and scored on the same appearances (the paper's reading, described): {same_appearances}",
    )


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
            design=(min(cubes[a].sizes["seed"], cubes[b].sizes["seed"]), holdout_share(cubes[a])),
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
    means = {d: np.nanmean(np.where(c.in_train.values, filled_depth(c), np.nan)) for d, c in ordered.items()}
    means = " < ".join(f"{d} ({m:.2f})" for d, m in sorted(means.items(), key=lambda kv: kv[1]))
    design = (min(c.sizes["seed"] for c in ordered.values()), np.nan)
    return judged(ORDER, where, crossfit.dataset_order_test(ordered), settings, shown=means, design=design)


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
        readings={SAME_READING: test},
        shown=f"{np.nanmean(h):.2g} ± {np.nanstd(h):.2g} vs {np.nanmean(c):.3g} ± {np.nanstd(c):.2g} "
        f"({h.shape[1]} and {c.shape[1]} run(s))",
        design=(min(h.shape[1], c.shape[1]), np.nan),
    )


def table(rows: list[Claim], settings: FidelitySettings) -> pd.DataFrame:
    """The rows with Holm's adjustment of both p-values over every row that has one, each row's direction, and
    what it could have detected."""
    holds, fails = (holm(np.array([getattr(row, p) for row in rows])) for p in ("p_value", "p_fails"))
    tested = int(np.isfinite(holds).sum())
    for row, p_holds, p_fails in zip(rows, holds, fails, strict=True):
        evidence = Evidence(
            row.ours, row.ci_low, row.ci_high, row.null, row.p_value, row.examples, row.seeds, "", row.se, row.freedom
        )
        row.p_holm, row.p_fails_holm, row.rows_tested = p_holds, p_fails, tested
        row.direction = direction(evidence, p_holds, p_fails, settings)
        describe_power(row, evidence, settings, tested)
    return pd.DataFrame([asdict(row) for row in rows])


def describe_power(row: Claim, evidence: Evidence, settings: FidelitySettings, tested: int) -> None:
    """``row.mde``, ``row.target`` and ``row.power``: what the row detects with ``settings.power`` at Holm's
    strictest level (alpha / rows tested), and the seeds (or held-out share) at which it would find ``target``: the
    paper's effect in the verdict's units where the paper gives one, else an effect the size of our estimate."""
    level, power = settings.alpha / max(tested, 1), settings.power
    row.mde = minimum_detectable(evidence, row.negligible, level, power)
    if not np.isfinite(row.mde):
        return
    spec = next(spec for spec in SPECS if spec.text == row.claim)
    ours = row.side * (row.ours - row.null)
    row.target, source = (spec.paper_effect, "the paper's") if spec.paper_effect is not None else (ours, "our")
    said = f"detects ≥ {row.mde:.2f} beyond the null ({power:.0%} power, one-sided α/{tested})"
    scale = design_scale(evidence, row.negligible, row.target, level, power)
    seeds, holdout = row.seeds_per_model, row.holdout
    if not np.isfinite(scale):
        row.power = f"{said}; {source} effect {row.target:.2f} is not beyond the negligible {row.negligible:g}"
        return
    if scale <= 1:
        row.power = f"{said}: {source} effect {row.target:.2f} is within reach"
        return
    needed, assumed = f"{math.ceil(seeds * scale)} seeds per model", "seeds"
    if spec.held_out and np.isfinite(holdout):
        share, assumed = holdout * scale, "seeds × holdout"
        needed += f", or {share:.0%} held out at {seeds} seeds" if share <= 0.5 else ""
    row.power = f"{said}; {source} effect {row.target:.2f} needs {needed} (if se ∝ 1/√({assumed}))"
