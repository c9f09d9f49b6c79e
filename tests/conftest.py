"""Shared fixtures: the real Fashion-MNIST files, and a prepared copy of them."""

import fcntl
import json
import os
import shutil
import subprocess
import sys
import threading
import traceback
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from pdepth.data import registry
from pdepth.data.sources import SourceOptions

ROOT = Path(__file__).resolve().parents[1]
# The default study with the label-noise model (configs/label_noise.yaml, an overlay of config.yaml)
LABEL_NOISE_STUDY = (ROOT / "config.yaml", ROOT / "configs/label_noise.yaml")
SMOKE = ROOT / "tests/config/smoke.yaml"
FMNIST_DIR = Path(registry.get("fmnist").system_dirs[0])


@pytest.fixture(scope="session")
def fmnist_dir() -> Path:
    if not all((FMNIST_DIR / raw.name).exists() for raw in registry.get("fmnist").files):
        pytest.skip(f"Fashion-MNIST not in {FMNIST_DIR}: run `make fmnist` (installs Debian's dataset-fashion-mnist)")
    return FMNIST_DIR


@pytest.fixture(scope="session")
def fmnist_prepared(fmnist_dir, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("prepared") / "fmnist.npz"
    registry.prepare("fmnist", SourceOptions(system_dirs=(fmnist_dir,), download=False)).save(path)
    return path


@pytest.fixture
def fmnist_copy(fmnist_dir, tmp_path) -> Path:
    """A writable copy of the raw files, for corrupting."""
    target = tmp_path / "raw"
    shutil.copytree(fmnist_dir, target)
    return target


@pytest.fixture
def http_server(tmp_path):
    """A local HTTP server of a directory: (directory, base URL)."""
    served = tmp_path / "served"
    served.mkdir()
    handler = partial(SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


def snakemake_command(
    workdir: Path, *args: str, configfile: Path | None = None, snakefile: Path = ROOT / "Snakefile"
) -> list[str]:
    """The command line that runs the real workflow in ``workdir`` with this checkout's Snakefile (or ``snakefile``)."""
    command = [
        str(Path(sys.executable).with_name("snakemake")),
        "-s",
        str(snakefile),
        "--directory",
        str(workdir),
        *args,
    ]
    if configfile is not None:
        command += ["--configfile", str(configfile)]
    return command


def snakemake(
    workdir: Path, *args: str, configfile: Path | None = None, timeout: int = 2400, snakefile: Path = ROOT / "Snakefile"
):
    """Run the real workflow in ``workdir`` with this checkout's Snakefile (or ``snakefile``); the completed process."""
    command = snakemake_command(workdir, *args, configfile=configfile, snakefile=snakefile)
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def reordered(value):
    """``value`` with the keys of every mapping in reverse order: the same config, written another way."""
    if isinstance(value, dict):
        return {key: reordered(value[key]) for key in reversed(list(value))}
    return value


def smoke_config(**changes) -> dict:
    """The smoke study's config with ``changes`` (dotted key -> value) applied."""
    config = yaml.safe_load(SMOKE.read_text())
    for dotted, value in changes.items():
        *parents, key = dotted.split(".")
        node = config
        for parent in parents:
            node = node.setdefault(parent, {})
        node[key] = value
    return config


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory, fmnist_dir) -> Path:
    """The smoke study (tests/config/smoke.yaml) run locally to the end, once per test session: its directory.

    Under pytest-xdist (``make test``: ``-n 2 --dist loadfile``) the workers share it: the first to ask runs it while
    the others wait on a lock, then read its outcome."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the session's folder, above each worker's own
    workdir, outcome = shared / "smoke", shared / "smoke.outcome.json"
    with open(shared / "smoke.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not outcome.exists():
            workdir.mkdir()
            try:
                result = snakemake(workdir, "--cores", "2", configfile=SMOKE)
                ran = {"returncode": result.returncode, "log": result.stdout[-5000:] + result.stderr[-5000:]}
            except Exception:  # a timeout, say: every worker's tests show it, not a FileExistsError
                ran = {"returncode": None, "log": traceback.format_exc()}
            outcome.write_text(json.dumps(ran))
    ran = json.loads(outcome.read_text())
    assert ran["returncode"] == 0, ran["log"]
    return workdir
