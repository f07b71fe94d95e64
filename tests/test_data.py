"""Tests for chainrule.data: IDX files, datasets, downloads and the DataLoader."""

import functools
import gzip
import hashlib
import http.server
import importlib.util
import json
import os
import re
import shutil
import socket
import struct
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from chainrule.data import (
    MNIST_MD5S,
    DataLoader,
    LabeledDataset,
    default_data_dir,
    digits,
    download,
    fashion_mnist,
    load_idx_pair,
    mnist,
    read_idx,
    write_idx,
)
from chainrule import Tensor
from chainrule.errors import FileFormatError, IDXError, LabelError

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist"
MNIST_STEMS = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def idx_bytes(type_code, dims, payload):
    """An IDX file built by hand from the format's definition, independently of write_idx."""
    return bytes([0, 0, type_code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + payload


# ----------------------------------------------------------------------------------- IDX files

ROUND_TRIP_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
ROUND_TRIP_SHAPES = [(7,), (3, 4), (2, 3, 5), (2, 1, 3, 2), (0, 4)]


def random_array(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        array = rng.standard_normal(shape).astype(dtype) * 1e3
        if array.size >= 3:
            array.flat[:3] = [np.inf, -np.inf, np.nan]
        return array
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("shape", ROUND_TRIP_SHAPES, ids=str)
@pytest.mark.parametrize("dtype", ROUND_TRIP_DTYPES, ids=lambda d: np.dtype(d).name)
def test_idx_round_trip(tmp_path, dtype, shape, compress):
    array = random_array(dtype, shape)
    path = tmp_path / "array.idx"
    write_idx(path, array, gzip=compress)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == compress
    result = read_idx(path)
    assert result.dtype == np.dtype(dtype)
    assert result.dtype.isnative
    assert result.shape == shape
    np.testing.assert_array_equal(result, array)
    assert result.flags.writeable


def test_write_idx_produces_the_documented_layout(tmp_path):
    array = np.array([[1, -2, 300], [4, 5, -32768]], dtype=np.int16)
    write_idx(tmp_path / "a.idx", array)
    expected = idx_bytes(0x0B, (2, 3), struct.pack(">6h", 1, -2, 300, 4, 5, -32768))
    assert (tmp_path / "a.idx").read_bytes() == expected


def test_read_idx_reads_hand_built_big_endian_files(tmp_path):
    (tmp_path / "f.idx").write_bytes(idx_bytes(0x0D, (2, 2), struct.pack(">4f", 1.5, -2, 0, 8)))
    np.testing.assert_array_equal(read_idx(tmp_path / "f.idx"), [[1.5, -2], [0, 8]])
    # Named .idx but gzip inside: detection goes by the magic bytes, not the extension.
    int32_file = idx_bytes(0x0C, (3,), struct.pack(">3i", 7, -1, 2**31 - 1))
    (tmp_path / "g.idx").write_bytes(gzip.compress(int32_file))
    np.testing.assert_array_equal(read_idx(tmp_path / "g.idx"), [7, -1, 2**31 - 1])
    # And a plain file named .gz is read as plain.
    (tmp_path / "p.gz").write_bytes(idx_bytes(0x08, (2,), b"\x05\x06"))
    np.testing.assert_array_equal(read_idx(tmp_path / "p.gz"), [5, 6])


def test_write_idx_rejects_what_idx_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match="int64"):
        write_idx(tmp_path / "a.idx", np.zeros(3, dtype=np.int64))
    with pytest.raises(TypeError, match="bool"):
        write_idx(tmp_path / "a.idx", np.zeros(3, dtype=bool))
    with pytest.raises(ValueError, match="1 to 4"):
        write_idx(tmp_path / "a.idx", np.zeros((1, 1, 1, 1, 1), dtype=np.uint8))
    with pytest.raises(ValueError, match="1 to 4"):
        write_idx(tmp_path / "a.idx", np.uint8(3))
    assert list(tmp_path.iterdir()) == []


def test_write_idx_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "a.idx"
    write_idx(path, np.arange(5, dtype=np.uint8))
    before = path.read_bytes()

    def failing_replace(source, destination):
        raise OSError("disk pulled out")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk pulled out"):
        write_idx(path, np.arange(9, dtype=np.uint8), gzip=True)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.idx"]


def small_idx_file():
    return idx_bytes(0x0B, (2, 3), struct.pack(">6h", 1, 2, 3, -4, -5, -6))


def test_every_truncation_of_a_plain_file_raises_idx_error(tmp_path):
    data = small_idx_file()
    path = tmp_path / "cut.idx"
    for length in range(len(data)):
        path.write_bytes(data[:length])
        with pytest.raises(IDXError, match=re.escape(str(path))):
            read_idx(path)
    path.write_bytes(data)
    assert read_idx(path).shape == (2, 3)


def test_every_truncation_of_a_gzip_file_raises_idx_error(tmp_path):
    data = gzip.compress(small_idx_file())
    path = tmp_path / "cut.idx.gz"
    for length in range(len(data)):
        path.write_bytes(data[:length])
        with pytest.raises(IDXError, match=re.escape(str(path))):
            read_idx(path)
    path.write_bytes(data)
    assert read_idx(path).shape == (2, 3)


def test_truncation_message_names_the_path_and_both_sizes(tmp_path):
    images = np.zeros((10, 28, 28), dtype=np.uint8)
    for compress in (False, True):
        path = tmp_path / f"images-{compress}"
        data = idx_bytes(0x08, images.shape, images.tobytes()[:-10])
        path.write_bytes(gzip.compress(data) if compress else data)
        with pytest.raises(IDXError) as error:
            read_idx(path)
        message = str(error.value)
        assert str(path) in message
        assert "10x28x28" in message and "7840" in message and "7830" in message


def test_a_corrupt_gzip_stream_raises_idx_error(tmp_path):
    data = bytearray(gzip.compress(small_idx_file()))
    path = tmp_path / "bad.gz"
    data[-6] ^= 0xFF  # inside the CRC/length trailer
    path.write_bytes(bytes(data))
    with pytest.raises(IDXError, match="gzip"):
        read_idx(path)
    data = bytearray(gzip.compress(small_idx_file()))
    data[12] ^= 0xFF  # inside the deflate stream
    path.write_bytes(bytes(data))
    with pytest.raises(IDXError):
        read_idx(path)


@pytest.mark.parametrize(
    "header, pattern",
    [
        (b"\x01\x00\x08\x01", "two zero bytes"),
        (b"\x1f\x8c\x08\x01", "two zero bytes"),
        (b"\x00\x00\x07\x01", "type code 0x07"),
        (b"\x00\x00\x0a\x01", "type code 0x0A"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (b"\x00\x00\x08\x05", "5 dimensions"),
    ],
)
def test_wrong_magic_number(tmp_path, header, pattern):
    path = tmp_path / "m.idx"
    path.write_bytes(header + b"\x00\x00\x00\x01" * 5 + b"\x00")
    with pytest.raises(IDXError, match=pattern):
        read_idx(path)
    path.write_bytes(gzip.compress(header + b"\x00\x00\x00\x01" * 5 + b"\x00"))
    with pytest.raises(IDXError, match=pattern):
        read_idx(path)


def fails_fast_without_allocating(path):
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(IDXError) as error:
            read_idx(path)
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 0.5
    assert peak < 32 * 2**20
    return str(error.value)


def test_a_header_claiming_huge_sizes_fails_fast(tmp_path):
    huge = idx_bytes(0x0E, (2**32 - 1, 2**32 - 1), b"\x00" * 64)
    (tmp_path / "plain").write_bytes(huge)
    message = fails_fast_without_allocating(tmp_path / "plain")
    assert str((2**32 - 1) ** 2 * 8) in message and "64" in message
    (tmp_path / "gz").write_bytes(gzip.compress(huge))
    assert "cannot decompress" in fails_fast_without_allocating(tmp_path / "gz")


def test_a_gzip_bomb_fails_fast(tmp_path):
    zeros = b"\x00" * (32 * 2**20)
    # A header that matches no real size, followed by 32 MiB of zeros in a 32 KiB file.
    bomb = gzip.compress(idx_bytes(0x08, (2**32 - 1, 2**32 - 1, 2**32 - 1), zeros), 6)
    (tmp_path / "bomb").write_bytes(bomb)
    fails_fast_without_allocating(tmp_path / "bomb")
    # A small valid file with the bomb glued behind it, inside the same gzip stream.
    bomb = gzip.compress(idx_bytes(0x08, (4,), b"\x01\x02\x03\x04" + zeros), 6)
    (tmp_path / "tail").write_bytes(bomb)
    assert "trailing" in fails_fast_without_allocating(tmp_path / "tail")


def test_trailing_garbage_raises_idx_error(tmp_path):
    data = idx_bytes(0x08, (2, 3), bytes(range(6)))
    (tmp_path / "plain").write_bytes(data + b"junk")
    with pytest.raises(IDXError) as error:
        read_idx(tmp_path / "plain")
    assert "2x3 = 6 bytes" in str(error.value) and "10" in str(error.value)

    (tmp_path / "inside").write_bytes(gzip.compress(data + b"junk"))
    with pytest.raises(IDXError, match="4 trailing"):
        read_idx(tmp_path / "inside")

    (tmp_path / "after").write_bytes(gzip.compress(data) + b"not gzip")
    with pytest.raises(IDXError, match="gzip"):
        read_idx(tmp_path / "after")


def write_pair(directory, images, labels, compress=False):
    images_path = directory / "images.idx"
    labels_path = directory / "labels.idx"
    write_idx(images_path, images, gzip=compress)
    write_idx(labels_path, labels, gzip=compress)
    return images_path, labels_path


def test_load_idx_pair_returns_both_arrays(tmp_path):
    images = random_array(np.uint8, (6, 4, 4))
    labels = np.array([0, 9, 3, 3, 1, 2], dtype=np.uint8)
    loaded_images, loaded_labels = load_idx_pair(*write_pair(tmp_path, images, labels, True))
    np.testing.assert_array_equal(loaded_images, images)
    np.testing.assert_array_equal(loaded_labels, labels)


def test_image_and_label_counts_must_agree(tmp_path):
    images_path, labels_path = write_pair(
        tmp_path, np.zeros((5, 2, 2), np.uint8), np.zeros(4, np.uint8)
    )
    with pytest.raises(FileFormatError) as error:
        load_idx_pair(images_path, labels_path)
    message = str(error.value)
    assert str(images_path) in message and str(labels_path) in message
    assert "5 images" in message and "4 labels" in message


def test_labels_must_be_in_range(tmp_path):
    labels = np.array([0, 1, 10, 3, 255], dtype=np.uint8)
    images_path, labels_path = write_pair(tmp_path, np.zeros((5, 2, 2), np.uint8), labels)
    with pytest.raises(LabelError) as error:
        load_idx_pair(images_path, labels_path)
    message = str(error.value)
    assert str(labels_path) in message and "0..9" in message and "2 of 5" in message
    assert "index 2: 10" in message
    _, wide_labels = load_idx_pair(images_path, labels_path, num_classes=256)
    np.testing.assert_array_equal(wide_labels, labels)

    write_idx(labels_path, np.array([0, -1, 2, 3, 4], dtype=np.int8))
    with pytest.raises(LabelError, match="-1"):
        load_idx_pair(images_path, labels_path)
    write_idx(labels_path, np.zeros((5, 1), dtype=np.uint8))
    with pytest.raises(FileFormatError, match="1-D"):
        load_idx_pair(images_path, labels_path)


# ------------------------------------------------------------------------ the real MNIST test set


@pytest.fixture(scope="module")
def shared_mnist():
    if not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"the project's shared MNIST test set is not at {SHARED_MNIST}")
    return SHARED_MNIST


def test_shared_mnist_files_match_the_readme_checksums(shared_mnist):
    readme = (shared_mnist / "README.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"\|\s*(\S+\.gz)\s*\|.*\|\s*([0-9a-f]{32})\s*\|", readme))
    assert set(listed) == {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}
    for name, md5 in listed.items():
        assert hashlib.md5((shared_mnist / name).read_bytes()).hexdigest() == md5
        assert MNIST_MD5S[name] == md5


def test_read_the_real_mnist_test_set(shared_mnist):
    images = read_idx(shared_mnist / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(shared_mnist / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert set(np.unique(labels)) == set(range(10))
    # The well-known first labels of the official MNIST test set.
    assert labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert images.min() == 0 and images.max() == 255


def assert_t10k_split(train, test, images, labels):
    assert (len(train), len(test)) == (8000, 2000)
    assert train.x.shape == (8000, 784) and test.x.shape == (2000, 784)
    assert train.x.dtype == np.float32 and train.y.dtype == np.int64
    assert 0 <= train.x.min() and train.x.max() <= 1
    first_and_last = [(train, 0, 0), (train, -1, 7999), (test, 0, 8000), (test, -1, 9999)]
    for dataset, index, source in first_and_last:
        np.testing.assert_allclose(dataset.x[index], images[source].ravel() / 255.0, atol=1e-7)
        assert dataset.y[index] == labels[source]
    np.testing.assert_array_equal(np.concatenate([train.y, test.y]), labels)
    assert "t10k" in train.name and "8000/2000" in train.name
    assert "8000" in train.note and train.note == test.note


def test_mnist_on_the_shared_folder_gives_the_fixed_t10k_split(shared_mnist):
    images = read_idx(shared_mnist / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(shared_mnist / "t10k-labels-idx1-ubyte.gz")
    train, test = mnist(data_dir=shared_mnist)
    assert_t10k_split(train, test, images, labels)
    assert train.classes == tuple("0123456789")


def test_mnist_reads_uncompressed_files_too(shared_mnist, tmp_path):
    for stem in MNIST_STEMS[2:]:
        with gzip.open(shared_mnist / f"{stem}.gz") as source, open(tmp_path / stem, "wb") as dest:
            shutil.copyfileobj(source, dest)
    images = read_idx(tmp_path / "t10k-images-idx3-ubyte")
    labels = read_idx(tmp_path / "t10k-labels-idx1-ubyte")
    assert_t10k_split(*mnist(data_dir=tmp_path), images, labels)


# -------------------------------------------------------------------- MNIST-style folders, offline


def write_fake_mnist(directory, n_train=30, n_test=12, stems=MNIST_STEMS, seed=0):
    """Small random IDX files under the MNIST names; returns the arrays written."""
    rng = np.random.default_rng(seed)
    arrays = {
        MNIST_STEMS[0]: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        MNIST_STEMS[1]: rng.integers(0, 10, n_train, dtype=np.uint8),
        MNIST_STEMS[2]: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        MNIST_STEMS[3]: rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    directory.mkdir(parents=True, exist_ok=True)
    for stem in stems:
        write_idx(directory / f"{stem}.gz", arrays[stem], gzip=True)
    return arrays


def assert_matches_fake(train, test, arrays):
    np.testing.assert_allclose(train.x, arrays[MNIST_STEMS[0]].reshape(-1, 784) / 255.0, atol=1e-7)
    np.testing.assert_array_equal(train.y, arrays[MNIST_STEMS[1]])
    np.testing.assert_allclose(test.x, arrays[MNIST_STEMS[2]].reshape(-1, 784) / 255.0, atol=1e-7)
    np.testing.assert_array_equal(test.y, arrays[MNIST_STEMS[3]])
    assert train.note == "" and "t10k" not in train.name


def test_mnist_reads_a_full_folder(tmp_path):
    arrays = write_fake_mnist(tmp_path)
    train, test = mnist(data_dir=tmp_path)
    assert_matches_fake(train, test, arrays)
    assert train.x.dtype == np.float32 and train.y.dtype == np.int64
    assert train.name == "mnist"


def test_fashion_mnist_reads_a_full_folder_and_names_its_classes(tmp_path):
    arrays = write_fake_mnist(tmp_path)
    train, test = fashion_mnist(data_dir=str(tmp_path))
    assert_matches_fake(train, test, arrays)
    assert len(train.classes) == 10 and "Ankle boot" in train.classes


def test_missing_files_raise_file_not_found_with_advice(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        mnist(data_dir=tmp_path)
    message = str(error.value)
    assert str(tmp_path) in message and "download=True" in message and "--data-dir" in message
    assert all(stem in message for stem in MNIST_STEMS)

    write_fake_mnist(tmp_path, stems=MNIST_STEMS[:1])
    with pytest.raises(FileNotFoundError) as error:
        mnist(data_dir=tmp_path)
    assert "train-images" not in str(error.value)
    assert "train-labels" in str(error.value) and "t10k-labels" in str(error.value)


def test_the_t10k_split_needs_more_than_8000_images(tmp_path):
    write_fake_mnist(tmp_path, stems=MNIST_STEMS[2:])
    with pytest.raises(FileFormatError, match="12"):
        mnist(data_dir=tmp_path)


def test_images_must_be_28_by_28(tmp_path):
    write_fake_mnist(tmp_path)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((12, 8, 8), np.uint8), gzip=True)
    with pytest.raises(FileFormatError, match="28"):
        mnist(data_dir=tmp_path)


def test_default_data_dir_follows_chainrule_data(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path))
    assert default_data_dir("mnist") == tmp_path / "mnist"
    arrays = write_fake_mnist(tmp_path / "fashion-mnist")
    assert_matches_fake(*fashion_mnist(), arrays)
    monkeypatch.delenv("CHAINRULE_DATA")
    assert default_data_dir("mnist") == Path.home() / ".cache" / "chainrule" / "mnist"


def test_dataset_behaves_like_a_sequence_of_examples():
    dataset = LabeledDataset(np.arange(12).reshape(4, 3), [1, 0, 1, 2], "toy", ("a", "b", "c"))
    assert len(dataset) == 4 and dataset.x.dtype == np.float32 and dataset.y.dtype == np.int64
    x, y = dataset[2]
    np.testing.assert_array_equal(x, [6, 7, 8])
    assert y == 1
    assert dataset[1:3][0].shape == (2, 3)
    with pytest.raises(ValueError, match="4 examples but 3 labels"):
        LabeledDataset(np.zeros((4, 3)), [0, 1, 2], "bad", ("a",))


# ---------------------------------------------------------------------------------------- digits

needs_sklearn = pytest.mark.skipif(
    importlib.util.find_spec("sklearn") is None, reason="scikit-learn not installed"
)


@needs_sklearn
def test_digits_shapes_and_values():
    train, test = digits()
    assert len(train) + len(test) == 1797
    assert train.x.shape == (len(train), 64) and test.x.shape == (len(test), 64)
    assert train.x.dtype == np.float32 and train.y.dtype == np.int64
    both = np.concatenate([train.x, test.x])
    assert both.min() == 0 and both.max() == 1
    assert len(test) == pytest.approx(0.2 * 1797, abs=10)
    # Stratified: every class is in the test set at close to the overall fraction.
    train_counts = np.bincount(train.y, minlength=10)
    test_counts = np.bincount(test.y, minlength=10)
    fractions = test_counts / (train_counts + test_counts)
    assert np.all(np.abs(fractions - 0.2) < 0.02)


@needs_sklearn
def test_digits_split_is_deterministic_for_a_seed():
    first_train, first_test = digits(seed=3)
    again_train, again_test = digits(seed=3)
    np.testing.assert_array_equal(first_train.x, again_train.x)
    np.testing.assert_array_equal(first_test.y, again_test.y)
    other_train, other_test = digits(seed=4)
    assert not np.array_equal(first_test.x, other_test.x)
    bigger_train, bigger_test = digits(seed=3, test_fraction=0.5)
    assert len(bigger_test) == pytest.approx(1797 / 2, abs=10)


@needs_sklearn
def test_digits_match_scikit_learns_loader():
    from sklearn.datasets import load_digits

    reference = load_digits()
    train, test = digits()
    pixels = np.concatenate([train.x, test.x]) * 16
    ours = np.column_stack([pixels, np.concatenate([train.y, test.y])])
    theirs = np.column_stack([reference.data, reference.target])
    np.testing.assert_array_equal(np.unique(ours, axis=0), np.unique(theirs, axis=0))
    assert len(ours) == len(theirs)


@needs_sklearn
def test_digits_falls_back_to_scikit_learn_when_the_file_moved(tmp_path, monkeypatch):
    real_find_spec = importlib.util.find_spec
    spec = real_find_spec("sklearn")
    moved = type(spec)(spec.name, spec.loader)
    moved.submodule_search_locations = [str(tmp_path)]  # a folder without digits.csv.gz

    def find_spec(name, *args):
        return moved if name == "sklearn" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    fallback_train, fallback_test = digits(seed=1)
    monkeypatch.undo()
    train, test = digits(seed=1)
    np.testing.assert_array_equal(fallback_train.x, train.x)
    np.testing.assert_array_equal(fallback_test.y, test.y)


def test_digits_without_scikit_learn_says_how_to_install_it(monkeypatch):
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args):
        return None if name == "sklearn" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(ImportError, match=re.escape('pip install "chainrule[train]"')):
        digits()


def test_digits_rejects_a_bad_test_fraction():
    for fraction in (0, 1, -0.1, 1.5):
        with pytest.raises(ValueError, match="test_fraction"):
            digits(test_fraction=fraction)


# -------------------------------------------------------------------------------------- download


class QuietRecordingHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        self.server.requested.append(self.path)


@pytest.fixture
def file_server(tmp_path):
    """An HTTP server on 127.0.0.1 serving fake MNIST .gz files.

    Yields (base_url, md5s, arrays, server); server.requested lists the paths asked for."""
    served = tmp_path / "served"
    arrays = write_fake_mnist(served)
    md5s = {
        f"{stem}.gz": hashlib.md5((served / f"{stem}.gz").read_bytes()).hexdigest()
        for stem in MNIST_STEMS
    }
    handler = functools.partial(QuietRecordingHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.requested = []
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", md5s, arrays, server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def unused_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_mnist_downloads_verifies_and_loads(file_server, tmp_path):
    base_url, md5s, arrays, server = file_server
    data_dir = tmp_path / "cache" / "mnist"
    train, test = mnist(data_dir=data_dir, download=True, base_url=base_url, md5s=md5s)
    assert_matches_fake(train, test, arrays)
    assert sorted(p.name for p in data_dir.iterdir()) == sorted(md5s)
    assert len(server.requested) == 4
    # Everything is cached now: a second call downloads nothing.
    again = mnist(data_dir=data_dir, download=True, base_url=base_url, md5s=md5s)
    assert_matches_fake(*again, arrays)
    assert len(server.requested) == 4


def test_download_fetches_only_the_missing_files(file_server, tmp_path):
    base_url, md5s, arrays, server = file_server
    data_dir = tmp_path / "data"
    shutil.copytree(tmp_path / "served", data_dir, ignore=shutil.ignore_patterns("train-*"))
    fashion_mnist(data_dir=data_dir, download=True, base_url=base_url, md5s=md5s)
    assert sorted(server.requested) == [f"/{stem}.gz" for stem in MNIST_STEMS[:2]]


def test_a_wrong_checksum_raises_and_leaves_no_file(file_server, tmp_path):
    base_url, md5s, arrays, server = file_server
    wrong = dict(md5s, **{"train-images-idx3-ubyte.gz": "0" * 32})
    data_dir = tmp_path / "data"
    with pytest.raises(FileFormatError) as error:
        mnist(data_dir=data_dir, download=True, base_url=base_url, md5s=wrong)
    message = str(error.value)
    assert "train-images-idx3-ubyte.gz" in message
    assert "0" * 32 in message and md5s["train-images-idx3-ubyte.gz"] in message
    assert list(data_dir.iterdir()) == []


def test_download_reports_an_unreachable_url(tmp_path):
    url = f"http://127.0.0.1:{unused_port()}/train-images-idx3-ubyte.gz"
    with pytest.raises(ConnectionError, match=re.escape(url)):
        download(url, tmp_path / "x.gz", "0" * 32)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ConnectionError, match="127.0.0.1"):
        mnist(data_dir=tmp_path, download=True, base_url=f"http://127.0.0.1:{unused_port()}")


def test_download_reports_http_errors(file_server, tmp_path):
    base_url = file_server[0]
    with pytest.raises(ConnectionError, match="404") as error:
        download(base_url + "missing.gz", tmp_path / "missing.gz", "0" * 32)
    assert base_url + "missing.gz" in str(error.value)
    assert [p.name for p in tmp_path.iterdir()] == ["served"]  # no partial download left


def test_download_works_without_tqdm(file_server, tmp_path, monkeypatch):
    base_url, md5s, arrays, server = file_server
    monkeypatch.setitem(sys.modules, "tqdm", None)  # makes `import tqdm` raise ImportError
    name = "t10k-labels-idx1-ubyte.gz"
    download(base_url + name, tmp_path / "got" / name, md5s[name], progress=True)
    np.testing.assert_array_equal(read_idx(tmp_path / "got" / name), arrays[MNIST_STEMS[3]])


def test_download_with_progress_bar(file_server, tmp_path):
    base_url, md5s, arrays, server = file_server
    pytest.importorskip("tqdm")
    name = "t10k-images-idx3-ubyte.gz"
    download(base_url + name, tmp_path / name, md5s[name].upper(), progress=True)
    assert hashlib.md5((tmp_path / name).read_bytes()).hexdigest() == md5s[name]


def test_md5s_must_cover_the_missing_files(file_server, tmp_path):
    base_url, md5s, arrays, server = file_server
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz"):
        mnist(data_dir=tmp_path / "d", download=True, base_url=base_url, md5s={})


# ------------------------------------------------------------------------------------ DataLoader


def numbered(n=23, features=3):
    x = np.arange(n * features, dtype=np.float32).reshape(n, features)
    return x, np.arange(n)


def epoch_indices(batches):
    return np.concatenate([y for _, y in batches])


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("batch_size", [1, 5, 23, 100])
def test_every_example_exactly_once_per_epoch(shuffle, batch_size):
    x, y = numbered()
    loader = DataLoader((x, y), batch_size=batch_size, shuffle=shuffle, seed=0)
    for _ in range(3):
        batches = list(loader)
        assert len(batches) == len(loader) == -(-23 // batch_size)
        assert all(len(xb) == batch_size for xb, _ in batches[:-1])
        indices = epoch_indices(batches)
        np.testing.assert_array_equal(np.sort(indices), np.arange(23))
        for xb, yb in batches:
            np.testing.assert_array_equal(xb, x[np.asarray(yb)])  # rows stay with their labels


def test_drop_last_and_len():
    x, y = numbered(23)
    loader = DataLoader((x, y), batch_size=5, drop_last=True, shuffle=True, seed=1)
    assert len(loader) == 4
    batches = list(loader)
    assert len(batches) == 4 and all(len(xb) == 5 for xb, _ in batches)
    assert len(set(epoch_indices(batches))) == 20
    assert len(DataLoader((x, y), batch_size=5)) == 5
    assert len(DataLoader((x, y), batch_size=30, drop_last=True)) == 0
    assert list(DataLoader((x, y), batch_size=30, drop_last=True)) == []


def test_seeded_shuffle_is_reproducible_and_changes_every_epoch():
    data = numbered(50)
    first = DataLoader(data, batch_size=7, shuffle=True, seed=42)
    second = DataLoader(data, batch_size=7, shuffle=True, seed=42)
    other = DataLoader(data, batch_size=7, shuffle=True, seed=43)
    epochs = [epoch_indices(list(first)) for _ in range(3)]
    for expected in epochs:
        np.testing.assert_array_equal(epoch_indices(list(second)), expected)
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[1], epochs[2])
    assert not np.array_equal(epochs[0], np.arange(50))
    assert not np.array_equal(epoch_indices(list(other)), epochs[0])


@pytest.mark.parametrize("shuffle", [False, True])
def test_batches_are_new_tensors_in_order(shuffle):
    # As PyTorch's default_collate, which stacks: writing into a batch leaves the data alone.
    x, y = numbered(10)
    batches = list(DataLoader((x, y), batch_size=4, shuffle=shuffle, seed=0))
    if not shuffle:
        np.testing.assert_array_equal(epoch_indices(batches), np.arange(10))
    for xb, yb in batches:
        assert isinstance(xb, Tensor) and isinstance(yb, Tensor)
        assert not np.shares_memory(xb.numpy(), x) and not np.shares_memory(yb.numpy(), y)
        xb[0] = -1.0
    assert (x >= 0).all()


def test_accepts_a_dataset_and_any_number_of_arrays():
    x, y = numbered(9)
    dataset = LabeledDataset(x, y, "toy", ("a",) * 9)
    xb, yb = next(iter(DataLoader(dataset, batch_size=4)))
    np.testing.assert_array_equal(yb, [0, 1, 2, 3])
    weights = np.linspace(0, 1, 9)
    batch = next(iter(DataLoader((x, y, weights), batch_size=3)))
    assert len(batch) == 3
    np.testing.assert_array_equal(batch[2], weights[:3])


def test_bad_arguments_are_reported_with_the_numbers():
    x, y = numbered(10)
    with pytest.raises(ValueError, match=r"10, 9"):
        DataLoader((x, y[:9]))
    with pytest.raises(ValueError, match="0"):
        DataLoader((x, y), batch_size=0)
    with pytest.raises(TypeError, match="batch_size"):
        DataLoader((x, y), batch_size=2.5)
    with pytest.raises(TypeError, match="int"):
        DataLoader(7)
    with pytest.raises(ValueError, match="seed"):
        DataLoader((x, y), seed=-1)


def run_epochs(loader, epochs):
    return [y.tolist() for _ in range(epochs) for _, y in loader]


@pytest.mark.parametrize("batches_before_saving", [0, 2, 5])
def test_resuming_from_state_dict_gives_the_same_batches(batches_before_saving):
    data = numbered(23)
    uninterrupted = run_epochs(DataLoader(data, batch_size=5, shuffle=True, seed=11), 4)

    loader = DataLoader(data, batch_size=5, shuffle=True, seed=11)
    seen = run_epochs(loader, 1)  # one full epoch, then part of the next
    iterator = iter(loader)
    seen += [next(iterator)[1].tolist() for _ in range(batches_before_saving)]
    state = json.loads(json.dumps(loader.state_dict()))

    resumed = DataLoader(data, batch_size=5, shuffle=True)  # a different, random seed
    resumed.load_state_dict(state)
    seen += [y.tolist() for _, y in resumed]  # the rest of the interrupted epoch
    seen += run_epochs(resumed, 2)
    assert seen == uninterrupted


def test_a_loop_left_early_starts_a_new_epoch_next_time():
    data = numbered(20)
    reference = DataLoader(data, batch_size=5, shuffle=True, seed=2)
    epochs = [[y.tolist() for _, y in reference] for _ in range(2)]
    loader = DataLoader(data, batch_size=5, shuffle=True, seed=2)
    for _, y in loader:
        break
    assert [y.tolist() for _, y in loader] == epochs[1]
    assert loader.epoch == 2


def test_load_state_dict_rejects_inconsistent_state():
    loader = DataLoader(numbered(20), batch_size=5, shuffle=True, seed=0)
    with pytest.raises(ValueError, match="seed"):
        loader.load_state_dict({"epoch": 1})
    state = {"seed": 0, "epoch": 1, "batches_done": 2, "num_examples": 21, "batch_size": 5}
    with pytest.raises(ValueError, match="21"):
        loader.load_state_dict(state)
    with pytest.raises(ValueError, match="9 batches done"):
        loader.load_state_dict(dict(state, batches_done=9, num_examples=20))


# ------------------------------------------------------------------------------- documentation


@pytest.mark.parametrize("module", ["dataset", "sampler", "collate", "loader", "workers"])
def test_the_data_modules_examples_run(module, tmp_path, monkeypatch):
    import doctest
    import importlib

    import chainrule as cr
    from chainrule import data

    monkeypatch.chdir(tmp_path)
    cr.manual_seed(0)
    found = importlib.import_module(f"chainrule.data.{module}")
    result = doctest.testmod(found, extraglobs={"cr": cr, "np": np, "data": data},
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted and result.failed == 0


# ---------------------------------------------------------- DataLoader: PyTorch's forms, resumed


def loader_epochs(loader, epochs):
    return [b.tolist() for _ in range(epochs) for b in loader]


@pytest.mark.parametrize("make_generator", [lambda seed: cr_generator(seed),
                                            lambda seed: np.random.default_rng(seed)],
                         ids=["chainrule", "numpy"])
@pytest.mark.parametrize("batches_before_saving", [0, 2])
def test_a_loader_shuffled_by_a_generator_resumes_mid_epoch(make_generator,
                                                            batches_before_saving):
    examples = list(range(23))
    uninterrupted = loader_epochs(DataLoader(examples, batch_size=5, shuffle=True,
                                             generator=make_generator(3)), 3)
    loader = DataLoader(examples, batch_size=5, shuffle=True, generator=make_generator(3))
    seen = loader_epochs(loader, 1)
    iterator = iter(loader)
    seen += [next(iterator).tolist() for _ in range(batches_before_saving)]
    state = loader.state_dict()
    resumed = DataLoader(examples, batch_size=5, shuffle=True, generator=make_generator(99))
    resumed.load_state_dict(state)
    seen += [b.tolist() for b in resumed]
    seen += loader_epochs(resumed, 1)
    assert seen == uninterrupted


def cr_generator(seed):
    import chainrule as cr
    return cr.Generator().manual_seed(seed)


def test_an_order_the_loader_cannot_replay_resumes_only_at_an_epoch_boundary():
    from chainrule.data import RandomSampler, SequentialSampler
    examples = list(range(12))
    loader = DataLoader(examples, batch_size=5, sampler=RandomSampler(examples))
    next(iter(loader))
    with pytest.raises(ValueError, match="RandomSampler.*epoch boundary"):
        DataLoader(examples, batch_size=5, sampler=RandomSampler(examples)).load_state_dict(
            loader.state_dict())
    for _ in loader:
        pass
    DataLoader(examples, batch_size=5, sampler=RandomSampler(examples)).load_state_dict(
        loader.state_dict())
    ordered = DataLoader(examples, batch_size=5, sampler=SequentialSampler(examples))
    next(iter(ordered))
    resumed = DataLoader(examples, batch_size=5, sampler=SequentialSampler(examples))
    resumed.load_state_dict(ordered.state_dict())
    assert [b.tolist() for b in resumed] == [[5, 6, 7, 8, 9], [10, 11]]


def test_the_default_batch_size_is_pytorchs_and_workers_must_not_be_negative():
    x, y = numbered(4)
    batches = list(DataLoader((x, y)))
    assert len(batches) == 4 and batches[0][0].shape == (1, 3)
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader((x, y), num_workers=-1)
    with pytest.raises(TypeError, match="num_workers"):
        DataLoader((x, y), num_workers=1.5)
    assert [b[1].tolist() for b in DataLoader((x, y), batch_size=3, num_workers=2)] == \
        [[0, 1, 2], [3]]


def test_a_labeled_dataset_and_its_loader_agree_on_every_example():
    # The loader indexes whole columns at once; the result must be what collating the
    # examples one at a time gives.
    from chainrule.data import default_collate
    x, y = numbered(9)
    dataset = LabeledDataset(x, y, "toy", ("a",) * 9)
    for (xb, yb), indices in zip(DataLoader(dataset, batch_size=4),
                                 ([0, 1, 2, 3], [4, 5, 6, 7], [8])):
        expected_x, expected_y = default_collate([dataset[i] for i in indices])
        assert xb.dtype == expected_x.dtype and yb.dtype == expected_y.dtype
        np.testing.assert_array_equal(xb.numpy(), expected_x.numpy())
        np.testing.assert_array_equal(yb.numpy(), expected_y.numpy())


def test_worker_init_fn_runs_per_epoch_or_once_for_persistent_workers():
    for persistent, expected in ((False, [0, 1] * 3), (True, [0, 1])):
        calls = []
        loader = DataLoader(list(range(4)), batch_size=2, num_workers=2,
                            persistent_workers=persistent, worker_init_fn=calls.append)
        for _ in range(3):
            assert [b.tolist() for b in loader] == [[0, 1], [2, 3]]
        assert calls == expected


def test_only_an_unseeded_shuffle_draws_from_the_default_generator():
    import chainrule as cr
    x, y = numbered(6)
    cr.manual_seed(0)
    expected = cr.rand(3).tolist()
    for options in ({}, {"shuffle": True, "seed": 1}, {"shuffle": True,
                                                       "generator": cr.Generator()}):
        cr.manual_seed(0)
        DataLoader((x, y), batch_size=2, **options)
        assert cr.rand(3).tolist() == expected, options
    cr.manual_seed(0)
    DataLoader((x, y), batch_size=2, shuffle=True)
    assert cr.rand(3).tolist() != expected


def test_a_stream_resumes_only_at_an_epoch_boundary():
    from chainrule.data import IterableDataset

    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(10))

    loader = DataLoader(Stream(), batch_size=3)
    next(iter(loader))
    with pytest.raises(ValueError, match="Stream stream.*epoch boundary"):
        DataLoader(Stream(), batch_size=3).load_state_dict(loader.state_dict())
    for _ in loader:
        pass
    resumed = DataLoader(Stream(), batch_size=3)
    resumed.load_state_dict(loader.state_dict())
    assert [b.tolist() for b in resumed] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert resumed.epoch == 3


def test_every_public_name_of_the_data_package_documents_itself():
    import inspect

    from chainrule import data
    for name in data.__all__:
        value = getattr(data, name)
        if not callable(value):
            continue
        assert (inspect.getdoc(value) or "").strip(), f"data.{name} has no docstring"
        if inspect.isclass(value):
            for method, member in vars(value).items():
                if not method.startswith("_") and callable(member):
                    assert inspect.getdoc(member), f"data.{name}.{method} has no docstring"
    pytorch_names = ["Dataset", "IterableDataset", "TensorDataset", "ConcatDataset", "ChainDataset",
                     "Subset", "random_split", "SequentialSampler", "RandomSampler",
                     "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler",
                     "default_collate", "default_convert", "get_worker_info", "DataLoader"]
    for name in pytorch_names:
        assert ">>>" in inspect.getdoc(getattr(data, name)), f"data.{name} has no example"


def test_a_generator_that_is_not_one_is_refused_when_the_loader_is_made():
    with pytest.raises(TypeError, match="generator must be a chainrule.Generator"):
        DataLoader(list(range(4)), shuffle=True, generator=3)
