"""The shipped Slurm profile on a real (single-node, local) Slurm with accounting: every per-run job of the smoke
config's MLP study is a Slurm job, a job whose training process is killed is retried, and the cube equals the local
run's."""

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import xarray as xr
from slurm_cluster import LocalSlurm, unavailable

from conftest import ROOT, SMOKE, snakemake_command

pytestmark = [pytest.mark.slow, pytest.mark.slurm]
TARGET = "results/fmnist/mlp/cube.nc"
SLURM_RULES = ("train_seeds0_1", "probe_seeds0_1")  # the per-run jobs of TARGET (one block of the smoke config's
# 2 seeds); prepare_dataset and cube are local rules
TIMEOUT = 900


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    reason = unavailable()
    if reason and os.environ.get("PDEPTH_REQUIRE_SLURM"):
        pytest.fail(f"PDEPTH_REQUIRE_SLURM is set (.ci/run) but no local Slurm cluster can start: {reason}")
    if reason:
        pytest.skip(f"no local Slurm cluster: {reason}")
    with LocalSlurm(tmp_path_factory.mktemp("slurm")) as cluster:
        yield cluster


def training_processes(workdir: Path) -> list[int]:
    """PIDs of the training scripts Snakemake runs inside the Slurm jobs of ``workdir``."""
    scripts = f"{workdir}/.snakemake/scripts/"
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            command = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if scripts in command and command.rstrip("\0").endswith("run_block.py") and _writes_a_training_log(proc):
            found.append(int(proc.name))
    return found


def _writes_a_training_log(proc: Path) -> bool:
    """Whether the process holds its job's log open, and the job is a training one (logs/.../train_seeds0-1.log):
    every per-run stage runs scripts/run_block.py."""
    try:
        return any(Path(os.readlink(fd)).name.startswith("train_") for fd in (proc / "fd").iterdir())
    except OSError:
        return False


def kill_first_training_process(workdir: Path, stop: threading.Event, killed: list[int]) -> None:
    """The injected failure: SIGKILL the first training process, as the kernel's OOM killer would. Its Slurm job
    ends FAILED and Snakemake must retry it. (A job cancelled with scancel ends "CANCELLED by <uid>", which
    snakemake-executor-plugin-slurm 2.8.0 does not recognise: the run would wait for it forever.)"""
    while not stop.is_set() and not killed:
        for pid in training_processes(workdir):
            time.sleep(1)  # inside the job, past Snakemake's start-up
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            killed.append(pid)
            break
        time.sleep(0.1)


@pytest.fixture(scope="module")
def slurm_run(slurm, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("slurm_run")
    command = snakemake_command(
        workdir,
        "--profile",
        str(ROOT / "profiles/slurm"),
        "--slurm-init-seconds-before-status-checks",
        "2",  # the default 40 s would make every job wait 40 s
        "--slurm-status-command",
        "sacct",  # the accounting database, as on real clusters (the plugin would pick squeue for a long MinJobAge)
        TARGET,
        configfile=SMOKE,
    )
    stop, killed = threading.Event(), []
    watcher = threading.Thread(target=kill_first_training_process, args=(workdir, stop, killed), daemon=True)
    watcher.start()
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)  # Snakemake cancels its Slurm jobs on SIGINT (it ignores SIGTERM)
        try:
            output, _ = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        pytest.fail(f"the Slurm run did not finish in {TIMEOUT} s:\n{output[-5000:]}")
    finally:
        stop.set()
        watcher.join(timeout=30)
    seconds = time.monotonic() - started
    assert process.returncode == 0, output[-8000:] + "".join(p.read_text()[-2000:] for p in slurm.log_files)
    print(f"Slurm run of {TARGET}: {seconds:.0f} s")
    return workdir, output, killed


def accounted_jobs() -> dict[str, tuple[str, str]]:
    """job id -> (comment, state) from Slurm's accounting database."""
    out = subprocess.run(
        ["sacct", "-X", "-n", "-P", "-o", "JobID,Comment,State"], capture_output=True, text=True, timeout=30
    ).stdout
    return {i: (c, s) for i, c, s in (line.split("|") for line in out.splitlines() if line.count("|") == 2)}


def test_every_per_run_job_was_a_slurm_job(slurm_run):
    workdir, output, _ = slurm_run
    submitted = re.findall(r"Job \d+ has been submitted with SLURM jobid (\d+) \(log: (\S+)\)", output)
    accounted = accounted_jobs()
    for job_id, log in submitted:
        assert job_id in accounted, f"job {job_id} is not in Slurm's accounting"
        assert Path(log).is_file() and str(workdir / "logs/slurm") in log, log  # the profile's slurm-logdir
    assert len(submitted) == len(SLURM_RULES) + 1  # and the failed attempt
    assert set(re.findall(r"^localrule (\w+):", output, re.MULTILINE)) == {"prepare_dataset", "cube"}
    completed = {
        comment.split("_wildcards")[0]
        for job_id, (comment, state) in accounted.items()
        if state == "COMPLETED" and job_id in dict(submitted)
    }
    assert completed == {f"rule_{rule}" for rule in SLURM_RULES}
    # one block of 2 seeds x (train, probe) completed as Slurm jobs, plus the failed attempt
    completed_jobs = [j for j, _ in submitted if accounted[j][1] == "COMPLETED"]
    assert len(completed_jobs) == len(SLURM_RULES)
    for job_id in completed_jobs:
        logs = list((workdir / "logs/slurm").rglob(f"{job_id}.log"))
        assert logs, f"no Slurm log for job {job_id} under logs/slurm"


def test_a_failed_job_is_retried_and_the_run_completes(slurm_run):
    workdir, output, killed = slurm_run
    assert killed, "the injected failure never happened: no training process was seen"
    accounted = accounted_jobs()
    failed = [(j, c) for j, (c, s) in accounted.items() if s == "FAILED"]
    assert len(failed) == 1 and failed[0][1].startswith("rule_train")
    job_id, comment = failed[0]
    retried = [j for j, (c, s) in accounted.items() if c == comment and s == "COMPLETED"]
    assert retried and int(retried[0]) > int(job_id), "the failed training job was not run again"
    assert "Trying to restart job" in output
    assert f"SLURM-job '{job_id}' failed" in output


def test_cube_equals_the_local_run(slurm_run, smoke_run):
    workdir, _, _ = slurm_run
    on_slurm = xr.load_dataset(workdir / TARGET)
    local = xr.load_dataset(smoke_run / TARGET)
    xr.testing.assert_equal(on_slurm, local)
    ignored = {"created"}
    assert {k: v for k, v in on_slurm.attrs.items() if k not in ignored} == {
        k: v for k, v in local.attrs.items() if k not in ignored
    }
