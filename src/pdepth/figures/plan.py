"""Which figures a config supports: each figure of the registry for every run it covers, or skipped with the reason
(a figure is never drawn empty)."""

from dataclasses import dataclass

from pdepth.config.study import CONTROL, HINGE, UNTRAINED, Study, Variant
from pdepth.figures.registry import (
    ARCHITECTURE,
    ARCHITECTURES,
    DATASET,
    ENSEMBLE,
    EVERY,
    FIGURES,
    FULL_ENSEMBLE,
    HOLDOUT,
    MODEL,
    NOISY,
    PAIRS,
    FigureSpec,
)

FULL_ENSEMBLE_SEEDS = 3  # Figure 4 (middle): the depth in one model against a consensus of at least 2 others


@dataclass(frozen=True)
class Planned:
    """One figure the config asks for: drawn for ``keys`` (its wildcards), or skipped with a reason."""

    figure: str
    keys: dict
    skipped: str = ""  # why the config cannot support it; "" when it is drawn

    @property
    def label(self) -> str:
        """What it is drawn for, e.g. "split / fmnist / mlp", "noise40 / fmnist / mlp", "resnet18", "study"."""
        return " / ".join(value.rstrip("/") or "split" for value in self.keys.values()) or "study"


def _ensemble(variant: Variant) -> str:
    return "" if len(variant.seeds) >= 2 else f"needs at least 2 seeds ({variant.name or 'split'} has 1)"


def _covers(spec: FigureSpec, variant: Variant) -> bool:
    """Whether a model figure is drawn for ``variant`` at all (FigureSpec.covers)."""
    if spec.covers == EVERY:
        return True
    if spec.covers == NOISY:
        return variant.label_noise > 0
    return not variant.is_intervention


def _unmet(spec: FigureSpec, study: Study, variant: Variant) -> str | None:
    """Why ``spec`` is not drawn for ``variant`` (its first unmet need; "" if none); None if it is not for it."""
    for need in spec.needs:
        if need == HOLDOUT and variant.holdout_fraction == 0:
            return None  # no example is ever both held out and in a training split: no corners
        reason = {
            ENSEMBLE: lambda: _ensemble(variant),
            ARCHITECTURES: lambda: "" if len(study.architectures) >= 2 else "needs at least 2 architectures",
            PAIRS: lambda: "" if len(study.architectures) >= 2 else _ensemble(variant),
            FULL_ENSEMBLE: lambda: _full_ensemble(study),
            HOLDOUT: lambda: "",
        }[need]()
        if reason:
            return reason
    return ""


def source_variant(study: Study, spec: FigureSpec) -> Variant | None:
    """The variant a dataset or architecture figure reads (None if the config has none of that name)."""
    return next((v for v in study.variants if v.name == spec.variant), None)


def _full_ensemble(study: Study) -> str:
    full = source_variant(study, FIGURES["depth_predicts_consensus"])
    if full is not None and len(full.seeds) >= FULL_ENSEMBLE_SEEDS:
        return ""
    return (
        f"needs full_train_seeds ≥ {FULL_ENSEMBLE_SEEDS} (has {len(full.seeds) if full else 0}): the depth in one "
        "full-training-set model against the consensus-consistency of the others (the paper: 25 models)"
    )


def margin_roles(study: Study, dataset: str, arch: str) -> list[tuple[str, Variant]]:
    """The variants of Figure 6 (right) on (dataset, arch) with their role (pdepth.config.study): each 0-Hinge study,
    then the cross-entropy studies on the same subset (its controls), then the untrained networks; none without
    0-Hinge."""
    runs = [v for v in study.variants if v.is_intervention and dataset in v.datasets and arch in v.architectures]
    resolved = {v.name: study.training(arch, dataset, v) for v in runs}  # with the study's defaults and arch block
    hinge = [v for v in runs if resolved[v.name].loss == "zero_hinge"]
    untrained = [v for v in runs if resolved[v.name].epochs == 0]
    subsets = [v.subset for v in hinge]
    controls = [v for v in runs if v not in hinge + untrained and v.label_noise == 0 and v.subset in subsets]
    roles = [(HINGE, hinge), (CONTROL, controls), (UNTRAINED, untrained)]
    return [(role, v) for role, found in roles for v in found] if hinge else []


def margin_interventions(study: Study, dataset: str, arch: str) -> dict[str, Variant]:
    """The variants of Figure 6 (right), labelled by role and name for its legend."""
    return {f"{role} ({v.name})": v for role, v in margin_roles(study, dataset, arch)}


def planned_figures(study: Study) -> list[Planned]:
    """Every figure of the config, drawn or skipped; model figures for each (variant, dataset, arch)."""
    planned = []
    main = study.variants[0]
    for spec in FIGURES.values():
        if spec.scope == MODEL:
            for variant, dataset, arch in study.runs():
                reason = _unmet(spec, study, variant) if _covers(spec, variant) else None
                if reason is not None:
                    keys = {"variant": variant.prefix, "dataset": dataset, "arch": arch}
                    planned.append(Planned(spec.name, keys, reason))
            if not any(p.figure == spec.name for p in planned):
                planned.append(Planned(spec.name, {}, f"needs {spec.covers}"))
        elif spec.scope == DATASET:
            for dataset in study.datasets:
                planned.append(Planned(spec.name, {"dataset": dataset}, _unmet(spec, study, main)))
        elif spec.scope == ARCHITECTURE:
            for arch in study.architectures:
                planned.append(Planned(spec.name, {"arch": arch}, _unmet(spec, study, main)))
        else:
            combos = [(d, a) for d in study.datasets for a in study.architectures]
            found = [(d, a) for d, a in combos if margin_interventions(study, d, a)]
            for dataset, arch in found:
                planned.append(Planned(spec.name, {"dataset": dataset, "arch": arch}))
            if not found:
                reason = "needs an intervention with training.loss: zero_hinge (see docs/outputs.md, Interventions)"
                planned.append(Planned(spec.name, {}, reason))
    return planned
