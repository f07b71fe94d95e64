"""The checkpoint format: round trips, and every kind of damaged or hostile file refused."""

import json
import math
import pickle
import re
import time
import tracemalloc

import numpy as np
import pytest

from chainrule import serialize
from chainrule.errors import CheckpointError
from chainrule.serialize import ALLOWED_DTYPES, MAGIC, load, load_tree, save, save_tree


def craft(path, header, data=b"", header_bytes=None, magic=MAGIC):
    """Write a file by hand, so that tests can lie in any field."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    length = len(raw) if header_bytes is None else header_bytes
    path.write_bytes(magic + length.to_bytes(8, "little") + raw + data)
    return path


def entry(dtype="float32", shape=(2,), offset=0, nbytes=None):
    if nbytes is None:
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    return {"dtype": dtype, "shape": list(shape), "offset": offset, "nbytes": nbytes}


def refused(path, *fragments):
    with pytest.raises(CheckpointError) as info:
        load(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message
    return message


def sample_values(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return np.array([True, False, True])
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.array([info.min, 0, 1, info.max], dtype=dtype)
    info = np.finfo(dtype)
    return np.array([info.min, -0.0, info.tiny, info.max, np.nan, np.inf, -np.inf], dtype=dtype)


def assert_same_arrays(actual, expected):
    assert list(actual) == list(expected)
    for name, array in expected.items():
        assert actual[name].dtype == array.dtype.newbyteorder("=")
        assert actual[name].shape == array.shape
        np.testing.assert_array_equal(actual[name], array)


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("dtype", ALLOWED_DTYPES)
def test_every_allowed_dtype_round_trips_bit_for_bit(tmp_path, dtype):
    values = sample_values(dtype)
    save(tmp_path / "a.ckpt", {"x": values})
    arrays, meta = load(tmp_path / "a.ckpt")
    assert meta is None
    assert arrays["x"].dtype == values.dtype
    assert arrays["x"].tobytes() == values.tobytes()  # nan, -0.0 and extremes, bit for bit


def test_shapes_layouts_and_byte_orders_round_trip(tmp_path):
    base = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    arrays = {
        "scalar": np.array(3.5, dtype=np.float32),
        "empty": np.zeros((0,), dtype=np.int16),
        "empty_middle": np.zeros((3, 0, 2), dtype=np.float32),
        "fortran": np.asfortranarray(base),
        "strided": base[:, ::2, ::-1],
        "big_endian_int": np.arange(5, dtype=">i4"),
        "big_endian_float": np.linspace(0, 1, 7, dtype=">f8").reshape(7, 1),
        "bool": np.array([[True, False]]),
    }
    save(tmp_path / "a.ckpt", arrays)
    loaded, _ = load(tmp_path / "a.ckpt")
    assert_same_arrays(loaded, arrays)
    for array in loaded.values():
        assert array.flags.c_contiguous and array.flags.writeable and array.dtype.isnative


def test_data_is_little_endian_on_disk(tmp_path):
    path = tmp_path / "a.ckpt"
    save(path, {"x": np.array([1, 2], dtype=">u4")})
    data = path.read_bytes()[:-serialize.CHECKSUM_BYTES]  # the data section ends before the digest
    assert data.endswith(b"\x01\x00\x00\x00\x02\x00\x00\x00")


def test_data_section_starts_aligned(tmp_path):
    path = tmp_path / "a.ckpt"
    save(path, {"x": np.ones(3)}, meta={"odd": "x"})
    header_bytes = int.from_bytes(path.read_bytes()[8:16], "little")
    assert (16 + header_bytes) % 8 == 0


def test_plain_meta_round_trips(tmp_path):
    meta = {"epoch": 3, "big": 2**100, "neg": -(2**70), "lr": 1e-3, "name": "résumé ✓ \ud800",
            "flags": [True, False, None], "nested": {"a": [{"b": []}, {}]}}
    save(tmp_path / "a.ckpt", {}, meta)
    assert load(tmp_path / "a.ckpt") == ({}, meta)


def test_meta_that_json_cannot_hold_is_refused_on_save(tmp_path):
    for meta, fragment in [({"x": float("nan")}, "nan"), ({1: "a"}, "key 1"),
                           ({"x": np.int64(1)}, "int64"), ({"x": {1, 2}}, "set")]:
        with pytest.raises(CheckpointError, match=fragment):
            save(tmp_path / "a.ckpt", {}, meta)
    assert not (tmp_path / "a.ckpt").exists()


@pytest.mark.parametrize("array", [
    np.array([1, "a"], dtype=object),
    np.zeros(2, dtype=[("a", "f4"), ("b", "i4")]),
    np.array(["text"]),
    np.zeros(2, dtype=np.complex64),
    np.zeros(2, dtype="datetime64[s]"),
    np.zeros(2, dtype="V8"),
    np.zeros(2, dtype=[("a", "f4", (3,))]),
])
def test_unsupported_dtypes_are_refused_on_save(tmp_path, array):
    with pytest.raises(CheckpointError, match="not allowed") as info:
        save(tmp_path / "a.ckpt", {"bad": array})
    assert "'bad'" in str(info.value) and str(tmp_path / "a.ckpt") in str(info.value)
    assert not (tmp_path / "a.ckpt").exists()


def test_non_arrays_are_refused_on_save(tmp_path):
    with pytest.raises(CheckpointError, match="expected a numpy array"):
        save(tmp_path / "a.ckpt", {"x": [1.0, 2.0]})
    with pytest.raises(CheckpointError, match="not a str"):
        save(tmp_path / "a.ckpt", {0: np.ones(2)})
    with pytest.raises(CheckpointError, match="lose its mask"):
        save(tmp_path / "a.ckpt", {"x": np.ma.masked_array([1.0, 2.0], mask=[True, False])})


class TaggedArray(np.ndarray):
    pass


def test_array_subclasses_are_saved_as_plain_arrays(tmp_path):
    save(tmp_path / "a.ckpt", {"m": np.ones((2, 3)).view(TaggedArray)})
    loaded = load(tmp_path / "a.ckpt")[0]["m"]
    assert type(loaded) is np.ndarray and loaded.shape == (2, 3)


# ---------------------------------------------------------------- nested trees


def test_trainer_checkpoint_round_trips(tmp_path):
    rng = np.random.default_rng(7)
    optimizer = {
        "state": [{"step": np.int64(3), "exp_avg": np.ones((4, 2), np.float32)}],
        "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8}],
    }
    tree = {
        "model": {"0.weight": np.arange(8, dtype=np.float32).reshape(4, 2), "0.bias": np.zeros(4)},
        "optimizer": optimizer,
        "epoch": 3,
        "rng": rng.bit_generator.state,  # holds 128-bit ints
        "history": {"loss": [float("nan"), float("inf"), -float("inf"), 0.25, -0.0]},
        "huge": [2**53, 2**53 + 1, -(2**64), 10**5000],  # more digits than Python prints
    }
    save_tree(tmp_path / "c.ckpt", tree)
    arrays, _ = load(tmp_path / "c.ckpt")
    assert set(arrays) == {"model/0.weight", "model/0.bias", "optimizer/state/0/step",
                           "optimizer/state/0/exp_avg"}

    loaded = load_tree(tmp_path / "c.ckpt")
    assert loaded["epoch"] == 3
    assert loaded["huge"] == tree["huge"]
    assert loaded["rng"] == tree["rng"]
    restored = np.random.default_rng()
    restored.bit_generator.state = loaded["rng"]
    assert restored.random() == rng.random()
    np.testing.assert_array_equal(loaded["model"]["0.weight"], tree["model"]["0.weight"])
    step = loaded["optimizer"]["state"][0]["step"]
    assert type(step) is np.int64 and step == 3
    assert loaded["optimizer"]["param_groups"][0]["betas"] == [0.9, 0.999]  # tuples become lists
    loss = loaded["history"]["loss"]
    assert math.isnan(loss[0]) and loss[1:4] == [math.inf, -math.inf, 0.25]
    assert math.copysign(1, loss[4]) == -1


def test_awkward_keys_round_trip(tmp_path):
    tree = {"a/b": np.ones(1), "a": {"b": np.zeros(1)}, "~1": np.full(1, 2.0), "": [np.ones(2)],
            "$array": "user data", "$$": {"$float": "not a tag"}, "$": np.float32(1.5)}
    save_tree(tmp_path / "t.ckpt", tree)
    arrays, _ = load(tmp_path / "t.ckpt")
    assert set(arrays) == {"a~1b", "a/b", "~01", "/0", "$"}
    loaded = load_tree(tmp_path / "t.ckpt")
    assert loaded.keys() == tree.keys()
    assert loaded["a/b"][0] == 1 and loaded["a"]["b"][0] == 0 and loaded["~1"][0] == 2
    assert loaded["$array"] == "user data" and loaded["$$"] == {"$float": "not a tag"}
    assert loaded["$"] == np.float32(1.5)


@pytest.mark.parametrize("tree", [np.arange(3), 5, None, "text", [], {}, [[], {}, ()], 2**200])
def test_any_root_round_trips(tmp_path, tree):
    save_tree(tmp_path / "t.ckpt", tree)
    loaded = load_tree(tmp_path / "t.ckpt")
    if isinstance(tree, np.ndarray):
        np.testing.assert_array_equal(loaded, tree)
    else:
        assert loaded == json.loads(json.dumps(tree))


def test_int_keys_round_trip_beside_str_keys(tmp_path):
    # An optimizer's state is keyed by parameter index, as in PyTorch.
    tree = {"state": {0: {"exp_avg": np.arange(3.0)}, 2: {"step": 4}},
            "mixed": {1: "a", "b": [np.ones(2, np.float32)]}, "$dict": 5, "plain": {"0": 1}}
    save_tree(tmp_path / "t.ckpt", tree)
    loaded = load_tree(tmp_path / "t.ckpt")
    assert list(loaded["state"]) == [0, 2] and loaded["state"][2] == {"step": 4}
    np.testing.assert_array_equal(loaded["state"][0]["exp_avg"], np.arange(3.0))
    assert list(loaded["mixed"]) == [1, "b"] and loaded["mixed"][1] == "a"
    assert loaded["mixed"]["b"][0].dtype == np.float32
    assert loaded["$dict"] == 5 and loaded["plain"] == {"0": 1}


def test_trees_that_cannot_be_saved_are_refused(tmp_path):
    looped = {"a": []}
    looped["a"].append(looped)
    deep = []
    for _ in range(1000):
        deep = [deep]
    cases = [({0.5: np.ones(1)}, "only str and int keys"), ({True: 1}, "only str and int keys"),
             ({"x": object()}, "object"),
             ({"x": {1, 2}}, "set"), (looped, "contains itself"), (deep, "nested deeper"),
             ({"x": np.array(["s"])}, "not allowed"), ({"x": b"bytes"}, "bytes")]
    for tree, fragment in cases:
        with pytest.raises(CheckpointError, match=fragment):
            save_tree(tmp_path / "t.ckpt", tree)
    assert not (tmp_path / "t.ckpt").exists()


@pytest.mark.parametrize("meta, arrays, fragment", [
    ({"$array": "missing"}, {}, "invalid $array"),
    ({"$scalar": "x"}, {"x": entry(shape=(2,))}, "invalid $scalar"),
    ({"$int": "12"}, {}, "invalid $int"),
    ({"$float": "1.5"}, {}, "invalid $float"),
    ({"$bogus": 1}, {}, "unknown tag"),
    ({"$dict": {"0": 1}}, {}, "invalid $dict"),
    ({"$dict": [[0, 1], [0, 2]]}, {}, "invalid $dict"),
    ({"$dict": [[0.5, 1]]}, {}, "invalid $dict"),
    ({"a": {"$array": "x"}, "b": {"$array": "x"}}, {"x": entry()}, "referenced twice"),
    ({"epoch": 3}, {"x": entry()}, "not referenced"),
])
def test_inconsistent_tree_metadata_is_refused(tmp_path, meta, arrays, fragment):
    data = b"\0" * sum(spec["nbytes"] for spec in arrays.values())
    path = craft(tmp_path / "t.ckpt", {"meta": meta, "arrays": arrays}, data)
    load(path)  # a valid flat file...
    with pytest.raises(CheckpointError, match=re.escape(fragment)):  # ...but not a valid tree
        load_tree(path)


# ---------------------------------------------------------------- damaged and hostile files


def test_a_file_cut_at_every_offset_is_refused(tmp_path):
    path = tmp_path / "a.ckpt"
    save_tree(path, {"w": np.arange(6, dtype=np.float32), "b": np.ones(2, bool), "epoch": 1})
    whole = path.read_bytes()
    cut = tmp_path / "cut.ckpt"
    for length in range(len(whole)):
        cut.write_bytes(whole[:length])
        with pytest.raises(CheckpointError):
            load(cut)
        with pytest.raises(CheckpointError):
            load_tree(cut)


def test_missing_file_and_directory_are_refused(tmp_path):
    refused(tmp_path / "absent.ckpt", "No such file")
    with pytest.raises(CheckpointError, match="could not read"):
        load(tmp_path)


def test_wrong_magic_is_refused(tmp_path):
    path = craft(tmp_path / "a.ckpt", {"meta": None, "arrays": {}}, magic=b"SAFETENS")
    refused(path, "not a chainrule checkpoint", "SAFETENS")
    path = craft(tmp_path / "a.ckpt", {"meta": None, "arrays": {}}, magic=b"CHAINRL\x02")
    refused(path, "format version 2")


def test_header_length_beyond_the_file_is_refused(tmp_path):
    path = craft(tmp_path / "a.ckpt", {"meta": None, "arrays": {}}, header_bytes=10**6)
    refused(path, "header length 1000000", "exceeds")
    path = craft(tmp_path / "a.ckpt", {"meta": None, "arrays": {}}, header_bytes=2**64 - 1)
    refused(path, str(2**64 - 1), str(serialize.MAX_HEADER_BYTES))


def test_a_huge_shape_fails_fast_without_allocating(tmp_path):
    arrays = {"x": entry("float64", shape=(2**20, 2**20))}  # 2**40 elements, 8 TiB
    path = craft(tmp_path / "a.ckpt", {"meta": None, "arrays": arrays}, b"\0" * 64)
    tracemalloc.start()
    started = time.perf_counter()
    message = refused(path, "'x'", str(2**43), "64 bytes")
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 0.5 and peak < 1 << 20, (elapsed, peak, message)


def test_an_empty_array_numpy_cannot_index_is_refused(tmp_path):
    arrays = {"x": entry("float64", shape=(0, 2**62, 2**62))}
    path = craft(tmp_path / "a.ckpt", {"meta": None, "arrays": arrays})
    refused(path, "too large")


def test_overlapping_arrays_are_refused(tmp_path):
    arrays = {"a": entry(shape=(4,), offset=0), "b": entry(shape=(4,), offset=8)}
    path = craft(tmp_path / "a.ckpt", {"meta": None, "arrays": arrays}, b"\0" * 24)
    refused(path, "'a'", "'b'", "overlap", "[0, 16)", "[8, 24)")


def test_out_of_range_offsets_are_refused(tmp_path):
    arrays = {"a": entry(shape=(2,), offset=4)}
    path = craft(tmp_path / "a.ckpt", {"meta": None, "arrays": arrays}, b"\0" * 8)
    refused(path, "'a'", "[4, 12)", "only 8 bytes")
    arrays = {"a": entry(shape=(0,), offset=9)}
    path = craft(tmp_path / "a.ckpt", {"meta": None, "arrays": arrays}, b"")
    refused(path, "'a'", "[9, 9)")


def test_gaps_between_arrays_are_refused(tmp_path):
    arrays = {"a": entry(shape=(2,), offset=0), "b": entry(shape=(2,), offset=12)}
    path = craft(tmp_path / "a.ckpt", {"meta": None, "arrays": arrays}, b"\0" * 20)
    refused(path, "bytes [8, 12)", "no array")
    arrays = {"a": entry(shape=(2,), offset=4)}
    path = craft(tmp_path / "a.ckpt", {"meta": None, "arrays": arrays}, b"\0" * 12)
    refused(path, "bytes [0, 4)", "no array")


def test_trailing_garbage_is_refused(tmp_path):
    path = tmp_path / "a.ckpt"
    save(path, {"a": np.ones(2, np.float32)})
    path.write_bytes(path.read_bytes() + b"junk")
    refused(path, "4 bytes of trailing data")
    save(path, {})
    path.write_bytes(path.read_bytes() + b"\0")
    refused(path, "1 bytes of trailing data")


@pytest.mark.parametrize("dtype", ["object", "|O", "O", "<f4", "float128", "complex64", "V8",
                                   "<U4", 7, None, ["float32"]])
def test_dtypes_outside_the_allow_list_are_refused(tmp_path, dtype):
    arrays = {"x": {"dtype": dtype, "shape": [1], "offset": 0, "nbytes": 8}}
    path = craft(tmp_path / "a.ckpt", {"meta": None, "arrays": arrays}, b"\0" * 8)
    refused(path, "'x'", "field 'dtype'", repr(dtype), "allowed")


@pytest.mark.parametrize("raw, fragment", [
    (b'{"meta": null, "arrays": {}', "not valid UTF-8 JSON"),
    (b"", "not valid UTF-8 JSON"),
    (b'{"meta": "\xff", "arrays": {}}', "not valid UTF-8 JSON"),
    (b'{"meta": NaN, "arrays": {}}', "NaN is not JSON"),
    (b'{"meta": 1, "meta": 2, "arrays": {}}', "duplicate key 'meta'"),
    pytest.param(b'{"meta": ' + b"9" * 5000 + b', "arrays": {}}', "not valid UTF-8 JSON",
                 id="int-of-5000-digits"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, "not valid UTF-8 JSON", id="deep-nesting"),
])
def test_malformed_json_is_refused(tmp_path, raw, fragment):
    refused(craft(tmp_path / "a.ckpt", raw), fragment)


@pytest.mark.parametrize("header, fragment", [
    ([], "exactly the keys"),
    ({"arrays": {}}, "exactly the keys"),
    ({"meta": None, "arrays": {}, "extra": 1}, "exactly the keys"),
    ({"meta": None, "arrays": []}, "field 'arrays' must be an object"),
    ({"meta": None, "arrays": {"x": [1]}}, "exactly the fields"),
    ({"meta": None, "arrays": {"x": {**entry(), "extra": 0}}}, "exactly the fields"),
    ({"meta": None, "arrays": {"x": {**entry(), "shape": "2"}}}, "field 'shape' is '2'"),
    ({"meta": None, "arrays": {"x": {**entry(), "shape": [-2]}}}, "field 'shape' is [-2]"),
    ({"meta": None, "arrays": {"x": {**entry(), "shape": [2.0]}}}, "field 'shape' is [2.0]"),
    ({"meta": None, "arrays": {"x": {**entry(), "shape": [True, True]}}}, "field 'shape'"),
    ({"meta": None, "arrays": {"x": {**entry(), "shape": [1] * 65}}}, "at most 64"),
    ({"meta": None, "arrays": {"x": {**entry(), "offset": 0.0}}}, "field 'offset' is 0.0"),
    ({"meta": None, "arrays": {"x": {**entry(), "offset": -8}}}, "field 'offset' is -8"),
    ({"meta": None, "arrays": {"x": {**entry(), "offset": 2**64}}}, "field 'offset'"),
    ({"meta": None, "arrays": {"x": {**entry(), "nbytes": "8"}}}, "field 'nbytes' is '8'"),
    ({"meta": None, "arrays": {"x": {**entry(), "nbytes": 4}}}, "field 'nbytes' is 4 but shape"),
])
def test_json_of_the_wrong_types_is_refused(tmp_path, header, fragment):
    refused(craft(tmp_path / "a.ckpt", header, b"\0" * 8), fragment)


# ---------------------------------------------------------------- no pickle, ever


def test_numpy_pickle_files_are_refused(tmp_path):
    npy = tmp_path / "object.npy"
    np.save(npy, np.array([{"a": 1}, print], dtype=object), allow_pickle=True)
    refused(npy, "not a chainrule checkpoint")
    npz = tmp_path / "object.npz"
    np.savez(npz, x=np.array([None], dtype=object))
    refused(npz, "not a chainrule checkpoint")


def test_pickle_payloads_are_refused(tmp_path):
    payload = pickle.dumps({"weight": np.ones(3)})
    refused(tmp_path.joinpath("p.pkl"), "No such file")
    (tmp_path / "p.pkl").write_bytes(payload)
    refused(tmp_path / "p.pkl", "not a chainrule checkpoint")
    # The same payload inside a well-formed file, declared as an object array.
    arrays = {"x": {"dtype": "|O", "shape": [1], "offset": 0, "nbytes": len(payload)}}
    refused(craft(tmp_path / "a.ckpt", {"meta": None, "arrays": arrays}, payload), "'|O'")


def test_round_trips_never_touch_pickle_or_np_load(tmp_path, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("pickle or np.load was used")

    for module, name in [(pickle, "loads"), (pickle, "load"), (pickle, "dumps"), (pickle, "dump"),
                         (pickle, "Unpickler"), (np, "load"), (np.lib.format, "read_array")]:
        monkeypatch.setattr(module, name, forbidden)
    arrays = {"w": np.ones((2, 3), np.float32), "flag": np.array(True)}
    save(tmp_path / "a.ckpt", arrays, {"epoch": 1})
    loaded, meta = load(tmp_path / "a.ckpt")
    assert_same_arrays(loaded, arrays)
    assert meta == {"epoch": 1}
    save_tree(tmp_path / "t.ckpt", {"model": arrays, "step": np.int64(4), "loss": float("nan")})
    tree = load_tree(tmp_path / "t.ckpt")
    assert_same_arrays(tree["model"], arrays)
    assert tree["step"] == 4 and math.isnan(tree["loss"])
