"""Convolutions on PyTorch's unbatched inputs ((C, L), (C, H, W), (C, D, H, W)), functional and
as layers with every padding_mode, lazy ones included: values and gradients against PyTorch,
float64 central differences to first and second order. Before, an unbatched input was refused,
and with a padding_mode the refusal named the padded shape instead of the input's."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

SHAPES = {1: (2, 7), 2: (2, 5, 6), 3: (2, 3, 4, 5)}


def _grads(M, fn, arrays):
    leaves = [M.tensor(a, requires_grad=True) for a in arrays]
    out = fn(M, *leaves)
    weights = np.random.default_rng(7).uniform(-1, 1, tuple(out.shape))
    (out * M.tensor(weights.astype(str(out.dtype).replace("torch.", "")))).sum().backward()
    return [out.detach().numpy()] + [leaf.grad.numpy() for leaf in leaves]


def _against_pytorch(fn, arrays, tolerance):
    ours, theirs = _grads(cr, fn, arrays), _grads(torch, fn, arrays)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        assert a.shape == b.shape, (k, a.shape, b.shape)
        np.testing.assert_allclose(a, b, rtol=tolerance, atol=tolerance, err_msg=f"result {k}")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("dims", [1, 2, 3])
def test_functional_convolutions_take_unbatched_inputs(dims, dtype):
    rng = np.random.default_rng(dims)
    x = rng.normal(size=SHAPES[dims]).astype(dtype)
    w = rng.normal(size=(4, 1) + (2,) * dims).astype(dtype)
    wt = rng.normal(size=(2, 3) + (2,) * dims).astype(dtype)
    b = rng.normal(size=4).astype(dtype)
    tolerance = 1e-12 if dtype == "float64" else 2e-5

    def conv(M, x, w, b):
        f = getattr(M.nn.functional, f"conv{dims}d")
        strided = f(x, w, b, stride=2, padding=1, groups=2)
        return strided + f(x.flip(-1), w, None, padding="same", dilation=2, groups=2).sum()

    def transposed(M, x, w):
        f = getattr(M.nn.functional, f"conv_transpose{dims}d")
        return f(x, w, None, stride=2, padding=1, output_padding=1)

    _against_pytorch(conv, [x, w, b], tolerance)
    _against_pytorch(transposed, [x, wt], tolerance)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("dims", [1, 2, 3])
def test_layers_with_a_padding_mode_take_unbatched_inputs(dims, mode):
    x = np.random.default_rng(3).normal(size=SHAPES[dims])
    results = []
    for M in (cr, torch):
        M.manual_seed(0)
        layer = getattr(M.nn, f"Conv{dims}d")(2, 3, 3, padding=(1,) * dims, stride=1,
                                              padding_mode=mode).double()
        lazy = getattr(M.nn, f"LazyConv{dims}d")(3, 2, padding="same", padding_mode=mode)
        inputs = M.tensor(x, requires_grad=True)
        lazy(inputs.float())  # its first input makes the parameters
        lazy.double()
        with M.no_grad():
            for module, seed in ((layer, 1), (lazy, 2)):
                values = np.random.default_rng(seed)
                for p in module.parameters():
                    p.copy_(M.tensor(values.normal(size=tuple(p.shape))))
        out = layer(inputs) * 2 + lazy(inputs.flip(-1)).sum()
        (out * out).sum().backward()
        results.append([out.detach().numpy(), inputs.grad.numpy(), layer.weight.grad.numpy(),
                        lazy.weight.grad.numpy(), lazy.bias.grad.numpy()])
    for k, (a, b) in enumerate(zip(*results)):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-11, err_msg=f"result {k}")


@pytest.mark.parametrize("dims,mode", [(1, "reflect"), (2, "circular"), (3, "replicate")])
def test_unbatched_padding_mode_gradients_match_central_differences(dims, mode):
    cr.manual_seed(0)
    layer = getattr(cr.nn, f"Conv{dims}d")(2, 2, 2, padding="same", padding_mode=mode).double()
    size = {1: (2, 4), 2: (2, 3, 4), 3: (2, 2, 3, 3)}[dims]
    x = cr.tensor(np.random.default_rng(4).normal(size=size), requires_grad=True)
    assert layer(x).shape == size

    def through_layer(x):
        out = layer(x)
        return out * out

    def functional(x, weight, bias):
        # 'same' with a kernel of 2 pads 0 before and 1 after in every dimension (PyTorch's).
        padded = cr.nn.functional.pad(x, (0, 1) * dims, mode=mode)
        out = getattr(cr.nn.functional, f"conv{dims}d")(padded, weight, bias)
        return out * out

    weight = cr.tensor(layer.weight.detach().numpy(), requires_grad=True)
    bias = cr.tensor(layer.bias.detach().numpy(), requires_grad=True)
    np.testing.assert_allclose(functional(x, weight, bias).detach().numpy(),
                               through_layer(x).detach().numpy(), rtol=1e-13)
    assert cr.gradcheck(through_layer, [x])
    assert cr.gradgradcheck(through_layer, [x], atol=1e-4, rtol=1e-3)
    assert cr.gradcheck(functional, [x, weight, bias])
    assert cr.gradgradcheck(functional, [x, weight, bias], atol=1e-4, rtol=1e-3)


def test_refusals_name_the_op_and_the_shapes():
    with pytest.raises(cr.ShapeError, match=r"conv2d: weight must be 4-D, got shape \(3, 2, 2\)"):
        cr.nn.functional.conv2d(cr.ones(2, 4, 5), cr.ones(3, 2, 2))
    with pytest.raises(cr.ShapeError, match=r"conv2d: input must be 3-D \(C, H, W\) or 4-D"):
        cr.nn.functional.conv2d(cr.ones(4, 5), cr.ones(3, 2, 2, 2))
    with pytest.raises(cr.ShapeError, match=r"conv1d: input must be \(C, L\) or \(N, C, L\)"):
        cr.nn.functional.conv1d(cr.ones(5), cr.ones(3, 2, 2))
    # An unbatched input's channels are checked as a batch of one's, as in PyTorch.
    with pytest.raises(cr.ShapeError, match=r"conv2d: input has 3 channels"):
        cr.nn.Conv1d(2, 3, 2, padding=1, padding_mode="reflect")(cr.ones(3, 5))
    with pytest.raises(RuntimeError):
        torch.nn.Conv1d(2, 3, 2, padding=1, padding_mode="reflect")(torch.ones(3, 5))
    # Reflect padding as large as the input: PyTorch refuses, and so does chainrule.
    with pytest.raises(cr.ShapeError, match=r"reflect padding \(5, 5\).*size 5"):
        cr.nn.Conv1d(2, 3, 3, padding=5, padding_mode="reflect")(cr.ones(2, 5))
    with pytest.raises(RuntimeError, match="Padding size should be less"):
        torch.nn.Conv1d(2, 3, 3, padding=5, padding_mode="reflect")(torch.ones(2, 5))


@pytest.mark.parametrize("lazy", [False, True])
def test_a_layer_converted_after_a_call_gets_gradients_in_its_new_dtype(lazy):
    # Module.to used to keep each parameter's leaf node, which remembered float32, so after
    # .double() the gradients came back rounded to float32; and it dropped the gradients,
    # which PyTorch converts and keeps (the second backward adds to the first here).
    x = np.random.default_rng(5).normal(size=(2, 7))
    grads = []
    for M in (cr, torch):
        M.manual_seed(0)
        layer = (M.nn.LazyConv1d(3, 2, padding_mode="circular", padding=1) if lazy else
                 M.nn.Conv1d(2, 3, 2, padding_mode="circular", padding=1))
        layer(M.tensor(x, dtype=M.float32)).sum().backward()
        first = [p.grad.numpy().astype(np.float64) for p in (layer.weight, layer.bias)]
        layer.double()
        with M.no_grad():
            for p, seed in zip(layer.parameters(), (1, 2)):
                p.copy_(M.tensor(np.random.default_rng(seed).normal(size=tuple(p.shape))))
        out = layer(M.tensor(x))
        (out * out).sum().backward()
        assert layer.weight.grad.dtype == M.float64 and layer.bias.grad.dtype == M.float64
        grads.append((first, [layer.weight.grad.numpy(), layer.bias.grad.numpy()]))
    # The float32 backward's gradients agree to float32's rounding (the two libraries' float32
    # convolutions sum in other orders); what the float64 backward added, to float64's.
    (ours_first, ours), (theirs_first, theirs) = grads
    for a, b, a_total, b_total in zip(ours_first, theirs_first, ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6)
        np.testing.assert_allclose(a_total - a, b_total - b, rtol=1e-12)
    for M in (cr, torch):
        linear = M.nn.Linear(2, 3)
        linear(M.ones(1, 2)).sum().backward()
        linear.double().float().double()
        linear(M.ones(1, 2, dtype=M.float64)).sum().backward()
        assert linear.weight.grad.dtype == M.float64


def test_bad_padding_strings_and_strided_same_are_refused_when_built_as_pytorch():
    for M in (cr, torch):
        for options in (dict(padding="SAME"), dict(padding="same", stride=2),
                        dict(padding="same", stride=(1, 2), padding_mode="reflect")):
            with pytest.raises(ValueError, match="padding string|strided"):
                M.nn.Conv2d(1, 1, 3, **options)
        with pytest.raises(ValueError, match="strided"):
            M.nn.LazyConv1d(2, 3, padding="same", stride=3)
        assert M.nn.Conv3d(1, 1, 2, padding="valid", stride=2).padding == "valid"
