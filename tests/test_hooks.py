"""Module hooks against PyTorch's: forward pre-hooks and hooks (changing inputs and outputs,
keyword arguments, order, removal) and full backward hooks (grad_input and grad_output, their
replacement, inputs that do not require grad, nested modules, fan-out), and the clear errors
where chainrule cannot give PyTorch's answer."""
import gc
import warnings
import weakref

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")

X = np.random.default_rng(0).normal(size=(4, 3))


def linear_pair(n_in=3, n_out=2):
    ours = nn.Linear(n_in, n_out, dtype="float64")
    theirs = torch.nn.Linear(n_in, n_out, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.detach().numpy()))
        theirs.bias.copy_(torch.tensor(ours.bias.detach().numpy()))
    return ours, theirs


def numpy(t):
    return None if t is None else t.detach().numpy()


def assert_same(a, b):
    assert (a is None) == (b is None)
    if a is not None:
        np.testing.assert_allclose(numpy(a), numpy(b), rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- forward hooks
def test_pre_hook_and_hook_change_input_and_output_as_torch():
    ours, theirs = linear_pair()
    for m in (ours, theirs):
        m.register_forward_pre_hook(lambda module, args: (args[0] * 2,))
        m.register_forward_hook(lambda module, args, output: output + args[0].sum())
    assert_same(ours(cr.tensor(X)), theirs(torch.tensor(X)))


def test_pre_hook_returning_a_single_value_wraps_it():
    ours, theirs = linear_pair()
    ours.register_forward_pre_hook(lambda m, args: args[0] * 0)
    theirs.register_forward_pre_hook(lambda m, args: args[0] * 0)
    assert_same(ours(cr.tensor(X)), theirs(torch.tensor(X)))


def test_hooks_with_kwargs():
    ours, theirs = linear_pair()
    seen = {}
    for name, m in (("ours", ours), ("theirs", theirs)):
        m.register_forward_pre_hook(lambda mod, args, kwargs: (args, kwargs), with_kwargs=True)
        def keywords(mod, args, kwargs, out, name=name):
            seen[name] = sorted(kwargs)
        m.register_forward_hook(keywords, with_kwargs=True)
    assert_same(ours(input=cr.tensor(X)), theirs(input=torch.tensor(X)))
    assert seen["ours"] == seen["theirs"] == ["input"]


def test_order_prepend_and_removal_as_torch():
    def record(m, log):
        handles = [m.register_forward_hook(lambda *a: log.append("first")),
                   m.register_forward_hook(lambda *a: log.append("second")),
                   m.register_forward_hook(lambda *a: log.append("prepended"), prepend=True),
                   m.register_forward_pre_hook(lambda *a: log.append("pre"))]
        m(X_of(m))
        handles[0].remove()
        handles[0].remove()  # a second remove does nothing, as torch
        m(X_of(m))
        with handles[1]:
            pass
        m(X_of(m))
        return log

    ours, theirs = linear_pair()
    assert record(ours, []) == record(theirs, [])


def X_of(module):
    return torch.tensor(X) if isinstance(module, torch.nn.Module) else cr.tensor(X)


def test_hooks_on_nested_modules_fire_in_torchs_order():
    def build(lib, log):
        model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU(),
                                  lib.nn.Sequential(lib.nn.Linear(4, 2), lib.nn.Tanh()))
        for name, m in model.named_modules():
            m.register_forward_pre_hook(lambda mod, a, name=name: log.append(("pre", name)))
            m.register_forward_hook(lambda mod, a, o, name=name: log.append(("post", name)))
            m.register_full_backward_hook(lambda mod, gi, go, name=name: log.append(("bw", name)))
        return model

    ours_log, theirs_log = [], []
    x, tx = cr.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    build(cr, ours_log)(x.float()).sum().backward()
    build(torch, theirs_log)(tx.float()).sum().backward()
    assert ours_log == theirs_log


def test_a_hook_that_is_not_callable_is_refused():
    with pytest.raises(TypeError, match="callable"):
        nn.ReLU().register_forward_hook(3)


# ---------------------------------------------------------------- full backward hooks
def backward_with_hooks(ours, theirs, x_requires_grad=True, replace=None):
    got = {}
    for name, m in (("ours", ours), ("theirs", theirs)):
        def hook(module, grad_input, grad_output, name=name):
            got[name] = (grad_input, grad_output)
            if replace is not None:
                return replace(grad_input)
        m.register_full_backward_hook(hook)
    x = cr.tensor(X, requires_grad=x_requires_grad)
    tx = torch.tensor(X, requires_grad=x_requires_grad)
    weights = np.arange(8.0).reshape(4, 2)
    (ours(x) * cr.tensor(weights)).sum().backward()
    (theirs(tx) * torch.tensor(weights)).sum().backward()
    return got, x, tx


def test_full_backward_hook_sees_torchs_grad_input_and_grad_output():
    got, x, tx = backward_with_hooks(*linear_pair())
    (gi, go), (tgi, tgo) = got["ours"], got["theirs"]
    assert len(gi) == len(tgi) == 1 and len(go) == len(tgo) == 1
    assert_same(gi[0], tgi[0])
    assert_same(go[0], tgo[0])
    assert_same(x.grad, tx.grad)


def test_full_backward_hook_can_replace_grad_input():
    got, x, tx = backward_with_hooks(*linear_pair(), replace=lambda gi: (gi[0] * 10 + 1,))
    assert_same(x.grad, tx.grad)
    assert not np.allclose(numpy(x.grad), numpy(got["ours"][0][0]))


def test_full_backward_hook_when_no_input_requires_grad():
    ours, theirs = linear_pair()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got, _, _ = backward_with_hooks(ours, theirs, x_requires_grad=False)
    (gi, go), (tgi, tgo) = got["ours"], got["theirs"]
    assert gi == tgi == (None,)
    assert_same(go[0], tgo[0])
    assert sum("no inputs require gradients" in str(w.message) for w in caught) == 2
    assert ours.weight.grad is not None


def test_grad_input_is_the_modules_share_not_the_inputs_total():
    ours, theirs = linear_pair()
    got = {}
    ours.register_full_backward_hook(lambda m, gi, go: got.setdefault("ours", gi))
    theirs.register_full_backward_hook(lambda m, gi, go: got.setdefault("theirs", gi))
    x, tx = cr.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    (ours(x).sum() + (x * 5).sum()).backward()  # x also used outside the module
    (theirs(tx).sum() + (tx * 5).sum()).backward()
    assert_same(got["ours"][0], got["theirs"][0])
    assert_same(x.grad, tx.grad)


def test_module_called_twice_fires_once_per_call():
    ours, theirs = linear_pair(3, 3)
    calls = {"ours": [], "theirs": []}
    ours.register_full_backward_hook(lambda m, gi, go: calls["ours"].append(numpy(gi[0])))
    theirs.register_full_backward_hook(lambda m, gi, go: calls["theirs"].append(numpy(gi[0])))
    x, tx = cr.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    (ours(ours(x)) ** 2).sum().backward()
    (theirs(theirs(tx)) ** 2).sum().backward()
    assert len(calls["ours"]) == len(calls["theirs"]) == 2
    for a, b in zip(calls["ours"], calls["theirs"]):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_a_hook_returning_the_wrong_number_of_gradients_raises():
    ours, _ = linear_pair()
    ours.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    with pytest.raises(nn.BackwardHookError, match="returned 2 gradients, expected 1"):
        ours(cr.tensor(X, requires_grad=True)).sum().backward()


def test_no_hook_fires_without_grad_and_removal_stops_it():
    ours, _ = linear_pair()
    fired = []
    handle = ours.register_full_backward_hook(lambda *a: fired.append(1))
    with cr.no_grad():
        out = ours(cr.tensor(X, requires_grad=True))
    assert not out.requires_grad and fired == []
    handle.remove()
    ours(cr.tensor(X, requires_grad=True)).sum().backward()
    assert fired == []


class TwoOutputs(nn.Module):
    def forward(self, x):
        return x * 2, x * 3


class TwoInputs(nn.Module):
    def forward(self, a, b):
        return a * b


def test_what_chainrule_cannot_hook_raises_clearly():
    m = TwoOutputs()
    m.register_full_backward_hook(lambda *a: None)
    with pytest.raises(nn.BackwardHookError, match="TwoOutputs returned a tuple"):
        m(cr.ones(2, requires_grad=True))
    m = TwoInputs()
    m.register_full_backward_hook(lambda *a: None)
    with pytest.raises(nn.BackwardHookError, match="TwoInputs was called with 2 tensor"):
        m(cr.ones(2, requires_grad=True), cr.ones(2))
    assert m(cr.ones(2), 3.0) is not None  # one tensor and a number: fine
    assert isinstance(nn.BackwardHookError("x"), RuntimeError)


def test_inplace_module_with_a_backward_hook_raises_as_torch():
    relu, trelu = nn.ReLU(inplace=True), torch.nn.ReLU(inplace=True)
    relu.register_full_backward_hook(lambda *a: None)
    trelu.register_full_backward_hook(lambda *a: None)
    with pytest.raises(RuntimeError):
        trelu(torch.tensor(X, requires_grad=True) * 1)
    with pytest.raises(nn.BackwardHookError, match="changed its input in place"):
        relu(cr.tensor(X, requires_grad=True) * 1)


def test_hooked_graph_is_freed_without_the_garbage_collector():
    ours, _ = linear_pair()
    ours.register_full_backward_hook(lambda *a: None)
    gc.disable()
    try:
        out = ours(cr.tensor(X, requires_grad=True))
        ref = weakref.ref(out)
        del out
        assert ref() is None
    finally:
        gc.enable()


def test_hooked_modules_and_inplace_activations_pass_central_differences():
    from chainrule.gradcheck import gradcheck, gradgradcheck
    layer = nn.Linear(3, 2, dtype="float64")
    layer.register_full_backward_hook(lambda m, grad_input, grad_output: None)
    layer.register_forward_hook(lambda m, args, output: output * 2)
    act = nn.ELU(alpha=0.7, inplace=True)

    def fn(x):
        return act(layer(x) * 1).sum()

    x = cr.tensor(X, requires_grad=True)
    assert gradcheck(fn, [x])
    assert gradgradcheck(fn, [x])


def test_full_backward_pre_hook_replaces_grad_output_as_torch():
    ours, theirs = linear_pair()
    seen = {}
    for name, m in (("ours", ours), ("theirs", theirs)):
        def pre(module, grad_output, name=name):
            seen[name] = grad_output
            return (grad_output[0] * 3 - 1,)
        m.register_full_backward_pre_hook(pre)
        def full(module, gi, go, name=name):
            seen[name + " go"] = go
        m.register_full_backward_hook(full)
    x, tx = cr.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    (ours(x) ** 2).sum().backward()
    (theirs(tx) ** 2).sum().backward()
    assert_same(seen["ours"][0], seen["theirs"][0])
    assert_same(seen["ours go"][0], seen["theirs go"][0])  # the full hook sees the replacement
    assert_same(x.grad, tx.grad)
    assert_same(ours.weight.grad, theirs.weight.grad)


def test_a_pre_hook_alone_works_with_several_tensor_inputs():
    m = TwoInputs()
    m.register_full_backward_pre_hook(lambda module, go: go[0] * 0)
    a, b = cr.ones(2, requires_grad=True), cr.ones(2, requires_grad=True)
    m(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 0.0])


def test_a_replacement_of_the_wrong_shape_is_refused():
    ours, _ = linear_pair()
    ours.register_full_backward_hook(lambda m, gi, go: (cr.ones(2, 2),))
    with pytest.raises(nn.BackwardHookError, match=r"shape \(2, 2\).*\(4, 3\)"):
        ours(cr.tensor(X, requires_grad=True)).sum().backward()
