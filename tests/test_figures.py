"""Figures and claims on hand-built cubes: the statistics they draw, which figures a config supports, the refusal to
draw an empty panel; every figure drawn on a synthetic study without overlapping text, its numbers the fidelity
table's, each labelled with its reading."""

import itertools
import re
from dataclasses import replace
from unittest import mock

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import synthetic
import xarray as xr
from matplotlib.text import Text

from conftest import LABEL_NOISE_STUDY, ROOT
from pdepth.config.jobs import Floor
from pdepth.config.records import JobRecords
from pdepth.config.study import Study
from pdepth.data.fmnist import CLASSES
from pdepth.data.prepared import TRAIN, Prepared
from pdepth.fidelity import claims, crossfit
from pdepth.fidelity import table as fidelity
from pdepth.figures import plan, style
from pdepth.figures.registry import ARCHITECTURE, DATASET, FIGURES, HOLDOUT, INTERVENTIONS, MODEL, Inputs
from pdepth.metrics import per_example
from pdepth.outputs import cube as cube_module
from pdepth.pipeline.detection import ORIENTATION
from pdepth.statistics.verdicts import FAILS, HOLDS, UNTESTABLE, FidelitySettings


def tiny_cube(pd: np.ndarray, in_train: np.ndarray, pred: np.ndarray, labels: np.ndarray, layers: int = 4):
    """A cube with just what the claims read: pd, in_train, pred, label, orig_split, depth."""
    n = len(labels)
    return xr.Dataset(
        {
            "pd": (("example", "seed"), pd.astype(float)),
            "in_train": (("example", "seed"), in_train),
            "pred": (("example", "seed"), pred),
        },
        coords={
            "label": ("example", labels),
            "orig_split": ("example", np.zeros(n, np.int8)),
            "depth": ("layer", np.arange(layers)),
            "seed": np.arange(pd.shape[1]),
        },
    )


def test_per_depth_means_and_fractions():
    pd = np.array([[0, 1], [1, np.nan], [2, 2]])
    values = np.array([[1.0, 0.0], [0.5, 9.0], [0.0, 1.0]])
    mask = np.array([[True, True], [True, True], [True, False]])
    result = claims.per_depth(pd, values, mask)  # counted: (0,1.0) (1,0.0) (1,0.5) (2,0.0)
    np.testing.assert_array_equal(result.depth, [0, 1, 2])
    np.testing.assert_allclose(result.mean, [1.0, 0.25, 0.0])
    np.testing.assert_allclose(result.fraction, [0.25, 0.5, 0.25])


def test_accuracy_by_depth_counts_held_out_appearances_only():
    labels = np.array([0, 1, 2, 3])
    pd = np.array([[0, 0], [0, 3], [3, 3], [3, 0]])
    pred = np.array([[0, 0], [1, 2], [0, 1], [0, 3]])  # held out: depth 0: 3 of 3 correct; depth 3: 0 of 4
    in_train = np.array([[False, False], [False, False], [False, False], [False, True]])
    result = claims.accuracy_by_depth(tiny_cube(pd, in_train, pred, labels))
    np.testing.assert_array_equal(result.depth, [0, 3])
    np.testing.assert_allclose(result.mean, [1.0, 0.0])
    np.testing.assert_allclose(result.fraction, [3 / 7, 4 / 7])


def test_pearson_and_spearman_ignore_missing_pairs():
    x = np.array([1.0, 2.0, 3.0, np.nan, 4.0])
    assert claims.pearson(x, 2 * x + 1) == pytest.approx(1.0)
    assert claims.spearman(x, -(x**3)) == pytest.approx(-1.0)
    assert np.isnan(claims.pearson(np.ones(5), x))  # a constant side has no correlation


def test_depth_correlation_between_seeds_and_models():
    """Figure 2 (left) reads the fidelity table's statistic: the mean r over ordered pairs of different seeds."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 4, 200).astype(float)
    in_train = rng.random((200, 4)) < 0.5
    pd = np.stack([base, base, base, 3 - base], axis=1)  # seeds 0, 1, 2 agree; seed 3 is their mirror image
    cube = tiny_cube(pd, in_train, np.zeros((200, 4), int), np.zeros(200, int))
    assert crossfit.seed_pairs([0, 1, 2, 3], [0, 1, 2, 3], limit=5) == [(0, 1), (1, 2), (2, 3), (3, 0), (0, 2)]
    assert len(crossfit.seed_pairs([0, 1, 2, 3], [0, 1, 2, 3], limit=60)) == 12  # never the same seed
    assert crossfit.depth_correlation(cube, cube, "train", 60) == pytest.approx(0.0)  # 6 pairs at +1, 6 at -1
    other = tiny_cube(pd[:, [0, 0, 0, 0]], in_train, np.zeros((200, 4), int), np.zeros(200, int))
    # across models, never the same seed (same split and data order): like for like with the diagonal
    assert crossfit.depth_correlation(cube, other, "val", 60) == pytest.approx(0.5)  # 9 pairs at +1, 3 at -1


def test_consensus_consistency_floor_per_depth_bin():
    """Bins round halves up; examples held out fewer than min_held_out times are left out."""
    metrics = xr.Dataset(
        {
            "pd_val": ("example", np.array([0.1, 0.2, 0.5, 1.4, 1.1, 2.6, np.nan, 0.3])),
            "consensus_consistency": ("example", np.array([1.0, 0.9, 0.7, 0.8, 0.5, 0.1, 0.2, 0.0])),
            "n_held_out": ("example", np.array([2, 2, 2, 2, 2, 2, 2, 1])),
        }
    )
    floor = claims.consensus_consistency_floor(
        metrics, Floor(min_held_out=2, quantile=0.0, min_bin_examples=1, split="test")
    )
    np.testing.assert_array_equal(floor.depth, [0, 1, 3])  # 0.5 -> 1 (np.rint gave 0); the last one held out once
    np.testing.assert_allclose(floor.mean, [0.9, 0.5, 0.1])
    larger_bins = Floor(min_held_out=2, quantile=0.0, min_bin_examples=2, split="test")
    np.testing.assert_array_equal(claims.consensus_consistency_floor(metrics, larger_bins).depth, [0, 1])


def study(**changes) -> Study:
    return Study.load(ROOT / "config.yaml", **changes)


def test_the_default_study_with_label_noise_draws_every_figure_but_the_full_training_set_one():
    planned = plan.planned_figures(Study.load(*LABEL_NOISE_STUDY))
    skipped = {p.figure: p.skipped for p in planned if p.skipped}
    assert list(skipped) == ["depth_predicts_consensus"]  # Figure 4 (middle), 3 times: one per architecture
    assert "full_train_seeds ≥ 3 (has 0)" in skipped["depth_predicts_consensus"]
    assert {p.figure for p in planned if not p.skipped} == set(plan.FIGURES) - set(skipped)
    alone = {p.figure: p.skipped for p in plan.planned_figures(study()) if p.skipped}
    assert set(alone) == {"depth_predicts_consensus", "label_noise_curves", "mislabel_detection"}
    assert "configs/label_noise.yaml" in alone["label_noise_curves"]  # the skip says what adds the figure
    with_full = plan.planned_figures(Study.load(*LABEL_NOISE_STUDY, full_train_seeds=3))
    assert not [p for p in with_full if p.skipped]
    corners = [p for p in with_full if HOLDOUT in plan.FIGURES[p.figure].needs]
    assert corners and all(p.keys["variant"] == "" for p in corners)  # never full/: it has no holdout


def test_figures_a_config_cannot_support_are_skipped_with_a_reason():
    planned = plan.planned_figures(study(architectures=["mlp"], seeds=1, interventions={}))
    skipped = {p.figure: p.skipped for p in planned if p.skipped}
    assert skipped["mean_depth_pairs"] == "needs at least 2 architectures"
    assert "2 seeds" in skipped["consistency_vs_depth"] and "2 seeds" in skipped["depth_agreement"]
    assert "zero_hinge" in skipped["margin_interventions"]
    assert "label_noise" in skipped["label_noise_curves"] and "label_noise" in skipped["mislabel_detection"]
    assert "2 seeds" in skipped["score_correlations"]
    assert {p.figure for p in planned if not p.skipped} == {
        "pd_distribution",
        "depth_examples",
        "margins_vs_depth",
        "knn_accuracy",
        "dataset_map",  # one seed's training passes draw it
    }


def test_margin_interventions_find_the_control_by_subset():
    roles = plan.margin_interventions(study(), "fmnist", "mlp")
    assert list(roles) == ["0-Hinge (zerohinge)", "cross-entropy (cecontrol)", "untrained (untrained)"]
    assert plan.margin_interventions(study(), "fmnist", "vgg16") == {}


def test_an_empty_panel_is_refused(tmp_path):
    fig, (full, empty) = plt.subplots(1, 2)
    full.plot([0, 1], [0, 1])
    empty.set_title("nothing here")
    with pytest.raises(style.EmptyPanel, match="nothing here"):
        style.save(fig, tmp_path / "a.png", tmp_path / "a.pdf")
    assert not (tmp_path / "a.png").exists()


def test_long_titles_wrap_instead_of_widening_the_canvas(tmp_path):
    """A one-line title longer than its plot made ``bbox_inches="tight"`` widen the canvas, the plots shrinking."""
    from matplotlib import image

    fig, axes = plt.subplots(1, 2, figsize=(6, 3))
    for ax in axes:
        ax.plot([0, 1], [0, 1])
        ax.set_title("a panel title that says a great deal more than fits above one small panel of a figure " * 2)
    fig.suptitle("a figure title that would run far past the right edge of the figure if it were kept on one line " * 2)
    style.save(fig, tmp_path / "a.png", tmp_path / "a.pdf")
    height, width, _ = image.imread(tmp_path / "a.png").shape
    assert width <= 6 * 150 * 1.1, width  # the figure's width at 150 dpi, give or take the tight margins
    assert height > 3 * 150  # the wrapped titles add lines above the plots instead


def test_dataset_order_claim():
    rng = np.random.default_rng(0)
    settings = FidelitySettings(
        bootstrap=200, permutations=200, confidence=0.95, seed=0, run_groups=10, seed_pairs=60, power=0.8
    )

    def cube(mean, seeds=2):
        pd = rng.normal(mean, 0.5, (100, 1)).clip(0) + rng.normal(0, 0.05, (100, seeds))  # two runs of each
        return tiny_cube(pd, np.ones((100, seeds), bool), np.zeros((100, seeds), int), np.zeros(100, int))

    def decided(row):
        return fidelity.table([row], settings).direction[0]

    ordered = fidelity.dataset_order_claim("resnet18", {"cifar10": cube(2.0), "fmnist": cube(0.5)}, settings)
    assert decided(ordered) == HOLDS and ordered.shown.endswith("fmnist (0.51) < cifar10 (2.04)")
    reversed_ = fidelity.dataset_order_claim("resnet18", {"cifar10": cube(0.2), "fmnist": cube(0.5)}, settings)
    assert decided(reversed_) == FAILS and "; cifar10 (0." in reversed_.shown
    same = fidelity.dataset_order_claim("resnet18", {"cifar10": cube(1.0), "fmnist": cube(1.0)}, settings)
    assert decided(same) != HOLDS
    assert decided(fidelity.dataset_order_claim("mlp", {"fmnist": cube(0.5)}, settings)) == UNTESTABLE
    one_run_each = {"cifar10": cube(2.0, seeds=1), "fmnist": cube(0.5, seeds=1)}
    row = fidelity.dataset_order_claim("resnet18", one_run_each, settings)  # no run-to-run variation to measure
    assert decided(row) == UNTESTABLE and "not testable with 2 run(s)" in row.detail


def test_importing_the_figures_changes_no_matplotlib_setting():
    """Backend and rcParams are the same after importing every drawing module; the look applies only in
    ``style.drawing()`` (a fresh interpreter, so that nothing imported before hides a change)."""
    import subprocess
    import sys

    code = """
import importlib, pkgutil, matplotlib
before = (matplotlib.get_backend(), dict(matplotlib.rcParams))
import pdepth.figures
for module in pkgutil.iter_modules(pdepth.figures.__path__):
    importlib.import_module(f"pdepth.figures.{module.name}")
after = (matplotlib.get_backend(), dict(matplotlib.rcParams))
from pdepth.figures import style
with style.drawing():
    inside = dict(matplotlib.rcParams)
print(before == after, inside["font.size"], dict(matplotlib.rcParams) == before[1])
"""
    env = {"MPLBACKEND": "", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.split() == ["True", "9.0", "True"]


def test_figure_3_reads_cleanly_names_the_dataset_as_papers_do_and_says_its_seeds_are_few(tmp_path):
    """No colour-bar label overlaps the next panel; display names are in the title, the few-seeds note in the
    caption (once, not in every title)."""
    from pdepth.figures import consistency

    rng = np.random.default_rng(0)
    n, seeds = 600, 2
    labels = rng.integers(0, 3, n)
    cube = tiny_cube(
        rng.integers(0, 4, (n, seeds)), rng.random((n, seeds)) < 0.5, rng.integers(0, 3, (n, seeds)), labels
    )
    cube.attrs.update(dataset="fmnist", architecture="resnet18", k=30, probe_backend="exact")
    cube["label"].attrs.update(cube_module.category_attrs("given label", ("T-shirt/top", "Trouser", "Pullover")))
    consensus = np.where(rng.random(n) < 0.7, labels, (labels + 1) % 3)
    metrics = xr.Dataset(
        {"pd_val": ("example", rng.random(n) * 3), "consistency": ("example", rng.random(n))},
        coords={"label": ("example", labels), "consensus_class": ("example", consensus)},
    )
    with style.drawing():
        fig = consistency.consistency_vs_depth(cube, metrics)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
        bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
        assert len(panels) == len(bars) == 3
        for bar, next_panel in zip(bars, panels[1:], strict=False):
            label = bar.yaxis.label.get_window_extent(renderer)
            assert not label.overlaps(next_panel.get_tightbbox(renderer)), "a colour bar's label touches the next panel"
        title = fig._suptitle.get_text()
        style.save(fig, tmp_path / "f3.png", tmp_path / "f3.pdf")
    assert "Fashion-MNIST / ResNet-18" in title and "stripes" not in title
    caption = " ".join((ROOT / "report/figures/consistency_vs_depth.rst").read_text().split())
    assert (
        "a per-example mean over the seeds takes few values: stripes and lattices come from the seed count" in caption
    )
    assert style.class_names(cube) == ["T-shirt/top", "Trouser", "Pullover"]


SETTINGS = FidelitySettings(
    bootstrap=20, permutations=20, confidence=0.95, seed=0, run_groups=10, seed_pairs=60, power=0.8
)
OPTIONS = replace(JobRecords(Study.load(ROOT / "config.yaml")).figure_options("fmnist"), settings=SETTINGS)
ARCHS = ("mlp", "resnet18", "vgg16")


def named(cube: xr.Dataset, metrics: xr.Dataset, arch: str) -> tuple[xr.Dataset, xr.Dataset]:
    """A synthetic model as a Fashion-MNIST one, so that titles, class names and tick labels are as long as real."""
    for data in (cube, metrics):
        data.attrs.update(dataset="fmnist", architecture=arch, k=30, probe_backend="exact")
        data["label"].attrs.update(cube_module.category_attrs("given label", CLASSES))
    return cube, metrics


def with_label_noise(cube: xr.Dataset) -> tuple[xr.Dataset, xr.Dataset]:
    """``cube`` as a label-noise study (30% of its training set flipped), and its metrics."""
    rng = np.random.default_rng(1)
    flipped = (cube.orig_split.values == TRAIN) & (rng.random(cube.sizes["example"]) < 0.3)
    noisy = cube.assign_coords(mislabelled=("example", flipped), clean_label=("example", cube.label.values))
    runs = synthetic.random_runs(rng, noisy.pred.values, np.ones(noisy.sizes["example"]))
    return named(noisy, per_example.build(noisy, runs, None, 50, synthetic.GAIN_LAYER), "mlp")


def detection_table(layers: int) -> pd.DataFrame:
    """detection.csv's columns that the figure reads: every score after epochs 5, 15 and 40, random AUROCs."""
    epochs = (5, 15, 40)
    rows = [(name, None, e) for name in ORIENTATION if name != "knn_vote" for e in epochs]
    rows += [("knn_vote", layer, e) for layer in range(layers) for e in epochs] + [("knn_vote_chosen", None, 40)]
    rows += [("cleanlab_knn_vote", layer, 40) for layer in range(layers)] + [("cleanlab_cv", None, e) for e in epochs]
    table = pd.DataFrame(rows, columns=["score", "layer", "epoch"])
    auroc = np.random.default_rng(2).uniform(0.5, 0.95, len(table))
    return table.assign(
        auroc=auroc, auroc_low=auroc - 0.05, auroc_high=auroc + 0.05, auroc_null=0.5, memorised=table.epoch / 40
    ).assign(examples=6000, seeds=4)


@pytest.fixture(scope="module")
def models() -> dict[str, tuple[xr.Dataset, xr.Dataset]]:
    """The default study's three architectures on one synthetic dataset with a planted per-example difficulty."""
    return {arch: named(*synthetic.difficulty_world(i, "planted", examples=1), arch) for i, arch in enumerate(ARCHS)}


@pytest.fixture(scope="module")
def inputs(models) -> dict[str, Inputs]:
    """What a figure of each scope reads; the model figures' study has label noise (for the figures that need it)."""
    cube, metrics = with_label_noise(models["mlp"][0])
    n = cube.sizes["example"]
    images = np.random.default_rng(3).integers(0, 255, (n, 28, 28, 1), dtype=np.uint8)
    prepared = Prepared(images, cube.label.values, cube.orig_split.values, np.arange(n), CLASSES, (0.5,), (0.25,))
    other = models["vgg16"]
    return {
        MODEL: Inputs({"": cube}, {"": metrics}, prepared, OPTIONS, {"": detection_table(cube.sizes["layer"])}),
        DATASET: Inputs(
            {a: c for a, (c, _) in models.items()}, {a: m for a, (_, m) in models.items()}, options=OPTIONS
        ),
        ARCHITECTURE: Inputs(
            {"fmnist": cube, "cifar10": other[0]}, {"fmnist": metrics, "cifar10": other[1]}, options=OPTIONS
        ),
        INTERVENTIONS: Inputs(
            {"0-Hinge (zerohinge)": cube, "cross-entropy (cecontrol)": cube, "untrained (untrained)": cube},
            options=OPTIONS,
        ),
    }


def drawn_texts(fig: plt.Figure) -> list[Text]:
    """Every text the figure draws (visible, not empty)."""
    drawn, draw = {}, Text.draw

    def recording(text, renderer):
        if text.get_visible() and text.get_text().strip():
            drawn[id(text)] = text
        return draw(text, renderer)

    with mock.patch.object(Text, "draw", recording):
        fig.canvas.draw()
    return list(drawn.values())


def corners(text: Text, renderer) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The corners of a text's box, rotated with the text (its window extent is the upright box around them), and
    the box's two directions."""
    box, angle = text.get_window_extent(renderer), np.radians(text.get_rotation())
    text.set_rotation(0)
    width, height = text.get_window_extent(renderer).size
    text.set_rotation(np.degrees(angle))
    along = np.array([np.cos(angle), np.sin(angle)])
    across = np.array([-along[1], along[0]])
    centre = np.array([box.x0 + box.x1, box.y0 + box.y1]) / 2
    points = [centre + a * width / 2 * along + b * height / 2 * across for a in (-1, 1) for b in (-1, 1)]
    return np.array(points), (along, across)


def overlap(first, second, pixels: float = 1.0) -> bool:
    """Whether two rotated boxes (:func:`corners`) overlap by more than ``pixels`` (no separating direction)."""
    (a, directions_a), (b, directions_b) = first, second
    for direction in (*directions_a, *directions_b):
        pa, pb = a @ direction, b @ direction
        if min(pa.max(), pb.max()) - max(pa.min(), pb.min()) <= pixels:
            return False
    return True


def overlapping_texts(fig: plt.Figure) -> list[tuple[str, str]]:
    """Pairs of drawn texts that overlap: titles, axis and tick labels (one axis' too: crowded or rotated labels do
    overlap), colour-bar labels, legends. Texts of one legend are left out: matplotlib packs them, they cannot."""
    texts = drawn_texts(fig)
    renderer = fig.canvas.get_renderer()
    legends = [legend for legend in (*fig.legends, *(ax.get_legend() for ax in fig.axes)) if legend is not None]
    legend_of = {id(text): i for i, legend in enumerate(legends) for text in (*legend.get_texts(), legend.get_title())}
    boxes = {id(text): corners(text, renderer) for text in texts}
    return [
        (a.get_text(), b.get_text())
        for a, b in itertools.combinations(texts, 2)
        if not (id(a) in legend_of and legend_of[id(a)] == legend_of.get(id(b))) and overlap(boxes[id(a)], boxes[id(b)])
    ]


def test_the_overlap_check_finds_overlapping_text_and_only_that():
    fig, (left, right) = plt.subplots(1, 2, figsize=(4, 2))
    left.set_title("a title much longer than its panel, running into the next panel's title")
    right.set_title("the next panel's title")
    assert overlapping_texts(fig) == [(left.get_title(), right.get_title())]
    right.set_title("")
    left.set_xticks(range(5), [f"a long tick label {i}" for i in range(5)], rotation=45, ha="right")
    assert overlapping_texts(fig) == []  # upright boxes of rotated labels overlap, the labels do not
    left.set_xticks(range(20), [f"a long tick label {i}" for i in range(20)], rotation=45, ha="right")
    assert len(overlapping_texts(fig)) >= 19  # crowded: each overlaps its neighbour
    plt.close(fig)


@pytest.mark.parametrize("name", FIGURES)
def test_no_text_of_a_figure_overlaps_another(name, inputs):
    """Every figure drawn on a synthetic study of the default config's shape (3 architectures, 4 seeds, label noise,
    the interventions): no title, axis or tick label, colour-bar label or legend runs into another."""
    spec = FIGURES[name]
    with style.drawing():
        fig = spec.draw(inputs[spec.scope])
        style.fit_titles(fig)  # as style.save does
        overlaps = overlapping_texts(fig)
        texts = [text.get_text() for text in drawn_texts(fig)]
        plt.close(fig)
    assert overlaps == []
    assert not [text for text in texts if "stripes" in text]  # the few-seeds caveat is in the captions
    assert not {"el2n", "pd", "cleanlab_cv", "knn_vote"} & set(texts)  # scores named in words


def reading(row, label: str) -> str:
    """A same-seed reading's value as the table shows it (``shown``)."""
    return re.search(rf"{re.escape(label)} r = (\S+?)(,|$)", row.shown).group(1)


def texts_of(name: str, inputs: Inputs) -> list[list[str]]:
    """The texts of each axes of a figure (the panels, then their colour bars), then all of the figure's."""
    with style.drawing():
        fig = FIGURES[name].draw(inputs)
        texts = [[text.get_text() for text in ax.findobj(Text)] for ax in fig.axes]
        texts.append([text.get_text() for text in fig.findobj(Text)])
        plt.close(fig)
    return texts


def test_each_number_on_a_figure_is_the_tables_for_its_reading(models):
    """Figures 2, 4 (left), 5 (left) and 6 print the fidelity table's numbers (to its two decimals) with their
    readings: the cross-seed verdict (its ``ours``) and the same-seed readings (its ``shown``)."""
    cube, metrics = models["mlp"]
    rows = {row.claim: row for row in fidelity.model_claims("fmnist", "mlp", cube, metrics, SETTINGS, OPTIONS.floor, 2)}
    cubes, metrics_of = ({a: model[k] for a, model in models.items()} for k in (0, 1))
    one_model = Inputs({"": cube}, {"": metrics}, options=OPTIONS)

    output, input_ = texts_of("margins_vs_depth", one_model)[:2]  # the panels, then their colour bars
    for panel, spec in zip((output, input_), fidelity.MARGINS.values(), strict=True):
        row = rows[spec.text]
        numbers = f"{row.ours:.2f} / {reading(row, crossfit.EXAMPLE_MEANS)}"
        assert any(f"= {numbers} (cross-seed verdict / same seed, per-example means)" in text for text in panel)

    floor = rows[fidelity.FLOOR.text].ours
    legend = texts_of("consensus_consistency_vs_depth", one_model)[0]
    assert any(f"ρ = {floor:.2f} / " in text and "(cross-seed verdict / per-example means" in text for text in legend)

    row = rows[fidelity.LEARNED.text]
    legend = texts_of("iteration_learned", Inputs({"fmnist": cube}, {"fmnist": metrics}, options=OPTIONS))[-1]
    same_seed = (reading(row, label) for label in (crossfit.PER_APPEARANCE, crossfit.DEPTH_MEANS_WEIGHTED))
    assert f"Fashion-MNIST: {row.ours:.2f} / {' / '.join(same_seed)}" in legend
    assert any(
        "cross-seed verdict /\nsame seed, per appearance /\nsame seed, per-depth means, weighted" in t for t in legend
    )

    matrix = texts_of("depth_agreement", Inputs(cubes, options=OPTIONS))
    cells = {
        split: [text for text in matrix[k] if re.fullmatch(r"-?\d\.\d\d|n/a", text)]
        for k, split in enumerate(("train", "val"))
    }
    assert cells["val"][0] == f"{rows[fidelity.SEEDS.text].ours:.2f}"  # the diagonal: seeds of the MLP, held out
    pairs = texts_of("mean_depth_pairs", Inputs(cubes, metrics_of, options=OPTIONS))
    for row in fidelity.architecture_claims("fmnist", cubes, SETTINGS):
        i, j = (ARCHS.index(a) for a in row.architecture.split(" vs "))
        split = next(split for split, spec in fidelity.ARCHITECTURES.items() if spec.text == row.claim)
        assert cells[split][3 * i + j] == cells[split][3 * j + i] == f"{row.ours:.2f}"
        title = f"{style.title(ARCHS[i])} vs {style.title(ARCHS[j])}\nPearson r = {row.ours:.2f} / "
        assert split == "val" or any(text.startswith(title) for text in pairs[i + j - 1])
