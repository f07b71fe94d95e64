"""Pooling options, unpooling and the transposed 1-D and 3-D convolutions against PyTorch:
``ceil_mode`` and ``return_indices`` of max pooling in 1, 2 and 3 dimensions, ``ceil_mode``
of average pooling, ``max_unpool1d/2d/3d``, ``conv_transpose1d/3d`` and their modules, on
random configurations (values, indices and gradients to 1e-10 in float64, float32 values),
float64 central differences to second order, edge values, views, in-place changes, integer
inputs, PyTorch's refusals, and the conversions to PyTorch and ONNX."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import functional as F

torch = pytest.importorskip("torch")
from program_gen import compare_tensors  # noqa: E402  (imports torch)

TF = torch.nn.functional


def _same(ours, theirs, what):
    problem = compare_tensors(ours, theirs, what)
    assert problem is None, str(problem)


def _both(call, arrays, seed=0):
    """``call(F, *inputs)`` in both libraries on float64 leaves; compares the results (values,
    indices) and the gradients of a random weighting of the float ones."""
    c_in = [cr.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    t_in = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    c_out, t_out = call(F, *c_in), call(TF, *t_in)
    c_out = c_out if isinstance(c_out, tuple) else (c_out,)
    t_out = t_out if isinstance(t_out, tuple) else (t_out,)
    for k, (c, t) in enumerate(zip(c_out, t_out)):
        _same(c, t, f"result {k}")
    rng = np.random.default_rng(seed)
    c_loss = t_loss = 0
    for c, t in zip(c_out, t_out):
        if t.requires_grad:
            w = rng.normal(size=tuple(t.shape))
            c_loss = c_loss + (c * cr.tensor(w)).sum()
            t_loss = t_loss + (t * torch.tensor(w)).sum()
    c_loss.backward()
    t_loss.backward()
    for k, (c, t) in enumerate(zip(c_in, t_in)):
        if t.requires_grad:
            _same(c.grad, t.grad, f"input {k}.grad")


def _pool_configs(count, seed, dilated):
    rng = np.random.default_rng(seed)
    found = []
    while len(found) < count:
        spatial = len(found) % 3 + 1
        kernel = tuple(int(k) for k in rng.integers(1, 4, size=spatial))
        stride = tuple(int(s) for s in rng.integers(1, 4, size=spatial))
        dilation = tuple(int(d) for d in rng.integers(1, 3, size=spatial)) if dilated \
            else (1,) * spatial
        padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
        shape = (int(rng.integers(1, 3)), int(rng.integers(1, 3))) + tuple(
            int(n) for n in rng.integers(1, 8, size=spatial))
        reach = [(n + 2 * p - d * (k - 1) - 1) for n, p, d, k in
                 zip(shape[2:], padding, dilation, kernel)]
        ceil = len(found) % 2 == 0
        if min(reach) >= 0 and all(_every_window_meets_the_input(n, k, s, p, d, ceil) for
                                   n, k, s, p, d in zip(shape[2:], kernel, stride, padding,
                                                        dilation)):
            found.append(dict(shape=shape, kernel_size=kernel, stride=stride, padding=padding,
                              dilation=dilation, ceil_mode=ceil))
    return found


def _every_window_meets_the_input(n, k, s, p, d, ceil):
    """False where a window lies entirely in the padding (chainrule refuses those; see
    test_a_window_entirely_in_the_padding_is_refused)."""
    span = n + 2 * p - d * (k - 1) - 1
    out = -(-span // s) + 1 if ceil else span // s + 1
    if ceil and (out - 1) * s >= n + p:
        out -= 1
    return all(any(0 <= o * s - p + i * d < n for i in range(k)) for o in range(out))


MAX_CONFIGS = _pool_configs(36, 0, dilated=True)


@pytest.mark.parametrize("cfg", MAX_CONFIGS, ids=str)
def test_max_pooling_values_indices_and_gradients(cfg):
    cfg = dict(cfg)
    shape = cfg.pop("shape")
    spatial = len(shape) - 2
    x = np.random.default_rng(1).normal(size=shape)
    x[np.random.default_rng(2).random(shape) < 0.2] = -np.inf  # windows of -inf, padding near
    name = f"max_pool{spatial}d"
    _both(lambda M, x: getattr(M, name)(x, **cfg, return_indices=True), [x])
    _both(lambda M, x: getattr(M, name)(x, **cfg), [x.astype(np.float32)])


@pytest.mark.parametrize("cfg", MAX_CONFIGS[::4], ids=str)
def test_max_pooling_derivatives_match_central_differences(cfg):
    cfg = dict(cfg)
    shape = cfg.pop("shape")
    x = cr.tensor(np.random.default_rng(3).permutation(np.prod(shape)).reshape(shape) / 7.0,
                  requires_grad=True)  # distinct values: no ties, so differentiable
    pool = getattr(F, f"max_pool{len(shape) - 2}d")
    assert cr.gradcheck(lambda x: pool(x, **cfg), [x])
    assert cr.gradgradcheck(lambda x: pool(x, **cfg), [x])


# PyTorch's 3-D average pooling wants the input at least the kernel's size: such configs are
# left out rather than skipped at every run.
AVG_CONFIGS = [cfg for cfg in _pool_configs(36, 4, dilated=False)
               if len(cfg["shape"]) != 5 or all(
                   n >= k for n, k in zip(cfg["shape"][2:], cfg["kernel_size"]))]


@pytest.mark.parametrize("cfg", AVG_CONFIGS, ids=str)
def test_average_pooling_with_ceil_mode_divides_as_pytorch(cfg):
    cfg = dict(cfg)
    shape = cfg.pop("shape")
    cfg.pop("dilation")
    spatial = len(shape) - 2
    x = np.random.default_rng(5).normal(size=shape)
    name = f"avg_pool{spatial}d"
    for include in (True, False):
        _both(lambda M, x: getattr(M, name)(x, **cfg, count_include_pad=include), [x])
    if spatial > 1:
        _both(lambda M, x: getattr(M, name)(x, **cfg, divisor_override=3), [x])
    leaf = cr.tensor(x, requires_grad=True)
    assert cr.gradgradcheck(lambda x: getattr(F, name)(x, **cfg, count_include_pad=False),
                            [leaf])


def test_ties_nan_and_minus_infinity_pick_pytorchs_winner():
    nan, inf = np.nan, np.inf
    x = np.array([[[[nan, 1.0, nan, 2.0], [3.0, 3.0, -inf, -inf]],
                   [[-inf, -inf, -inf, -inf], [0.0, -0.0, 0.0, 1.0]]]])  # (1, 2, 2, 4)
    for options in (dict(kernel_size=(1, 4)), dict(kernel_size=2, stride=1, padding=1),
                    dict(kernel_size=(2, 3), stride=2, ceil_mode=True)):
        _both(lambda M, x: M.max_pool2d(x, **options, return_indices=True), [x])
    line = x.reshape(1, 2, 8)
    _both(lambda M, x: M.max_pool1d(x, 3, stride=2, padding=1, ceil_mode=True,
                                    return_indices=True), [line])


def test_a_window_entirely_in_the_padding_is_refused():
    # PyTorch answers -inf with an index outside the input for such a window.
    x = np.ones((1, 1, 1, 5))
    _, indices = TF.max_pool2d(torch.tensor(x), (2, 3), (3, 2), (1, 0), (2, 1), ceil_mode=True,
                               return_indices=True)
    assert indices.max() >= 5
    with pytest.raises(RuntimeError, match="lies entirely in the padding"):
        F.max_pool2d(cr.tensor(x), (2, 3), (3, 2), (1, 0), (2, 1), ceil_mode=True)


def test_integer_and_unbatched_inputs_pool_as_pytorch():
    x = np.random.default_rng(6).integers(-50, 50, size=(2, 3, 5, 7))
    for dtype in ("int64", "uint8", "int32"):
        a = x.astype(dtype)
        for ceil in (False, True):
            _same(F.max_pool2d(cr.tensor(a), 2, ceil_mode=ceil),
                  TF.max_pool2d(torch.tensor(a), 2, ceil_mode=ceil), dtype)
            _same(F.max_pool3d(cr.tensor(a[None]), (1, 2, 3), ceil_mode=ceil),
                  TF.max_pool3d(torch.tensor(a[None]), (1, 2, 3), ceil_mode=ceil), dtype)
    with pytest.raises(NotImplementedError):
        TF.max_pool1d(torch.tensor(x[0]), 2)
    with pytest.raises(NotImplementedError, match="max_pool1d"):
        F.max_pool1d(cr.tensor(x[0]), 2)
    y = np.random.default_rng(7).normal(size=(3, 5, 6))
    _both(lambda M, y: M.max_pool2d(y, 2, ceil_mode=True, return_indices=True), [y])
    _both(lambda M, y: M.avg_pool2d(y, 3, stride=2, padding=1, ceil_mode=True), [y])
    _both(lambda M, y: M.max_pool1d(y, 2, return_indices=True), [y])


def test_views_fan_out_and_in_place_changes():
    x = np.random.default_rng(8).normal(size=(2, 3, 5, 6))
    _both(lambda M, x: M.max_pool2d(x.transpose(2, 3)[:, 1:], 2, ceil_mode=True) * 2
          + M.avg_pool2d(x.transpose(2, 3)[:, 1:], 2, ceil_mode=True), [x])
    # max pooling keeps its winners rather than its input, so a later in-place change of the
    # input does not stop backward (PyTorch, which keeps the input, raises); the gradient is
    # PyTorch's on a copy, as docs/semantics.md says of such ops.
    ours = cr.tensor(x, requires_grad=True)
    y = ours * 1
    out = F.max_pool2d(y, 3, stride=2, ceil_mode=True)
    y.mul_(0)
    out.sum().backward()
    theirs = torch.tensor(x, requires_grad=True)
    TF.max_pool2d(theirs * 1, 3, stride=2, ceil_mode=True).sum().backward()
    _same(ours.grad, theirs.grad, "x.grad")


def test_pooling_refusals_are_pytorchs():
    cases = [
        (lambda M: M.max_pool2d(M_ones(M, 1, 1, 4, 4), 2, padding=2), RuntimeError),
        (lambda M: M.max_pool2d(M_ones(M, 1, 1, 4, 4), 2, stride=0), RuntimeError),
        (lambda M: M.max_pool2d(M_ones(M, 1, 1, 2, 2), 3), RuntimeError),
        (lambda M: M.avg_pool2d(M_ones(M, 1, 1, 4, 4), 2, padding=2), RuntimeError),
        (lambda M: M.max_pool2d(M_ones(M, 4, 4), 2), RuntimeError),
        (lambda M: M.avg_pool3d(M_ones(M, 1, 1, 1, 4, 4), 3, padding=1), RuntimeError),
    ]
    for call, error in cases:
        with pytest.raises(error):
            call(TF)
        with pytest.raises(error, match="pool"):
            call(F)


def M_ones(M, *shape):
    return cr.ones(*shape, dtype="float64") if M is F else torch.ones(*shape,
                                                                     dtype=torch.float64)


# -- unpooling ------------------------------------------------------------------------------

@pytest.mark.parametrize("cfg", MAX_CONFIGS[1::2], ids=str)
def test_max_unpool_puts_values_back_as_pytorch(cfg):
    cfg = dict(cfg)
    shape = cfg.pop("shape")
    cfg.pop("dilation")
    spatial = len(shape) - 2
    x = np.round(np.random.default_rng(9).normal(size=shape))  # ties: repeated indices
    pooled, indices = getattr(TF, f"max_pool{spatial}d")(torch.tensor(x), **cfg,
                                                        return_indices=True)
    unpool_options = dict(kernel_size=cfg["kernel_size"], stride=cfg["stride"],
                          padding=cfg["padding"])
    name = f"max_unpool{spatial}d"
    accepted = []
    for size in (None, shape[2:]):
        try:
            getattr(TF, name)(pooled, indices, **unpool_options, output_size=size)
        except (RuntimeError, ValueError) as error:
            with pytest.raises(type(error)):
                getattr(F, name)(cr.tensor(pooled.numpy()), cr.tensor(indices.numpy()),
                                 **unpool_options, output_size=size)
            continue
        accepted.append(size)
        _both(lambda M, v, i: getattr(M, name)(v, i, **unpool_options, output_size=size),
              [pooled.numpy(), indices.numpy()])
    leaf = cr.tensor(pooled.numpy(), requires_grad=True)
    where = cr.tensor(indices.numpy())
    for size in accepted[:1]:
        assert cr.gradgradcheck(lambda v: getattr(F, name)(v, where, **unpool_options,
                                                           output_size=size), [leaf])


def test_max_unpool_refusals_are_pytorchs():
    values = np.ones((1, 1, 2, 2))
    good = np.array([[[[0, 3], [8, 15]]]])
    calls = [
        ((values, good + 20), dict(kernel_size=2), RuntimeError),  # an index past the output
        ((values, -good - 1), dict(kernel_size=2), RuntimeError),
        ((values, good.astype(np.int32)), dict(kernel_size=2), RuntimeError),
        ((values, good), dict(kernel_size=2, output_size=(9, 9)), ValueError),
        ((values, good), dict(kernel_size=2, output_size=(4, 4, 4)), ValueError),
    ]
    for (v, i), options, error in calls:
        with pytest.raises(error):
            TF.max_unpool2d(torch.tensor(v), torch.tensor(i), **options)
        with pytest.raises(error, match="max_unpool2d"):
            F.max_unpool2d(cr.tensor(v), cr.tensor(i), **options)


# -- transposed convolutions ----------------------------------------------------------------

def _transposed_configs(count, seed):
    rng = np.random.default_rng(seed)
    found = []
    while len(found) < count:
        spatial = (1, 3)[len(found) % 2]
        groups = int(rng.choice([1, 2]))
        c_in, c_out = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
        kernel = tuple(int(k) for k in rng.integers(1, 4, size=spatial))
        stride = tuple(int(s) for s in rng.integers(1, 3, size=spatial))
        dilation = tuple(int(d) for d in rng.integers(1, 3, size=spatial))
        padding = tuple(int(p) for p in rng.integers(0, 2, size=spatial))
        extra = tuple(int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation))
        sizes = tuple(int(n) for n in rng.integers(1, 5, size=spatial))
        out = [(n - 1) * s - 2 * p + d * (k - 1) + e + 1 for n, s, p, d, k, e in
               zip(sizes, stride, padding, dilation, kernel, extra)]
        if min(out) >= 1:
            found.append(dict(shape=(int(rng.integers(1, 3)), c_in) + sizes,
                              weight=(c_in, c_out // groups) + kernel, bias=bool(len(found) % 3),
                              options=dict(stride=stride, padding=padding, output_padding=extra,
                                           groups=groups, dilation=dilation)))
    return found


TRANSPOSED = _transposed_configs(24, 10)


@pytest.mark.parametrize("cfg", TRANSPOSED, ids=str)
def test_transposed_convolutions_match_pytorch(cfg):
    rng = np.random.default_rng(11)
    spatial = len(cfg["shape"]) - 2
    name = f"conv_transpose{spatial}d"
    arrays = [rng.normal(size=cfg["shape"]), rng.normal(size=cfg["weight"])]
    if cfg["bias"]:
        arrays.append(rng.normal(size=cfg["weight"][1] * cfg["options"]["groups"]))
    _both(lambda M, *xs: getattr(M, name)(*xs, **cfg["options"]), arrays)
    _both(lambda M, *xs: getattr(M, name)(*xs, **cfg["options"]),
          [a.astype(np.float32) for a in arrays])
    leaves = [cr.tensor(a, requires_grad=True) for a in arrays[:2]]
    fn = lambda x, w: getattr(F, name)(x, w, **cfg["options"])  # noqa: E731
    assert cr.gradcheck(fn, leaves)
    assert cr.gradgradcheck(fn, leaves, atol=1e-4, rtol=1e-3)


def test_transposed_convolutions_on_views_with_fan_out():
    rng = np.random.default_rng(12)
    x, w = rng.normal(size=(2, 2, 4, 3, 5)), rng.normal(size=(2, 3, 2, 2, 3))
    _both(lambda M, x, w: M.conv_transpose3d(x.transpose(2, 4)[:, :, 1:], w, stride=2)
          + M.conv_transpose3d(x.transpose(2, 4)[:, :, 1:], w * 2, stride=2), [x, w])
    _both(lambda M, x, w: M.conv_transpose1d(x[:, :, 0, 0, ::2], w[:, :, 0, 0], stride=2,
                                             padding=1) ** 2, [x, w])


def test_transposed_convolutions_refuse_what_pytorch_refuses():
    calls = [
        (lambda M, x, w: M.conv_transpose3d(x, w.to(M_float32(M))), (RuntimeError, TypeError)),
        (lambda M, x, w: M.conv_transpose3d(x, w, stride=2, output_padding=2), (RuntimeError,
                                                                                ValueError)),
        (lambda M, x, w: M.conv_transpose3d(x[:, :1], w), RuntimeError),
        (lambda M, x, w: M.conv_transpose1d(x[:, :, 0, 0], w[:, :, 0, 0], padding=5),
         RuntimeError),
    ]
    x, w = np.ones((1, 2, 3, 3, 3)), np.ones((2, 1, 2, 2, 2))
    for call, error in calls:
        with pytest.raises(error):
            call(TF, torch.tensor(x), torch.tensor(w))
        with pytest.raises(error, match="conv_transpose"):
            call(F, cr.tensor(x), cr.tensor(w))


def M_float32(M):
    return "float32" if M is F else torch.float32


# -- modules --------------------------------------------------------------------------------

MODULES = [
    ("MaxPool1d", (3,), dict(stride=2, padding=1, ceil_mode=True), (2, 3, 8)),
    ("MaxPool2d", ((2, 3),), dict(stride=2, dilation=(1, 2), ceil_mode=True), (2, 3, 7, 9)),
    ("MaxPool3d", (2,), dict(ceil_mode=True), (1, 2, 3, 5, 4)),
    ("AvgPool1d", (3,), dict(stride=2, padding=1, ceil_mode=True, count_include_pad=False),
     (2, 3, 8)),
    ("AvgPool2d", (3, 2, 1, True, False, None), {}, (2, 3, 6, 7)),  # positional, torch's order
    ("AvgPool3d", (2,), dict(stride=2, ceil_mode=True, divisor_override=3), (1, 2, 3, 5, 4)),
    ("ConvTranspose1d", (3, 4, 3), dict(stride=2, padding=1, output_padding=1), (2, 3, 5)),
    ("ConvTranspose3d", (4, 2, (2, 3, 2)), dict(stride=(1, 2, 2), groups=2, dilation=2),
     (1, 4, 3, 2, 3)),
    ("Upsample", (), dict(scale_factor=(2, 1.5, 0.5), mode="trilinear"), (1, 2, 3, 4, 5)),
    ("Upsample", ((7,), None, "nearest-exact"), {}, (2, 3, 5)),
    ("UpsamplingNearest2d", (), dict(scale_factor=3), (1, 2, 3, 2)),
    ("UpsamplingBilinear2d", ((5, 4),), {}, (1, 2, 3, 2)),
]


@pytest.mark.parametrize("name, args, options, shape", MODULES, ids=[m[0] for m in MODULES])
def test_modules_match_pytorch_and_print_as_it_does(name, args, options, shape):
    dtype = {"dtype": "float64"} if name.startswith("Conv") else {}
    ours = getattr(cr.nn, name)(*args, **options, **dtype)
    theirs = getattr(torch.nn, name)(*args, **options).double()
    assert repr(ours) == repr(theirs)
    theirs.load_state_dict({k: torch.tensor(v.detach().numpy())
                            for k, v in ours.state_dict().items()})
    x = np.random.default_rng(13).normal(size=shape)
    c_in, t_in = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    _same(ours(c_in), theirs(t_in), name)


def test_transposed_modules_take_an_output_size_as_pytorch():
    for dims in (1, 2, 3):
        name = f"ConvTranspose{dims}d"
        ours = getattr(cr.nn, name)(2, 2, 3, stride=2, padding=1, dtype="float64")
        theirs = getattr(torch.nn, name)(2, 2, 3, stride=2, padding=1).double()
        theirs.load_state_dict({k: torch.tensor(v.detach().numpy())
                                for k, v in ours.state_dict().items()})
        x = np.random.default_rng(14).normal(size=(1, 2) + (3,) * dims)
        for size in ((6,) * dims, (1, 2) + (5,) * dims):
            _same(ours(cr.tensor(x), output_size=size), theirs(torch.tensor(x), output_size=size),
                  f"{name} to {size}")
        with pytest.raises(ValueError):
            theirs(torch.tensor(x), output_size=(9,) * dims)
        with pytest.raises(ValueError, match="valid sizes range"):
            ours(cr.tensor(x), output_size=(9,) * dims)


def test_pool_and_unpool_modules_pair_up_as_in_pytorch():
    from interop_cases import with_indices
    rng = np.random.default_rng(15)
    for (pool, unpool), shape in with_indices(cr.nn):
        theirs = [getattr(torch.nn, type(m).__name__)(**_options(m)) for m in (pool, unpool)]
        assert [repr(m) for m in (pool, unpool)] == [repr(m) for m in theirs]
        x = rng.normal(size=shape)
        c_values, c_indices = pool(cr.tensor(x))
        t_values, t_indices = theirs[0](torch.tensor(x))
        _same(c_indices, t_indices, "indices")
        _same(unpool(c_values, c_indices, output_size=shape),
              theirs[1](t_values, t_indices, output_size=shape), "unpooled")


def _options(module):
    from chainrule.interop.torch_modules import LAYERS
    return LAYERS[type(module).__name__](module)


# -- conversions ----------------------------------------------------------------------------

def test_the_new_layers_convert_both_ways():
    from interop_cases import lines_and_upsampling, with_indices
    torch.manual_seed(0)
    theirs = lines_and_upsampling(torch.nn).eval()
    ours = cr.interop.from_torch(theirs)
    x = np.random.default_rng(16).standard_normal((3, 48)).astype(np.float32)
    with cr.no_grad():
        expected = theirs(torch.tensor(x)).detach().numpy()
        np.testing.assert_allclose(ours(cr.tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-6)
    assert str(cr.interop.to_torch(ours)) == str(theirs)
    for (pool, unpool), _ in with_indices(torch.nn):
        for module in (pool, unpool):
            back = cr.interop.to_torch(cr.interop.from_torch(module))
            assert str(back) == str(module) and type(back) is type(module)


def test_the_new_layers_export_to_onnx_or_are_refused_by_name(tmp_path):
    onnx = pytest.importorskip("onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    from interop_cases import lines_and_upsampling
    cr.manual_seed(0)
    model = lines_and_upsampling(cr.nn).eval()
    path = tmp_path / "lines.onnx"
    cr.onnx.export(model, np.zeros((2, 48), np.float32), path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(17).standard_normal((5, 48)).astype(np.float32)
    with cr.no_grad():
        expected = model(cr.tensor(x)).numpy()
    np.testing.assert_allclose(session.run(None, {"input": x})[0], expected, atol=1e-5)
    refused = [(cr.nn.MaxPool2d(2, return_indices=True), "returns indices"),
               (cr.nn.MaxUnpool2d(2), "takes the indices"),
               (cr.nn.AvgPool2d(2, ceil_mode=True), "ceil_mode=True")]
    for layer, fragment in refused:
        model = cr.nn.Sequential(cr.nn.Unflatten(1, (1, 4, 4)), layer)
        with pytest.raises(cr.interop.onnx_export.ExportError, match=fragment):
            cr.onnx.export(model, np.zeros((1, 16), np.float32), tmp_path / "refused.onnx")


def test_empty_batches_pass_through_as_in_pytorch():
    calls = [
        (lambda M, x: M.max_pool2d(x, 2, ceil_mode=True, return_indices=True), [(0, 2, 5, 5)]),
        (lambda M, x: M.avg_pool2d(x, 2, ceil_mode=True), [(0, 2, 5, 5)]),
        (lambda M, x: M.avg_pool3d(x, 2, ceil_mode=True), [(0, 2, 3, 3, 3)]),
        (lambda M, x, w: M.conv2d(x, w), [(0, 2, 5, 5), (3, 2, 2, 2)]),
        (lambda M, x, w: M.conv_transpose3d(x, w), [(0, 2, 3, 3, 3), (2, 2, 2, 2, 2)]),
        (lambda M, x, w: M.conv_transpose1d(x, w), [(0, 2, 3), (2, 2, 2)]),
    ]
    for call, shapes in calls:
        _both(call, [np.ones(shape) for shape in shapes])
    values, indices = np.zeros((0, 2, 2, 2)), np.zeros((0, 2, 2, 2), dtype=np.int64)
    _both(lambda M, v, i: M.max_unpool2d(v, i, 2), [values, indices])


@pytest.mark.parametrize("op", ["conv_transpose3d", "avg_pool3d", "max_pool3d", "max_unpool3d"])
def test_ops_that_save_less_than_pytorch_backpropagate_after_an_in_place_change(op):
    x = np.random.default_rng(18).normal(size=(1, 2, 3, 4, 4))
    weight, where = np.ones((2, 2, 2, 2, 2)), np.arange(96).reshape(1, 2, 3, 4, 4) % 8
    calls = {"conv_transpose3d": lambda M, lib, y: M.conv_transpose3d(y, lib.tensor(weight)),
             "avg_pool3d": lambda M, lib, y: M.avg_pool3d(y, 2, ceil_mode=True),
             "max_pool3d": lambda M, lib, y: M.max_pool3d(y, 2, ceil_mode=True),
             "max_unpool3d": lambda M, lib, y: M.max_unpool3d(y, lib.tensor(where), 2)}
    ours = cr.tensor(x, requires_grad=True)
    y = ours * 1
    out = calls[op](F, cr, y)
    y.add_(1.0)
    (out * out.detach()).sum().backward()
    theirs = torch.tensor(x, requires_grad=True)
    copy = calls[op](TF, torch, theirs * 1)  # PyTorch itself raises unless it works on a copy
    (copy * copy.detach()).sum().backward()
    _same(ours.grad, theirs.grad, "x.grad")
