"""More of PyTorch's Module API: get_parameter/get_buffer/set_submodule, extra state, the
state-dict and load hooks (call order and arguments against torch.nn), type/to_empty/
share_memory, and the refusals (bfloat16, the deprecated register_backward_hook)."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")


def pair():
    """The same tree in both libraries: a Linear and a BatchNorm inside a Sequential."""
    return (nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.BatchNorm1d(3))),
            torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sequential(torch.nn.BatchNorm1d(3))))


def test_get_parameter_and_buffer_as_pytorch():
    ours, theirs = pair()
    assert ours.get_parameter("0.bias").shape == tuple(theirs.get_parameter("0.bias").shape)
    assert ours.get_parameter("0.bias") is ours[0].bias
    assert ours.get_buffer("1.0.running_var") is ours[1][0].running_var
    for target in ["0.nothing", "0.weight", "9.weight", "1.0.running_mean"]:
        for library in (ours, theirs):
            get = library.get_buffer if target == "0.weight" else library.get_parameter
            with pytest.raises(AttributeError):
                get(target)


def test_set_submodule_replaces_and_adds_as_pytorch():
    for library, model in zip((nn, torch.nn), pair()):
        model.set_submodule("1.0", library.ReLU())
        model.set_submodule("1.extra", library.Tanh())
        assert [type(m).__name__ for m in model.modules()] == [
            "Sequential", "Linear", "Sequential", "ReLU", "Tanh"]
        with pytest.raises(AttributeError):
            model.set_submodule("1.missing", library.ReLU(), strict=True)
        with pytest.raises(ValueError):
            model.set_submodule("", library.ReLU())
        with pytest.raises(ValueError):
            model.set_submodule("0", 3)
        with pytest.raises(AttributeError):
            model.set_submodule("0.weight", library.ReLU())
    ours = pair()[0]
    ours.set_submodule("0", nn.Linear(2, 5))
    assert [n for n, _ in ours.named_parameters()][:2] == ["0.weight", "0.bias"]
    assert ours[0].out_features == 5


def extra_class(base):
    class Counter(base):
        def __init__(self):
            super().__init__()
            self.steps = 0

        def get_extra_state(self):
            return {"steps": self.steps}

        def set_extra_state(self, state):
            self.steps = state["steps"]

        def forward(self, x):
            return x
    return Counter


def test_extra_state_is_saved_and_loaded_as_pytorch():
    ours = nn.Sequential(nn.Linear(2, 2), extra_class(nn.Module)())
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 2), extra_class(torch.nn.Module)())
    ours[1].steps = theirs[1].steps = 5
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.state_dict()["1._extra_state"] == {"steps": 5}
    fresh = nn.Sequential(nn.Linear(2, 2), extra_class(nn.Module)())
    fresh.load_state_dict(ours.state_dict())
    assert fresh[1].steps == 5
    state = {k: v for k, v in ours.state_dict().items() if k != "1._extra_state"}
    with pytest.raises(nn.StateDictError, match="_extra_state"):
        fresh.load_state_dict(state)
    assert fresh.load_state_dict(state, strict=False).missing_keys == ["1._extra_state"]
    their_keys = theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in state.items()},
                                        strict=False)
    assert their_keys.missing_keys == ["1._extra_state"]
    # a module without extra state finds the key unexpected, as PyTorch's
    with pytest.raises(nn.StateDictError, match="unexpected"):
        nn.Linear(2, 2).load_state_dict({**nn.Linear(2, 2).state_dict(), "_extra_state": 1})
    with pytest.raises(RuntimeError):
        nn.Linear(2, 2).get_extra_state()


def record_hooks(model, log):
    handles = []
    for path, module in model.named_modules():
        handles.append(module.register_state_dict_pre_hook(
            lambda m, prefix, keep, path=path: log.append(("pre", path, prefix, keep))))
        handles.append(module.register_state_dict_post_hook(
            lambda m, state, prefix, meta, path=path: log.append(
                ("post", path, prefix, sorted(state)))))
        handles.append(module.register_load_state_dict_pre_hook(
            lambda m, state, prefix, meta, strict, missing, unexpected, errors, path=path:
            log.append(("load_pre", path, prefix, strict, sorted(state)))))
        handles.append(module.register_load_state_dict_post_hook(
            lambda m, keys, path=path: log.append(
                ("load_post", path, list(keys.missing_keys), list(keys.unexpected_keys)))))
    return handles


def test_state_dict_and_load_hooks_are_called_as_pytorch():
    ours, theirs = pair()
    logs = [], []
    handles = record_hooks(ours, logs[0]), record_hooks(theirs, logs[1])
    for model in (ours, theirs):
        model.state_dict(keep_vars=True)
    assert logs[0] == logs[1]
    assert [entry[:2] for entry in logs[0]][:3] == [("pre", ""), ("pre", "0"), ("post", "0")]
    for log in logs:
        log.clear()
    ours.load_state_dict(ours.state_dict())
    theirs.load_state_dict(theirs.state_dict())
    # Each kind in PyTorch's order; chainrule runs every pre-hook before it copies anything,
    # where PyTorch interleaves them with each submodule's post-hooks.
    for kind in ("load_pre", "load_post"):
        ours_kind = [e for e in logs[0] if e[0] == kind]
        assert ours_kind == [e for e in logs[1] if e[0] == kind] and len(ours_kind) == 4
    for library_handles in handles:
        for handle in library_handles:
            handle.remove()
    for log in logs:
        log.clear()
    ours.state_dict()
    ours.load_state_dict(ours.state_dict())
    assert logs[0] == []


def test_a_state_dict_post_hook_edits_in_place_and_must_return_none():
    m = nn.Linear(2, 1)
    handle = m.register_state_dict_post_hook(lambda module, state, prefix, meta: state)
    with pytest.raises(RuntimeError, match="must return None"):
        m.state_dict()
    handle.remove()
    m.register_state_dict_post_hook(
        lambda module, state, prefix, meta: state.__setitem__(prefix + "scale", cr.ones(1)))
    assert list(m.state_dict(prefix="fc.")) == ["fc.weight", "fc.bias", "fc.scale"]


def test_load_pre_hook_renames_old_keys_and_reports_errors():
    m = nn.Sequential(nn.Linear(1, 1))
    source = {"0.weight": cr.full((1, 1), 3.0), "0.b": cr.full((1,), 4.0)}

    def rename(module, state, prefix, meta, strict, missing, unexpected, errors):
        if prefix + "b" in state:
            state[prefix + "bias"] = state.pop(prefix + "b")
    m[0].register_load_state_dict_pre_hook(rename)
    m.load_state_dict(source)
    assert float(m[0].bias) == 4.0
    assert list(source) == ["0.weight", "0.b"]  # the caller's dict is not changed
    m[0].register_load_state_dict_pre_hook(
        lambda module, state, *rest: rest[-1].append("too old"))
    with pytest.raises(nn.StateDictError, match="too old"):
        m.load_state_dict(source)


def test_load_post_hook_can_clear_the_keys_of_a_strict_load():
    for library in (nn, torch.nn):
        m = library.Linear(1, 1)
        handle = m.register_load_state_dict_post_hook(lambda module, keys: keys.missing_keys.clear())
        weight = np.full((1, 1), 2.0, dtype=np.float32)
        value = cr.tensor(weight) if library is nn else torch.tensor(weight)
        assert tuple(m.load_state_dict({"weight": value})) == ([], [])
        assert float(m.weight.detach().numpy()[0, 0]) == 2.0
        handle.remove()
        with pytest.raises(RuntimeError, match="[Mm]issing"):
            m.load_state_dict({"weight": value})
        m.register_load_state_dict_post_hook(lambda module, keys: 1)
        with pytest.raises((RuntimeError, AssertionError)):
            m.load_state_dict(m.state_dict())


def test_type_casts_every_tensor_as_pytorch():
    ours, theirs = pair()
    ours.type(cr.float64)
    theirs.type(torch.float64)
    assert [str(t.dtype) for t in ours.state_dict().values()] == \
        [str(t.dtype).replace("torch.", "") for t in theirs.state_dict().values()]
    with pytest.raises(TypeError):
        ours.type(cr.int64)
    assert ours[0].weight.dtype == np.float64  # the refusal changed nothing
    layer = nn.Linear(2, 1)
    layer(cr.ones(1, 2)).sum().backward()
    assert layer.type(cr.float64) is layer and layer.weight.grad.dtype == np.float64
    out = layer(cr.ones(1, 2, dtype=cr.float64))
    out.sum().backward()


def test_to_empty_keeps_objects_shapes_and_dtypes():
    ours = pair()[0]
    weight = ours[0].weight
    before = {k: (v.shape, v.dtype) for k, v in ours.state_dict().items()}
    assert ours.to_empty(device="cpu") is ours
    assert ours[0].weight is weight
    assert {k: (v.shape, v.dtype) for k, v in ours.state_dict().items()} == before
    assert not np.shares_memory(weight.detach().numpy(), pair()[0][0].weight.detach().numpy())
    with pytest.raises(cr.DeviceError if hasattr(cr, "DeviceError") else Exception):
        ours.to_empty(device="cuda")
    with pytest.raises(TypeError):
        ours.to_empty("cpu")


def test_share_memory_bfloat16_and_the_deprecated_backward_hook():
    m = nn.Linear(2, 1)
    assert m.share_memory() is m
    with pytest.raises(cr.errors.DtypeError, match="bfloat16"):
        m.bfloat16()
    assert m.weight.dtype == np.float32
    with pytest.raises(RuntimeError, match="register_full_backward_hook"):
        m.register_backward_hook(lambda *args: None)
