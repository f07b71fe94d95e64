"""Convolution, pooling, normalisation and resizing: 20 random configurations of each (odd
sizes, strides 1 and 2, padding 0 to 2, non-square kernels, batch 1, groups, dilation) against
PyTorch (values and gradients) and against float64 central differences (first and second
derivatives)."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional
CONFIGS = 20


def _configs(kind):
    rng = np.random.default_rng({"conv": 1, "convT": 2, "pool": 3, "norm": 4, "resize": 5}[kind])
    found = []
    while len(found) < CONFIGS:
        n = int(rng.choice([1, 2]))
        kh, kw = (int(k) for k in rng.integers(1, 4, size=2))
        stride = tuple(int(s) for s in rng.integers(1, 3, size=2))
        dilation = tuple(int(d) for d in rng.integers(1, 3, size=2)) if kind == "conv" else (1, 1)
        padding = tuple(int(p) for p in rng.integers(0, 3, size=2))
        groups = int(rng.choice([1, 1, 2])) if kind in ("conv", "convT") else 1
        c = groups * int(rng.integers(1, 3))
        o = groups * int(rng.integers(1, 3))
        h, w = (int(v) for v in rng.integers(3, 8, size=2))
        if kind == "pool" and any(2 * p > k for p, k in zip(padding, (kh, kw))):
            padding = (kh // 2, kw // 2)
        fits = all((size + 2 * p - d * (k - 1) - 1) >= 0 for size, p, d, k in
                   zip((h, w), padding, dilation, (kh, kw)))
        if fits:
            found.append(dict(n=n, c=c, o=o, h=h, w=w, kernel=(kh, kw), stride=stride,
                              padding=padding, dilation=dilation, groups=groups))
    return found


def _leaves(arrays):
    return ([cr.tensor(a, requires_grad=True) for a in arrays],
            [torch.tensor(a, requires_grad=True) for a in arrays])


def _compare(ours, theirs, arrays, seed=0):
    """Values, then gradients of a random weighting of the output, for every input."""
    c_in, t_in = _leaves(arrays)
    c_out, t_out = ours(*c_in), theirs(*t_in)
    assert tuple(c_out.shape) == tuple(t_out.shape)
    np.testing.assert_allclose(c_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10, atol=1e-10)
    weights = np.random.default_rng(seed).normal(size=c_out.shape)
    (c_out * cr.tensor(weights)).sum().backward()
    (t_out * torch.tensor(weights)).sum().backward()
    for c, t in zip(c_in, t_in):
        np.testing.assert_allclose(c.grad.detach().numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-10)
    return c_in


def _check_derivatives(ours, arrays):
    inputs = [cr.tensor(a, requires_grad=True) for a in arrays]
    assert cr.gradcheck(ours, inputs)
    assert cr.gradgradcheck(ours, inputs, atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("cfg", _configs("conv"), ids=lambda c: str(list(c.values())))
def test_conv2d(cfg):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(cfg["n"], cfg["c"], cfg["h"], cfg["w"]))
    w = rng.normal(size=(cfg["o"], cfg["c"] // cfg["groups"], *cfg["kernel"]))
    b = rng.normal(size=cfg["o"])
    opts = dict(stride=cfg["stride"], padding=cfg["padding"], dilation=cfg["dilation"],
                groups=cfg["groups"])
    _compare(lambda x, w, b: F.conv2d(x, w, b, **opts), lambda x, w, b: TF.conv2d(x, w, b, **opts),
             [x, w, b])
    _check_derivatives(lambda x, w: F.conv2d(x, w, None, **opts), [x, w])


@pytest.mark.parametrize("cfg", _configs("convT"), ids=lambda c: str(list(c.values())))
def test_conv_transpose2d(cfg):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(cfg["n"], cfg["c"], cfg["h"] - 2, cfg["w"] - 2))
    w = rng.normal(size=(cfg["c"], cfg["o"] // cfg["groups"], *cfg["kernel"]))
    extra = tuple(min(p, s - 1) for p, s in zip(cfg["padding"], cfg["stride"]))
    padding = tuple(min(p, k - 1, ((n - 1) * st + k - 1) // 2) for p, k, n, st in
                    zip(cfg["padding"], cfg["kernel"], x.shape[2:], cfg["stride"]))
    opts = dict(stride=cfg["stride"], padding=padding, output_padding=extra,
                groups=cfg["groups"])
    _compare(lambda x, w: F.conv_transpose2d(x, w, **opts),
             lambda x, w: TF.conv_transpose2d(x, w, **opts), [x, w])
    _check_derivatives(lambda x, w: F.conv_transpose2d(x, w, **opts), [x, w])


@pytest.mark.parametrize("cfg", _configs("conv")[:CONFIGS], ids=lambda c: str(list(c.values())))
def test_conv1d(cfg):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(cfg["n"], cfg["c"], cfg["w"] + 2))
    w = rng.normal(size=(cfg["o"], cfg["c"] // cfg["groups"], cfg["kernel"][1]))
    opts = dict(stride=cfg["stride"][1], padding=cfg["padding"][1],
                dilation=cfg["dilation"][1], groups=cfg["groups"])
    _compare(lambda x, w: F.conv1d(x, w, **opts), lambda x, w: TF.conv1d(x, w, **opts), [x, w])
    _check_derivatives(lambda x, w: F.conv1d(x, w, **opts), [x, w])


@pytest.mark.parametrize("cfg", _configs("pool"), ids=lambda c: str(list(c.values())))
def test_pooling(cfg):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(cfg["n"], cfg["c"], cfg["h"], cfg["w"]))
    opts = dict(kernel_size=cfg["kernel"], stride=cfg["stride"], padding=cfg["padding"])
    _compare(lambda x: F.max_pool2d(x, **opts), lambda x: TF.max_pool2d(x, **opts), [x])
    _check_derivatives(lambda x: F.max_pool2d(x, **opts), [x])
    for include in (True, False):
        _compare(lambda x: F.avg_pool2d(x, **opts, count_include_pad=include),
                 lambda x: TF.avg_pool2d(x, **opts, count_include_pad=include), [x])
    _check_derivatives(lambda x: F.avg_pool2d(x, **opts), [x])
    out = (int(rng.integers(1, cfg["h"] + 1)), int(rng.integers(1, cfg["w"] + 1)))
    _compare(lambda x: F.adaptive_avg_pool2d(x, out), lambda x: TF.adaptive_avg_pool2d(x, out),
             [x])
    _check_derivatives(lambda x: F.adaptive_avg_pool2d(x, out), [x])


def _configs3d(kind):
    """Small 3-D configurations: odd sizes, strides 1 and 2, padding, non-cubic kernels."""
    rng = np.random.default_rng({"conv": 6, "pool": 7}[kind])
    found = []
    while len(found) < CONFIGS:
        kernel = tuple(int(k) for k in rng.integers(1, 4, size=3))
        stride = tuple(int(v) for v in rng.integers(1, 3, size=3))
        padding = tuple(int(p) for p in rng.integers(0, 3, size=3))
        dilation = tuple(int(d) for d in rng.integers(1, 3, size=3)) if kind == "conv" \
            else (1, 1, 1)
        if kind == "pool":
            padding = tuple(min(p, k // 2) for p, k in zip(padding, kernel))
        groups = int(rng.choice([1, 2])) if kind == "conv" else 1
        size = tuple(int(v) for v in rng.integers(2, 6, size=3))
        # (PyTorch's 3-D pooling also wants each size at least the kernel's, padding aside.)
        if all(n + 2 * p - d * (k - 1) - 1 >= 0 and (kind == "conv" or n >= k)
               for n, p, d, k in zip(size, padding, dilation, kernel)):
            found.append(dict(n=int(rng.choice([1, 2])), c=groups * int(rng.integers(1, 3)),
                              o=groups * int(rng.integers(1, 3)), size=size, kernel=kernel,
                              stride=stride, padding=padding, dilation=dilation, groups=groups))
    return found


@pytest.mark.parametrize("cfg", _configs3d("conv"), ids=lambda c: str(list(c.values())))
def test_conv3d(cfg):
    rng = np.random.default_rng(6)
    x = rng.normal(size=(cfg["n"], cfg["c"], *cfg["size"]))
    w = rng.normal(size=(cfg["o"], cfg["c"] // cfg["groups"], *cfg["kernel"]))
    b = rng.normal(size=cfg["o"])
    opts = dict(stride=cfg["stride"], padding=cfg["padding"], dilation=cfg["dilation"],
                groups=cfg["groups"])
    _compare(lambda x, w, b: F.conv3d(x, w, b, **opts), lambda x, w, b: TF.conv3d(x, w, b, **opts),
             [x, w, b])
    _check_derivatives(lambda x, w: F.conv3d(x, w, None, **opts), [x, w])


@pytest.mark.parametrize("cfg", _configs3d("pool"), ids=lambda c: str(list(c.values())))
def test_pooling3d(cfg):
    x = np.random.default_rng(7).normal(size=(cfg["n"], cfg["c"], *cfg["size"]))
    opts = dict(kernel_size=cfg["kernel"], stride=cfg["stride"], padding=cfg["padding"])
    _compare(lambda x: F.max_pool3d(x, **opts), lambda x: TF.max_pool3d(x, **opts), [x])
    _check_derivatives(lambda x: F.max_pool3d(x, **opts), [x])
    for include in (True, False):
        _compare(lambda x: F.avg_pool3d(x, **opts, count_include_pad=include),
                 lambda x: TF.avg_pool3d(x, **opts, count_include_pad=include), [x])
    _check_derivatives(lambda x: F.avg_pool3d(x, **opts, count_include_pad=False), [x])


def test_max_pool3d_sends_a_tie_to_one_input_as_pytorch():
    x = np.ones((1, 1, 3, 4, 4))
    _compare(lambda x: F.max_pool3d(x, 2, 1), lambda x: TF.max_pool3d(x, 2, 1), [x])


def test_max_pool_sends_a_tie_to_one_input_as_pytorch():
    x = np.ones((1, 1, 4, 4))
    _compare(lambda x: F.max_pool2d(x, 2, 1), lambda x: TF.max_pool2d(x, 2, 1), [x])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_max_pool_keeps_nan_and_inf_exactly_where_pytorch_does(dtype):
    # A NaN input wins its window; an inf or NaN upstream gradient reaches only its winner
    # (a gradient masked by multiplying would spread NaN over the whole window).
    x = np.arange(16.).reshape(1, 1, 4, 4).astype(dtype)
    x[0, 0, 1, 0], x[0, 0, 2, 2] = np.nan, np.inf
    g = np.array([[[[np.inf, 1.], [np.nan, -np.inf]]]], dtype=dtype)
    ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    F.max_pool2d(ours, 2).backward(cr.tensor(g))
    TF.max_pool2d(theirs, 2).backward(torch.tensor(g))
    np.testing.assert_array_equal(F.max_pool2d(cr.tensor(x), 2).detach().numpy(),
                                  TF.max_pool2d(torch.tensor(x), 2).numpy())
    np.testing.assert_array_equal(ours.grad.detach().numpy(), theirs.grad.numpy())
    assert ours.grad.dtype == dtype


@pytest.mark.parametrize("cfg", _configs("norm"), ids=lambda c: str(list(c.values())))
def test_normalisation(cfg):
    rng = np.random.default_rng(4)
    channels = 2 * cfg["c"]
    x = rng.normal(size=(cfg["n"] + 1, channels, cfg["h"], cfg["w"])) * 3 + 1
    weight, bias = rng.normal(size=channels), rng.normal(size=channels)
    # batch norm in training: values, gradients and the running statistics
    ours_stats = [cr.zeros(channels, dtype="float64"), cr.ones(channels, dtype="float64")]
    theirs_stats = [torch.zeros(channels, dtype=torch.float64),
                    torch.ones(channels, dtype=torch.float64)]
    _compare(lambda x, w, b: F.batch_norm(x, *ours_stats, w, b, training=True, momentum=0.3),
             lambda x, w, b: TF.batch_norm(x, *theirs_stats, w, b, training=True, momentum=0.3),
             [x, weight, bias])
    for ours, theirs in zip(ours_stats, theirs_stats):
        np.testing.assert_allclose(ours.detach().numpy(), theirs.numpy(), rtol=1e-12)
    _compare(lambda x, w, b: F.batch_norm(x, *ours_stats, w, b, training=False),
             lambda x, w, b: TF.batch_norm(x, *theirs_stats, w, b, training=False),
             [x, weight, bias])
    stats = [cr.zeros(channels, dtype="float64"), cr.ones(channels, dtype="float64")]
    _check_derivatives(lambda x: F.batch_norm(x, *stats, training=True), [x[:, :, :3, :3]])
    shape = (cfg["h"], cfg["w"])
    lw, lb = rng.normal(size=shape), rng.normal(size=shape)
    _compare(lambda x, w, b: F.layer_norm(x, shape, w, b),
             lambda x, w, b: TF.layer_norm(x, shape, w, b), [x, lw, lb])
    _check_derivatives(lambda x: F.layer_norm(x, (3,)), [x[:, :, :3, :3]])
    groups = 2
    _compare(lambda x, w, b: F.group_norm(x, groups, w, b),
             lambda x, w, b: TF.group_norm(x, groups, w, b), [x, weight, bias])
    _check_derivatives(lambda x: F.group_norm(x, groups), [x[:, :, :3, :3]])


@pytest.mark.parametrize("cfg", _configs("resize"), ids=lambda c: str(list(c.values())))
def test_interpolate(cfg):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(cfg["n"], cfg["c"], cfg["h"], cfg["w"]))
    size = (int(rng.integers(1, 10)), int(rng.integers(1, 10)))
    factor = float(rng.choice([0.5, 1.5, 2.0, 3.0]))
    for options in (dict(size=size), dict(scale_factor=factor)):
        _compare(lambda x: F.interpolate(x, **options), lambda x: TF.interpolate(x, **options),
                 [x])
        for corners in (False, True):
            bilinear = dict(options, mode="bilinear", align_corners=corners)
            _compare(lambda x: F.interpolate(x, **bilinear),
                     lambda x: TF.interpolate(x, **bilinear), [x])
    _check_derivatives(lambda x: F.interpolate(x, size=size, mode="bilinear"), [x[:1, :1]])


def test_dropout2d_zeros_whole_channels():
    x = cr.ones(4, 8, 3, 3)
    out = F.dropout2d(x, 0.5, training=True, generator=np.random.default_rng(0)).numpy()
    per_channel = out.reshape(4, 8, -1)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))
    assert 0 < (per_channel == 0).all(-1).mean() < 1


def test_float32_stays_float32():
    x = cr.ones(1, 2, 5, 5, dtype="float32", requires_grad=True)
    w = cr.ones(3, 2, 3, 3, dtype="float32", requires_grad=True)
    y = F.max_pool2d(F.conv2d(x, w, padding=1), 2)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32 and w.grad.dtype == np.float32


def test_bad_shapes_name_the_op_and_the_shapes():
    with pytest.raises(cr.ShapeError, match=r"conv2d: input has 3 channels.*\(4, 2, 3, 3\)"):
        F.conv2d(cr.ones(1, 3, 5, 5), cr.ones(4, 2, 3, 3))
    with pytest.raises(cr.ShapeError, match=r"conv2d: the kernel 7x7.*5x5"):
        F.conv2d(cr.ones(1, 1, 5, 5), cr.ones(1, 1, 7, 7))
    with pytest.raises(cr.ShapeError, match=r"conv_transpose2d: the output would be -1x1"):
        F.conv_transpose2d(cr.ones(1, 2, 1, 2), cr.ones(2, 2, 3, 2), padding=(2, 1))
    with pytest.raises(cr.ShapeError, match=r"max_pool2d: input must be 4-D"):
        F.max_pool2d(cr.ones(5, 5), 2)
    with pytest.raises(cr.ShapeError, match=r"conv3d: input must be 4-D \(C, D, H, W\) or 5-D "
                                            r"\(N, C, D, H, W\), got shape \(2, 5, 5\)"):
        F.conv3d(cr.ones(2, 5, 5), cr.ones(3, 2, 1, 2, 2))
    with pytest.raises(cr.ShapeError, match=r"conv3d: input has 2 channels, weight \(3, 3, 1, 2, 2\)"):
        F.conv3d(cr.ones(1, 2, 3, 5, 5), cr.ones(3, 3, 1, 2, 2))
    with pytest.raises(cr.ShapeError, match=r"max_pool3d: the 3x3x3 window does not fit the input "
                                            r"2x5x5"):
        F.max_pool3d(cr.ones(1, 1, 2, 5, 5), 3)


MODULES = [
    ("Conv2d", (3, 4, (3, 2)), dict(stride=2, padding=1), (2, 3, 7, 6)),
    ("Conv2d", (4, 4, 3), dict(groups=2, dilation=2, bias=False), (1, 4, 7, 7)),
    ("Conv1d", (2, 3, 3), dict(padding=1), (2, 2, 9)),
    ("ConvTranspose2d", (3, 2, 3), dict(stride=2, padding=1, output_padding=1), (2, 3, 4, 5)),
    ("MaxPool2d", (2,), {}, (2, 3, 5, 6)),
    ("AvgPool2d", (3,), dict(stride=2, padding=1), (2, 3, 7, 6)),
    ("AdaptiveAvgPool2d", ((2, 3),), {}, (2, 3, 7, 6)),
    ("BatchNorm1d", (3,), {}, (5, 3)),
    ("BatchNorm1d", (3,), dict(affine=False, momentum=None), (5, 3, 4)),
    ("BatchNorm2d", (3,), dict(momentum=0.2), (4, 3, 5, 5)),
    ("LayerNorm", ((5, 5),), {}, (2, 3, 5, 5)),
    ("GroupNorm", (2, 4), {}, (3, 4, 5)),
    ("Conv3d", (2, 4, (3, 2, 2)), dict(stride=(1, 2, 1), padding=1), (2, 2, 5, 6, 4)),
    ("MaxPool3d", (2,), dict(stride=1), (2, 3, 4, 5, 3)),
    ("AvgPool3d", (3,), dict(stride=2, padding=1), (1, 2, 5, 5, 4)),
]


@pytest.mark.parametrize("name, args, options, shape", MODULES,
                         ids=[f"{m[0]}-{i}" for i, m in enumerate(MODULES)])
def test_modules_match_pytorch_in_training_and_evaluation(name, args, options, shape):
    ours = getattr(cr.nn, name)(*args, **options, **({"dtype": "float64"} if name not in (
        "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "MaxPool3d", "AvgPool3d") else {}))
    theirs = getattr(torch.nn, name)(*args, **options).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.tensor(v.detach().numpy())
                            for k, v in ours.state_dict().items()})
    rng = np.random.default_rng(0)
    for training in (True, True, False):
        ours.train(training)
        theirs.train(training)
        x = rng.normal(size=shape) * 2 + 0.5
        _compare(ours, theirs, [x])
        for key, value in theirs.state_dict().items():
            np.testing.assert_allclose(ours.state_dict()[key].detach().numpy(), value.numpy(),
                                       rtol=1e-12, err_msg=key)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert p.shape == tuple(q.shape)


def test_affine_false_gives_no_weight_and_the_initialisation_is_pytorchs():
    bn = cr.nn.BatchNorm2d(3, affine=False)
    assert bn.weight is None and bn.bias is None and list(bn.parameters()) == []
    conv = cr.nn.Conv2d(4, 8, 3, generator=np.random.default_rng(0))
    bound = 1 / np.sqrt(4 * 9)
    weight, bias = conv.weight.detach().numpy(), conv.bias.detach().numpy()
    assert np.abs(weight).max() <= bound and np.abs(bias).max() <= bound
    assert np.abs(weight).max() > 0.9 * bound  # uniform over the whole range


def _module_cases():
    """20 random configurations of each module, built from the op configurations."""
    for cfg in _configs("conv"):
        yield ("Conv2d", (cfg["c"], cfg["o"], cfg["kernel"]),
               dict(stride=cfg["stride"], padding=cfg["padding"], dilation=cfg["dilation"],
                    groups=cfg["groups"]), (cfg["n"], cfg["c"], cfg["h"], cfg["w"]))
        yield ("Conv1d", (cfg["c"], cfg["o"], cfg["kernel"][1]),
               dict(stride=cfg["stride"][1], padding=cfg["padding"][1], groups=cfg["groups"]),
               (cfg["n"], cfg["c"], cfg["w"] + 2))
    for cfg in _configs("convT"):
        extra = tuple(min(p, s - 1) for p, s in zip(cfg["padding"], cfg["stride"]))
        padding = tuple(min(p, k - 1) for p, k in zip(cfg["padding"], cfg["kernel"]))
        yield ("ConvTranspose2d", (cfg["c"], cfg["o"], cfg["kernel"]),
               dict(stride=cfg["stride"], padding=padding, output_padding=extra,
                    groups=cfg["groups"]), (cfg["n"], cfg["c"], cfg["h"], cfg["w"]))
    for cfg in _configs("pool"):
        shape = (cfg["n"], cfg["c"], cfg["h"], cfg["w"])
        yield ("MaxPool2d", (cfg["kernel"],), dict(stride=cfg["stride"], padding=cfg["padding"]),
               shape)
        yield ("AvgPool2d", (cfg["kernel"],), dict(stride=cfg["stride"], padding=cfg["padding"]),
               shape)
        yield ("AdaptiveAvgPool2d", ((max(1, cfg["h"] // 2), cfg["w"]),), {}, shape)
    for cfg in _configs3d("conv"):
        yield ("Conv3d", (cfg["c"], cfg["o"], cfg["kernel"]),
               dict(stride=cfg["stride"], padding=cfg["padding"], dilation=cfg["dilation"],
                    groups=cfg["groups"]), (cfg["n"], cfg["c"], *cfg["size"]))
    for cfg in _configs3d("pool"):
        shape = (cfg["n"], cfg["c"], *cfg["size"])
        options = dict(stride=cfg["stride"], padding=cfg["padding"])
        yield ("MaxPool3d", (cfg["kernel"],), options, shape)
        yield ("AvgPool3d", (cfg["kernel"],), options, shape)
    for cfg in _configs("norm"):
        channels = 2 * cfg["c"]
        shape = (cfg["n"] + 1, channels, cfg["h"], cfg["w"])
        yield ("BatchNorm2d", (channels,), dict(momentum=0.05 * cfg["kernel"][0]), shape)
        yield ("BatchNorm1d", (channels,), dict(affine=cfg["groups"] == 1), shape[:3])
        yield ("GroupNorm", (2, channels), dict(affine=cfg["n"] == 1), shape)
        yield ("LayerNorm", ((cfg["h"], cfg["w"]),), dict(elementwise_affine=cfg["n"] == 2),
               shape)


MODULE_CASES = list(_module_cases())


@pytest.mark.parametrize("name, args, options, shape", MODULE_CASES,
                         ids=[f"{m[0]}-{i}" for i, m in enumerate(MODULE_CASES)])
def test_modules_on_random_configurations(name, args, options, shape):
    test_modules_match_pytorch_in_training_and_evaluation(name, args, options, shape)


def test_mixed_dtypes_are_refused_as_in_pytorch():
    x64, w32 = np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2), dtype=np.float32)
    with pytest.raises(TypeError, match="same dtype"):
        F.conv2d(cr.tensor(x64), cr.tensor(w32))
    with pytest.raises(RuntimeError):
        TF.conv2d(torch.tensor(x64), torch.tensor(w32))
    x64, w32 = np.ones((1, 1, 3, 3, 3)), np.ones((1, 1, 2, 2, 2), dtype=np.float32)
    with pytest.raises(TypeError, match="same dtype"):
        F.conv3d(cr.tensor(x64), cr.tensor(w32))
    with pytest.raises(RuntimeError):
        TF.conv3d(torch.tensor(x64), torch.tensor(w32))


@pytest.mark.parametrize("spatial", [1, 2, 3])
def test_same_padding_with_even_kernels_pads_the_extra_at_the_end_as_pytorch(spatial):
    rng = np.random.default_rng(20)
    for kernel, dilation in (((2,) * spatial, (1,) * spatial), ((4,) * spatial, (2,) * spatial),
                             ((3,) * spatial, (1,) * spatial)):
        x = rng.normal(size=(2, 2) + (5,) * spatial)
        w = rng.normal(size=(3, 2) + kernel)
        name = f"conv{spatial}d"
        _compare(lambda x, w: getattr(F, name)(x, w, padding="same", dilation=dilation),
                 lambda x, w: getattr(TF, name)(x, w, padding="same", dilation=dilation), [x, w])
    assert cr.gradgradcheck(lambda x: getattr(F, name)(x, cr.tensor(w), padding="same"),
                            [cr.tensor(x, requires_grad=True)], atol=1e-4, rtol=1e-3)


def test_conv1d_takes_one_tuples_and_bad_arguments_raise_pytorchs_class():
    x, w = np.random.default_rng(21).normal(size=(1, 2, 7)), np.ones((3, 2, 3))
    options = dict(stride=(2,), padding=(1,), dilation=(1,))
    _compare(lambda x: F.conv1d(x, cr.tensor(w), **options),
             lambda x: TF.conv1d(x, torch.tensor(w), **options), [x])
    calls = [lambda M, x, w: M.conv2d(x, w, groups=0),
             lambda M, x, w: M.conv2d(x, w, stride=2, padding="same"),
             lambda M, x, w: M.conv_transpose2d(x, w, output_padding=2),
             lambda M, x, w: M.conv3d(x[None], w[None], stride=0)]
    x4, w4 = np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2))
    for call in calls:
        with pytest.raises(RuntimeError):
            call(TF, torch.tensor(x4), torch.tensor(w4))
        with pytest.raises(RuntimeError, match="conv"):
            call(F, cr.tensor(x4), cr.tensor(w4))
