"""The prepared GPU check (benchmarks/gpu/check.sh) runs end to end, here on the CPU on a tiny study: its study,
the per-stage table of its blocks of seeds and the projection for the paper config."""

import os
import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow


def test_the_gpu_check_runs_its_study_and_projects_the_paper_config(tmp_path, fmnist_dir):
    environment = os.environ | {
        "DEVICE": "cpu",
        "SKIP_BENCHMARKS": "1",  # benchmarks/*.py are run by hand; their numbers are in docs/benchmarks.md
        "STUDY": str(ROOT / "tests/config/gpu_check.yaml"),
        "PYTHON": sys.executable,
        "FMNIST_DIR": str(fmnist_dir),
    }
    command = ["bash", str(ROOT / "benchmarks/gpu/check.sh"), str(tmp_path / "no-wheels"), str(tmp_path / "out")]
    result = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = (tmp_path / "out/study.txt").read_text().splitlines()
    assert lines[0].startswith("study: ") and "device cpu" in lines[0]
    table = [line.split() for line in lines[2:4]]
    assert sorted((row[1], row[2], row[3], row[4]) for row in table) == [
        ("mlp", "probe", "1", "2"),
        ("mlp", "train", "1", "2"),
    ]
    assert lines[-1].startswith("projected for paper.yaml (3320 models): train ") and "GPU-hours; total" in lines[-1]
    assert (tmp_path / "out/study/results/fmnist/mlp/seed1/probes.npz").exists()
