"""Gradients of elementwise math and reductions at their singular and edge points (0, -0.0,
ties, infinities, NaN, a divisor of 0 or less), against PyTorch: values, dtypes, first-order
gradients with a random upstream gradient, and second-order gradients through
autograd.grad(create_graph=True)."""
import math

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

INF, NAN = math.inf, math.nan


def f64(*values):
    return np.array(values, dtype=np.float64)


def _outputs(out):
    return list(out) if isinstance(out, tuple) else [out]


def _weights(rng, shape):
    return rng.standard_normal(tuple(shape))


def _weighted_sum(M, tensors, weights):
    total = None
    for t, w in zip(tensors, weights):
        if t is not None and t.requires_grad:
            term = (t * M.tensor(w.astype(np.dtype(str(t.dtype).split(".")[-1])))).sum()
            total = term if total is None else total + term
    return total


def _as_array(t, shape):
    if t is None:
        return np.zeros(shape)
    return t.detach().numpy(force=True) if isinstance(t, torch.Tensor) else t.detach().numpy()


def _run(M, call, arrays, order):
    """The outputs, the first-order gradients of a random weighting of the first output and,
    for order 2, the gradients of a random weighting of those."""
    leaves = [M.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    outs = _outputs(call(M, *leaves))
    results = [np.asarray(o.detach().numpy()) for o in outs]
    inputs = [t for t in leaves if t.requires_grad]
    if not inputs or not outs[0].requires_grad:
        return results, None, None
    rng = np.random.default_rng(0)
    weights = _weights(rng, outs[0].shape)
    # First order without create_graph: PyTorch's kernels for it and its differentiable
    # formulas for create_graph=True may differ at the edges (logit at -0).
    grads = M.autograd.grad(_weighted_sum(M, [outs[0]], [weights]), inputs, allow_unused=True)
    first = [_as_array(g, t.shape) for g, t in zip(grads, inputs)]
    if order < 2:
        return results, first, None
    outs = _outputs(call(M, *leaves))
    upstream = _weighted_sum(M, [outs[0]], [weights])
    grads = M.autograd.grad(upstream, inputs, create_graph=True, allow_unused=True)
    total = _weighted_sum(M, grads, [_weights(rng, t.shape) for t in inputs])
    if total is None:
        return results, first, [np.zeros(t.shape) for t in inputs]
    second = M.autograd.grad(total, inputs, allow_unused=True)
    return results, first, [_as_array(g, t.shape) for g, t in zip(second, inputs)]


def _assert_same(got, want, what):
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype}, PyTorch {want.dtype}"
    assert got.shape == want.shape, f"{what}: shape {got.shape}, PyTorch {want.shape}"
    tolerance = {np.dtype(np.float16): dict(rtol=1e-3, atol=1e-4),
                 np.dtype(np.float32): dict(rtol=1e-5, atol=1e-6)}.get(
        want.dtype, dict(rtol=1e-9, atol=1e-12))
    np.testing.assert_allclose(got, want, equal_nan=True, err_msg=what, **tolerance)
    if what == "value" and want.dtype.kind == "f":  # and the signs of its zeros
        zeros = want == 0
        np.testing.assert_array_equal(np.signbit(got[zeros]), np.signbit(want[zeros]), what)


def assert_like_torch(call, *arrays, order=2):
    want = _run(torch, call, arrays, order)
    got = _run(cr, call, arrays, order)
    for g, w in zip(got[0], want[0], strict=True):
        _assert_same(g, w, "value")
    for k, label in ((1, "gradient"), (2, "second-order gradient")):
        assert (got[k] is None) == (want[k] is None), label
        for g, w in zip(got[k] or [], want[k] or [], strict=True):
            _assert_same(g, w.astype(g.dtype) if w.dtype != g.dtype and not w.any() else w,
                         label)


CASES = [
    # var over every element with N - correction <= 0: NaN where x equals its mean (also an
    # infinite x equal to an infinite mean, where x - mean is NaN, not 0), inf elsewhere.
    ("var_full_inf_correction_2", lambda M, x: M.var(x, correction=2), [f64(1, INF)]),
    ("var_full_inf_3_correction_3", lambda M, x: M.var(x, correction=3), [f64(1, INF, 2)]),
    ("var_full_two_inf_correction_2", lambda M, x: M.var(x, correction=2), [f64(INF, INF)]),
    ("var_mean_tie_correction_2", lambda M, x: M.var_mean(x, correction=2), [f64(2, 2)]),
    ("var_mean_inf_last_correction_2", lambda M, x: M.var_mean(x, correction=2), [f64(1, INF)]),
    # logit's slope at 0 and 1 is grad * inf (to grad's sign), its second derivative NaN. (Not
    # at -0: PyTorch's sign there depends on the length of the tensor, through its vector loop.)
    ("logit_at_zero_and_one", lambda M, x: M.logit(x), [f64(0, 1, 0.5, 2, NAN)]),
    ("logit_eps_bounds", lambda M, x: M.logit(x, eps=0.1), [f64(0, 0.1, 0.9, 1, 0.5)]),
    # sinc's slope is 0 where pi x^2 is 0 (also where it underflows), its second derivative NaN.
    ("sinc_at_zero", lambda M, x: M.sinc(x), [f64(0, -0.0, 1e-300, 0.5, 1)]),
    ("sinc_at_zero_float32", lambda M, x: M.sinc(x), [np.array([0, 1e-30, 0.25], np.float32)]),
    # fmod's slope in b is -trunc(a / b), flat: no NaN second derivative where b is 0.
    ("fmod_zero_divisor", lambda M, a, b: M.fmod(a, b), [f64(1, -2, 0, 3, 5), f64(0, 0, 0, 2, -0.0)]),
    # lerp with an infinite weight: the branch not taken must not turn 0 * inf into NaN.
    ("lerp_infinite_weight", lambda M, a, b, w: M.lerp(a, b, w),
     [f64(0, 1, 2, -INF, 0, 1), f64(1, 1, 3, 1, INF, 2), f64(INF, -INF, 0.25, 0.75, 0.5, NAN)]),
    # pow at base 0: the slopes are PyTorch's masked formulas, and so are their derivatives,
    # NaN at base 0 (0 * 0^-1 in the base's branch not taken, 0 * log 0 in the exponent's).
    ("pow_tensors_at_zero_base", lambda M, a, b: M.pow(a, b),
     [f64(0, 0, 0, -0.0, 0, 0, 2, -2), f64(0, 2, 1, 2, INF, -1, 0, 0.5)]),
    ("pow_zero_exponent_tensor", lambda M, a: a ** M.tensor(0.0, dtype=M.float64),
     [f64(0, -0.0, 2, -1, INF)]),
    ("pow_integer_base_float_exponent", lambda M, a, b: M.pow(a, b),
     [np.array([0, 0, 2, 3]), f64(0, 2, -1, 0.5)]),
    ("float_power_tensors_at_zero_base", lambda M, a, b: M.float_power(a, b),
     [f64(0, 0, -0.0, 3), f64(0, 2, 3, 0)]),
    # float_power by a number is PyTorch's pow by a number: sqrt for 0.5 (NaN at -inf) and
    # 1 / sqrt for -0.5 (-inf at -0), not C's pow.
    ("float_power_half", lambda M, a: M.float_power(a, 0.5), [f64(-INF, -0.0, 0, 4, INF)]),
    ("float_power_minus_half", lambda M, a: M.float_power(a, -0.5), [f64(-INF, -0.0, 0, 4)]),
    ("float_power_float32_by_three", lambda M, a: M.float_power(a, 3),
     [np.array([0, -1.5, 1e-30, 3], np.float32)]),
    # atan2 at the origin and copysign at 0: slope 0, second derivative NaN.
    ("atan2_at_origin", lambda M, a, b: M.atan2(a, b),
     [f64(0, -0.0, 0, 1e-200, 1), f64(0, 0, -0.0, 1e-200, 0)]),
    ("copysign_at_zero", lambda M, a, b: M.copysign(a, b),
     [f64(0, -0.0, 1, NAN, 2), f64(-1, 1, -0.0, 1, NAN)]),
    # softplus from beta x = threshold on: slope sigmoid(threshold) at it, second derivative 0.
    ("softplus_at_threshold", lambda M, x: M.nn.functional.softplus(x, beta=2.0, threshold=5.0),
     [f64(2.5, 2.5 + 1e-9, 2.5 - 1e-9, 0, INF, -INF, NAN)]),
    ("softplus_at_default_threshold", lambda M, x: M.nn.functional.softplus(x),
     [np.array([20, 19.5, 21, 0], np.float32)]),
    # A 0-d logcumsumexp is x with slope 1, also at inf (exp(x - out) would be NaN).
    ("logcumsumexp_0d_inf", lambda M, x: M.logcumsumexp(x, 0), [np.array(INF)]),
    ("logcumsumexp_0d_minus_inf", lambda M, x: M.logcumsumexp(x, -1), [np.array(-INF)]),
    # topk among equal values (and NaNs) picks what PyTorch's std::nth_element or
    # std::partial_sort picks, so the indices and the gradient go where PyTorch's do.
    ("topk_ties", lambda M, x: M.topk(x, 2), [f64(1, 3, 3, 2, 3)]),
    ("topk_smallest_ties", lambda M, x: M.topk(x, 2, largest=False), [f64(1, 0, 2, 0, 1)]),
    ("topk_nans", lambda M, x: M.topk(x, 2), [f64(1, 3, 3, NAN, 2, 3, -INF, NAN)]),
    ("topk_unsorted_ties", lambda M, x: M.topk(x, 3, sorted=False), [f64(1, 3, 3, 2, 3, 0)]),
    ("topk_partial_sort_ties", lambda M, x: M.topk(x, 3, dim=1),
     [np.random.default_rng(7).integers(0, 3, (4, 200)).astype(np.float64)]),
    ("topk_long_row_ties", lambda M, x: M.topk(x, 20, dim=0, largest=False),
     [np.random.default_rng(8).integers(0, 4, (300, 2)).astype(np.float32)]),
    # square is pow(x, 2): its slope grad * (2 x) overflows where 2 x does, as PyTorch's.
    ("square_float16_overflowing_slope", lambda M, x: M.square(x),
     [np.array([60000, -40000, 3, 0], np.float16)]),
    ("square_float32_overflowing_slope", lambda M, x: x.square(),
     [np.array([3e38, -2e38, 3, -0.0], np.float32)]),
]


@pytest.mark.parametrize("call, arrays", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_like_torch(call, arrays):
    assert_like_torch(call, *arrays)


def test_topk_among_equal_values_replays_pytorchs_pick_under_compile():
    # PyTorch's pick among equal values is followed in Python (ops.sort._top_k): a plan calls
    # it with each call's data, so calls with ties after a trace without them (and the other
    # way round) pick and differentiate as eagerly, which follows PyTorch.
    calls = [[0.9, 0.8, 0.7, 0.1], [0.9, 0.8, 0.6, 0.2], [0.9, 0.8, 0.8, 0.1],
             [0.3, 0.3, 0.3, 0.3], [0.5, 0.1, 0.5, 0.5], [0.9, 0.8, 0.7, 0.1]]

    def run(compile_it):
        w = cr.tensor(np.linspace(1.0, 2.0, 4), requires_grad=True)

        def step(x):
            w.grad = None
            top = (w / w.detach() * x).topk(2)
            loss = (top.values * cr.tensor([1.0, 10.0], dtype=cr.float64)).sum()
            loss.backward()
            return top.indices, w.grad

        fn = cr.compile(step) if compile_it else step
        return [[a.numpy().copy() for a in fn(cr.tensor(np.array(x)))] for x in calls]

    eager = run(False)
    for got, expected, x in zip(run(True), eager, calls):
        np.testing.assert_array_equal(got[0], expected[0], err_msg=str(x))
        np.testing.assert_array_equal(got[1], expected[1], err_msg=str(x))
    theirs = torch.tensor([0.5, 0.1, 0.5, 0.5]).topk(2).indices.numpy()
    np.testing.assert_array_equal(eager[4][0], theirs)


@pytest.mark.parametrize("interpolation", ["lower", "higher", "nearest", "linear", "midpoint"])
@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
def test_quantile_of_infinite_values_as_pytorch(name, interpolation):
    # lower/higher/nearest read the element itself: low + (high - low) * 0 was NaN at -inf
    values = [[-np.inf, 1.0, 2.0, np.inf], [np.inf, np.inf, 3.0, np.nan], [-0.0, 0.0, 1.0, 2.0]]
    q = [0.0, 0.3, 0.5, 1.0]
    with np.errstate(invalid="ignore"):
        ours = getattr(cr, name)(cr.tensor(values, dtype=cr.float64), cr.tensor(
            q, dtype=cr.float64), dim=1, interpolation=interpolation).numpy()
    theirs = getattr(torch, name)(torch.tensor(values, dtype=torch.float64), torch.tensor(
        q, dtype=torch.float64), dim=1, interpolation=interpolation).numpy()
    np.testing.assert_array_equal(ours, theirs)


def test_an_empty_dim_list_as_pytorch():
    # dim=(): vector_norm reduces every dim as PyTorch's (NumPy's axis=() reduced none, so it
    # returned |x|); prod refuses it as PyTorch's; var/std reduce every dim, but
    # PyTorch's gradient there is not that reduction's, so chainrule refuses the gradient.
    values = np.arange(6.0).reshape(2, 3)
    for norm in (lambda M, t: M.linalg.vector_norm(t, dim=()), lambda M, t: t.norm(dim=())):
        ours, theirs = (norm(M, M.tensor(values, requires_grad=True)) for M in (cr, torch))
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy())
    with pytest.raises(TypeError):
        torch.tensor(values).prod(dim=())
    with pytest.raises(TypeError, match="prod: dim=()"):
        cr.tensor(values).prod(dim=())
    x = torch.tensor(values, requires_grad=True)
    x.var(dim=()).backward()
    assert not np.isfinite(x.grad.numpy()).all()  # PyTorch's own gradient is off
    assert cr.tensor(values).var(dim=()).item() == pytest.approx(x.var().item())
    for name in ("var", "std"):
        with pytest.raises(cr.GradientError, match=rf"{name}\(dim=\(\)\)"):
            getattr(cr.tensor(values, requires_grad=True), name)(dim=())
        with pytest.raises(cr.GradientError):
            getattr(cr, f"{name}_mean")(cr.tensor(values, requires_grad=True), dim=())
