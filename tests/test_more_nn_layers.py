"""PReLU, GLU, the padding layers, PixelShuffle/PixelUnshuffle, RMSNorm, InstanceNorm1d/2d/3d
and PairwiseDistance against PyTorch: the same weights copied across, values and gradients for
the inputs and the parameters in float32 and float64, running statistics, state dict keys and
shapes, batched and unbatched, non-contiguous and fanned-out inputs, edge values, errors where
PyTorch raises; float64 first- and second-order gradient checks for each F. function; ONNX
export against onnxruntime."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

torch = pytest.importorskip("torch")

TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-10, atol=1e-11)}

# (layer name, constructor args, constructor kwargs, input shapes)
CASES = [
    ("PReLU", (), {}, [(2, 4, 3), (5,), ()]),
    ("PReLU", (4,), {"init": 0.1}, [(2, 4, 3), (2, 4), (2, 4, 2, 2)]),
    ("GLU", (), {}, [(2, 6), (4,)]),
    ("GLU", (1,), {}, [(2, 4, 3)]),
    ("ZeroPad1d", (2,), {}, [(2, 3, 5), (3, 5)]),
    ("ZeroPad2d", ((1, 0, 2, 1),), {}, [(2, 2, 3, 3), (2, 3, 3)]),
    ("ZeroPad2d", ((-1, 1, 0, -2),), {}, [(2, 2, 3, 4)]),
    ("ZeroPad3d", (1,), {}, [(1, 2, 2, 2, 2), (2, 2, 2, 2)]),
    ("ConstantPad1d", ((1, 2), 3.5), {}, [(2, 3, 5), (3, 5)]),
    ("ConstantPad2d", (1, -2.0), {}, [(2, 2, 3, 3)]),
    ("ConstantPad3d", ((1, 0, 0, 1, 2, 0), 0.5), {}, [(1, 2, 2, 3, 2)]),
    ("ReflectionPad1d", ((2, 1),), {}, [(2, 3, 5), (3, 5)]),
    ("ReflectionPad2d", ((1, 2, 0, 1),), {}, [(2, 2, 3, 4), (2, 3, 4)]),
    ("ReflectionPad3d", (1,), {}, [(1, 2, 3, 3, 3), (2, 3, 3, 3)]),
    ("ReplicationPad1d", ((3, 1),), {}, [(2, 3, 5), (3, 5)]),
    ("ReplicationPad2d", ((1, 2, 3, 0),), {}, [(2, 2, 3, 4), (2, 3, 4)]),
    ("ReplicationPad3d", (1,), {}, [(1, 2, 2, 3, 2), (2, 2, 3, 2)]),
    ("CircularPad1d", ((2, 1),), {}, [(2, 3, 5), (3, 5)]),
    ("CircularPad2d", ((1, 2, 0, 1),), {}, [(2, 2, 3, 4), (2, 3, 4)]),
    ("CircularPad3d", (1,), {}, [(1, 2, 2, 3, 2), (2, 2, 3, 2)]),
    ("PixelShuffle", (2,), {}, [(2, 8, 3, 3), (8, 3, 2), (2, 2, 4, 1, 3)]),
    ("PixelUnshuffle", (2,), {}, [(2, 2, 4, 6), (3, 2, 4), (2, 1, 1, 2, 2)]),
    ("RMSNorm", (4,), {}, [(2, 3, 4), (4,)]),
    ("RMSNorm", ([3, 4],), {"eps": 1e-3}, [(2, 3, 4)]),
    ("RMSNorm", (4,), {"elementwise_affine": False}, [(5, 4)]),
    ("InstanceNorm1d", (3,), {}, [(2, 3, 5), (3, 5)]),
    ("InstanceNorm1d", (3,), {"affine": True}, [(2, 3, 5), (3, 4)]),
    ("InstanceNorm1d", (3,), {"affine": True, "bias": False}, [(2, 3, 5)]),
    ("InstanceNorm2d", (3,), {"affine": True, "track_running_stats": True},
     [(2, 3, 4, 4), (3, 2, 3)]),
    ("InstanceNorm2d", (2,), {"track_running_stats": True, "momentum": None}, [(3, 2, 2, 3)]),
    ("InstanceNorm3d", (2,), {"affine": True, "eps": 1e-3}, [(2, 2, 3, 2, 3), (2, 2, 2, 2)]),
]
CASE_IDS = [f"{name}{args}{kwargs}" for name, args, kwargs, _ in CASES]


def build(name, args, kwargs, dtype):
    """The layer in both libraries, PyTorch's parameters randomised and copied across."""
    theirs = getattr(torch.nn, name)(*args, **kwargs).to(getattr(torch, np.dtype(dtype).name))
    with torch.no_grad():
        for p in theirs.parameters():
            p.uniform_(-1.5, 1.5)
    ours = getattr(nn, name)(*args, **kwargs).to(dtype)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def inputs(shape, dtype, seed=0, strided=False):
    """A random array and, in both libraries, a leaf and the input made from it: the leaf
    itself or, ``strided``, every other element of a leaf twice as long (non-contiguous)."""
    rng = np.random.default_rng(seed)
    full = shape[:-1] + (2 * shape[-1],) if strided and shape else shape
    x = rng.normal(size=full).astype(dtype)
    ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    if strided and shape:
        return ours, theirs, ours[..., ::2], theirs[..., ::2]
    return ours, theirs, ours, theirs


def close(a, b, dtype, what=""):
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    assert a.shape == b.shape, what
    np.testing.assert_allclose(a, b, err_msg=what, **TOL[dtype])


def compare(ours, theirs, out_ours, out_theirs, leaves, dtype, seed=1):
    """Values, then gradients of a random weighting of the output for the leaves and for
    every parameter."""
    close(out_ours, out_theirs, dtype, "forward")
    g = np.random.default_rng(seed).normal(size=tuple(out_theirs.shape)).astype(dtype)
    (out_ours * cr.tensor(g)).sum().backward()
    (out_theirs * torch.tensor(g)).sum().backward()
    for k, (a, b) in enumerate(leaves):
        close(a.grad, b.grad, dtype, f"input {k} gradient")
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        close(p.grad, q.grad, dtype, f"{name} gradient")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, args, kwargs, shapes", CASES, ids=CASE_IDS)
def test_layers_match_pytorch(name, args, kwargs, shapes, dtype):
    ours, theirs = build(name, args, kwargs, dtype)
    for k, shape in enumerate(shapes):
        for strided in (False, True):
            for p in list(ours.parameters()) + list(theirs.parameters()):
                p.grad = None
            leaf, leaf_t, x, x_t = inputs(shape, dtype, seed=k, strided=strided)
            compare(ours, theirs, ours(x), theirs(x_t), [(leaf, leaf_t)], dtype, seed=k)
            for (key, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
                close(a, b, dtype, f"{key} after the forward pass")


@pytest.mark.parametrize("name, args, kwargs, shapes", CASES, ids=CASE_IDS)
def test_fan_out_sums_both_paths(name, args, kwargs, shapes):
    ours, theirs = build(name, args, kwargs, np.float64)
    leaf, leaf_t, x, x_t = inputs(shapes[0], np.float64)
    out, out_t = ours(x) * 2 + ours(x).exp(), theirs(x_t) * 2 + theirs(x_t).exp()
    compare(ours, theirs, out, out_t, [(leaf, leaf_t)], np.float64)


@pytest.mark.parametrize("name, args, kwargs, shapes", CASES, ids=CASE_IDS)
def test_evaluation_mode_matches(name, args, kwargs, shapes):
    ours, theirs = build(name, args, kwargs, np.float64)
    leaf, leaf_t, x, x_t = inputs(shapes[0], np.float64, seed=3)
    ours(x), theirs(x_t)  # running statistics, where tracked, move
    ours.eval(), theirs.eval()
    leaf, leaf_t, x, x_t = inputs(shapes[0], np.float64, seed=4)
    compare(ours, theirs, ours(x), theirs(x_t), [(leaf, leaf_t)], np.float64)


def outcome(call):
    try:
        return call(), None
    except Exception as error:  # noqa: BLE001 - whichever PyTorch raises
        return None, error


@pytest.mark.parametrize("fill", ["zeros", "negative", "large", "empty"])
@pytest.mark.parametrize("name, args, kwargs, shapes", CASES, ids=CASE_IDS)
def test_edge_values_match_or_raise_as_pytorch(name, args, kwargs, shapes, fill):
    ours, theirs = build(name, args, kwargs, np.float32)
    shape = shapes[0]
    if fill == "empty":
        shape = (0,) + shape[1:] if shape else (0,)
        if name in ("PixelShuffle", "PixelUnshuffle"):
            return empty_batch_by_definition(ours, shape)
        if name.startswith("InstanceNorm") and ours.affine:
            # PyTorch 2.13 raises IndexError (select(): index 0 out of range) here.
            with pytest.raises(IndexError):
                theirs(torch.zeros(shape))
            return empty_batch_by_definition(ours, shape)
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    x = {"zeros": 0 * x, "negative": -abs(x) - 1, "large": x * 1e4, "empty": x}[fill]
    expected, error = outcome(lambda: theirs(torch.tensor(x, requires_grad=True)))
    if error is not None:
        with pytest.raises(Exception):
            ours(cr.tensor(x, requires_grad=True))
        return
    leaf, leaf_t = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours_out, theirs_out = ours(leaf), theirs(leaf_t)
    np.testing.assert_allclose(ours_out.detach().numpy(), theirs_out.detach().numpy(),
                               rtol=1e-4, atol=1e-4)
    ours_out.sum().backward(), theirs_out.sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), leaf_t.grad.numpy(), rtol=1e-4, atol=1e-4)


def empty_batch_by_definition(layer, shape):
    # PyTorch 2.13 gets these wrong on an empty batch: pixel_unshuffle returns the input's
    # shape, (0, 2, 4, 6) for (0, 8, 2, 3), pixel_shuffle's backward raises, and so does the
    # forward of an instance norm with parameters or running statistics.
    if "Unshuffle" in type(layer).__name__:
        assert tuple(torch.nn.functional.pixel_unshuffle(torch.zeros(shape), 2).shape) == shape
    one = layer(cr.zeros((1,) + shape[1:])).shape
    x = cr.zeros(shape, requires_grad=True)
    out = layer(x)
    assert tuple(out.shape) == (0,) + tuple(one[1:])
    out.sum().backward()
    assert x.grad.shape == shape


def test_pairwise_distance_matches_pytorch():
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        for p, eps, keepdim in [(2.0, 1e-6, False), (1, 0.0, True), (3.5, 1e-3, False),
                                (float("inf"), 1e-6, False), (0.5, 1e-6, True)]:
            for shape1, shape2 in [((4, 3), (4, 3)), ((4, 3), (3,)), ((5,), (5,)),
                                   ((2, 3, 4), (1, 3, 4)), ((0, 3), (0, 3)), ((), ()),
                                   ((), (3,))]:
                a, b = rng.normal(size=shape1).astype(dtype), rng.normal(size=shape2).astype(dtype)
                ours, theirs = nn.PairwiseDistance(p, eps, keepdim), \
                    torch.nn.PairwiseDistance(p, eps, keepdim)
                xa, xb = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
                ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
                compare(ours, theirs, ours(xa, xb), theirs(ta, tb), [(xa, ta), (xb, tb)], dtype)
    x, t = cr.tensor([1., 2.], requires_grad=True), torch.tensor([1., 2.], requires_grad=True)
    compare(nn.PairwiseDistance(), torch.nn.PairwiseDistance(), nn.PairwiseDistance()(x, x),
            torch.nn.PairwiseDistance()(t, t), [(x, t)], np.float32)  # same tensor twice


def test_state_dicts_load_across_and_reprs_name_the_options():
    for name, args, kwargs, _ in CASES:
        ours, theirs = build(name, args, kwargs, np.float32)
        fresh = getattr(torch.nn, name)(*args, **kwargs)
        fresh.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy())
                               for k, v in ours.state_dict().items()})
        for a, b in zip(fresh.state_dict().values(), theirs.state_dict().values()):
            assert torch.equal(a, b)
    assert repr(nn.PReLU(3)) == repr(torch.nn.PReLU(3))
    assert repr(nn.ZeroPad2d(1)) == repr(torch.nn.ZeroPad2d(1))
    assert repr(nn.ConstantPad1d((1, 2), 3.5)) == repr(torch.nn.ConstantPad1d((1, 2), 3.5))
    assert repr(nn.PixelShuffle(3)) == repr(torch.nn.PixelShuffle(3))
    assert repr(nn.RMSNorm([2, 3])) == repr(torch.nn.RMSNorm([2, 3]))
    for options in ({}, {"affine": True}, {"affine": True, "bias": False, "momentum": None}):
        assert repr(nn.InstanceNorm3d(4, **options)) == repr(torch.nn.InstanceNorm3d(4, **options))
    assert repr(nn.GLU(1)) == repr(torch.nn.GLU(1))
    assert repr(nn.ReflectionPad3d((1, 2, 0, 1, 2, 0))) == \
        repr(torch.nn.ReflectionPad3d((1, 2, 0, 1, 2, 0)))
    assert nn.PReLU(2, init=0.3).weight.dtype == np.float32
    np.testing.assert_array_equal(nn.PReLU(2, init=0.3).weight.detach().numpy(),
                                  torch.nn.PReLU(2, init=0.3).weight.detach().numpy())


def test_instance_norm_running_statistics_follow_pytorch_over_steps():
    ours, theirs = build("InstanceNorm1d", (3,), {"track_running_stats": True, "affine": True},
                         np.float64)
    for step in range(3):
        x = np.random.default_rng(step).normal(size=(4, 3, 6)) * (step + 1)
        ours(cr.tensor(x)), theirs(torch.tensor(x))
    for (key, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        close(a, b, np.float64, key)
    assert int(ours.num_batches_tracked.item()) == int(theirs.num_batches_tracked) == 0


ERRORS = [  # (layer, input shape, the pattern of our message); PyTorch raises on each too
    (lambda lib: lib.nn.PReLU(3), (2, 4), r"prelu: weight has 3 slopes.*\(2, 4\)"),
    (lambda lib: lib.nn.PReLU(4), (4,), r"prelu: weight has 4 slopes.*\(4,\) has 1 channels"),
    (lambda lib: lib.nn.GLU(1), (2, 3), r"glu: dimension 1 .*\(2, 3\).*odd size 3"),
    (lambda lib: lib.nn.GLU(), (), r"glu: .*0-d"),
    (lambda lib: lib.nn.PixelShuffle(2), (1, 6, 2, 2), r"pixel_shuffle: 6 channels"),
    (lambda lib: lib.nn.PixelShuffle(2), (4, 2), r"pixel_shuffle: .*at least 3.*\(4, 2\)"),
    (lambda lib: lib.nn.PixelUnshuffle(2), (1, 1, 3, 4), r"pixel_unshuffle: height 3"),
    (lambda lib: lib.nn.RMSNorm(3), (2, 4), r"rms_norm: normalized_shape \(3,\).*\(2, 4\)"),
    (lambda lib: lib.nn.InstanceNorm1d(3, affine=True), (2, 4, 5),
     r"InstanceNorm1d\(3\): the input of shape \(2, 4, 5\) has 4 channels"),
    (lambda lib: lib.nn.InstanceNorm2d(3), (3, 4), r"InstanceNorm2d: expected a 3-D.*\(3, 4\)"),
    (lambda lib: lib.nn.InstanceNorm1d(3), (2, 3, 1), r"more than 1 spatial element"),
    (lambda lib: lib.nn.ReflectionPad1d(3), (2, 3), r"reflect padding \(3, 3\).*size 3"),
    (lambda lib: lib.nn.ReflectionPad2d(1), (3, 3),
     r"ReflectionPad2d: expected a 3-D or 4-D .*\(3, 3\)"),
    (lambda lib: lib.nn.ReplicationPad1d(1), (2, 2, 2, 3), r"ReplicationPad1d: .*\(2, 2, 2, 3\)"),
    (lambda lib: lib.nn.CircularPad1d(1), (3,), r"CircularPad1d: .*\(3,\)"),
    (lambda lib: lib.nn.CircularPad1d(4), (2, 3), r"circular padding \(4, 4\).*more than once"),
    (lambda lib: lib.nn.ZeroPad2d(1), (3,), r"ZeroPad2d: padding \(1, 1, 1, 1\).*\(3,\)"),
    (lambda lib: lib.nn.ZeroPad2d((1, 2, 3)), (2, 3, 3), r"pad: 3 amounts"),
]


@pytest.mark.parametrize("make, shape, pattern", ERRORS)
def test_errors_where_pytorch_raises_name_the_layer_and_shapes(make, shape, pattern):
    x = np.zeros(shape, dtype=np.float32)
    with pytest.raises(Exception):
        make(torch)(torch.tensor(x))
    with pytest.raises(Exception, match=pattern):
        make(cr)(cr.tensor(x))


def test_instance_norm_warns_as_pytorch_where_num_features_is_unused():
    x = np.random.default_rng(0).normal(size=(2, 4, 5)).astype(np.float32)
    with pytest.warns(UserWarning, match="does not match num_features"):
        expected = torch.nn.InstanceNorm1d(3)(torch.tensor(x))
    with pytest.warns(UserWarning, match=r"InstanceNorm1d\(3\).*4 channels"):
        got = nn.InstanceNorm1d(3)(cr.tensor(x))
    close(got, expected, np.float32)


def test_pixel_unshuffle_undoes_pixel_shuffle():
    x = cr.tensor(np.random.default_rng(0).normal(size=(2, 12, 3, 2)))
    np.testing.assert_array_equal(F.pixel_unshuffle(F.pixel_shuffle(x, 2), 2).numpy(),
                                  x.numpy())
    with pytest.raises(ValueError, match="upscale_factor must be a positive int"):
        F.pixel_shuffle(x, 0)


def test_rms_norm_default_eps_is_the_dtypes_machine_epsilon():
    x = np.full((1, 3), 1e-5)
    for dtype in (np.float32, np.float64):
        expected = torch.nn.functional.rms_norm(torch.tensor(x.astype(dtype)), (3,))
        got = F.rms_norm(cr.tensor(x.astype(dtype)), (3,))
        close(got, expected, dtype)
    assert not np.allclose(F.rms_norm(cr.tensor(x), (3,)).numpy(),
                           F.rms_norm(cr.tensor(x), (3,), eps=np.finfo(np.float32).eps).numpy())


def test_instance_norm_function_with_running_statistics_in_both_modes():
    x = np.random.default_rng(0).normal(size=(3, 2, 5))
    ours = [cr.zeros(2, dtype="float64"), cr.ones(2, dtype="float64")]
    theirs = [torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)]
    for use_input_stats in (True, False):
        got = F.instance_norm(cr.tensor(x), *ours, use_input_stats=use_input_stats,
                              momentum=0.3)
        expected = torch.nn.functional.instance_norm(torch.tensor(x), *theirs,
                                                     use_input_stats=use_input_stats,
                                                     momentum=0.3)
        close(got, expected, np.float64)
        for a, b in zip(ours, theirs):
            close(a, b, np.float64)


def f64(*shape, seed=0, positive=False):
    x = np.random.default_rng(seed).normal(size=shape)
    return cr.tensor(abs(x) + 0.5 if positive else x, requires_grad=True)


GRADCHECKS = [
    ("prelu", lambda x, w: F.prelu(x, w), lambda: [f64(2, 3, 4), f64(3, seed=1)]),
    ("prelu shared", lambda x, w: F.prelu(x, w), lambda: [f64(2, 3), f64(1, seed=1)]),
    ("glu", lambda x: F.glu(x, 1), lambda: [f64(2, 4, 3)]),
    ("pixel_shuffle", lambda x: F.pixel_shuffle(x, 2), lambda: [f64(1, 4, 2, 3)]),
    ("pixel_unshuffle", lambda x: F.pixel_unshuffle(x, 2), lambda: [f64(1, 1, 4, 2)]),
    ("rms_norm", lambda x, w: F.rms_norm(x, (3,), w, eps=1e-3),
     lambda: [f64(2, 3), f64(3, seed=1)]),
    ("instance_norm", lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
     lambda: [f64(2, 3, 4), f64(3, seed=1), f64(3, seed=2)]),
    ("pairwise_distance", lambda a, b: F.pairwise_distance(a, b),
     lambda: [f64(3, 4), f64(3, 4, seed=1)]),
    ("pairwise_distance p=3", lambda a, b: F.pairwise_distance(a, b, p=3, keepdim=True),
     lambda: [f64(3, 4), f64(3, 4, seed=1)]),
    ("pad reflect", lambda x: F.pad(x, (1, 2), mode="reflect"), lambda: [f64(2, 4)]),
]


@pytest.mark.parametrize("name, fn, make", GRADCHECKS, ids=[g[0] for g in GRADCHECKS])
def test_functions_pass_first_and_second_order_gradient_checks(name, fn, make):
    assert cr.gradcheck(fn, make())
    assert cr.gradgradcheck(fn, make())


def run_exported(model, x, tmp_path, opset):
    ort = pytest.importorskip("onnxruntime", reason='pip install -e ".[interop]"')
    pytest.importorskip("onnx", reason='pip install -e ".[interop]"')
    path = str(tmp_path / "model.onnx")
    cr.onnx.export(model, cr.tensor(x), path, opset=opset)
    session = ort.InferenceSession(path)
    return session.run(None, {session.get_inputs()[0].name: x})[0]


@pytest.mark.parametrize("opset", [17, 19])
@pytest.mark.parametrize("name, args, kwargs, shapes", CASES, ids=CASE_IDS)
def test_onnx_export_computes_what_the_layer_computes(name, args, kwargs, shapes, opset,
                                                      tmp_path):
    if name.startswith("Circular") and opset < 19:
        return  # refused: tests/test_more_nn_layers.py's next test
    layer, _ = build(name, args, kwargs, np.float32)
    model = nn.Sequential(layer, nn.Tanh())
    x = np.random.default_rng(0).normal(size=(3,) + shapes[0][1:]).astype(np.float32)
    model(cr.tensor(x))  # running statistics, where tracked, move away from 0 and 1
    model.eval()
    with cr.no_grad():
        expected = model(cr.tensor(x)).numpy()
    got = run_exported(model, x, tmp_path, opset)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    two = np.concatenate([x, x[:1] * 2])  # the batch axis stays dynamic
    np.testing.assert_allclose(run_exported(model, two, tmp_path, opset)[-1],
                               model(cr.tensor(two)).detach().numpy()[-1], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("layer, shape, opset, pattern", [
    (nn.CircularPad1d(1), (2, 3, 4), 17, r"CircularPad1d at '0' pads with mode 'circular', "
                                         r"which ONNX's Pad has from opset 19"),
    (nn.ZeroPad2d(1), (2, 3), 17, r"ZeroPad2d at '0' pads 2 dimensions of shape \(2, 3\)"),
    (nn.GLU(0), (2, 3), 17, r"GLU at '0' halves dimension 0, the batch axis"),
    (nn.PixelShuffle(2), (1, 4, 2, 2, 2), 17, r"PixelShuffle at '0' gets shape "
                                              r"\(1, 4, 2, 2, 2\); export handles batched"),
    (nn.InstanceNorm2d(3), (3, 4, 4), 17, r"InstanceNorm2d at '0' gets shape \(3, 4, 4\)"),
    (nn.RMSNorm([2, 3]), (2, 3), 17, r"RMSNorm at '0' normalises over dimension 0"),
])
def test_onnx_export_refuses_what_it_cannot_keep(layer, shape, opset, pattern, tmp_path):
    pytest.importorskip("onnx", reason='pip install -e ".[interop]"')
    from chainrule.interop.onnx_export import ExportError
    with pytest.raises(ExportError, match=pattern):
        cr.onnx.export(nn.Sequential(layer), cr.zeros(*shape), str(tmp_path / "m.onnx"),
                       opset=opset)
    with pytest.raises(ExportError, match=r"PairwiseDistance at '0' compares two inputs"):
        cr.onnx.export(nn.Sequential(nn.PairwiseDistance()), cr.zeros(1, 4),
                       str(tmp_path / "m.onnx"))


# Every layer above crosses to PyTorch and back through cr.interop and exports to ONNX (the
# coverage tests of tests/test_interop.py and tests/test_onnx_export.py count these).
CONVERTED = sorted({name for name, *_ in CASES} | {"PairwiseDistance"})


def test_the_coverage_tables_list_exactly_these_layers():
    from interop_cases import MORE_LAYERS
    assert MORE_LAYERS == set(CONVERTED)


@pytest.mark.parametrize("name, args, kwargs, shapes", CASES, ids=CASE_IDS)
def test_layers_convert_both_ways_with_their_weights(name, args, kwargs, shapes):
    ours, theirs = build(name, args, kwargs, np.float64)
    converted = cr.interop.from_torch(torch.nn.Sequential(theirs))
    back = cr.interop.to_torch(converted)
    assert repr(back[0]) == repr(theirs)
    x = np.random.default_rng(0).normal(size=shapes[0])
    close(converted(cr.tensor(x)), theirs(torch.tensor(x)), np.float64)
    close(back(torch.tensor(x)), theirs(torch.tensor(x)), np.float64)
    pair = cr.interop.from_torch(torch.nn.PairwiseDistance(p=3, eps=0.1, keepdim=True))
    assert (pair.norm, pair.eps, pair.keepdim) == (3, 0.1, True)
    assert cr.interop.to_torch(nn.PairwiseDistance(p=1)).norm == 1
