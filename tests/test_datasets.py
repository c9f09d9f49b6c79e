"""CIFAR-10, CIFAR-100 and SVHN through their real code paths, on small files generated in the real on-disk formats."""

import shutil
import tarfile
from dataclasses import replace

import numpy as np
import pytest
import scipy.io

import generated_data as gen
from pdepth.data import registry
from pdepth.data.prepared import TEST, TRAIN, Prepared, channel_stats
from pdepth.data.sources import RawFile, SourceOptions, locate
from pdepth.data.svhn import read_mat
from pdepth.errors import ConfigError, DataError

OFFLINE = SourceOptions(download=False)


@pytest.fixture
def cifar10(tmp_path):
    return gen.write_cifar10(tmp_path / "staged")


@pytest.fixture
def cifar100(tmp_path):
    return gen.write_cifar100(tmp_path / "staged")


@pytest.fixture
def svhn(tmp_path):
    return gen.write_svhn(tmp_path / "staged")


def staged(written) -> dict[str, "gen.Written"]:
    """File name -> Written, for one generated file or a dict of them."""
    return written if isinstance(written, dict) else {written.path.name: written}


def prepare_staged(dataset: str, written) -> Prepared:
    files = staged(written)
    directory = next(iter(files.values())).path.parent
    checksums = {name: w.md5 for name, w in files.items()}
    return registry.prepare(dataset, replace(OFFLINE, data_dir=directory), checksums)


def assert_same_examples(prepared: Prepared, images, labels, orig_split):
    np.testing.assert_array_equal(prepared.images, images)
    np.testing.assert_array_equal(prepared.labels, labels)
    np.testing.assert_array_equal(prepared.orig_split, orig_split)
    for split in (TRAIN, TEST):  # numbered within each original split, in file order
        members = prepared.orig_split == split
        np.testing.assert_array_equal(prepared.orig_index[members], np.arange(members.sum()))
    assert prepared.images.dtype == np.uint8 and prepared.images.shape[1:] == (32, 32, 3)


def test_cifar10_prepared_equals_what_was_written(cifar10):
    prepared = prepare_staged("cifar10", cifar10)
    assert_same_examples(prepared, cifar10.images, cifar10.labels, cifar10.orig_split)
    assert prepared.images.shape == (250, 32, 32, 3)
    assert np.all(prepared.orig_split[:200] == TRAIN)  # data_batch_1..5, then test_batch
    assert list(prepared.classes) == gen.CIFAR10_CLASSES and prepared.extra == {}
    train = cifar10.images[cifar10.orig_split == TRAIN].astype(np.float64) / 255
    np.testing.assert_allclose(prepared.mean, train.mean(axis=(0, 1, 2)), rtol=1e-12)
    np.testing.assert_allclose(prepared.std, train.std(axis=(0, 1, 2)), rtol=1e-9)


def test_cifar100_keeps_fine_labels_and_coarse_labels_as_extra(cifar100, tmp_path):
    prepared = prepare_staged("cifar100", cifar100)
    assert_same_examples(prepared, cifar100.images, cifar100.labels, cifar100.orig_split)
    assert prepared.num_classes == 100 and list(prepared.classes) == cifar100.classes
    np.testing.assert_array_equal(prepared.extra["coarse_label"], cifar100.coarse_labels)
    assert list(prepared.extra_classes["coarse_label"]) == cifar100.coarse_classes
    prepared.save(tmp_path / "cifar100.npz")
    loaded = Prepared.load(tmp_path / "cifar100.npz")
    np.testing.assert_array_equal(loaded.extra["coarse_label"], cifar100.coarse_labels)
    assert loaded.extra_classes == prepared.extra_classes and loaded.mean == prepared.mean


def test_svhn_maps_label_10_to_digit_0(svhn):
    prepared = prepare_staged("svhn", svhn)
    train, test = svhn["train_32x32.mat"], svhn["test_32x32.mat"]
    assert_same_examples(
        prepared,
        np.concatenate([train.images, test.images]),
        np.concatenate([train.labels, test.labels]),
        np.concatenate([train.orig_split, test.orig_split]),
    )
    np.testing.assert_array_equal(prepared.labels[:10], np.arange(10))  # stored as 10, 1, 2, ..., 9
    assert prepared.classes == tuple("0123456789")


def test_fmnist_statistics_match_the_published_ones(fmnist_prepared):
    prepared = Prepared.load(fmnist_prepared)
    np.testing.assert_allclose(prepared.mean, [0.2860], atol=1e-4)
    np.testing.assert_allclose(prepared.std, [0.3530], atol=1e-4)


def test_channel_stats_on_a_known_image():
    images = np.zeros((2, 1, 2, 2), np.uint8)
    images[0, ..., 0] = 255  # channel 0: half the pixels 1.0; channel 1: all 0
    mean, std = channel_stats(images, chunk=1)
    np.testing.assert_allclose(mean, [0.5, 0.0])
    np.testing.assert_allclose(std, [0.5, 0.0])


# --- torchvision's own readers agree ---------------------------------------------------------------------------------


def test_torchvision_reads_the_same_cifar_arrays(cifar10, cifar100, tmp_path, monkeypatch):
    datasets = pytest.importorskip("torchvision.datasets")
    root = tmp_path / "torchvision"
    # torchvision checks each batch and the meta file against the real files' MD5s; these files are generated
    monkeypatch.setattr("torchvision.datasets.cifar.check_integrity", lambda *args: True)
    for cls, written, dataset in ((datasets.CIFAR10, cifar10, "cifar10"), (datasets.CIFAR100, cifar100, "cifar100")):
        with tarfile.open(written.path) as tar:
            tar.extractall(root, filter="data")
        prepared = prepare_staged(dataset, written)
        for train, split in ((True, TRAIN), (False, TEST)):
            theirs = cls(root, train=train, download=False)
            members = prepared.orig_split == split
            np.testing.assert_array_equal(prepared.images[members], theirs.data)
            np.testing.assert_array_equal(prepared.labels[members], theirs.targets)
            assert list(prepared.classes) == theirs.classes


def test_torchvision_reads_the_same_svhn_arrays(svhn, tmp_path, monkeypatch):
    datasets = pytest.importorskip("torchvision.datasets")
    root = tmp_path / "torchvision"
    root.mkdir()
    for written in svhn.values():
        shutil.copy(written.path, root)
    monkeypatch.setattr("torchvision.datasets.svhn.check_integrity", lambda *args: True)
    prepared = prepare_staged("svhn", svhn)
    for split, code in (("train", TRAIN), ("test", TEST)):
        theirs = datasets.SVHN(root, split=split, download=False)
        members = prepared.orig_split == code
        np.testing.assert_array_equal(prepared.images[members], theirs.data.transpose(0, 2, 3, 1))  # theirs: NCHW
        np.testing.assert_array_equal(prepared.labels[members], theirs.labels)


# --- downloads of the new datasets --------------------------------------------------------------------------------


def test_cifar_archive_downloads_from_a_mirror_and_prepares(http_server, tmp_path):
    served, url = http_server
    written = gen.write_cifar10(served)
    options = SourceOptions(download_dir=tmp_path / "downloads", mirrors=(url,), retries=1, backoff_s=0)
    spec = registry.get("cifar10").with_checksums({written.path.name: written.md5})
    raw = replace(spec.files[0], urls=("http://127.0.0.1:9/" + written.path.name,))  # the official host: down
    path = locate("cifar10", raw, options)
    assert path == tmp_path / "downloads" / written.path.name and gen.md5(path) == written.md5
    assert_same_examples(spec.read({raw.name: path}), written.images, written.labels, written.orig_split)


# --- the errors a user sees ------------------------------------------------------------------------------------------

WRITERS = {
    "cifar10": lambda d: gen.write_cifar10(d),
    "cifar100": lambda d: gen.write_cifar100(d),
    "svhn": lambda d: gen.write_svhn(d),
}


@pytest.mark.parametrize("dataset", sorted(WRITERS))
def test_published_checksum_mismatch_names_file_checksum_and_remedy(dataset, tmp_path):
    """A generated file is not the published one: the real checksum check must refuse it."""
    WRITERS[dataset](tmp_path)
    with pytest.raises(DataError) as error:
        registry.prepare(dataset, replace(OFFLINE, data_dir=tmp_path))
    message = str(error.value)
    raw = registry.get(dataset).files[0]
    assert f"checksum mismatch for {tmp_path / raw.name}" in message
    assert raw.md5 in message and "data_dir" in message and raw.urls[0] in message


@pytest.mark.parametrize("dataset", sorted(WRITERS))
def test_corrupted_file_fails_its_checksum(dataset, tmp_path):
    files = staged(WRITERS[dataset](tmp_path))
    name, written = next(iter(files.items()))
    data = bytearray(written.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    written.path.write_bytes(bytes(data))
    checksums = {n: w.md5 for n, w in files.items()}  # the checksums of the files as they were written
    with pytest.raises(DataError, match=f"checksum mismatch for {written.path}.*expected md5 {written.md5}"):
        registry.prepare(dataset, replace(OFFLINE, data_dir=tmp_path), checksums)


@pytest.mark.parametrize("dataset", sorted(WRITERS))
def test_truncated_file_with_matching_checksum_is_a_read_error(dataset, tmp_path):
    files = staged(WRITERS[dataset](tmp_path))
    written = next(iter(files.values()))
    written.path.write_bytes(written.path.read_bytes()[: written.path.stat().st_size // 3])
    checksums = {n: gen.md5(w.path) for n, w in files.items()}
    with pytest.raises(DataError, match="corrupt or truncated") as error:
        registry.prepare(dataset, replace(OFFLINE, data_dir=tmp_path), checksums)
    assert str(written.path) in str(error.value)


@pytest.mark.parametrize("dataset", sorted(WRITERS))
def test_missing_file_says_how_to_prestage(dataset, tmp_path):
    with pytest.raises(DataError) as error:
        registry.prepare(dataset, replace(OFFLINE, data_dir=tmp_path))
    message = str(error.value)
    raw = registry.get(dataset).files[0]
    assert f"no source for {raw.name}" in message and raw.md5 in message
    assert f"{tmp_path / raw.name}: not present" in message and "download disabled" in message
    assert "data_dir" in message and raw.urls[0] in message


def test_a_file_with_no_download_url_is_still_named_with_its_checksum(tmp_path):
    """A dataset file made locally (``urls=()``, docs/extending.md): missing or mismatched, the message names it, its
    checksum and data_dir, and says there is nothing to download."""
    raw = RawFile("dots.npz", "0" * 32, ())
    with pytest.raises(DataError, match="no download URL") as missing:
        locate("dots", raw, replace(OFFLINE, data_dir=tmp_path))
    (tmp_path / raw.name).write_bytes(b"another file")
    with pytest.raises(DataError, match="checksum mismatch.*no download URL") as mismatched:
        locate("dots", raw, replace(OFFLINE, data_dir=tmp_path))
    for error in (missing, mismatched):
        assert raw.md5 in str(error.value) and "data_dir" in str(error.value)


@pytest.mark.parametrize("dataset", sorted(WRITERS))
def test_no_network_is_a_clear_error(dataset, tmp_path):
    raw = registry.get(dataset).files[0]
    unreachable = replace(raw, urls=("http://127.0.0.1:9/" + raw.name,))  # nothing listens on port 9
    options = SourceOptions(download_dir=tmp_path / "downloads", retries=2, backoff_s=0)
    with pytest.raises(DataError) as error:
        locate(dataset, unreachable, options)
    message = str(error.value)
    assert f"could not download {raw.name}" in message and "attempt 2" in message and "data_dir" in message
    assert not any((tmp_path / "downloads").iterdir())  # no partial file left behind


def test_archive_without_a_batch_names_the_missing_member(cifar10, tmp_path):
    with tarfile.open(cifar10.path) as src, tarfile.open(tmp_path / cifar10.path.name, "w:gz") as dst:
        for member in src.getmembers():
            if not member.name.endswith("data_batch_3"):
                dst.addfile(member, src.extractfile(member))
    with pytest.raises(DataError, match="has no file cifar-10-batches-py/data_batch_3"):
        registry.prepare(
            "cifar10", replace(OFFLINE, data_dir=tmp_path), {cifar10.path.name: gen.md5(tmp_path / cifar10.path.name)}
        )


def test_pickles_that_build_other_objects_are_refused(tmp_path, capsys):
    class Payload:
        def __reduce__(self):
            return (print, ("executed",))

    path = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        gen._add_pickle(tar, "cifar-10-batches-py/data_batch_1", {"data": Payload()})
    with pytest.raises(DataError, match=r"data_batch_1: refusing to unpickle (__builtin__|builtins)\.print"):
        registry.get("cifar10").read({path.name: path})
    assert "executed" not in capsys.readouterr().out


def test_svhn_labels_outside_1_to_10_are_refused(tmp_path):
    path = tmp_path / "test_32x32.mat"
    scipy.io.savemat(path, {"X": np.zeros((32, 32, 3, 2), np.uint8), "y": np.array([[0], [3]], np.uint8)})
    with pytest.raises(DataError, match="labels must be 1..10"):
        read_mat(path)


def test_configured_checksum_for_an_unknown_file_is_a_config_error():
    with pytest.raises(ConfigError, match="no raw file named"):
        registry.get("svhn").with_checksums({"extra_32x32.mat": "0" * 32})
