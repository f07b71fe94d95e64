"""Integer, bool and float16 edges against PyTorch, from a differential hunt: Python ints
beyond int64's range, numbers that must fit an integer dtype (addcmul's value, addmm's
alpha and beta, new_full, scatter, threshold, x[i] = v), and reductions of empty and signed-zero
inputs. Each case was a silent difference before: a value where PyTorch refuses, or another
dtype or number than PyTorch's."""
import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def outcome(make):
    """("error",) or (dtype name, shape, values as a repr, so NaN equals NaN and -0.0 shows)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = make()
    except Exception:
        return ("error",)
    if isinstance(result, tuple):
        return tuple(outcome(lambda r=r: r) for r in result)
    return str(result.dtype).replace("torch.", ""), tuple(result.shape), repr(result.tolist())


def assert_as_pytorch(expression):
    expected, got = outcome(lambda: expression(torch)), outcome(lambda: expression(cr))
    assert got == expected, f"chainrule {got}, PyTorch {expected}"


# Python ints that PyTorch refuses (below -2**63, from 2**64 up; from 2**63 up into integer or
# bool results, where it wraps or refuses to promote), beside the ones it reads as uint64.
BIG = [-2 ** 63 - 1, 2 ** 63, 2 ** 64]
BIG_INT_OPS = {
    "add": lambda m, x, v: x + v, "sub": lambda m, x, v: x - v, "mul": lambda m, x, v: x * v,
    "div": lambda m, x, v: x / v, "floordiv": lambda m, x, v: x // v,
    "remainder": lambda m, x, v: m.remainder(x, v), "eq": lambda m, x, v: x == v,
    "lt": lambda m, x, v: x < v, "rsub": lambda m, x, v: v - x,
    "where": lambda m, x, v: m.where(x > 1, x, v),
    "iadd": lambda m, x, v: x.__iadd__(v), "add_alpha": lambda m, x, v: x.add(x, alpha=v),
    "add_alpha_": lambda m, x, v: x.add_(x, alpha=v), "fill_": lambda m, x, v: x.fill_(v),
    "full": lambda m, x, v: m.full((2,), v, dtype=x.dtype),
    "masked_fill": lambda m, x, v: x.masked_fill(x > 1, v),
    "scatter": lambda m, x, v: x.scatter(0, m.tensor([0]), v),
    "new_full": lambda m, x, v: x.new_full((2,), v),
    "setitem": lambda m, x, v: (x.__setitem__(1, v), x)[1],
}


@pytest.mark.parametrize("value", BIG, ids=repr)
@pytest.mark.parametrize("dtype", ["bool", "uint8", "int64", "float16", "float32"])
@pytest.mark.parametrize("name", list(BIG_INT_OPS))
def test_python_ints_beyond_int64(name, dtype, value):
    def expression(m):
        return BIG_INT_OPS[name](m, m.tensor([1, 2, 3], dtype=getattr(m, dtype)), value)
    expected, got = outcome(lambda: expression(torch)), outcome(lambda: expression(cr))
    if got == ("error",) and expected != ("error",):
        # Refused here by name where PyTorch wraps an int from 2**63 up (int64 + 2**63) or
        # compares it exactly: never a silently different number.
        assert dtype not in ("float16", "float32") or name in ("setitem",), expected
        with pytest.raises(cr.errors.DtypeError, match="range|overflow"):
            expression(cr)
        return
    assert got == expected, f"chainrule {got}, PyTorch {expected}"


FITTING = {
    "addcmul": lambda m, x, v: m.addcmul(x, x, x, value=v),
    "addmm_alpha": lambda m, x, v: m.addmm(x.reshape(1, 1), x.reshape(1, 1), x.reshape(1, 1),
                                           alpha=v),
    "addmm_beta": lambda m, x, v: m.addmm(x.reshape(1, 1), x.reshape(1, 1), x.reshape(1, 1),
                                          beta=v),
    "new_full": lambda m, x, v: x.new_full((2,), v),
    "scatter": lambda m, x, v: x.scatter(0, m.tensor([0]), v),
    "threshold": lambda m, x, v: m.nn.functional.threshold(x, 0, v),
    "setitem": lambda m, x, v: (x.__setitem__(0, v), x)[1],
}


@pytest.mark.parametrize("value", [300, -129, -1, 2 ** 31, 70000.0, 2.7, True], ids=repr)
@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "float16"])
@pytest.mark.parametrize("name", list(FITTING))
def test_numbers_must_fit_the_dtype_as_in_pytorch(name, dtype, value):
    # Before: int8 addcmul(value=300) and addmm(alpha=300) wrapped, new_full, scatter and
    # threshold wrote 70000 into float16 as inf and wrapped it into int8, x[0] = -1 on uint8
    # raised NumPy's OverflowError (PyTorch writes 255).
    if isinstance(value, float) and not value.is_integer() and dtype != "float16" and \
            name.startswith(("addcmul", "addmm")):
        return  # refused by name here, truncated by PyTorch: tests/test_add_alpha.py
    x = {"addmm_alpha": [3], "addmm_beta": [3]}.get(name, [1, 2, 3])

    def expression(m):
        return FITTING[name](m, m.tensor(x, dtype=getattr(m, dtype)), value)
    if name == "setitem" and dtype == "float16":
        return  # PyTorch's x[0] = 70000.0 writes inf, as NumPy does; its fill_ refuses
    assert_as_pytorch(expression)


def test_bool_addcmul_refused_as_pytorch():
    flags = [True, False]
    with pytest.raises(NotImplementedError):
        torch.addcmul(*(torch.tensor(flags),) * 3)
    with pytest.raises(cr.errors.DtypeError, match="addcmul: not implemented for bool"):
        cr.addcmul(*(cr.tensor(flags),) * 3, value=-1)  # was int64 [0, 0]


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32", "int64", "bool"])
@pytest.mark.parametrize("name", ["median", "nanmedian"])
def test_median_of_no_integers_refused(name, dtype):
    # PyTorch answers NaN cast to the dtype (int64's lowest number, 0 for int8, True for bool);
    # chainrule answered a float32 NaN, another dtype.
    empty = torch.zeros(0, dtype=getattr(torch, dtype))
    assert getattr(empty, name)().dtype == empty.dtype
    with pytest.raises(cr.errors.ArgumentError, match="median: the .* tensor of shape \\(0,\\)"):
        getattr(cr.zeros(0, dtype=getattr(cr, dtype)), name)()
    assert_as_pytorch(lambda m: getattr(m.zeros(0, 3), name)())  # a float NaN, as before


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("expression", [
    lambda m, x: x.cumsum(0), lambda m, x: x.logcumsumexp(0),
    lambda m, x: x.reshape(2, 2).cumsum(1), lambda m, x: x.reshape(2, 2).logcumsumexp(-1),
    lambda m, x: x[0].cumsum(0), lambda m, x: x[0].logcumsumexp(0),
    lambda m, x: x.cumsum(0, dtype=m.float64), lambda m, x: x.cumprod(0)])
def test_running_sums_start_from_plus_zero(expression, dtype):
    # A leading -0 is 0 in PyTorch's running sums (NumPy's accumulate copies it); a 0-d
    # tensor's cumsum is the tensor itself, -0 included.
    assert_as_pytorch(lambda m: expression(m, m.tensor([-0.0, -0.0, 1.0, -0.0],
                                                       dtype=getattr(m, dtype))))


@pytest.mark.parametrize("shape, dim", [((3,), None), ((2, 3), 1), ((3, 2), 0), ((2, 5, 3), 1),
                                        ((4, 17), None), ((0, 3), 0), ((), None)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_float16_product_rounds_each_step_as_pytorch(shape, dim, keepdim):
    # PyTorch multiplies float16 in float16: [300, 300, 1/300] overflows to inf there; NumPy's
    # reduction kept a float32 product (300), and rounded differently at each length.
    values = np.random.default_rng(0).uniform(0.5, 2.0, shape).astype(np.float16)
    if shape == (3,):
        values = np.array([300, 300, 1 / 300], dtype=np.float16)

    def expression(m):
        x = m.tensor(values)
        return x.prod() if dim is None else x.prod(dim, keepdim=keepdim)
    assert_as_pytorch(expression)


def test_float16_product_gradient_as_pytorch():
    grads = []
    for m in (torch, cr):
        x = m.tensor([300, 300, 1 / 300, 0.5], dtype=m.float16, requires_grad=True)
        x.prod().backward()
        grads.append(repr(x.grad.tolist()))
    assert grads[0] == grads[1]


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64"])
def test_gcd_at_the_lowest_integer_as_pytorch(dtype):
    # PyTorch's Euclid keeps abs(lowest) negative: gcd(-128, 6) is -2 in int8; NumPy said 2.
    low, high = int(np.iinfo(dtype).min), int(np.iinfo(dtype).max)
    values = [low, low + 1, -6, -4, -1, 0, 1, 3, 6, 96, high]
    pairs = [(a, b) for a in values for b in values]

    def expression(m):
        return m.gcd(m.tensor([a for a, _ in pairs], dtype=getattr(m, dtype)),
                     m.tensor([b for _, b in pairs], dtype=getattr(m, dtype)))
    assert_as_pytorch(expression)
    assert_as_pytorch(lambda m: m.gcd(m.tensor(low, dtype=getattr(m, dtype)),
                                      m.tensor([6, 0, 4], dtype=getattr(m, dtype))))


@pytest.mark.parametrize("bounds", [(0, 5, 1.5), (0.5, 5, 1.5), (0, -5, -1.5), (0.7, 3.2, 1),
                                    (-0.5, 3, 1), (0, 2.5, 1), (-3.2, 5, 2), (0, 300, 100),
                                    (-2.5, 2), (0, 5, -1), (0, -5, 2.5), (0, 0.2, -1.5)],
                         ids=repr)
@pytest.mark.parametrize("dtype", ["int64", "int32", "int8", "uint8", "float32"])
def test_arange_with_float_bounds_into_integers_as_pytorch(dtype, bounds):
    # PyTorch truncates the bounds first (arange(0, 5, 1.5, dtype=int64) is [0, 1, 2, 3, 4];
    # with uint8 [0, 1, 2, 3]); NumPy's float range cast afterwards gave [0, 1, 3, 4].
    # Bounds against the step's sign are refused (NumPy gave an empty range).
    assert_as_pytorch(lambda m: m.arange(*bounds, dtype=getattr(m, dtype)))


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int32", "uint8"])
def test_bincount_weights_dtype_and_sums_as_pytorch(dtype):
    # float16 weights gave float16 sums (PyTorch: float64); float32 ones were summed in float64
    # (PyTorch adds them in float32, in order).
    rng = np.random.default_rng(0)
    index = rng.integers(0, 3, 2000)
    weights = (rng.standard_normal(2000) * 1000).astype(dtype) if dtype.startswith("float") \
        else rng.integers(0, 100, 2000).astype(dtype)
    assert_as_pytorch(lambda m: m.bincount(m.tensor(index), weights=m.tensor(weights)))
    assert_as_pytorch(lambda m: m.bincount(m.tensor(index[:3]), weights=m.tensor(weights[:3]),
                                           minlength=5))


@pytest.mark.parametrize("values", [[-1], [-255], [-256], [256], [-129], [[-1, 2], [3, -4]],
                                    [-1, 2.5], [True, -1], [-1.5, -1], -1, [2 ** 63],
                                    [-1, float("nan")]], ids=repr)
@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16"])
@pytest.mark.parametrize("make", ["tensor", "as_tensor"])
def test_tensor_of_negative_ints_into_unsigned_as_pytorch(make, dtype, values):
    # PyTorch reads -1 into uint8 as 255 (down to -255); NumPy raised its OverflowError.
    def expression(m):
        return getattr(m, make)(values, dtype=getattr(m, dtype))
    assert_as_pytorch(expression)
    if outcome(lambda: expression(torch)) == ("error",) and "nan" not in repr(values):
        with pytest.raises(cr.errors.DtypeError, match="without overflow"):
            expression(cr)


HALF_VALUES = np.random.default_rng(0).uniform(-30, 30, 64).astype(np.float16).tolist() + [
    -1.5, 3.0, 0.0, -0.0, 65504.0]


@pytest.mark.parametrize("number", [0.1, 3.3, 1 / 3, 1e-5])
@pytest.mark.parametrize("kind", ["float32", "float64", "float16"])
@pytest.mark.parametrize("name", ["mul", "div", "floordiv", "trunc", "floor", "imul", "itruediv",
                                  "add", "sub", "remainder", "maximum", "lt"])
def test_float16_by_a_wider_zero_d_tensor_reads_its_value_as_pytorch(name, kind, number):
    # PyTorch's float16 kernels read a 0-d float32/float64 second operand in float32, as a
    # Python float, where it was rounded to float16 first: x // tensor(0.1) at x = -1.5 was
    # -16 (PyTorch: -15), x * tensor(0.1) an ulp off in a third of the elements. A 0-d
    # float16 divisor with rounding_mode="trunc" too: the quotient is truncated in float32.
    ops = {"mul": lambda m, x, s: x * s, "div": lambda m, x, s: x / s,
           "floordiv": lambda m, x, s: x // s,
           "trunc": lambda m, x, s: m.div(x, s, rounding_mode="trunc"),
           "floor": lambda m, x, s: m.div(x, s, rounding_mode="floor"),
           "imul": lambda m, x, s: x.__imul__(s), "itruediv": lambda m, x, s: x.__itruediv__(s),
           "add": lambda m, x, s: x + s, "sub": lambda m, x, s: x - s,
           "remainder": lambda m, x, s: m.remainder(x, s),
           "maximum": lambda m, x, s: m.maximum(x, s), "lt": lambda m, x, s: x < s}
    assert_as_pytorch(lambda m: ops[name](m, m.tensor(HALF_VALUES, dtype=m.float16),
                                          m.tensor(number, dtype=getattr(m, kind))))


@pytest.mark.parametrize("pair", [("int8", "uint8"), ("uint8", "int8"), ("int32", "int8"),
                                  ("int64", "uint8"), ("float64", "float16"),
                                  ("float64", "float32"), ("float32", "float16"),
                                  ("int64", "float32"), ("bool", "int8")])
@pytest.mark.parametrize("which", ["min", "max", "both"])
def test_clamp_of_a_zero_d_tensor_by_tensor_bounds_promotes_as_pytorch(pair, which):
    # The dimensioned bounds decide the dtype (clamp(int8 0-d, min=uint8 tensor) is uint8,
    # the 0-d x converted first); NumPy's promotion gave int16, float64 1e10 instead of inf.
    x_dtype, bound_dtype = pair
    x_value = {"int8": 100, "uint8": 200, "int32": 1000, "int64": 5, "float64": 1e10,
               "float32": 0.1, "bool": True}[x_dtype]

    def expression(m):
        x = m.tensor(x_value, dtype=getattr(m, x_dtype))
        low = m.tensor([0, 1, 3], dtype=getattr(m, bound_dtype))
        high = m.tensor([100, 100, 100], dtype=getattr(m, bound_dtype))
        kwargs = {"min": {"min": low}, "max": {"max": high}, "both": {"min": low, "max": high}}
        return m.clamp(x, **kwargs[which])
    assert_as_pytorch(expression)


@pytest.mark.parametrize("target, dtype, value", [
    ("int8", "int32", 300), ("uint8", "int64", -1), ("uint8", "float64", -1.0),
    ("int8", "float64", 2.7), ("float16", "float64", 1e10), ("float16", "float64", float("nan")),
    ("int32", "float64", 1e10), ("int8", "uint8", 200), ("int64", "float64", float("nan"))])
def test_masked_fill_by_a_zero_d_tensor_that_does_not_fit_refused(target, dtype, value):
    # int32 300 into int8 wrapped to 44, float64 1e10 into float16 was inf: PyTorch refuses.
    assert_as_pytorch(lambda m: m.zeros(2, dtype=getattr(m, target)).masked_fill(
        m.tensor([True, False]), m.tensor(value, dtype=getattr(m, dtype))))


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int64", "float16", "float32", "float64"])
@pytest.mark.parametrize("exponent", ["int64", "uint8", "int32"])
def test_ldexp_at_huge_exponents_as_pytorch(dtype, exponent):
    # PyTorch's ldexp of integers is input * 2.0 ** other (0 * 2 ** 200 is NaN there, was 0);
    # of floats it is exact, with the exponent wrapped into a C int (2 ** 40 is 0: x itself,
    # was inf).
    exponents = {"int64": [200, 130, -150, -149, 2 ** 40, 2 ** 32 + 3, 3],
                 "uint8": [200, 130, 255, 0, 7, 8, 3], "int32": [200, 130, -150, -149, -2 ** 31,
                                                                  2 ** 31 - 1, 3]}[exponent]
    values = [0, 1, 3, 1, 3, 1, 1] if dtype == "bool" else [0, 1, 3, 1, 3, 1, 2]

    def expression(m):
        return m.ldexp(m.tensor(values, dtype=getattr(m, dtype)),
                       m.tensor(exponents, dtype=getattr(m, exponent)))
    assert_as_pytorch(expression)


@pytest.mark.parametrize("kind", ["float32", "float64"])
@pytest.mark.parametrize("name", ["mul", "div"])
def test_float16_by_a_wider_zero_d_tensor_gradient_as_pytorch(name, kind):
    grads = []
    for m in (torch, cr):
        x = m.tensor(HALF_VALUES[:16], dtype=m.float16, requires_grad=True)
        scale = m.tensor(1 / 3, dtype=getattr(m, kind))
        ((x * scale) if name == "mul" else (x / scale)).sum().backward()
        grads.append(repr(x.grad.tolist()))
    assert grads[0] == grads[1]


@pytest.mark.parametrize("expression", [
    lambda m: m.tensor([1.0, 2.0]).var(correction=2), lambda m: m.tensor([1.0]).std(),
    lambda m: m.tensor([1.0, 2.0]).var(correction=5), lambda m: m.zeros(0).var(),
    lambda m: m.zeros(0, 3).std(0), lambda m: m.zeros(0).mean(), lambda m: m.zeros(0, 3).mean(0),
    lambda m: m.tensor([1.0, 2.0]).var(), lambda m: m.tensor([[1.0, 2.0]]).std(0)])
def test_variance_without_degrees_of_freedom_warns_as_pytorch(expression):
    # PyTorch warns "degrees of freedom is <= 0" beside its inf or NaN (chainrule was silent)
    # and takes the mean of nothing silently (NumPy warned "Mean of empty slice").
    said = []
    for m in (torch, cr):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = expression(m)
        said.append(([str(w.message).split(" (Triggered")[0] for w in caught],
                     repr(value.tolist())))
    assert said[1] == said[0]


@pytest.mark.parametrize("value", [0.3, 1, 2.7])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
def test_addcmul_and_addcdiv_round_as_pytorch(name, dtype, value):
    # PyTorch computes input + (value * t1) / t2 (chainrule took the quotient first), and in
    # float32 for float16, rounding once (chainrule rounded each step): an ulp apart in a
    # quarter of the elements. (PyTorch's addcmul is a fused multiply-add, which NumPy cannot
    # spell: float32's and float64's are left an ulp apart in a quarter of the elements, and
    # float16's, computed in float32, in the rare case where the two roundings differ.)
    if name == "addcmul" and dtype != "float16":
        return
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal(300).astype(dtype) for _ in range(3))

    def expression(m):
        return getattr(m, name)(m.tensor(a), m.tensor(b), m.tensor(c), value=value)
    if name == "addcdiv":
        assert_as_pytorch(expression)
        return
    got, expected = expression(cr).numpy(), expression(torch).numpy()
    ulps = np.abs(got.view(np.int16).astype(int) - expected.view(np.int16).astype(int))
    assert ulps.max() <= 1 and (ulps > 0).sum() <= 3, (ulps > 0).sum()  # was 60 to 90 of 300
    if name == "addcmul":  # and its gradients, computed in float32 too
        grads = []
        for m in (torch, cr):
            x, y, z = (m.tensor(v, requires_grad=True) for v in (a, b, c))
            m.addcmul(x, y, z, value=value).sum().backward()
            grads.append([repr(t.grad.tolist()) for t in (x, y, z)])
        assert grads[0] == grads[1]


@pytest.mark.parametrize("weight", [-2 ** 63 - 1, 2 ** 64, -2 ** 70])
def test_lerp_refuses_an_int_weight_pytorch_cannot_read(weight):
    # PyTorch reads an int weight as a 64-bit integer and raises; chainrule computed with the
    # huge int and gave inf.
    start = torch.tensor([1.0, -2.0], dtype=torch.float16)
    with pytest.raises((OverflowError, RuntimeError)):
        torch.lerp(start, start * 3, weight)
    with pytest.raises(cr.errors.DtypeError, match="lerp: the weight .* out of range"):
        cr.lerp(cr.tensor([1.0, -2.0], dtype=cr.float16),
                cr.tensor([3.0, -6.0], dtype=cr.float16), weight)
    assert cr.lerp(cr.tensor([1.0]), cr.tensor([3.0]), 2 ** 62).item() == \
        torch.lerp(torch.tensor([1.0]), torch.tensor([3.0]), 2 ** 62).item()
