"""A config with a bad value fails before any job runs, with a message that names the value."""

import copy
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from conftest import ROOT, smoke_config, snakemake, snakemake_command
from pdepth.config.study import Study


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"datasets": ["cifar11"]}, "unknown dataset 'cifar11'"),
        ({"architectures": ["mlp", "transformer"]}, "unknown architecture 'transformer'"),
        ({"training.default.epochs": -1}, "epochs"),
        ({"training.mlp": {"epochs": -2}}, "epochs"),
        ({"split.holdout_fraction": 1.0}, "holdout_fraction"),
        ({"split.holdout_fraction": 0}, "holdout_fraction"),
        ({"probe.k": 0}, "k"),
        ({"full_train_seeds": -1}, "full_train_seeds"),
        ({"data.augmentation": {"fmnist": {"rotate": 15}}}, "rotate"),
        ({"data.checksums": {"fmnist": {"t10k-images-idx3-ubyte.gz": "not-an-md5"}}}, "not-an-md5"),
        ({"training.default.flip": True}, "flip"),  # augmentation is per dataset, not per architecture
        ({"training.mpl": {"epochs": 2}}, "training.mpl: unknown architecture 'mpl'"),
        ({"models.mlp.widht": 3}, "models.mlp: unknown option(s) ['widht']"),
        ({"data.augmentation": {"fmnst": {"flip": True}}}, "data.augmentation.fmnst: unknown dataset 'fmnst'"),
        ({"data.normalisation": {"fmnst": {"mean": [0.3]}}}, "data.normalisation.fmnst: unknown dataset"),
        ({"figures.corner_class": {"cifar": "bird"}}, "figures.corner_class.cifar: unknown dataset"),
        ({"figures.corner_class": {"fmnist": "bird"}}, "figures.corner_class.fmnist: 'bird' is not a class of fmnist"),
        ({"metrics.gain_layer": {"resnet": 3}}, "metrics.gain_layer.resnet: unknown architecture"),
        ({"cluster.images_per_second": {"vgg": 10}}, "cluster.images_per_second.vgg: unknown architecture"),
        ({"seeds": 2.0}, "seeds: 2.0 is not an integer; write 2"),
        ({"probe.k": 30.0}, "probe.k: 30.0 is not an integer; write 30"),
        ({"training.default.lr": "1e-3"}, "training.default.lr: '1e-3' is read as a string"),
        ({"probe.k": 900}, "probe.k (900) needs more than k training examples, but untrained on fmnist trains on 900"),
        ({"seds": 4}, "unknown key 'seds'; did you mean 'seeds'?"),
        ({"probe.backnd": "exact"}, "probe: unknown key 'backnd'; did you mean 'backend'?"),
        ({"probe.backend": "annoy"}, "probe.backend: 'annoy' is not one of ['pynndescent', 'exact']"),
        ({"training.default.schedule": "cosin"}, "training.schedule must be one of ['cosine', 'linear', 'constant']"),
        ({"training.mlp.loss": "hinge"}, "training.loss must be one of ['cross_entropy', 'zero_hinge'], got 'hinge'"),
        ({"training.mlp.score_epochs": [1, 5]}, "training.score_epochs [5] come after the last of training.epochs (2)"),
        ({"training.mlp.el2n_epoch": 3}, "training.el2n_epoch (3) is after the last of training.epochs (2)"),
        ({"data.data_dir": "/nonexistent/fmnist"}, "data.data_dir: /nonexistent/fmnist is not a directory"),
        ({"data.subset": {"train": 70000, "test": 500}}, "data.subset.train (70000) is larger than fmnist's original"),
    ],
)
def test_bad_config_fails_before_any_job(tmp_path, changes, expected):
    configfile = tmp_path / "bad.yaml"
    configfile.write_text(yaml.safe_dump(smoke_config(**changes)))
    result = snakemake(tmp_path, "--cores", "1", configfile=configfile)
    assert result.returncode != 0
    assert expected in result.stdout + result.stderr
    assert not (tmp_path / "resources").exists() and not (tmp_path / "results").exists()


def test_a_target_for_a_dataset_not_in_the_study_says_so(tmp_path):
    configfile = tmp_path / "smoke.yaml"
    configfile.write_text(yaml.safe_dump(smoke_config()))
    result = snakemake(tmp_path, "--cores", "1", "-n", "svhn", configfile=configfile)
    assert result.returncode != 0
    said = result.stdout + result.stderr
    assert "target svhn: not among this study's datasets (fmnist); add it to `datasets`" in said


@pytest.mark.parametrize("changes", [{"seds": 4}, {"probe.k": -1}], ids=["misspelled key", "out of range"])
def test_a_config_error_takes_a_few_lines(tmp_path, changes):
    """The key, the value, what is allowed: not Snakemake's dump of the whole schema (968 lines before)."""
    configfile = tmp_path / "bad.yaml"
    configfile.write_text(yaml.safe_dump(smoke_config(**changes)))
    result = snakemake(tmp_path, "-n", configfile=configfile)
    assert result.returncode != 0 and "ConfigError" in result.stdout + result.stderr
    assert len((result.stdout + result.stderr).splitlines()) <= 12, result.stdout + result.stderr


def test_the_floor_default_follows_the_seeds():
    """fidelity.floor.min_held_out: 3, or 2 for fewer than 3 seeds, where the config leaves it out; a 2-seed config
    of one's own, or --config seeds=2, no longer stops on a key the user never set."""
    config = smoke_config()
    del config["fidelity"]
    for seeds, expected in ((1, 2), (2, 2), (3, 3), (8, 3)):
        study = Study.checked(copy.deepcopy(config) | {"seeds": seeds})
        assert study.config["fidelity"]["floor"]["min_held_out"] == expected


def test_default_config_dry_run_lists_the_jobs(tmp_path):
    result = snakemake(tmp_path, "-n", "--quiet", "rules", "all", configfile=ROOT / "config.yaml")
    assert result.returncode == 0, result.stderr
    for rule in ("prepare_dataset", "train_seeds0_3", "probe_seeds0_3", "cube", "figure_pd_distribution", "fidelity"):
        assert rule in result.stdout
    assert "crossval" not in result.stdout and "detection" not in result.stdout  # the label-noise model's overlay


def test_the_label_noise_overlay_adds_its_model_to_the_default_study(tmp_path):
    """configs/label_noise.yaml given after config.yaml: Snakemake merges the two, the default study plus noise40."""
    files = [str(ROOT / "config.yaml"), str(ROOT / "configs/label_noise.yaml")]
    result = snakemake(tmp_path, "-n", "all", "--configfile", *files)
    assert result.returncode == 0, result.stderr[-3000:]
    assert planned_variants(result.stdout) == {"", "noise40", "zerohinge", "cecontrol", "untrained"}
    for rule in ("crossval_seeds0_3", "detection", "figure_label_noise_curves", "figure_mislabel_detection"):
        assert f"rule {rule}:" in result.stdout


@pytest.fixture(scope="module")
def paper_dry_run(tmp_path_factory):
    """``snakemake -n all`` of configs/paper.yaml, once, with Python's import times on stderr."""
    command = snakemake_command(tmp_path_factory.mktemp("paper"), "-n", "all", configfile=ROOT / "configs/paper.yaml")
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "snakemake", *command[1:]], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_paper_config_builds_its_dag(paper_dry_run):
    """The full-scale study: 4 datasets x 3 architectures x (250 + 25) seeds, plus 4 interventions of 5 seeds, in
    blocks of 25 seeds (seeds_per_job): 250 seeds are 10 blocks, 25 one, 5 one."""
    result = paper_dry_run
    counts = dict(line.split() for line in result.stdout.splitlines() if len(line.split()) == 2)
    per_stage = {
        stage: {r: int(n) for r, n in counts.items() if r.startswith(f"{stage}_seed")} for stage in ("train", "probe")
    }
    blocks = {"train_seeds0_24": 4 * 3 * 2, **{f"train_seeds{b}_{b + 24}": 4 * 3 for b in range(25, 250, 25)}}
    blocks["train_seeds0_4"] = 4  # the interventions
    assert per_stage["train"] == blocks
    assert per_stage["probe"] == {name.replace("train", "probe"): n for name, n in blocks.items()}
    assert sum(blocks.values()) == 4 * 3 * (10 + 1) + 4
    assert {rule: counts[rule] for rule in ("cube", "metrics")} == {
        "cube": str(4 * 3 * 2 + 4),
        "metrics": str(4 * 3 * 2 + 4),
    }
    assert counts["prepare_dataset"] == "4"
    models = 4 * 3 * 2 + 4  # split and full variants of every (dataset, arch), and the 4 interventions
    assert {rule: counts[rule] for rule in ("example_table", "figure_knn_accuracy", "fidelity", "study_summary")} == {
        "example_table": str(models),
        "figure_knn_accuracy": str(models),
        "fidelity": "1",
        "study_summary": "1",
    }
    assert counts["figure_validation_vs_training_depth"] == str(4 * 3)  # 90:10 splits only: full/ has no holdout
    assert counts["figure_corner_probes"] == str(4 * 3)
    assert counts["figure_depth_predicts_consensus"] == "3"  # one per architecture, from the 25 full/ models
    assert "results/full/cifar100/vgg16/seed24/model.pt" in result.stdout
    assert "results/zerohinge/cifar10/vgg16/metrics.nc" in result.stdout
    assert "gpu=1" in result.stdout


def test_full_training_set_models_draw_figure_4_middle_and_no_corners(tmp_path):
    """Figures 7 and 8 need examples both held out and trained on: never for full/. Figure 4 (middle) is the depth
    in one full-training-set model against the others' consensus-consistency on the test set."""
    configfile = tmp_path / "full.yaml"
    configfile.write_text(yaml.safe_dump(smoke_config(full_train_seeds=3, interventions={})))
    result = snakemake(tmp_path, "-n", "all", configfile=configfile)
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = re.split(r"\n(?=(?:local)?rule \w+:)", result.stdout)
    figure_4_middle = [job for job in jobs if re.match(r"(local)?rule figure_depth_predicts_consensus:", job)]
    assert len(figure_4_middle) == 2  # mlp, resnet18
    for job in figure_4_middle:
        inputs = job.split("input:")[1].split("output:")[0]
        assert "results/full/fmnist/" in inputs and "results/fmnist/" not in inputs
    corners = [
        job for job in jobs if "rule figure_validation_vs_training_depth:" in job or "rule figure_corner_probes:" in job
    ]
    assert len(corners) == 4 and not any("results/full/" in job for job in corners)


def test_figure_4_middle_is_skipped_with_a_reason_without_full_training_set_models(tmp_path):
    configfile = tmp_path / "split.yaml"
    configfile.write_text(yaml.safe_dump(smoke_config(full_train_seeds=2, interventions={})))
    result = snakemake(tmp_path, "-n", "all", configfile=configfile)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "rule figure_depth_predicts_consensus:" not in result.stdout
    assert "results/full/fmnist/mlp/cube.nc" in result.stdout  # the models are trained, the figure is not drawn


def planned_variants(stdout: str) -> set[str]:
    """The results folders of the training jobs a dry run lists ("" for the 90:10 splits)."""
    found = re.findall(r"results/(?:(\w+)/)?fmnist/\w+/seed\d+/model\.pt", stdout)
    return set(found)


@pytest.mark.parametrize(
    ("interventions", "expected"),
    [({}, {""}), ({"noise20": {"seeds": 1, "label_noise": 0.2, "architectures": ["mlp"]}}, {"", "noise20"})],
)
def test_a_users_configfile_is_the_whole_study(tmp_path, interventions, expected):
    """--configfile replaces config.yaml (no deep merge): a study without interventions plans none of the default
    config's, one with an intervention plans exactly it; --config still overrides single keys."""
    configfile = tmp_path / "mine.yaml"
    configfile.write_text(
        yaml.safe_dump({"datasets": ["fmnist"], "architectures": ["mlp"], "interventions": interventions})
    )
    result = snakemake(tmp_path, "-n", "all", configfile=configfile)
    assert result.returncode == 0, result.stderr[-3000:]
    assert planned_variants(result.stdout) == expected
    assert "seed3/model.pt" in result.stdout and "seed4/" not in result.stdout  # the schema's default: 4 seeds
    overridden = snakemake(tmp_path, "-n", "all", "--config", "seeds=1", configfile=configfile)
    assert "seed0/model.pt" in overridden.stdout and "seed1/model.pt" not in overridden.stdout.replace("noise", "")


def test_planning_the_paper_dag_imports_neither_torch_nor_matplotlib(paper_dry_run):
    imported = {
        line.rsplit("|", 1)[-1].strip() for line in paper_dry_run.stderr.splitlines() if line.startswith("import time:")
    }
    assert "snakemake" in imported and not imported & {"torch", "matplotlib", "xarray"}


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_a_cuda_device_on_a_machine_without_one_fails_before_any_job(tmp_path):
    configfile = tmp_path / "cuda.yaml"
    configfile.write_text(yaml.safe_dump(smoke_config(device="cuda")))
    result = snakemake(tmp_path, "--cores", "1", configfile=configfile)
    assert result.returncode != 0 and not (tmp_path / "resources").exists()
    assert "device: cuda, but torch" in result.stderr and "sees 0 CUDA GPU(s)" in result.stderr
    assert "set device: auto" in result.stderr


def test_jobs_import_this_checkouts_package_not_an_installed_one(tmp_path, fmnist_dir):
    """A `pdepth` earlier on the path (as another checkout's, installed in a shared venv) is not what jobs import."""
    impostor = tmp_path / "elsewhere/pdepth"
    impostor.mkdir(parents=True)
    (impostor / "__init__.py").write_text("raise ImportError('the pdepth of another checkout')\n")
    configfile = tmp_path / "study.yaml"
    configfile.write_text(yaml.safe_dump(smoke_config(**{"data.data_dir": str(fmnist_dir)})))
    command = snakemake_command(tmp_path, "--cores", "1", "resources/fmnist.npz", configfile=configfile)
    env = os.environ | {"PYTHONPATH": str(impostor.parent)}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "resources/fmnist.npz").exists()


def test_a_truncated_gz_in_data_dir_stops_the_prepare_job_with_its_name(tmp_path, fmnist_copy):
    images = fmnist_copy / "train-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:100_000])
    configfile = tmp_path / "study.yaml"
    configfile.write_text(yaml.safe_dump(smoke_config(**{"data.data_dir": str(fmnist_copy)})))
    result = snakemake(tmp_path, "--cores", "1", "resources/fmnist.npz", configfile=configfile)
    assert result.returncode != 0 and not (tmp_path / "resources/fmnist.npz").exists()
    log = (tmp_path / "logs/fmnist/prepare.log").read_text()
    assert f"{images} cannot be read (EOFError: " in log
    assert "it is corrupt or truncated: delete it and pre-stage or download it again" in log


def test_a_blow_up_at_the_last_step_stops_the_training_job_before_any_output(tmp_path):
    """One full-batch step at a huge learning rate: its loss is finite, the model it leaves is not."""
    training = {"epochs": 1, "full_batch": True, "batch_size": 4096, "lr": 1.0e12, "warmup_epochs": 0}
    configfile = tmp_path / "study.yaml"
    configfile.write_text(yaml.safe_dump(smoke_config(**{"training.default": training | {"schedule": "constant"}})))
    result = snakemake(tmp_path, "--cores", "2", "results/fmnist/mlp/seed0/run.npz", configfile=configfile)
    assert result.returncode != 0 and not (tmp_path / "results/fmnist/mlp/seed0/run.npz").exists()
    log = (tmp_path / "logs/fmnist/mlp/train_seeds0-1.log").read_text()  # the smoke config's block of 2 seeds
    assert "TrainingDiverged: the model's outputs became non-finite for" in log
    assert "during epoch 1 (by step 1, lr 1e+12); lower training.lr or raise training.warmup_epochs" in log


def test_the_workflow_runs_as_a_snakemake_module_of_another_workflow(tmp_path, fmnist_dir):
    """``module pdepth: snakefile: <checkout>/Snakefile`` and ``use rule * from pdepth as pdepth_*``, as a new user
    writes it: the rules plan under their new names with no warning, their local rules stay local, and the jobs import
    this checkout's pdepth, not one in the outer workflow's ``src``."""
    impostor = tmp_path / "src/pdepth"
    impostor.mkdir(parents=True)
    (impostor / "__init__.py").write_text("raise ImportError('the outer workflow has its own src/pdepth')\n")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(smoke_config(**{"data.data_dir": str(fmnist_dir)})))
    (tmp_path / "Snakefile").write_text(
        f'configfile: "config.yaml"\n\n\nmodule pdepth:\n    snakefile:\n        "{ROOT}/Snakefile"\n'
        "    config:\n        config\n\n\nuse rule * from pdepth as pdepth_*\n\n\n"
        'print("LOCAL", *sorted(workflow._localrules))\n'  # the rules a cluster executor would not submit
    )
    snakemake_binary = str(Path(sys.executable).with_name("snakemake"))
    plan = subprocess.run(
        [snakemake_binary, "-n", "--cores", "2"], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert plan.returncode == 0, plan.stderr[-3000:]
    output = plan.stdout + plan.stderr
    assert "localrules directive specifies rules that are not present" not in output
    # blocks of 2 seeds: the 2 architectures and noise40; the two 1-seed interventions
    assert re.search(r"^pdepth_train_seeds0_1\s+3$", output, re.MULTILINE)
    assert re.search(r"^pdepth_train_seed0\s+2$", output, re.MULTILINE)
    (local,) = [line.split()[1:] for line in plan.stdout.splitlines() if line.startswith("LOCAL ")]
    assert {"pdepth_prepare_dataset", "pdepth_cube", "pdepth_metrics", "pdepth_fidelity"} <= set(local)
    assert not [rule for rule in local if rule.startswith(("pdepth_train", "pdepth_probe"))]
    run = subprocess.run(
        [snakemake_binary, "--cores", "1", "resources/fmnist.npz"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert (tmp_path / "resources/fmnist.npz").exists()


def test_a_config_file_that_is_not_a_mapping_is_named(tmp_path):
    """Study.load merges files key by key: a file of a list is refused with its name, an empty one adds nothing."""
    listed, empty = tmp_path / "listed.yaml", tmp_path / "empty.yaml"
    listed.write_text("- fmnist\n")
    empty.write_text("")
    with pytest.raises(ValueError, match="listed.yaml: a config is a mapping of keys"):
        Study.load(ROOT / "config.yaml", listed)
    assert Study.load(ROOT / "config.yaml", empty).config == Study.load(ROOT / "config.yaml").config
