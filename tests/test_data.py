"""Fashion-MNIST: IDX parsing, checksums, sources, and the errors a user sees."""

import gzip
import shutil

import numpy as np
import pytest

from pdepth.data import registry
from pdepth.data.idx import read_idx
from pdepth.data.prepared import TEST, TRAIN, Prepared, subset_indices
from pdepth.data.sources import RawFile, SourceOptions, locate
from pdepth.errors import DataError


def test_idx_shapes_dtypes_and_class_counts(fmnist_prepared):
    prepared = Prepared.load(fmnist_prepared)
    assert prepared.images.shape == (70000, 28, 28, 1) and prepared.images.dtype == np.uint8
    train, test = prepared.orig_split == TRAIN, prepared.orig_split == TEST
    assert train.sum() == 60000 and test.sum() == 10000
    assert np.all(prepared.orig_split[:60000] == TRAIN)  # stable order: original train first
    np.testing.assert_array_equal(prepared.orig_index[:60000], np.arange(60000))
    np.testing.assert_array_equal(prepared.orig_index[60000:], np.arange(10000))
    np.testing.assert_array_equal(np.bincount(prepared.labels[train]), np.full(10, 6000))
    np.testing.assert_array_equal(np.bincount(prepared.labels[test]), np.full(10, 1000))


def test_same_arrays_as_torchvision(fmnist_dir, fmnist_prepared, tmp_path):
    torchvision = pytest.importorskip("torchvision")
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for f in registry.get("fmnist").files:  # torchvision reads the decompressed files
        with gzip.open(fmnist_dir / f.name) as src, open(raw / f.name.removesuffix(".gz"), "wb") as dst:
            shutil.copyfileobj(src, dst)
    prepared = Prepared.load(fmnist_prepared)
    for train, offset in ((True, 0), (False, 60000)):
        ds = torchvision.datasets.FashionMNIST(tmp_path, train=train, download=False)
        n = len(ds.targets)
        np.testing.assert_array_equal(prepared.images[offset : offset + n, :, :, 0], ds.data.numpy())
        np.testing.assert_array_equal(prepared.labels[offset : offset + n], ds.targets.numpy())
        assert list(prepared.classes) == list(ds.classes)


def test_truncated_and_malformed_idx(fmnist_copy):
    path = fmnist_copy / "t10k-labels-idx1-ubyte.gz"
    data = gzip.decompress(path.read_bytes())
    truncated = fmnist_copy / "truncated.gz"
    truncated.write_bytes(gzip.compress(data[:-10]))
    with pytest.raises(DataError, match="truncated"):
        read_idx(truncated)
    cut = fmnist_copy / "cut.gz"
    cut.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DataError, match="cut.gz"):
        read_idx(cut)
    bad = fmnist_copy / "bad"
    bad.write_bytes(b"\x01\x02\x03\x04" + data[4:])
    with pytest.raises(DataError, match="magic"):
        read_idx(bad)
    np.testing.assert_array_equal(read_idx(path), np.frombuffer(data[8:], np.uint8))


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_an_unreadable_gz_in_data_dir_is_named_with_its_remedy(fmnist_copy, damage):
    """The checksum step reads the .gz first: a cut or garbled stream is a DataError naming it, not an EOFError."""
    path = fmnist_copy / "train-images-idx3-ubyte.gz"
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    else:  # garbage after a valid gzip header
        path.write_bytes(data[:20] + bytes(range(256)) * 40)
    with pytest.raises(DataError) as error:
        registry.prepare("fmnist", SourceOptions(data_dir=fmnist_copy, download=False))
    message = str(error.value)
    assert message.startswith(f"{path} cannot be read (")
    assert message.endswith("it is corrupt or truncated: delete it and pre-stage or download it again")


def test_checksum_mismatch_names_file_checksum_and_remedy(fmnist_copy):
    path = fmnist_copy / "train-labels-idx1-ubyte.gz"
    data = bytearray(gzip.decompress(path.read_bytes()))
    data[100] ^= 1  # one flipped bit in the content
    path.write_bytes(gzip.compress(bytes(data)))
    with pytest.raises(DataError) as error:
        registry.prepare("fmnist", SourceOptions(data_dir=fmnist_copy, download=False))
    message = str(error.value)
    assert str(path) in message
    assert "9018921c3c673c538a1fc5bad174d6f9" in message
    assert "data_dir" in message


def test_missing_file_without_download(fmnist_copy):
    (fmnist_copy / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError) as error:
        registry.prepare("fmnist", SourceOptions(data_dir=fmnist_copy, download=False))
    message = str(error.value)
    assert "t10k-images-idx3-ubyte.gz" in message and "8181f5470baa50b63fa0f6fddb340f0a" in message
    assert "download disabled" in message and "data_dir" in message


def test_prestaged_dir_accepts_uncompressed_content_md5(fmnist_copy):
    """Upstream and Debian gzip the same bytes differently: a re-compressed copy must still be accepted."""
    path = fmnist_copy / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()), compresslevel=1, mtime=0))
    raw = next(f for f in registry.get("fmnist").files if f.name == path.name)
    assert locate("fmnist", raw, SourceOptions(data_dir=fmnist_copy, download=False)) == path


def _raw(name: str, content: bytes, base_url: str) -> RawFile:
    import hashlib

    return RawFile(name=name, md5=hashlib.md5(content).hexdigest(), urls=(base_url + name,))


def test_download_verifies_and_renames(http_server, tmp_path):
    served, url = http_server
    content = np.arange(5000, dtype=np.uint32).tobytes()
    (served / "file.bin").write_bytes(content)
    options = SourceOptions(download_dir=tmp_path / "dl", retries=1, backoff_s=0)
    path = locate("toy", _raw("file.bin", content, url), options)
    assert path.read_bytes() == content and not list((tmp_path / "dl").glob("*.part"))


def test_download_uses_mirror_first(http_server, tmp_path):
    served, url = http_server
    content = b"mirrored bytes"
    (served / "file.bin").write_bytes(content)
    raw = RawFile(name="file.bin", md5=_raw("file.bin", content, url).md5, urls=("http://127.0.0.1:9/file.bin",))
    options = SourceOptions(download_dir=tmp_path / "dl", retries=1, backoff_s=0, mirrors=(url,))
    assert locate("toy", raw, options).read_bytes() == content


def test_corrupt_download_leaves_nothing(http_server, tmp_path):
    served, url = http_server
    (served / "file.bin").write_bytes(b"corrupted")
    raw = _raw("file.bin", b"the real content", url)
    options = SourceOptions(download_dir=tmp_path / "dl", retries=2, backoff_s=0)
    with pytest.raises(DataError, match="checksum mismatch") as error:
        locate("toy", raw, options)
    assert "data_dir" in str(error.value)
    assert not any((tmp_path / "dl").iterdir())


def test_no_network_is_a_clear_error(tmp_path):
    raw = RawFile(name="file.bin", md5="0" * 32, urls=("http://127.0.0.1:9/file.bin",))  # port 9: nothing listens
    options = SourceOptions(download_dir=tmp_path / "dl", retries=2, backoff_s=0)
    with pytest.raises(DataError) as error:
        locate("toy", raw, options)
    message = str(error.value)
    assert "file.bin" in message and "attempt 2" in message and "data_dir" in message


def test_subset_is_seeded_sorted_and_per_split():
    orig_split = np.repeat([TRAIN, TEST], [1000, 200]).astype(np.uint8)
    a = subset_indices(orig_split, 100, 20, seed=3)
    np.testing.assert_array_equal(a, subset_indices(orig_split, 100, 20, seed=3))
    assert not np.array_equal(a, subset_indices(orig_split, 100, 20, seed=4))
    assert (orig_split[a] == TRAIN).sum() == 100 and (orig_split[a] == TEST).sum() == 20
    assert np.all(np.diff(a) > 0)
    np.testing.assert_array_equal(subset_indices(orig_split, None, None, seed=0), np.arange(1200))
