"""cr.save/cr.load: what torch.save/torch.load(weights_only=True) round-trip, without pickle, in
the checksummed format; everything else refused when saving."""
import collections
import json
import math
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import CheckpointError
from chainrule.serialize import load as load_arrays


def round_trip(obj, tmp_path, name="obj.pt"):
    path = tmp_path / name
    cr.save(obj, path)
    return cr.load(path)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int8", "int16", "int32",
                                   "int64", "uint8", "bool"])
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 0, 3), (2, 3, 4)])
def test_a_tensor_keeps_dtype_shape_and_values(dtype, shape, tmp_path):
    values = np.random.default_rng(0).standard_normal(shape) * 50
    array = values.astype(dtype)
    loaded = round_trip(cr.tensor(array), tmp_path)
    assert isinstance(loaded, cr.Tensor) and loaded.dtype == np.dtype(dtype)
    assert tuple(loaded.shape) == shape and not loaded.requires_grad
    np.testing.assert_array_equal(loaded.numpy(), array)


def test_views_and_non_contiguous_tensors_save_their_values(tmp_path):
    base = cr.arange(24.0).reshape(2, 3, 4)
    for view in (base.transpose(0, 2), base[:, 1], base[..., ::2]):
        np.testing.assert_array_equal(round_trip(view, tmp_path).numpy(), view.numpy())


def test_edge_values_survive(tmp_path):
    values = cr.tensor([0.0, -0.0, math.inf, -math.inf, math.nan, 1e-45, 3.4e38])
    loaded = round_trip(values, tmp_path).numpy()
    np.testing.assert_array_equal(loaded, values.numpy())
    assert np.signbit(loaded[1])
    scalars = [0, -1, 2**53 + 1, -(2**70), 1.5, -0.0, math.inf, -math.inf, True, False, None,
               "", "ünïcode ✓", "$tensor"]
    back = round_trip(scalars, tmp_path)
    assert back == scalars and [type(v) for v in back] == [type(v) for v in scalars]
    assert math.copysign(1, back[5]) == -1
    assert math.isnan(round_trip(math.nan, tmp_path))


def test_containers_keep_their_types_and_keys(tmp_path):
    obj = {"tuple": (1, (2.5, "x")), "list": [[], [None]], 3: "int key", 2.5: "float key",
           None: "none key", True: "bool key", "od": collections.OrderedDict([("b", 1), ("a", 2)]),
           "$escaped": {"$dict": [1]}, "size": cr.zeros(2, 3).shape, "dtype": cr.float16,
           "device": cr.device("cpu")}
    back = round_trip(obj, tmp_path)
    assert back == obj
    assert list(back) == list(obj)
    assert type(back["tuple"]) is tuple and type(back["tuple"][1]) is tuple
    assert type(back["od"]) is collections.OrderedDict and list(back["od"]) == ["b", "a"]
    assert type(back["size"]) is type(obj["size"])
    assert back["dtype"] == np.float16


def test_numpy_values_come_back_as_numpy(tmp_path):
    obj = {"array": np.arange(6, dtype=np.int32).reshape(2, 3), "scalar": np.float32(2.5)}
    back = round_trip(obj, tmp_path)
    assert type(back["array"]) is np.ndarray and back["array"].dtype == np.int32
    np.testing.assert_array_equal(back["array"], obj["array"])
    assert type(back["scalar"]) is np.float32 and back["scalar"] == 2.5


def test_state_dicts_round_trip_and_load_into_a_model(tmp_path):
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.ReLU(), cr.nn.Linear(4, 2))
    optimizer = cr.optim.Adam(model.parameters(), lr=0.01)
    model(cr.randn(5, 3)).sum().backward()
    optimizer.step()
    cr.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()},
            tmp_path / "ckpt.pt")
    checkpoint = cr.load(tmp_path / "ckpt.pt", map_location="cpu")
    cr.manual_seed(1)
    fresh = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.ReLU(), cr.nn.Linear(4, 2))
    fresh.load_state_dict(checkpoint["model"])
    for (name, a), (_, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=name)
    fresh_optimizer = cr.optim.Adam(fresh.parameters(), lr=0.5)
    fresh_optimizer.load_state_dict(checkpoint["optimizer"])
    assert fresh_optimizer.param_groups[0]["lr"] == 0.01


def test_parameters_and_requires_grad_survive(tmp_path):
    weight = cr.nn.Parameter(cr.ones(2, 2))
    leaf = cr.tensor([1.0, 2.0], requires_grad=True)
    back = round_trip({"w": weight, "leaf": leaf, "detached": leaf.detach()}, tmp_path)
    assert isinstance(back["w"], cr.nn.Parameter) and back["w"].requires_grad
    assert back["leaf"].requires_grad and back["leaf"].grad is None
    assert not back["detached"].requires_grad


def test_a_tensor_saved_twice_comes_back_as_one(tmp_path):
    t = cr.tensor([1.0, 2.0])
    back = round_trip({"a": t, "b": [t]}, tmp_path)
    assert back["a"] is back["b"][0]
    twin = round_trip([t, t.clone()], tmp_path)
    assert twin[0] is not twin[1]


def test_loaded_tensors_own_their_memory(tmp_path):
    t = cr.tensor([1.0, 2.0])
    back = round_trip(t, tmp_path)
    back[0] = 5.0
    assert t.tolist() == [1.0, 2.0]


class NotAllowed:
    pass


@pytest.mark.parametrize("obj, where", [
    (NotAllowed(), "NotAllowed at obj"),
    ({"model": cr.nn.Linear(2, 2)}, r"Linear at obj\['model'\].*state_dict"),
    ([1, {2}], r"set at obj\[1\]"),
    ({(1, 2): 3}, "tuple at a key of obj"),
    ({cr.tensor(1.0): 3}, "Tensor at a key of obj"),
    (lambda: 0, "function at obj"),
    (1 + 2j, "complex at obj"),
    (np.array(["a"]), "dtype <U1 is not allowed"),
    (np.array([object()]), "object"),
    (b"bytes", "bytes at obj"),
    ({"rng": cr.Generator()}, r"Generator at obj\['rng'\].*get_state"),
])
def test_anything_else_is_refused_with_where_it_is(obj, where, tmp_path):
    path = tmp_path / "refused.pt"
    path.write_bytes(b"the previous file")
    with pytest.raises(CheckpointError, match=where):
        cr.save(obj, path)
    assert path.read_bytes() == b"the previous file"  # atomic: nothing half-written


def test_a_container_that_holds_itself_is_refused(tmp_path):
    loop = []
    loop.append(loop)
    with pytest.raises(CheckpointError, match="contains itself"):
        cr.save(loop, tmp_path / "loop.pt")


def test_the_file_is_the_checksummed_format_and_damage_is_caught(tmp_path):
    path = tmp_path / "model.pt"
    cr.save({"w": cr.ones(4)}, path)
    arrays, meta = load_arrays(path)  # an ordinary chainrule file: arrays plus JSON metadata
    assert meta["format"] == "chainrule.save"
    json.dumps(meta)
    raw = bytearray(path.read_bytes())
    raw[-40] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="model.pt"):
        cr.load(path)


def test_load_refuses_files_of_other_writers_and_bad_headers(tmp_path):
    cr.serialize.save_tree(tmp_path / "tree.crt", {"a": np.ones(2)})
    with pytest.raises(CheckpointError, match="not a file written by cr.save"):
        cr.load(tmp_path / "tree.crt")
    for bad in ({"$tensor": "9", "requires_grad": False, "parameter": False}, {"$nope": 1},
                {"$dict": [[{"$tuple": [1]}, 2]]}, {"$int": "zz"}, {"$same": "3"}):
        cr.serialize.save(tmp_path / "bad.pt", {},
                          {"format": "chainrule.save", "version": 1, "object": bad})
        with pytest.raises(CheckpointError, match="invalid entry"):
            cr.load(tmp_path / "bad.pt")


def test_map_location_weights_only_and_paths(tmp_path):
    path = tmp_path / "x.pt"
    cr.save(cr.ones(2), str(path))
    for location in (None, "cpu", cr.device("cpu"), {"cuda:0": "cpu"}):
        assert cr.load(path, map_location=location).tolist() == [1.0, 1.0]
    assert cr.load(os.fspath(path), weights_only=False).tolist() == [1.0, 1.0]
    with pytest.raises(RuntimeError, match="CPU only"):
        cr.load(path, map_location="cuda")
    with pytest.raises(TypeError, match="pickle"):
        cr.load(path, pickle_module=json)
    # PyTorch's idioms for "onto the CPU": a function of (storage, location).
    seen = []
    kept = cr.load(path, map_location=lambda storage, loc: seen.append(loc) or storage)
    assert kept.tolist() == [1.0, 1.0] and seen == ["cpu"]
    assert cr.load(path, map_location=lambda storage, loc: None).tolist() == [1.0, 1.0]
    with pytest.raises(RuntimeError, match="CPU only"):
        cr.load(path, map_location=lambda storage, loc: storage.cuda())
    with pytest.raises(TypeError, match="must return the tensor"):
        cr.load(path, map_location=lambda storage, loc: "elsewhere")
    with pytest.raises(TypeError, match="path"):
        cr.save(cr.ones(2), open(tmp_path / "f.pt", "wb"))


def test_torch_and_chainrule_agree_on_what_weights_only_loads(tmp_path):
    torch = pytest.importorskip("torch")
    allowed = {"w": torch.ones(2, 3), "step": 3, "lr": 0.1, "name": "net", "flag": None,
               "nested": [(1, 2.5), {"k": True}], 7: "int key"}
    torch.save(allowed, tmp_path / "t.pt")
    theirs = torch.load(tmp_path / "t.pt", weights_only=True)
    ours = round_trip({k: (cr.tensor(v.numpy()) if isinstance(v, torch.Tensor) else v)
                       for k, v in allowed.items()}, tmp_path)
    assert list(ours) == list(theirs)
    for key in theirs:
        if key == "w":
            np.testing.assert_array_equal(ours[key].numpy(), theirs[key].numpy())
        else:
            assert ours[key] == theirs[key] and type(ours[key]) is type(theirs[key])
    torch.save({"model": torch.nn.Linear(2, 2)}, tmp_path / "module.pt")
    with pytest.raises(Exception):
        torch.load(tmp_path / "module.pt", weights_only=True)
    with pytest.raises(CheckpointError, match="weights_only"):
        cr.save({"model": cr.nn.Linear(2, 2)}, tmp_path / "module.pt")


def test_a_file_from_torch_save_is_refused_with_the_way_to_convert_it(tmp_path):
    torch = pytest.importorskip("torch")
    for legacy in (False, True):
        path = tmp_path / f"torch-{legacy}.pt"
        torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=not legacy)
        with pytest.raises(CheckpointError, match="torch.save.*torch.load"):
            cr.load(path)
