"""NumPy functions on tensors: each dispatches to chainrule and keeps the graph, or raises.

One table drives the differentiable cases: each gives the NumPy expression (run on tensors it
must match the same expression run on the arrays) and PyTorch's equivalent, whose gradient
ours must equal.
"""
from collections import namedtuple

import numpy as np
import pytest

import chainrule as cr

Case = namedtuple("Case", "name numpy torch shapes positive", defaults=(False,))

RNG = np.random.default_rng(7)
C34 = RNG.standard_normal((3, 4))    # a constant NumPy operand
C3 = RNG.standard_normal(3)

CASES = [
    # ufuncs, tensors on either side (NumPy routes ndarray + tensor through np.add)
    Case("add", lambda a, b: np.add(a, b), lambda a, b: a + b, [(3, 4), (4,)]),
    Case("subtract", lambda a, b: np.subtract(a, b), lambda a, b: a - b, [(3, 4), (3, 1)]),
    Case("multiply", lambda a, b: np.multiply(a, b), lambda a, b: a * b, [(3, 4), (3, 4)]),
    Case("divide", lambda a, b: np.divide(a, b), lambda a, b: a / b, [(3, 4), (4,)], True),
    Case("true_divide", lambda a, b: np.true_divide(b, a), lambda a, b: b / a, [(4,), (4,)], True),
    Case("negative", lambda a: np.negative(a), lambda a: -a, [(3, 4)]),
    Case("positive", lambda a: np.positive(a) * a, lambda a: a * a, [(5,)]),
    Case("power", lambda a, b: np.power(a, b), lambda a, b: a ** b, [(3, 4), (3, 4)], True),
    Case("power-scalar", lambda a: np.power(a, 3), lambda a: a ** 3, [(3, 4)]),
    Case("exp", lambda a: np.exp(a), lambda a: a.exp(), [(3, 4)]),
    Case("log", lambda a: np.log(a), lambda a: a.log(), [(3, 4)], True),
    Case("sqrt", lambda a: np.sqrt(a), lambda a: a.sqrt(), [(3, 4)], True),
    Case("absolute", lambda a: np.abs(a), lambda a: a.abs(), [(3, 4)]),
    Case("tanh", lambda a: np.tanh(a), lambda a: a.tanh(), [(3, 4)]),
    Case("square", lambda a: np.square(a), lambda a: a * a, [(3, 4)]),
    Case("sign", lambda a: np.sign(a) * a, lambda a: a.sign() * a, [(3, 4)]),
    Case("maximum", lambda a, b: np.maximum(a, b), lambda a, b: a.maximum(b), [(3, 4), (4,)]),
    Case("minimum", lambda a, b: np.minimum(a, b), lambda a, b: a.minimum(b), [(3, 4), (3, 4)]),
    Case("matmul", lambda a, b: np.matmul(a, b), lambda a, b: a @ b, [(2, 3, 4), (4, 2)]),
    Case("ndarray+tensor", lambda a: C34 + a, lambda a: _t(C34) + a, [(3, 4)]),
    Case("ndarray-tensor", lambda a: C34 - a, lambda a: _t(C34) - a, [(4,)]),
    Case("ndarray/tensor", lambda a: C34 / a, lambda a: _t(C34) / a, [(3, 4)], True),
    Case("ndarray@tensor", lambda a: C34 @ a, lambda a: _t(C34) @ a, [(4, 2)]),
    Case("float64*tensor", lambda a: np.float64(2.5) * a, lambda a: 2.5 * a, [(3, 4)]),
    Case("float64**tensor", lambda a: np.float64(1.5) ** a, lambda a: 1.5 ** a, [(3, 4)]),
    Case("add.reduce", lambda a: np.add.reduce(a, axis=1), lambda a: a.sum(1), [(3, 4)]),
    Case("maximum.reduce", lambda a: np.maximum.reduce(a), lambda a: a.amax(0), [(3, 4)]),
    Case("ufunc-dtype", lambda a: np.exp(a, dtype=np.float64), lambda a: a.exp(), [(3,)]),
    # fan-out: every path's gradient is summed
    Case("tanh+x", lambda a: np.tanh(a) + a, lambda a: a.tanh() + a, [(3, 4)]),
    Case("maximum(x,0)*x", lambda a: np.maximum(a, 0) * a, lambda a: a.clamp(min=0) * a, [(3, 4)]),
    # reductions
    Case("sum", lambda a: np.sum(a), lambda a: a.sum(), [(3, 4)]),
    Case("sum-axis", lambda a: np.sum(a, axis=(0, 2), keepdims=True),
         lambda a: a.sum((0, 2), keepdim=True), [(2, 3, 4)]),
    Case("mean", lambda a: np.mean(a, axis=1), lambda a: a.mean(1), [(3, 4)]),
    Case("max", lambda a: np.max(a, axis=1), lambda a: a.amax(1), [(3, 4)]),
    Case("amax", lambda a: np.amax(a), lambda a: a.amax(), [(3, 4)]),
    Case("min", lambda a: np.min(a, axis=0, keepdims=True), lambda a: a.amin(0, keepdim=True),
         [(3, 4)]),
    Case("amin", lambda a: np.amin(a), lambda a: a.amin(), [(3, 4)]),
    Case("var", lambda a: np.var(a), lambda a: a.var(correction=0), [(3, 4)]),
    Case("var-ddof", lambda a: np.var(a, axis=1, ddof=1), lambda a: a.var(1, correction=1),
         [(3, 4)]),
    Case("std", lambda a: np.std(a, axis=0), lambda a: a.std(0, correction=0), [(3, 4)]),
    Case("std-ddof", lambda a: np.std(a, ddof=1), lambda a: a.std(), [(3, 4)]),
    # products
    Case("dot-vectors", lambda a, b: np.dot(a, b), lambda a, b: a @ b, [(4,), (4,)]),
    Case("dot-matrices", lambda a, b: np.dot(a, b), lambda a, b: a @ b, [(3, 4), (4, 2)]),
    Case("dot-matrix-vector", lambda a, b: np.dot(a, b), lambda a, b: a @ b, [(3, 4), (4,)]),
    Case("dot-3d-2d", lambda a, b: np.dot(a, b), lambda a, b: a @ b, [(2, 3, 4), (4, 2)]),
    Case("dot-scalar", lambda a: np.dot(a, 2.0), lambda a: a * 2.0, [(3, 4)]),
    # joining and selecting
    Case("concatenate", lambda a, b: np.concatenate([a, b], axis=1),
         lambda a, b: _torch().cat([a, b], 1), [(3, 2), (3, 4)]),
    Case("concatenate-array", lambda a: np.concatenate([a, C3]),
         lambda a: _torch().cat([a, _t(C3)]), [(2,)]),
    Case("concatenate-flat", lambda a, b: np.concatenate([a, b], axis=None),
         lambda a, b: _torch().cat([a.flatten(), b.flatten()]), [(3, 2), (4,)]),
    Case("stack", lambda a, b: np.stack([a, b], axis=-1), lambda a, b: _torch().stack([a, b], -1),
         [(3, 2), (3, 2)]),
    Case("where", lambda a, b: np.where(a > 0, a, b),
         lambda a, b: _torch().where(a > 0, a, b), [(3, 4), (4,)]),
    Case("where-array", lambda a: np.where(C34 > 0, a, 0.0),
         lambda a: _torch().where(_t(C34) > 0, a, 0.0), [(3, 4)]),
    Case("clip", lambda a: np.clip(a, -0.5, 0.5), lambda a: a.clamp(-0.5, 0.5), [(3, 4)]),
    Case("clip-high", lambda a: np.clip(a, None, 0.3), lambda a: a.clamp(max=0.3), [(3, 4)]),
    # shapes
    Case("reshape", lambda a: np.reshape(a, (4, 3)), lambda a: a.reshape(4, 3), [(3, 4)]),
    Case("ravel", lambda a: np.ravel(a), lambda a: a.flatten(), [(3, 4)]),
    Case("transpose", lambda a: np.transpose(a), lambda a: a.permute(2, 1, 0), [(2, 3, 4)]),
    Case("transpose-axes", lambda a: np.transpose(a, (1, 0, 2)), lambda a: a.permute(1, 0, 2),
         [(2, 3, 4)]),
    Case("swapaxes", lambda a: np.swapaxes(a, 0, 2), lambda a: a.swapaxes(0, 2), [(2, 3, 4)]),
    Case("expand_dims", lambda a: np.expand_dims(a, 1), lambda a: a.unsqueeze(1), [(3, 4)]),
    Case("squeeze", lambda a: np.squeeze(a), lambda a: a.squeeze(), [(3, 1, 4)]),
    Case("squeeze-axis", lambda a: np.squeeze(a, axis=1), lambda a: a.squeeze(1), [(3, 1, 1)]),
    Case("broadcast_to", lambda a: np.broadcast_to(a, (2, 3, 4)),
         lambda a: a.broadcast_to(2, 3, 4), [(3, 1)]),
    Case("copy", lambda a: np.copy(a) * a, lambda a: a.clone() * a, [(3, 4)]),
    # norms
    Case("norm", lambda a: np.linalg.norm(a), lambda a: _torch().linalg.norm(a), [(2, 3, 4)]),
    Case("norm-fro", lambda a: np.linalg.norm(a, "fro"),
         lambda a: _torch().linalg.norm(a, "fro"), [(3, 4)]),
    Case("norm-axis", lambda a: np.linalg.norm(a, axis=1, keepdims=True),
         lambda a: _torch().linalg.norm(a, dim=1, keepdim=True), [(3, 4)]),
    Case("norm-vector-2", lambda a: np.linalg.norm(a, 2), lambda a: _torch().linalg.norm(a, 2),
         [(5,)]),
    Case("norm-1-axis", lambda a: np.linalg.norm(a, 1, axis=1),
         lambda a: _torch().linalg.norm(a, 1, dim=1), [(3, 4)]),
    Case("norm-matrix-inf", lambda a: np.linalg.norm(a, np.inf),
         lambda a: _torch().linalg.norm(a, float("inf")), [(3, 4)]),
    # NumPy functions that share a chainrule op's name (each declared once: chainrule/public.py)
    Case("sin", lambda a: np.sin(a), lambda a: a.sin(), [(3, 4)]),
    Case("log1p", lambda a: np.log1p(a), lambda a: a.log1p(), [(3, 4)], True),
    Case("arctan2", lambda a, b: np.arctan2(a, b), lambda a, b: _torch().atan2(a, b),
         [(3, 4), (4,)]),
    Case("cumsum-flat", lambda a: np.cumsum(a), lambda a: a.flatten().cumsum(0), [(3, 4)]),
    Case("cumprod-axis", lambda a: np.cumprod(a, axis=1), lambda a: a.cumprod(1), [(3, 4)]),
    Case("prod", lambda a: np.prod(a, axis=0), lambda a: a.prod(0), [(3, 4)]),
    Case("einsum", lambda a, b: np.einsum("ij,jk->ik", a, b),
         lambda a, b: _torch().einsum("ij,jk->ik", a, b), [(3, 4), (4, 2)]),
    Case("sort", lambda a: np.sort(a, axis=0), lambda a: a.sort(0).values, [(3, 4)]),
    Case("median-even", lambda a: np.median(a, axis=1),
         lambda a: _torch().quantile(a, 0.5, dim=1), [(3, 4)]),
    Case("median-odd", lambda a: np.median(a), lambda a: a.flatten().median(), [(5,)]),
    Case("outer", lambda a, b: np.outer(a, b), lambda a, b: _torch().outer(a, b), [(3,), (4,)]),
    Case("hstack", lambda a, b: np.hstack([a, b]), lambda a, b: _torch().hstack([a, b]),
         [(3, 2), (3, 4)]),
    Case("pad", lambda a: np.pad(a, ((1, 0), (2, 1))),
         lambda a: _torch().nn.functional.pad(a, (2, 1, 1, 0)), [(3, 4)]),
    Case("flip", lambda a: np.flip(a) * a, lambda a: a.flip((0, 1)) * a, [(3, 4)]),
    Case("tril", lambda a: np.tril(a, -1), lambda a: a.tril(-1), [(4, 4)]),
    Case("repeat", lambda a: np.repeat(a, 2, axis=0), lambda a: a.repeat_interleave(2, 0),
         [(3, 4)]),
    Case("roll", lambda a: np.roll(a, 1, axis=1), lambda a: a.roll(1, 1), [(3, 4)]),
    Case("diagonal", lambda a: np.diagonal(a, 1), lambda a: a.diagonal(1), [(4, 4)]),
    # NumPy-style code: a two-layer network and a squared error, written with NumPy calls only
    Case("mlp", lambda x, w1, w2: np.mean(np.square(np.dot(np.maximum(x @ w1, 0), w2) - 1.0)),
         lambda x, w1, w2: (((x @ w1).clamp(min=0) @ w2 - 1.0) ** 2).mean(),
         [(5, 4), (4, 3), (3, 2)]),
]


def _torch():
    return pytest.importorskip("torch")


def _t(array):
    return _torch().tensor(array)


def _arrays(case, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(shape) for shape in case.shapes]
    return [np.abs(a) + 0.5 for a in arrays] if case.positive else arrays


def _tensors(arrays):
    return [cr.tensor(a, requires_grad=True) for a in arrays]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_result_is_a_tensor_with_numpys_value(case):
    arrays = _arrays(case)
    out = case.numpy(*_tensors(arrays))
    expected = case.numpy(*arrays)
    assert isinstance(out, cr.Tensor)
    assert out.requires_grad
    assert out.dtype == np.asarray(expected).dtype
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_gradient_matches_central_differences(case):
    assert cr.gradcheck(case.numpy, _arrays(case))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_gradient_matches_pytorch(case):
    torch = pytest.importorskip("torch")
    arrays = _arrays(case)
    ours = _tensors(arrays)
    out = case.numpy(*ours)
    weights = np.random.default_rng(1).standard_normal(out.shape)
    (out * cr.tensor(weights)).sum().backward()
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    (case.torch(*theirs) * torch.tensor(weights)).sum().backward()
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.detach().numpy(), reference.grad.numpy(), rtol=1e-10,
                                   atol=1e-12)


def test_fan_out_sums_both_paths():
    x = cr.tensor([0.3, -1.2, 2.0], requires_grad=True)
    (np.tanh(x) + x).sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), 1 - np.tanh(x.detach().numpy()) ** 2 + 1, rtol=1e-6)


def test_maximum_with_zero_times_x():
    x = cr.tensor([1.5, -2.0, 0.5], requires_grad=True)
    (np.maximum(x, 0) * x).sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [3.0, 0.0, 1.0])


def test_ndarray_and_numpy_scalar_on_the_left_keep_the_graph():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    matrix = np.ones((2, 3), dtype=np.float32)  # matmul does not promote, as in PyTorch
    for out in (np.ones(3) + x, np.float64(2.0) * x, np.arange(3.0) - x, matrix @ x):
        assert isinstance(out, cr.Tensor) and out.requires_grad
    (np.arange(3.0) - x).sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [-1.0, -1.0, -1.0])


def test_numpy_scalar_is_weak_in_type_promotion():
    x = cr.tensor([1.0, 2.0], dtype="float32", requires_grad=True)
    assert (np.float64(2.0) * x).dtype == np.float32


def test_dtype_keyword_casts_and_keeps_the_graph():
    x = cr.tensor([1.0, 2.0], dtype="float32", requires_grad=True)
    total = np.sum(np.exp(x, dtype=np.float64), dtype=np.float64)
    assert total.dtype == np.float64
    total.backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.detach().numpy(), np.exp([1.0, 2.0]), rtol=1e-6)


def test_numpy_keywords_at_their_defaults_are_accepted():
    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    out = np.sum(x, axis=0, dtype=None, out=None, keepdims=False, initial=None, where=True)
    np.testing.assert_allclose(out.detach().numpy(), [3.0, 5.0, 7.0])
    out = np.add(x, 1, out=None, where=True, casting="same_kind", dtype=None)
    np.testing.assert_allclose(out.detach().numpy(), x.detach().numpy() + 1)
    np.testing.assert_allclose(np.var(x, correction=1).detach().numpy(), np.var(x.detach().numpy(), ddof=1))


def test_norm_of_zero_has_zero_gradient_as_in_pytorch():
    x = cr.tensor(np.zeros(3), requires_grad=True)
    np.linalg.norm(x).backward()
    np.testing.assert_array_equal(x.grad.detach().numpy(), np.zeros(3))


def test_second_derivatives_through_numpy_calls():
    assert cr.gradgradcheck(lambda a: np.sum(C34 * np.square(np.tanh(a)) * np.exp(a)),
                            [np.random.default_rng(2).standard_normal((3, 4))])


# -- non-differentiable results ----------------------------------------------------------------

@pytest.mark.parametrize("fn", [np.equal, np.not_equal, np.less, np.less_equal, np.greater,
                                np.greater_equal, np.logical_and, np.logical_or],
                         ids=lambda f: f.__name__)
def test_comparisons_give_tensors_without_gradient(fn):
    a = cr.tensor([1.0, 2.0, 0.0], requires_grad=True)
    b = np.array([1.0, 3.0, -1.0])
    for out, expected in ((fn(a, b), fn(a.detach().numpy(), b)), (fn(b, a), fn(b, a.detach().numpy()))):
        assert isinstance(out, cr.Tensor) and not out.requires_grad
        np.testing.assert_array_equal(out.detach().numpy(), expected)


@pytest.mark.parametrize("fn", [np.logical_not, np.isnan, np.isinf, np.isfinite],
                         ids=lambda f: f.__name__)
def test_predicates_give_tensors_without_gradient(fn):
    a = cr.tensor([1.0, np.nan, -np.inf, 0.0], requires_grad=True)
    out = fn(a)
    assert isinstance(out, cr.Tensor) and not out.requires_grad
    np.testing.assert_array_equal(out.detach().numpy(), fn(a.detach().numpy()))


def test_argmax_and_argmin_match_tensor_argmax():
    x = cr.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], requires_grad=True)
    for fn in (np.argmax, np.argmin):
        for kwargs in ({}, {"axis": 1}, {"axis": 0, "keepdims": True}):
            out = fn(x, **kwargs)
            assert isinstance(out, cr.Tensor) and not out.requires_grad
            assert out.dtype == fn(x.detach().numpy(), **kwargs).dtype
            np.testing.assert_array_equal(out.detach().numpy(), fn(x.detach().numpy(), **kwargs))
    np.testing.assert_array_equal(np.argmax(x, axis=1).detach().numpy(), x.argmax(axis=1).detach().numpy())


def test_shape_ndim_size_are_plain_values():
    x = cr.tensor(np.ones((2, 3)), requires_grad=True)
    assert np.shape(x) == (2, 3) and type(np.shape(x)) is tuple
    assert np.ndim(x) == 2 and np.size(x) == 6 and np.size(x, 1) == 3


def test_value_comparisons_give_plain_answers():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    assert np.allclose(x, [1.0, 2.0 + 1e-9]) is True
    assert np.array_equal(x, x.detach().numpy().copy()) is True
    assert np.array_equal(x, [1.0, 3.0]) is False
    np.testing.assert_array_equal(np.isclose(x, [1.0, 3.0]), [True, False])
    assert bool(np.all(x > 0)) and not bool(np.any(x > 5))


@pytest.mark.parametrize("fn", [np.zeros_like, np.ones_like, lambda a: np.full_like(a, 7.0)])
def test_like_constructors_give_new_tensors_without_gradient(fn):
    x = cr.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3), requires_grad=True)
    out = fn(x)
    assert isinstance(out, cr.Tensor) and not out.requires_grad
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.detach().numpy(), fn(x.detach().numpy()))


# -- refusals: a TypeError that names the function, never a silent array -------------------------

def _matrix():
    return cr.tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)


REFUSED = [
    ("numpy.fft.fft", lambda x: np.fft.fft(x)),
    ("numpy.fabs", lambda x: np.fabs(x)),
    ("numpy.convolve", lambda x: np.convolve(x[0], x[1])),
    ("numpy.cross", lambda x: np.cross(x, x, axisa=0)),
    ("numpy.pad", lambda x: np.pad(x, 1, mode="symmetric")),
    ("numpy.meshgrid", lambda x: np.meshgrid(x[0], x[1], sparse=True)),
    ("numpy.add.accumulate", lambda x: np.add.accumulate(x)),
    ("numpy.multiply.reduce", lambda x: np.multiply.reduce(x)),
    ("numpy.multiply.outer", lambda x: np.multiply.outer(x, x)),
    ("numpy.add.at", lambda x: np.add.at(x, 0, 1.0)),
    ("numpy.where", lambda x: np.where(x > 2)),
    ("numpy.dot", lambda x: np.dot(np.ones((2, 2, 2)), x.reshape(2, 3, 1))),
    ("numpy.linalg.norm", lambda x: np.linalg.norm(x, 2)),
    ("numpy.linalg.norm", lambda x: np.linalg.norm(x, "nuc")),
    ("numpy.reshape", lambda x: np.reshape(x, (3, 2), order="F")),
    ("numpy.clip", lambda x: np.clip(x, x * 0, 1.0)),
]


@pytest.mark.parametrize("name, call", REFUSED, ids=[r[0] for r in REFUSED])
def test_unsupported_numpy_functions_raise_naming_them(name, call):
    with pytest.raises(TypeError, match=name.replace(".", r"\.")):
        call(_matrix())


def test_refusal_suggests_what_to_use_instead():
    with pytest.raises(TypeError, match=r"np\.abs\(x\).*detach\(\)\.numpy\(\)"):
        np.fabs(_matrix())


KEYWORD_REFUSALS = [
    ("out", lambda x: np.add(x, 1, out=np.empty((2, 3)))),
    ("out", lambda x: np.exp(x, out=x.detach().numpy())),
    ("out", lambda x: np.sum(x, out=np.empty(()))),
    ("out", lambda x: np.concatenate([x, x], out=np.empty((4, 3)))),
    ("out", lambda x: np.argmax(x, out=np.empty((), dtype=np.int64))),
    ("where", lambda x: np.add(x, 1, where=x.detach().numpy() > 2)),
    ("where", lambda x: np.sum(x, where=x.detach().numpy() > 2)),
    ("initial", lambda x: np.max(x, initial=0.0)),
    ("initial", lambda x: np.add.reduce(x, initial=1.0)),
    ("mean", lambda x: np.var(x, mean=np.zeros((1, 1)))),
    ("casting", lambda x: np.multiply(x, 2, casting="unsafe")),
]


@pytest.mark.parametrize("keyword, call", KEYWORD_REFUSALS,
                         ids=[f"{k}-{i}" for i, (k, _) in enumerate(KEYWORD_REFUSALS)])
def test_numpy_keywords_chainrule_cannot_honour_are_refused(keyword, call):
    with pytest.raises(TypeError, match=keyword):
        call(_matrix())


def test_inplace_numpy_update_of_an_array_by_a_tensor_is_refused():
    buffer = np.zeros((2, 3))
    with pytest.raises(TypeError, match="out="):
        buffer += _matrix()
    np.testing.assert_array_equal(buffer, np.zeros((2, 3)))


def test_other_array_libraries_get_their_turn():
    class Foreign:
        def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
            return "foreign"

    assert np.add(_matrix(), Foreign()) == "foreign"
