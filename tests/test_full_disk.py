"""A full disk is an error that names the file, never a SIGBUS or a partial file left behind (a 1 MiB tmpfs, as root).

Skipped where no tmpfs can be mounted (not root); required where PDEPTH_REQUIRE_TMPFS is set (.ci/run).
"""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from pdepth.data.augment import Normalizer
from pdepth.errors import StorageError
from pdepth.models import InputShape, build
from pdepth.probing import embeddings
from pdepth.records import save_npz


@pytest.fixture
def full_disk(tmp_path):
    """A 1 MiB tmpfs, unmounted afterwards."""
    mount = tmp_path / "small"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if result.returncode != 0:
        reason = f"cannot mount a tmpfs: {result.stderr.decode().strip() or 'not root'}"
        if os.environ.get("PDEPTH_REQUIRE_TMPFS"):
            pytest.fail(f"PDEPTH_REQUIRE_TMPFS is set (.ci/run) but {reason}")
        pytest.skip(reason)
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_embeddings_on_a_full_disk_fail_with_the_path_not_a_sigbus(full_disk):
    """The old memory-mapped writes died by SIGBUS with an empty log; run in a child process to see a signal."""
    script = f"""
import torch
from pdepth.probing import embeddings
from pdepth.data.augment import Normalizer
from pdepth.errors import StorageError
from pdepth.models import InputShape, build
torch.manual_seed(0)
model = build("mlp", InputShape(1, 28, 28, 10), {{"hidden_layers": 2, "width": 64}})
images = torch.randint(0, 256, (2000, 1, 28, 28), dtype=torch.uint8)
try:
    embeddings.extract(model, images, Normalizer((0.5,), (0.25,), "cpu"), {str(full_disk)!r}, progress=False)
except StorageError as error:
    print(error)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-2000:]}"
    message = result.stdout.strip()
    assert message.startswith(f"cannot write {full_disk}/layer00.npy: No space left on device (6.0 MiB needed, ")
    assert message.endswith("free some space (or point the workflow's directory elsewhere) and re-run")


def test_a_record_on_a_full_disk_leaves_no_partial_file(full_disk):
    with pytest.raises(StorageError, match=rf"cannot write {full_disk}/probes.npz: No space left on device"):
        save_npz(full_disk / "probes.npz", {"votes": np.arange(1_000_000)}, compress=False)
    assert list(full_disk.iterdir()) == []


def test_a_cube_on_a_full_disk_leaves_no_partial_file(full_disk):
    import xarray as xr

    from pdepth.outputs import cube

    data = xr.Dataset({"votes": (("example",), np.random.default_rng(0).normal(size=1_000_000))})
    with pytest.raises(StorageError, match=rf"cannot write {full_disk}/cube.nc"):
        cube.write(data, full_disk / "cube.nc", encoding={})
    assert list(full_disk.iterdir()) == []


def test_embeddings_that_fit_are_unchanged_by_the_reservation(full_disk):
    torch.manual_seed(0)
    model = build("mlp", InputShape(1, 4, 4, 10), {"hidden_layers": 1, "width": 8})
    images = torch.randint(0, 256, (50, 1, 4, 4), dtype=torch.uint8)
    layers, _ = embeddings.extract(model, images, Normalizer((0.5,), (0.25,), "cpu"), full_disk, progress=False)
    hidden = embeddings.load_layer(full_disk, layers[1])
    assert hidden.shape == (50, 8) and np.isfinite(hidden).all() and np.abs(hidden).sum() > 0
