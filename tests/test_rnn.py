"""nn.RNN/LSTM/GRU and their cells against PyTorch with the weights copied from the torch
module: outputs, final states, every parameter's gradient and the input's (backprop through
time by autograd); central differences on small float64 cells; init bounds; refusals."""
import itertools
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.interop.onnx_export import ExportError

torch = pytest.importorskip("torch")

KINDS = {"rnn_tanh": ("RNN", {"nonlinearity": "tanh"}),
         "rnn_relu": ("RNN", {"nonlinearity": "relu"}), "lstm": ("LSTM", {}), "gru": ("GRU", {})}
INPUT, HIDDEN, STEPS, BATCH = 3, 5, 4, 2


def pair(kind, dtype, cell=False, **options):
    name, extra = KINDS[kind]
    name += "Cell" if cell else ""
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(INPUT, HIDDEN, **extra, **options)
    theirs = theirs.double() if dtype == np.float64 else theirs
    ours = getattr(nn, name)(INPUT, HIDDEN, **extra, **options, dtype=dtype)
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def flat(outputs):
    """(output, h_n) or (output, (h_n, c_n)) or a cell's h or (h, c), as a flat list."""
    if not isinstance(outputs, tuple):
        return [outputs]
    return [t for o in outputs for t in flat(o)]


def run_both(ours, theirs, arrays):
    """Run each module on the same arrays (input first, then the states), backward the same
    random upstream gradients through every output; returns (ours, theirs), each a list of
    the outputs, then the gradients of the inputs, then those of the parameters."""
    rng = np.random.default_rng(7)
    results = []
    for module, make in ((ours, lambda a: cr.tensor(a, requires_grad=True)),
                         (theirs, lambda a: torch.tensor(a, requires_grad=True))):
        inputs = [make(a.copy()) for a in arrays]
        states = None if len(inputs) == 1 else (inputs[1] if len(inputs) == 2 else
                                                tuple(inputs[1:]))
        outputs = flat(module(inputs[0], states))
        seed = rng.bit_generator.state
        total = 0
        for out in outputs:
            upstream = rng.standard_normal(tuple(out.shape)).astype(arrays[0].dtype)
            upstream = cr.tensor(upstream) if module is ours else torch.tensor(upstream)
            total = total + (out * upstream).sum()
        rng.bit_generator.state = seed
        total.backward()
        grads = [i.grad for i in inputs] + [p.grad for _, p in module.named_parameters()]
        results.append([o.detach().numpy() for o in outputs] + [g.numpy() for g in grads])
    names = [n for n, _ in ours.named_parameters()]
    assert names == [n for n, _ in theirs.named_parameters()]
    return results


def assert_same(ours, theirs, dtype):
    tol = 2e-5 if dtype == np.float32 else 1e-11
    assert len(ours) == len(theirs)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        assert a.shape == b.shape, k
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=f"item {k}")


def state_arrays(kind, shape, dtype, rng):
    count = 2 if kind == "lstm" else 1
    return [rng.standard_normal(shape).astype(dtype) for _ in range(count)]


CASES = [dict(kind=kind, layers=layers, bidirectional=bidirectional, layout=layout,
              with_states=with_states, dtype=dtype)
         for kind, layers, bidirectional, layout, with_states, dtype in itertools.product(
             KINDS, (1, 2), (False, True), ("seq_first", "batch_first", "unbatched"),
             (False, True), (np.float32, np.float64))]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(
    str(getattr(v, "__name__", v)) for v in c.values()))
def test_sequence_modules_as_torch(case):
    kind, layers, dtype = case["kind"], case["layers"], case["dtype"]
    ours, theirs = pair(kind, dtype, num_layers=layers, bidirectional=case["bidirectional"],
                        batch_first=case["layout"] == "batch_first")
    rng = np.random.default_rng(1)
    shape = {"seq_first": (STEPS, BATCH, INPUT), "batch_first": (BATCH, STEPS, INPUT),
             "unbatched": (STEPS, INPUT)}[case["layout"]]
    arrays = [rng.standard_normal(shape).astype(dtype)]
    if case["with_states"]:
        count = layers * (2 if case["bidirectional"] else 1)
        state_shape = (count, HIDDEN) if case["layout"] == "unbatched" else (count, BATCH, HIDDEN)
        arrays += state_arrays(kind, state_shape, dtype, rng)
    assert_same(*run_both(ours, theirs, arrays), dtype)


@pytest.mark.parametrize("kind", KINDS)
def test_dropout_between_layers_is_the_identity_in_eval_mode(kind):
    ours, theirs = pair(kind, np.float64, num_layers=2, dropout=0.5)
    ours.eval(), theirs.eval()
    x = np.random.default_rng(2).standard_normal((STEPS, BATCH, INPUT))
    assert_same(*run_both(ours, theirs, [x]), np.float64)


@pytest.mark.parametrize("kind", KINDS)
def test_dropout_between_layers_in_training(kind):
    ours, _ = pair(kind, np.float64, num_layers=2, dropout=0.5)
    x = cr.tensor(np.random.default_rng(2).standard_normal((STEPS, BATCH, INPUT)))
    first, second = flat(ours(x))[0].detach(), flat(ours(x))[0].detach()
    assert not np.allclose(first.numpy(), second.numpy())  # a fresh mask each call
    with pytest.warns(UserWarning, match="dropout"):  # nothing between layers, as torch warns
        single, _ = pair(kind, np.float64, num_layers=1, dropout=0.5)
    assert np.array_equal(flat(single(x))[0].detach().numpy(), flat(single(x))[0].detach().numpy())


@pytest.mark.parametrize("kind, batched, with_state, dtype", itertools.product(
    KINDS, (True, False), (False, True), (np.float32, np.float64)))
def test_cells_as_torch(kind, batched, with_state, dtype):
    ours, theirs = pair(kind, dtype, cell=True)
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((BATCH, INPUT) if batched else (INPUT,)).astype(dtype)]
    if with_state:
        arrays += state_arrays(kind, (BATCH, HIDDEN) if batched else (HIDDEN,), dtype, rng)
    assert_same(*run_both(ours, theirs, arrays), dtype)


@pytest.mark.parametrize("kind", KINDS)
def test_without_bias_as_torch(kind):
    ours, theirs = pair(kind, np.float64, bias=False, num_layers=2, bidirectional=True)
    assert all("bias" not in n for n, _ in ours.named_parameters())
    x = np.random.default_rng(4).standard_normal((STEPS, BATCH, INPUT))
    assert_same(*run_both(ours, theirs, [x]), np.float64)
    ours, theirs = pair(kind, np.float64, cell=True, bias=False)
    assert_same(*run_both(ours, theirs, [x[0]]), np.float64)


@pytest.mark.parametrize("kind", KINDS)
def test_cells_gradcheck_and_gradgradcheck(kind):
    name, extra = KINDS[kind]
    cr.manual_seed(0)
    cell = getattr(nn, name + "Cell")(2, 3, **extra, dtype="float64")
    rng = np.random.default_rng(5)
    x, h, c = (cr.tensor(rng.standard_normal(shape), requires_grad=True)
               for shape in ((2, 2), (2, 3), (2, 3)))
    w_ih, w_hh = (cr.tensor(p.detach().numpy().copy(), requires_grad=True)
                  for p in (cell.weight_ih, cell.weight_hh))

    def through_module(x, h, c):
        out = cell(x, (h, c) if kind == "lstm" else h)
        return out[0] * 2 + out[1] if kind == "lstm" else out

    assert cr.gradcheck(through_module, (x, h, c))
    assert cr.gradgradcheck(through_module, (x, h, c))
    weights = (x, h, c, w_ih, w_hh)
    assert cr.gradcheck(lambda *a: _with_weights(cell, kind, *a), weights)
    assert cr.gradgradcheck(lambda *a: _with_weights(cell, kind, *a), weights)


def _with_weights(cell, kind, x, h, c, w_ih, w_hh):
    """The cell's step written with the given weights as graph inputs, through the same
    step function the module uses."""
    from chainrule.nn.recurrent import STEPS as steps
    projected = x @ w_ih.T + cell.bias_ih
    out = steps[cell.mode](projected, (h, c) if kind == "lstm" else h, w_hh, cell.bias_hh)
    return out[0] * 2 + out[1] if kind == "lstm" else out


def test_sequence_gradcheck_float64():
    cr.manual_seed(0)
    lstm = nn.LSTM(2, 2, num_layers=2, bidirectional=True, dtype="float64")
    x = cr.tensor(np.random.default_rng(6).standard_normal((3, 1, 2)), requires_grad=True)
    assert cr.gradcheck(lambda x: lstm(x)[0], (x,))
    gru = nn.GRU(2, 2, dtype="float64")
    assert cr.gradgradcheck(lambda x: gru(x)[1], (x,))


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"])
def test_default_init_bounds_as_torch(name):
    hidden = 16
    bound = 1 / np.sqrt(hidden)
    cr.manual_seed(0)
    draws = np.concatenate([p.detach().numpy().ravel() for _ in range(20)
                            for p in getattr(nn, name)(8, hidden).parameters()])
    torch.manual_seed(0)
    theirs = np.concatenate([p.detach().numpy().ravel() for _ in range(20)
                             for p in getattr(torch.nn, name)(8, hidden).parameters()])
    assert draws.shape == theirs.shape
    assert draws.dtype == np.float32
    assert np.abs(draws).max() <= bound and np.abs(theirs).max() <= bound
    assert np.abs(draws).max() > 0.99 * bound  # the whole interval is used
    assert abs(draws.mean()) < 0.01 and abs(draws.std() - bound / np.sqrt(3)) < 0.01


def test_parameter_layout_and_repr_as_torch():
    ours, theirs = pair("lstm", np.float32, num_layers=2, bidirectional=True, batch_first=True,
                        dropout=0.5, bias=False)
    for (name, p), (their_name, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == their_name and tuple(p.shape) == tuple(q.shape)
        assert p.detach().numpy().flags.c_contiguous
    assert repr(ours) == repr(theirs)
    for kind in KINDS:
        for cell in (False, True):
            assert repr(pair(kind, np.float32, cell=cell)[0]) == repr(pair(kind, np.float32,
                                                                           cell=cell)[1])


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: nn.LSTM(3, 5)(cr.zeros(4, 2, 6)), RuntimeError,
     "LSTM: input.size(-1) must be equal to input_size: expected 3, got 6"),
    (lambda: nn.GRU(3, 5)(cr.zeros(1, 4, 2, 3)), ValueError,
     "GRU: expected input to be 2-D or 3-D"),
    (lambda: nn.RNN(3, 5, num_layers=2)(cr.zeros(4, 2, 3), cr.zeros(1, 2, 5)), RuntimeError,
     "RNN: expected h_0 of size (2, 2, 5), got (1, 2, 5)"),
    (lambda: nn.LSTM(3, 5)(cr.zeros(4, 3), (cr.zeros(1, 2, 5), cr.zeros(1, 2, 5))), RuntimeError,
     "LSTM: for unbatched 2-D input, hx must also be 2-D"),
    (lambda: nn.GRUCell(3, 5)(cr.zeros(2, 4)), RuntimeError,
     "GRUCell: input has inconsistent input_size: got 4, expected 3"),
    (lambda: nn.LSTMCell(3, 5)(cr.zeros(2, 3), (cr.zeros(3, 5), cr.zeros(3, 5))), RuntimeError,
     "LSTMCell: hidden state has shape (3, 5), expected (2, 5)"),
    (lambda: nn.RNNCell(3, 5)(cr.zeros(1, 2, 3)), ValueError, "RNNCell: expected input to be 1-D"),
    (lambda: nn.LSTM(3, 5, proj_size=5), ValueError, "proj_size (5) has to be smaller"),
    (lambda: nn.LSTM(3, 5)(cr.zeros(4, 2, 3, dtype=cr.float64)), TypeError,
     "LSTM: input and state dtype float64 does not match the weights' float32"),
    (lambda: nn.GRUCell(3, 5)(cr.zeros(2, 3), cr.zeros(2, 5, dtype=cr.float64)), TypeError,
     "GRUCell: input and state dtype float64 does not match the weights' float32"),
    (lambda: nn.RNN(3, 5, nonlinearity="sigmoid"), ValueError, "unknown nonlinearity"),
])
def test_errors_name_the_module_and_shapes(call, error, fragment):
    with pytest.raises(error) as caught:
        call()
    assert fragment in str(caught.value)


def test_backprop_through_time_reaches_the_first_step():
    cr.manual_seed(0)
    rnn = nn.RNN(2, 3, dtype="float64")
    x = cr.tensor(np.random.default_rng(0).standard_normal((6, 1, 2)), requires_grad=True)
    rnn(x)[0][-1].sum().backward()  # only the last output
    assert np.abs(x.grad.numpy()[0]).sum() > 0  # reached t = 0 through the recurrence


def test_from_torch_and_to_torch_round_trip():
    from interop_cases import recurrent
    torch.manual_seed(0)
    rng = np.random.default_rng(8)
    for theirs in recurrent(torch.nn)[1:]:
        theirs = theirs.double().eval()
        ours = cr.interop.from_torch(theirs)
        assert type(ours).__name__ == type(theirs).__name__ and repr(ours) == repr(theirs)
        assert not ours.training
        batch_first = getattr(theirs, "batch_first", False)
        shape = (2, 3, 4) if batch_first or "Cell" in type(theirs).__name__ else (3, 2, 4)
        x = rng.standard_normal(shape[1:] if "Cell" in type(theirs).__name__ else shape)
        assert_same(*run_both(ours, theirs, [x]), np.float64)
        back = cr.interop.to_torch(ours)
        assert str(back) == str(theirs)
        for name, value in theirs.state_dict().items():
            assert torch.equal(back.state_dict()[name], value), name


def test_proj_size_comes_across_from_torch():
    converted = cr.interop.from_torch(torch.nn.LSTM(4, 3, proj_size=2))
    assert converted.proj_size == 2 and tuple(converted.weight_hr_l0.shape) == (2, 3)


# Alone, RNN/LSTM/GRU export whole, and RNNCell/GRUCell export inside a Sequential:
# tests/test_onnx_export.py runs them in onnxruntime. What a Sequential cannot chain is refused.
@pytest.mark.parametrize("name, fragment", [("RNN", "returns (output, h_n)"),
                                            ("LSTM", "returns (output, (h_n, c_n))"),
                                            ("GRU", "returns (output, h_n)"),
                                            ("LSTMCell", "returns (h, c)")])
def test_onnx_export_refuses_recurrent_layers_by_name(tmp_path, name, fragment):
    pytest.importorskip("onnx")
    model = nn.Sequential(nn.Linear(4, 4), getattr(nn, name)(4, 3))
    with pytest.raises(ExportError, match=re.escape(f"{name} at '1' {fragment}")):
        cr.onnx.export(model, np.zeros((2, 4), np.float32), tmp_path / "m.onnx")


def test_safetensors_both_ways(tmp_path):
    pytest.importorskip("safetensors")
    from safetensors.torch import load_file, save_file
    from chainrule.serialize import load_safetensors, save_safetensors
    from interop_cases import recurrent
    torch.manual_seed(0)
    for theirs in recurrent(torch.nn):
        name = type(theirs).__name__
        ours = getattr(nn, name)(**_options(theirs))
        save_file(theirs.state_dict(), str(tmp_path / "theirs.safetensors"))
        ours.load_state_dict(load_safetensors(tmp_path / "theirs.safetensors"))
        for key, value in theirs.state_dict().items():
            assert np.array_equal(ours.state_dict()[key].numpy(), value.numpy()), key
        save_safetensors(ours, tmp_path / "ours.safetensors")
        theirs.load_state_dict(load_file(str(tmp_path / "ours.safetensors")))  # strict


def _options(module):
    from chainrule.interop.torch_modules import LAYERS
    return LAYERS[type(module).__name__](module)


def test_flatten_parameters_is_accepted_as_in_torch_code():
    gru = nn.GRU(2, 3)
    before = [p.detach().numpy().copy() for p in gru.parameters()]
    assert gru.flatten_parameters() is None
    assert all(np.array_equal(a, p.detach().numpy()) for a, p in zip(before, gru.parameters()))
