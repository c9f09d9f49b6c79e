"""docs/extending.md, checked by doing it: a toy dataset, architecture, per-example metric, figure and per-run stage,
each added in-process to its registry (monkeypatch), and picked up by the rest of the code with no other edit but
the ones the page lists. No training, no Snakemake run."""

import hashlib
import json
import math
import runpy
import sys
from dataclasses import dataclass, replace
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from conftest import ROOT, SMOKE, smoke_config
from pdepth.config import jobs
from pdepth.config.records import JobRecords
from pdepth.config.study import Study
from pdepth.data import registry as datasets
from pdepth.data.augment import Augmentation
from pdepth.data.prepared import Prepared
from pdepth.data.sources import RawFile, SourceOptions
from pdepth.errors import ConfigError
from pdepth.figures import plan
from pdepth.figures import registry as figures
from pdepth.models import architectures
from pdepth.schema import SCHEMA
from pdepth.workflow import cluster
from pdepth.workflow.stages import STAGES, Stage, block_job, train_seconds

# --- a dataset --------------------------------------------------------------------------------------------------------

TOY_FILE = "toy.npz"
TOY_CLASSES = ("dark", "light")


def read_toy(paths: dict) -> Prepared:
    with np.load(paths[TOY_FILE]) as f:
        return Prepared.from_splits(f["train_x"], f["train_y"], f["test_x"], f["test_y"], TOY_CLASSES)


def toy_dataset(md5: str = "0" * 32, **changes) -> datasets.DatasetSpec:
    spec = datasets.DatasetSpec(
        name="toy",
        title="Toy",
        files=(RawFile(TOY_FILE, md5, ("https://example.org/toy/" + TOY_FILE,)),),
        read=read_toy,
        classes=TOY_CLASSES,
        augmentation=Augmentation(crop_padding=1, flip=True),
        sizes=(600, 200),
        image_shape=(8, 8, 1),
        corner_class="light",
    )
    return replace(spec, **changes)


def write_toy(directory) -> str:
    """The toy dataset's raw file (600 + 200 images, 8 x 8 x 1); its MD5."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 800)
    images = (rng.integers(0, 100, (800, 8, 8, 1)) + 150 * labels[:, None, None, None]).astype(np.uint8)
    path = directory / TOY_FILE
    np.savez(path, train_x=images[:600], train_y=labels[:600], test_x=images[600:], test_y=labels[600:])
    return hashlib.md5(path.read_bytes()).hexdigest()


def toy_config(**changes) -> dict:
    return {"datasets": ["toy"], "architectures": ["mlp"], "seeds": 2, "probe": {"k": 5}} | changes


def test_a_registered_dataset_is_checked_sized_and_read(monkeypatch, tmp_path):
    with pytest.raises(ConfigError, match="unknown dataset 'toy'"):
        Study.checked(toy_config())
    monkeypatch.setitem(datasets.DATASETS, "toy", toy_dataset(write_toy(tmp_path)))
    study = Study.checked(toy_config(data={"augmentation": {"toy": {"flip": False}}}))
    assert study.datasets == ["toy"]
    assert study.augmentation("toy") == Augmentation(crop_padding=1, flip=False)  # the spec's, updated by the config
    assert JobRecords(study).figure_options("toy").corner_class == "light"
    sizes = study.split_sizes(study.variants[0], "toy")
    assert (sizes.train, sizes.test, sizes.trained) == (600, 200, 540)
    shape = cluster.job_shape(study, "", "toy", "mlp")
    assert (shape.examples, shape.train_examples, shape.pixels, shape.classes) == (800, 540, 64, 2)
    prepared = datasets.prepare("toy", SourceOptions(data_dir=tmp_path, download=False))
    assert prepared.images.shape == (800, 8, 8, 1) and prepared.classes == TOY_CLASSES
    assert (prepared.orig_split == 0).sum() == 600


def test_a_dataset_without_its_sizes_or_with_a_name_no_path_can_hold_is_refused_when_registered():
    """DatasetSpec.sizes and image_shape size the splits the config is checked against and the cluster jobs; the name
    is a folder of the results and a wildcard value (pdepth.paths.NAME)."""
    with pytest.raises(ValueError, match=r"dataset toy: sizes \(0, 0\) and image_shape \(8, 8, 1\) must be > 0"):
        toy_dataset(sizes=(0, 0))
    with pytest.raises(ValueError, match="dataset name 'toy_v2': use lowercase letters and digits only"):
        datasets.register(toy_dataset(name="toy_v2"))


# --- an architecture --------------------------------------------------------------------------------------------------

TINY_MODULE = """
from torch import nn

from pdepth.models.registry import INPUT, SOFTMAX, ProbedModel, register


class Tiny(ProbedModel):
    def __init__(self, shape, channels, blocks):
        super().__init__()
        sizes = [shape.channels] + [channels] * blocks
        self.features = nn.Sequential(
            *(nn.Sequential(nn.Conv2d(a, b, 3, padding=1), nn.ReLU()) for a, b in zip(sizes[:-1], sizes[1:]))
        )
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, shape.num_classes))

    def forward(self, x):
        return self.head(self.features(x))

    def probe_names(self):
        return [INPUT, *(f"features.{i}" for i in range(len(self.features))), SOFTMAX]


@register("tiny")
def build_tiny(shape, options):
    return Tiny(shape, **options)
"""


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    """A toy architecture: its builder module (registering itself on import) and its catalogue entry."""
    from pdepth.models import registry as models

    name = "pdepth_toy_tiny"
    (tmp_path / f"{name}.py").write_text(TINY_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setitem(models.MODELS, "tiny", None)  # removed again afterwards; the module's import replaces it
    catalog = architectures.Architecture(
        "tiny",
        name,
        {"channels": 8, "blocks": 3},
        bounds={"channels": (1, None), "blocks": (1, 125)},
        probes=lambda options: options["blocks"] + 2,  # input, each block, softmax
        title="Tiny",
        images_per_second=5.0,
    )
    monkeypatch.setitem(architectures.ARCHITECTURES, "tiny", catalog)
    yield catalog
    sys.modules.pop(name, None)


def test_a_catalogued_architecture_builds_with_its_probe_count_and_sizes_its_jobs(tiny):
    import torch

    from pdepth.models import MODELS, InputShape, build

    study = Study.checked(smoke_config(architectures=["tiny"], models={"tiny": {"blocks": 2}}, interventions={}))
    options = study.model_options("tiny")
    assert options == {"channels": 8, "blocks": 2}
    model = build("tiny", InputShape(1, 28, 28, 10), options)
    assert MODELS["tiny"].__module__ == tiny.module  # registered by its own module, imported by build
    assert len(model.probe_names()) == tiny.probes(options) == 4
    modules = dict(model.named_modules())
    assert all(name in modules for name in model.probe_names()[1:-1])  # the probes' hooks find their submodules
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert cluster.job_shape(study, "", "fmnist", "tiny").probes == 4
    settings = study.config["cluster"]
    seconds = train_seconds(cluster.job_shape(study, "", "fmnist", "tiny"), tiny.images_per_second, settings)
    runtime = math.ceil(settings["min_runtime"] + settings["runtime_factor"] * seconds / 60)
    catalogued = cluster.resources(study, "train", "", "fmnist", "tiny")["runtime"]  # at the catalogue's speed
    assert catalogued == runtime > settings["min_runtime"] + 30
    fast = smoke_config(architectures=["tiny"], interventions={}, cluster={"images_per_second": {"tiny": 5e4}})
    assert cluster.resources(Study.checked(fast), "train", "", "fmnist", "tiny")["runtime"] < runtime  # the config's


def test_an_architectures_options_are_checked_by_name(tiny):
    with pytest.raises(ConfigError, match=r"models\.tiny: unknown option\(s\) \['width'\]; known: blocks, channels"):
        Study.checked(smoke_config(architectures=["tiny"], models={"tiny": {"width": 0.5}}, interventions={}))
    with pytest.raises(ConfigError, match=r"models\.tiny\.blocks must be in \[1, 125\]"):
        Study.checked(smoke_config(architectures=["tiny"], models={"tiny": {"blocks": 0}}, interventions={}))


# --- a per-example metric ---------------------------------------------------------------------------------------------


def test_a_metric_added_to_a_family_reaches_metrics_nc_and_the_example_table(monkeypatch):
    from synthetic import random_networks

    from pdepth.metrics import per_example
    from pdepth.outputs import tables

    family = per_example.margin_variables

    def with_toy(cube, runs):
        found = family(cube, runs)
        twice = 2 * np.asarray(found["output_margin_val"][1])
        attrs = {"long_name": "twice the held-out output margin", "units": "logit"}
        return found | {"toy_score": ("example", twice, attrs)}

    monkeypatch.setattr(per_example, "margin_variables", with_toy)
    _, metrics = random_networks(seed=0, n_train=1200, n_test=300, seeds=3)
    assert metrics.toy_score.dims == ("example",) and metrics.toy_score.attrs["long_name"].startswith("twice")
    np.testing.assert_allclose(metrics.toy_score, 2 * metrics.output_margin_val, equal_nan=True)
    assert "toy_score" not in tables.examples(metrics)  # a column only once it is one of tables.SCORES
    monkeypatch.setattr(tables, "SCORES", (*tables.SCORES, "toy_score"))
    table = tables.examples(metrics)
    np.testing.assert_allclose(table.toy_score, metrics.toy_score, equal_nan=True)
    monkeypatch.setattr(tables, "SCORES", (*tables.SCORES, "not_in_metrics"))
    with pytest.raises(KeyError, match="not_in_metrics"):
        tables.examples(metrics)


# --- a figure ---------------------------------------------------------------------------------------------------------


def draw_spread(inputs: figures.Inputs):
    import matplotlib.pyplot as plt

    held_out = inputs.cube.pd.where(~inputs.cube.in_train)
    spread = held_out.std("seed").where(held_out.count("seed") >= 2).values
    fig, ax = plt.subplots()
    ax.hist(spread[np.isfinite(spread)], bins=10)
    ax.set_title("spread of the held-out depth across seeds")
    return fig


SPREAD = figures.FigureSpec(
    "toy_spread", "Toy", figures.MODEL, ("cube",), draw_spread, covers=figures.EVERY, needs=(figures.ENSEMBLE,)
)


# Two seeds of the 90:10 splits (smoke study), and two interventions: 2 seeds with label noise, 1 seed.
INTERVENTIONS = {
    "noise40": {"seeds": 2, "label_noise": 0.4, "architectures": ["mlp"]},
    "single": {"seeds": 1, "architectures": ["mlp"]},
}


def planned(study: Study, name: str) -> dict[str, str]:
    """What the plan does with figure ``name``: its label -> "" (drawn) or why it is skipped."""
    return {p.label: p.skipped for p in plan.planned_figures(study) if p.figure == name}


def test_a_registered_figure_is_planned_for_the_runs_it_covers_and_skipped_where_a_need_is_unmet(monkeypatch):
    smoke = Study.checked(smoke_config(interventions=INTERVENTIONS))
    assert planned(smoke, "toy_spread") == {}
    monkeypatch.setitem(figures.FIGURES, "toy_spread", SPREAD)
    assert planned(smoke, "toy_spread") == {
        "split / fmnist / mlp": "",
        "split / fmnist / resnet18": "",
        "noise40 / fmnist / mlp": "",
        "single / fmnist / mlp": "needs at least 2 seeds (single has 1)",
    }
    monkeypatch.setitem(figures.FIGURES, "toy_spread", replace(SPREAD, covers=figures.SPLITS))
    assert planned(smoke, "toy_spread") == {"split / fmnist / mlp": "", "split / fmnist / resnet18": ""}
    one_seed = Study.checked(smoke_config(seeds=1, interventions={}, fidelity={}))
    assert set(planned(one_seed, "toy_spread").values()) == {"needs at least 2 seeds (split has 1)"}


def test_a_registered_figure_is_drawn_by_the_figure_stage(monkeypatch, tmp_path):
    from synthetic import random_networks

    from pdepth.pipeline import figures as stage

    monkeypatch.setitem(figures.FIGURES, "toy_spread", SPREAD)
    cube, _ = random_networks(seed=0, n_train=400, n_test=100, seeds=3)
    cube.to_netcdf(tmp_path / "cube.nc")
    options = JobRecords(Study.load(SMOKE)).figure_options("fmnist")
    png, pdf = tmp_path / "toy_spread.png", tmp_path / "toy_spread.pdf"
    stage.render("toy_spread", [""], [str(tmp_path / "cube.nc")], [], None, options, str(png), str(pdf))
    assert png.stat().st_size > 1000 and pdf.read_bytes().startswith(b"%PDF")


def test_every_figure_rule_reads_the_caption_named_after_its_figure():
    """rules/figures.smk takes each figure's caption from report/figures/<name>.rst (snakemake --report needs it)."""
    rule = (ROOT / "rules/figures.smk").read_text()
    assert 'caption=f"../report/figures/{_spec.name}.rst"' in rule
    assert [name for name in figures.FIGURES if not (ROOT / f"report/figures/{name}.rst").exists()] == []


# --- a per-run stage --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToyJob:
    run: jobs.Run
    examples: jobs.ExampleSet


@dataclass(frozen=True)
class ToyBlock:
    runs: tuple[ToyJob, ...]


def toy_job(self: JobRecords, dataset: str, variant: str, arch: str, seed: int) -> ToyJob:
    """The toy stage's builder on JobRecords."""
    chosen = self.study.variant(variant)
    return ToyJob(jobs.Run(chosen.name, dataset, arch, int(seed)), self.example_set(dataset, chosen))


def run_block(block: ToyBlock, prepared, runs: list, summaries: list, threads: int, progress: bool = True) -> None:
    """The toy stage's runner (this module): one JSON file per seed."""
    for job, run_file, summary in zip(block.runs, runs, summaries, strict=True):
        summary.write_text(json.dumps({"seed": job.run.seed, "from": run_file, "threads": threads}))


TOY_STAGE = Stage(
    "toy",
    runner=__name__,
    inputs={"runs": "run.npz"},
    outputs={"summaries": "summary.json"},
    seed_record=lambda records, *run: records.toy_job(*run),
    block_record=ToyBlock,
    seconds=lambda shape, speed, settings: 30.0 * shape.classes,
    memory_mb=lambda shape, max_dim: 100.0,
)


@pytest.fixture
def toy_stage(monkeypatch, tmp_path):
    """The toy stage in the table, its builder on JobRecords, its threads and gpus keys in a copy of the schema."""
    monkeypatch.setitem(STAGES, "toy", TOY_STAGE)
    monkeypatch.setattr(JobRecords, "toy_job", toy_job, raising=False)
    rules = yaml.safe_load(SCHEMA.read_text())
    rules["properties"]["threads"]["properties"]["toy"] = {"type": "integer", "minimum": 1, "default": 3}
    rules["properties"]["gpus"]["properties"]["toy"] = {"type": "integer", "minimum": 0, "default": 0}
    schema = tmp_path / "config.schema.yaml"
    schema.write_text(yaml.safe_dump(rules, sort_keys=False))
    return schema


def test_a_per_run_stage_needs_its_keys_in_the_schema(toy_stage):
    with pytest.raises(ConfigError, match="threads: unknown key 'toy'"):
        Study.checked(smoke_config(threads={"train": 2, "toy": 1}))  # the packaged schema
    study = Study.checked(smoke_config(), toy_stage)
    assert (study.threads("toy"), study.gpus("toy")) == (3, 0)


def test_a_per_run_stage_gets_its_block_record_and_its_job_size(toy_stage):
    study = Study.checked(smoke_config(interventions=INTERVENTIONS), toy_stage)
    block = block_job(JobRecords(study), "toy", (0, 1), "fmnist", "noise40/", "mlp")
    assert [job.run for job in block.runs] == [jobs.Run("noise40", "fmnist", "mlp", seed) for seed in (0, 1)]
    assert block.runs[0].examples.label_noise == 0.4
    assert jobs.from_params(ToyBlock, jobs.params(block)) == block
    settings = study.config["cluster"]
    for seeds in (1, 2):
        expected = settings["min_runtime"] + settings["runtime_factor"] * seeds * 30.0 * 10 / 60  # 10 classes
        assert cluster.resources(study, "toy", "", "fmnist", "mlp", seeds=seeds) == {
            "mem_mb": math.ceil(settings["base_mem_mb"] + 100.0),
            "runtime": math.ceil(expected),
        }


class Named(dict):
    """Snakemake's named lists: items by key and by attribute."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as error:
            raise AttributeError(name) from error


def test_scripts_run_block_adapts_a_new_stage_unchanged(toy_stage, tmp_path):
    study = Study.checked(smoke_config(), toy_stage)
    block = block_job(JobRecords(study), "toy", (0, 1), "fmnist", "", "mlp")
    runs = [str(tmp_path / f"seed{seed}/run.npz") for seed in (0, 1)]
    summaries = [tmp_path / f"seed{seed}/summary.json" for seed in (0, 1)]
    (tmp_path / "seed0").mkdir(), (tmp_path / "seed1").mkdir()
    snakemake = SimpleNamespace(
        params=Named(stage="toy", job=jobs.params(block)),
        input=Named(runs=runs, prepared=str(tmp_path / "fmnist.npz")),
        output=Named(summaries=summaries),
        log=[str(tmp_path / "toy_seeds0-1.log")],
        threads=study.threads("toy"),
        resources=Named(gpu=study.gpus("toy")),
    )
    runpy.run_path(str(ROOT / "scripts/run_block.py"), init_globals={"snakemake": snakemake}, run_name="__main__")
    written = [json.loads(path.read_text()) for path in summaries]
    assert written == [{"seed": seed, "from": runs[seed], "threads": 3} for seed in (0, 1)]


def test_an_architecture_with_a_name_no_path_can_hold_is_refused():
    from pdepth.models.architectures import Architecture

    with pytest.raises(ValueError, match="architecture name 'ResNet-18': use lowercase letters and digits only"):
        Architecture("ResNet-18", "pdepth.models.resnet")
