"""Job records: built from the config alone, canonical as rule params, the same after a round trip, torch-free."""

import subprocess
import sys

import pytest

from conftest import LABEL_NOISE_STUDY, reordered
from pdepth.config import jobs
from pdepth.config.records import JobRecords
from pdepth.config.study import Study, read_configs
from pdepth.workflow.stages import STAGES as PER_RUN
from pdepth.workflow.stages import block_job

STAGES = ("train", "crossval", "embed", "margins", "probe")  # every record of one seed


def label_noise_study(reorder=lambda config: config) -> Study:
    """The default study with the label-noise model, validated (defaults filled in) after ``reorder``."""
    return Study.checked(reorder(read_configs(*LABEL_NOISE_STUDY)))


@pytest.fixture(scope="module")
def study():
    return label_noise_study()


@pytest.fixture(scope="module")
def records(study):
    return JobRecords(study)


@pytest.mark.parametrize("stage", [*STAGES, "cube", "metrics", "prepare"])
def test_every_record_survives_its_round_trip_through_params(records, stage):
    job = records.job(stage, "fmnist", "zerohinge/", "mlp", "0")
    params = jobs.params(job)
    assert jobs.from_params(type(job), params) == job
    assert eval(repr(params)) == params  # plain data: Snakemake stores and compares its repr


@pytest.mark.parametrize("stage", list(PER_RUN))
def test_a_block_record_is_the_one_seed_records_of_its_seeds(records, stage):
    block = block_job(records, stage, (0, 1), "fmnist", "noise40/", "mlp")
    assert jobs.from_params(type(block), jobs.params(block)) == block
    one = [block_job(records, stage, (seed,), "fmnist", "noise40/", "mlp").runs[0] for seed in (0, 1)]
    assert list(block.runs) == one
    if stage == "probe":
        assert block.runs[1].probe == records.job("probe", "fmnist", "noise40/", "mlp", 1)


def test_seeds_are_cut_into_blocks_of_seeds_per_job():
    assert jobs.blocks((0, 1, 2, 3, 4), 2) == [(0, 1), (2, 3), (4,)]
    assert [jobs.block_label(b) for b in jobs.blocks(tuple(range(5)), 4)] == ["seeds0-3", "seed4"]
    assert [jobs.block_size(label) for label in ("seeds0-3", "seed4", "seeds10-34")] == [4, 1, 25]
    study = Study.checked(read_configs(*LABEL_NOISE_STUDY) | {"seeds": 5, "seeds_per_job": 2})
    blocks = study.seed_blocks()
    assert list(blocks) == [(0, 1), (2, 3), (4,), (0,)]  # the 1-seed interventions: block (0,)
    assert [v.name for v in blocks[(0, 1)]] == ["", "noise40"]


def test_records_carry_what_their_variant_changes(records):
    """An intervention's subset, label noise and training reach its records; the main variant's do not."""
    hinge = records.job("train", "fmnist", "zerohinge/", "mlp", 0)
    main = records.job("train", "fmnist", "", "mlp", 0)
    noisy = records.job("probe", "fmnist", "noise40/", "mlp", 1)
    assert (hinge.examples.train, hinge.training.loss, hinge.training.lr) == (5000, "zero_hinge", 0.01)
    assert (main.examples.train, main.training.loss, main.training.lr) == (12000, "cross_entropy", 0.05)  # data.subset
    assert (noisy.examples.label_noise, noisy.run.seed, noisy.probe.k) == (0.4, 1, 30)
    assert main.model_options == {"hidden_layers": 7, "width": 512}  # the config's width, the default depth


def test_params_do_not_depend_on_the_order_of_keys_in_the_config():
    a, b = JobRecords(label_noise_study()), JobRecords(label_noise_study(reordered))
    for stage in STAGES:
        assert repr(jobs.params(a.job(stage, "fmnist", "zerohinge/", "mlp", 0))) == repr(
            jobs.params(b.job(stage, "fmnist", "zerohinge/", "mlp", 0))
        )


def test_the_configuration_layer_imports_neither_torch_nor_matplotlib():
    """What the Snakefile imports to plan the DAG (the study, its job records, job sizes, the figure plan)."""
    code = (
        "import sys; import pdepth.config.study, pdepth.config.jobs, pdepth.workflow.cluster, pdepth.figures.plan; "
        "print(sorted(m for m in ('torch', 'matplotlib', 'xarray') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
