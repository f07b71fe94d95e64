"""Differential tests: chainrule against PyTorch, the oracle of its semantics.

Random programs (program_gen.py) run in both libraries side by side; every value's shape, dtype,
requires_grad and values, and every leaf's gradient, must be PyTorch's. Then every case of the
op table runs on a fan-out graph against float64 central differences, a table of PyTorch
spellings is checked op by op, and confirmed bugs have their own regression tests.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import chainrule as cr  # noqa: E402
import program_gen as pg  # noqa: E402
from op_cases import OP_CASES  # noqa: E402

# -- random programs -------------------------------------------------------------------------
# Eight families of 350 programs: 2,800 per run (two with edge values). A program is 1 to 3 leaves, 2 to 8 steps and a
# backward pass; each takes about 10 ms in both libraries together. A program stops at its
# first mismatch, and the message lists it in both libraries, so it is short already: there is
# no shrinking phase, which took minutes per failing test. Each kind of mismatch has its own
# exception type (ChainruleRaised, WrongDtype, WrongValues, WrongGradient, ...).

TAPE = st.binary(min_size=192, max_size=192)
PROGRAMS = settings(max_examples=350, deadline=None,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@PROGRAMS
@given(TAPE)
def test_elementwise_programs_match_pytorch(tape):
    """Unary and binary ops with broadcasting and Python scalars, where, clip, softmax."""
    pg.run_program(tape, pg.ELEMENTWISE)


@PROGRAMS
@given(TAPE)
def test_reduction_programs_match_pytorch(tape):
    """sum, mean, max, min, var, std, logsumexp over axes, keepdims, PyTorch's defaults."""
    pg.run_program(tape, pg.REDUCTIONS)


@PROGRAMS
@given(TAPE)
def test_shape_programs_match_pytorch(tape):
    """Indexing, masks, reshape, transpose, squeeze/unsqueeze, broadcast_to, cat, stack,
    matmul."""
    pg.run_program(tape, pg.SHAPES)


@PROGRAMS
@given(TAPE)
def test_graph_programs_match_pytorch(tape):
    """Fan-out, clone, detach, no_grad, in-place changes to leaves, user-defined primitives
    whose VJP returns the upstream gradient as it is."""
    pg.run_program(tape, pg.GRAPH)


@PROGRAMS
@given(TAPE)
def test_mixed_dtype_programs_match_pytorch(tape):
    """float32 meets float64, integer tensors, NumPy scalars: PyTorch's type promotion."""
    pg.run_program(tape, pg.DTYPES, mixed_dtypes=True, integers=True, numpy_scalars=True)


@PROGRAMS
@given(TAPE)
def test_programs_of_every_op_match_pytorch(tape):
    pg.run_program(tape, pg.EVERYTHING, mixed_dtypes=True, integers=True, numpy_scalars=True)


@PROGRAMS
@given(TAPE)
def test_elementwise_programs_at_edge_values_match_pytorch(tape):
    """Leaves hold 0, -0, +-1, +-inf, nan, tiny and huge values among ordinary ones (and int32,
    int64 and uint8 extremes); every unary and binary op, pow, where, clip, softmax and the
    reductions meet them with no domain guard, and NaN positions must be PyTorch's."""
    pg.run_program(tape, pg.ELEMENTWISE + pg.REDUCTIONS, mixed_dtypes=True, integers=True,
                   edges=True)


@PROGRAMS
@given(TAPE)
def test_programs_of_every_op_at_edge_values_match_pytorch(tape):
    pg.run_program(tape, pg.EVERYTHING, mixed_dtypes=True, integers=True, numpy_scalars=True,
                   edges=True)


# -- every op case on a fan-out graph ------------------------------------------------------

IDS = [f"{c.name}-{'x'.join(map(str, c.shapes))}" for c in OP_CASES]


def _fan_out_loss(case, inputs, w):
    """The op's output used twice, the op applied twice to the same inputs, and every input
    used once more directly: every gradient is a sum over several paths."""
    out = case.fn(*inputs)
    again = case.fn(*inputs)
    total = (out * w[0] + out * w[1]).sum() + (again * w[2]).sum()
    for x, u in zip(inputs, w[3:]):
        total = total + (x * u).sum()
    return total


def _central_differences(case, arrays, w, eps=1e-6):
    """d loss / d input by central differences in float64, through the forward pass only."""
    def loss_at(values):
        with cr.no_grad():
            return float(_fan_out_loss(case, [cr.tensor(v) for v in values], w).item())

    grads = []
    for k, array in enumerate(arrays):
        grad = np.zeros_like(array)
        for i in np.ndindex(array.shape):
            values = [a.copy() for a in arrays]
            values[k][i] += eps
            plus = loss_at(values)
            values[k][i] -= 2 * eps
            grad[i] = (plus - loss_at(values)) / (2 * eps)
        grads.append(grad)
    return grads


@pytest.mark.parametrize("case", OP_CASES, ids=IDS)
def test_op_case_on_a_fan_out_graph_matches_central_differences(case):
    inputs = case.inputs(seed=3, dtype="float64")
    arrays = [np.array(x.detach().numpy()) for x in inputs]
    with cr.no_grad():
        out_shape = tuple(case.fn(*[cr.tensor(a) for a in arrays]).shape)
    w = [cr.tensor(pg.weights(out_shape, "float64", k)) for k in range(3)]
    w += [cr.tensor(pg.weights(a.shape, "float64", 3 + k)) for k, a in enumerate(arrays)]
    _fan_out_loss(case, inputs, w).backward()
    expected = _central_differences(case, arrays, w)
    for k, (x, grad) in enumerate(zip(inputs, expected)):
        assert x.grad is not None, f"input {k} got no gradient"
        assert tuple(x.grad.shape) == grad.shape and x.grad.dtype == np.float64
        np.testing.assert_allclose(x.grad.detach().numpy(), grad, rtol=1e-5, atol=1e-6,
                                   err_msg=f"input {k}")


# -- PyTorch's spellings, one op at a time -------------------------------------------------
# (name, chainrule function, PyTorch function, input shape); each function takes the library
# and a tensor. Outputs are compared, then the gradient of a weighted sum of them.

SPELLINGS = [
    ("sum-dim-keepdim", lambda m, x: x.sum(dim=1, keepdim=True), None, (2, 3)),
    ("mean-dim-tuple", lambda m, x: x.mean(dim=(0, 1)), None, (2, 3)),
    ("var-default-unbiased", lambda m, x: x.var(), None, (2, 3)),
    ("var-dim", lambda m, x: x.var(1), None, (2, 3)),
    ("var-correction", lambda m, x: x.var(dim=0, correction=0, keepdim=True), None, (2, 3)),
    ("var-ddof", lambda m, x: x.var(axis=0, ddof=0),
     lambda m, x: x.var(dim=0, correction=0), (2, 3)),
    ("std-default-unbiased", lambda m, x: x.std(dim=1), None, (2, 3)),
    ("max-dim-values-indices", lambda m, x: m.max(x, dim=1), None, (2, 3)),
    ("max-positional-dim", lambda m, x: m.max(x, 1), None, (2, 3)),
    ("min-method-dim", lambda m, x: x.min(dim=0), None, (2, 3)),
    ("max-axis-is-dim", lambda m, x: x.max(axis=1), None, (2, 3)),
    ("softmax-dim", lambda m, x: m.softmax(x, dim=0), None, (2, 3)),
    ("log_softmax-dim", lambda m, x: x.log_softmax(dim=1), None, (2, 3)),
    ("logsumexp-dim", lambda m, x: m.logsumexp(x, dim=1, keepdim=True), None, (2, 3)),
    ("softmax-0d", lambda m, x: x.softmax(-1), None, ()),
    ("softmax-empty", lambda m, x: x.softmax(1), None, (0, 3)),
    ("log_softmax-empty", lambda m, x: x.log_softmax(0), None, (0, 3)),
    ("logsumexp-empty-axis", lambda m, x: m.logsumexp(x, 1), None, (2, 0)),
    ("max-of-empty-over-a-full-axis", lambda m, x: x.max(axis=1), None, (0, 3)),
    ("transpose-two-dims", lambda m, x: x.transpose(0, 2), None, (2, 3, 1)),
    ("transpose-function", lambda m, x: m.transpose(x, 0, 1), None, (2, 3)),
    ("swapaxes", lambda m, x: m.swapaxes(x, 0, 1), None, (2, 3)),
    ("permute-varargs", lambda m, x: x.permute(2, 0, 1), None, (2, 3, 1)),
    ("unsqueeze", lambda m, x: x.unsqueeze(1), None, (2, 3)),
    ("expand_dims", lambda m, x: m.expand_dims(x, -1), lambda m, x: x.unsqueeze(-1), (2, 3)),
    ("squeeze-non-1-axis", lambda m, x: x.squeeze(0), None, (2, 3)),
    ("flatten-function", lambda m, x: m.flatten(x), None, (2, 3)),
    ("reshape-function", lambda m, x: m.reshape(x, (3, 2)), None, (2, 3)),
    ("broadcast_to-function", lambda m, x: m.broadcast_to(x, (2, 2, 3)), None, (2, 3)),
    ("clip-positional", lambda m, x: m.clip(x, -1.0, 1.0), None, (2, 3)),
    ("clamp-min-only", lambda m, x: x.clip(min=0.0), None, (2, 3)),
    ("concatenate-positional-axis", lambda m, x: m.concatenate([x, x * 2.0], 1),
     lambda m, x: m.cat([x, x * 2.0], 1), (2, 3)),
    ("stack-dim", lambda m, x: m.stack([x, x], dim=1), None, (2, 3)),
    ("where-two-python-scalars", lambda m, x: m.where(x > 0, 1.0, 0.0), None, (2, 3)),
    ("where-tensor-and-scalar", lambda m, x: m.where(x > 0, x, 0.5), None, (2, 3)),
    # A 0-d tensor does not promote a tensor with dimensions of the same kind (float32 stays)
    ("maximum-0d-float64-tensor", lambda m, x: m.maximum(x, m.tensor(np.array(0.5))), None,
     (2, 3)),
]


def _spelling_input(library, shape, dtype):
    k = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    values = ((k * 7 % 11) - 5) / 4 + 0.125  # distinct, no zeros, no ties, no +-1
    return library.tensor(values.astype(dtype), requires_grad=True)


def _outputs(result):
    """A tensor, or the tensors of a (values, indices) result."""
    if isinstance(result, tuple):
        return list(result)
    return [result]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, cr_fn, torch_fn, shape", SPELLINGS,
                         ids=[s[0] for s in SPELLINGS])
def test_pytorch_spelling_matches_pytorch(name, cr_fn, torch_fn, shape, dtype):
    torch_fn = torch_fn or cr_fn
    x_t = _spelling_input(torch, shape, dtype)
    expected = _outputs(torch_fn(torch, x_t))
    x_c = _spelling_input(cr, shape, dtype)
    actual = _outputs(cr_fn(cr, x_c))
    assert len(actual) == len(expected), f"{len(actual)} outputs, PyTorch gives {len(expected)}"
    for k, (c, t) in enumerate(zip(actual, expected)):
        problem = pg.compare_tensors(c, t, f"output {k}")
        assert problem is None, problem
    losses = []
    for library, outputs in ((torch, expected), (cr, actual)):
        loss = None
        for k, out in enumerate(outputs):
            if out.requires_grad:
                w = library.tensor(pg.weights(tuple(out.shape), pg.torch_dtype_name(expected[k]),
                                              k))
                term = (out * w).sum()
                loss = term if loss is None else loss + term
        losses.append(loss)
    if losses[0] is None:
        assert losses[1] is None
        return
    losses[0].backward()
    losses[1].backward()
    problem = pg.compare_tensors(x_c.grad, x_t.grad, "x.grad")
    assert problem is None, problem


# -- regressions: confirmed bugs, each with PyTorch's answer --------------------------------

def test_clone_beside_a_fan_out_does_not_leak_gradient_between_leaves():
    grads = {}
    for library in (cr, torch):
        x = library.tensor([1.0, 2.0], requires_grad=True)
        y = library.tensor([3.0, 4.0], requires_grad=True)
        q = y * 1.0
        a = x * 1.0
        r = a * 3.0
        ((a.clone() + q) * 2.0 + r).sum().backward()
        grads[library] = (np.asarray(x.grad.detach().numpy()), np.asarray(y.grad.detach().numpy()))
    np.testing.assert_array_equal(grads[torch][1], [2.0, 2.0])  # the oracle's answer
    np.testing.assert_array_equal(grads[cr][1], grads[torch][1])  # was [5, 5]
    np.testing.assert_array_equal(grads[cr][0], grads[torch][0])


def test_0d_leaf_accumulates_over_two_backward_passes():
    x = cr.tensor(2.0, requires_grad=True)
    (x * 2.0).backward()
    (x * 2.0).backward()  # raised "return arrays must be of ArrayType"
    assert x.grad.shape == () and x.grad.dtype == np.float32
    assert x.grad.item() == 4.0


def test_0d_leaf_with_fan_out_keeps_an_array_gradient_and_accumulates():
    grads = {}
    for library in (cr, torch):
        x = library.tensor(2.0, requires_grad=True)
        loss = x * 3.0 + x  # two paths: 0-d + 0-d gave a NumPy scalar, not an array
        loss.backward(retain_graph=True)
        assert type(x.grad.detach().numpy()) is np.ndarray
        loss.backward()  # then raised "return arrays must be of ArrayType"
        grads[library] = x.grad
    problem = pg.compare_tensors(grads[cr], grads[torch], "x.grad")
    assert problem is None, problem
    assert grads[cr].item() == 8.0


def test_0d_intermediate_used_three_times():
    grads = {}
    for library in (cr, torch):
        x = library.tensor([1.0, 2.0], requires_grad=True)
        s = x.sum()
        (s * s + s + s).backward()  # raised "return arrays must be of ArrayType"
        grads[library] = x.grad
    problem = pg.compare_tensors(grads[cr], grads[torch], "x.grad")
    assert problem is None, problem


# Graphs in which a user-defined primitive's VJP returns the upstream gradient itself, which
# may be a read-only broadcast (from sum) or shared with another path (fan-out). Each takes the
# library, its identity and its add (chainrule's are user primitives), and two leaves.

def _identity_then_other_path(m, ident, add, x, b):
    y = x * 1.0
    w = (y * 3.0).sum()
    return ident(y).sum() + w  # the identity passes sum's broadcast gradient on to y


def _identity_output_fans_out(m, ident, add, x, b):
    p = ident(x * 1.0)
    return (p * 2.0 + p).sum() + (p * b).sum()


def _identity_of_a_leaf_after_sum(m, ident, add, x, b):
    return ident(x).sum() + (x * x).sum() + ident(b).sum() * 2.0


def _identity_after_a_reduction(m, ident, add, x, b):
    s = x.sum(0)
    z = ident(ident(s))
    return z.sum() + (z * s).sum() + (s * b).sum()


def _user_add_with_broadcast_and_repeated_input(m, ident, add, x, b):
    return add(x, x).sum() + add(x, b).sum() + add(b, b).sum() + add(ident(b), x).sum()


def _user_add_feeds_both_inputs_of_an_op(m, ident, add, x, b):
    s = add(x, b)
    return (s * s).sum() + ident(s).sum()


USER_PRIMITIVE_GRAPHS = [_identity_then_other_path, _identity_output_fans_out,
                         _identity_of_a_leaf_after_sum, _identity_after_a_reduction,
                         _user_add_with_broadcast_and_repeated_input,
                         _user_add_feeds_both_inputs_of_an_op]


@pytest.mark.parametrize("graph", USER_PRIMITIVE_GRAPHS, ids=lambda g: g.__name__.strip("_"))
def test_user_primitive_returning_grad_as_is(graph):
    x_array = np.array([[0.5, -1.25, 2.0], [1.5, 0.75, -0.5]], dtype=np.float32)
    b_array = np.array([0.25, -2.0, 1.0], dtype=np.float32)
    leaves = {}
    for library, ident, add in ((torch, lambda t: t.clone(), lambda a, b: a + b),
                                (cr, pg.user_identity, pg.user_add)):
        x = library.tensor(x_array, requires_grad=True)
        b = library.tensor(b_array, requires_grad=True)
        graph(library, ident, add, x, b).backward()
        leaves[library] = (x, b)
    for name, c, t in zip("xb", leaves[cr], leaves[torch]):
        problem = pg.compare_tensors(c.grad, t.grad, f"{name}.grad")
        assert problem is None, problem


def test_tensor_copies_an_array_and_keeps_its_dtype():
    for dtype in ("float64", "float32", "int32"):
        array = np.ones(3, dtype=dtype)
        t = cr.tensor(array)
        array[0] = 5
        assert t.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(t.detach().numpy(), [1, 1, 1])


def test_python_numbers_make_pytorchs_default_dtypes():
    for data in ([1.5, 2.0], 2.5, [[1.0], [2.0]], [1, 2], 3):
        problem = pg.compare_tensors(cr.tensor(data), torch.tensor(data), repr(data))
        assert problem is None, problem


# -- edge values: the failures issue 19 listed and those the edge tables found -----------------

def _value_and_gradients(library, fn, arrays, weights_seed=0):
    """fn's value and each input's gradient under a fixed weighted sum, in one library."""
    inputs = [library.tensor(a.copy(), requires_grad=a.dtype.kind == "f") for a in arrays]
    out = fn(library, *inputs)
    w = pg.weights(tuple(out.shape), pg.torch_dtype_name(out) if library is torch
                   else np.dtype(out.dtype).name, weights_seed)
    (out * library.tensor(w)).sum().backward()
    return out, [x.grad for x in inputs]


EDGE_REGRESSIONS = {
    # name: (fn(M, *inputs), inputs); the values are where the old answer differed
    "x**0 at 0": (lambda M, x: x ** 0.0, [np.array([0.0, -0.0, 2.0])]),
    "(-2)**x": (lambda M, x: (-2.0) ** x, [np.array([0.0, 1.0, 2.5])]),
    "(-5.5)**x": (lambda M, x: (-5.5) ** x, [np.array([0.0, -1.0, 2.0])]),
    "0**x, x < 0": (lambda M, x: 0.0 ** x, [np.array([-1.0, -0.5, 0.0, 2.0])]),
    "x**y, x < 0": (lambda M, x, y: x ** y, [np.array([-2.0, -2.0, 0.0]),
                                               np.array([0.5, 2.0, -1.0])]),
    "x**0.5 at -0": (lambda M, x: x ** 0.5 + x ** -0.5, [np.array([-0.0, -np.inf, 4.0])]),
    "prod(-1) of 0-d": (lambda M, x: x.prod(-1), [np.array(2.5)]),
    "prod with a zero": (lambda M, x: x.prod(), [np.array([0.0, 2.0, 3.0])]),
    "prod with two zeros": (lambda M, x: x.prod(), [np.array([0.0, 2.0, 0.0, np.inf])]),
    "prod(dim) with zeros": (lambda M, x: x.prod(1), [np.array([[0.0, 2.0], [3.0, np.inf]])]),
    "cumprod with zeros and inf": (lambda M, x: x.cumprod(0),
                                   [np.array([2.0, 0.0, 3.0, np.inf, 0.0, np.nan])]),
    "abs and sign at nan": (lambda M, x: abs(x) + M.sign(x), [np.array([np.nan, -0.0, 1.0])]),
    "relu after inf": (lambda M, x: M.relu(x) * np.inf, [np.array([-1.0, 0.0, 2.0])]),
    "maximum with nan": (lambda M, a, b: M.maximum(a, b) + M.minimum(a, b),
                         [np.array([np.nan, 1.0, 2.0]), np.array([1.0, np.nan, 2.0])]),
    "max() with nan": (lambda M, x: x.max() + x.min(), [np.array([1.0, np.nan, np.nan, 3.0])]),
    "amax(dim) with nan": (lambda M, x: M.amax(x, 1), [np.array([[1.0, np.nan], [2.0, 1.0]])]),
    "atan2 at the origin": (lambda M, a, b: M.atan2(a, b),
                            [np.array([0.0, -0.0, 1e-300]), np.array([0.0, 0.0, 0.0])]),
    "div by tiny": (lambda M, a, b: a / b, [np.array([1e-300, 0.0, np.inf]),
                                            np.array([1e-300, 1e-300, 1e300])]),
    "remainder by -inf": (lambda M, a, b: M.remainder(a, b),
                          [np.array([1.0, -1.0, 3.0]), np.array([-np.inf, np.inf, -1.0])]),
    "logaddexp at inf": (lambda M, a, b: M.logaddexp(a, b),
                         [np.array([np.inf, 0.0, -np.inf]), np.array([1.0, np.inf, -np.inf])]),
    "logsumexp at inf": (lambda M, x: M.logsumexp(x, 1),
                         [np.array([[np.inf, 1.0, 1e300], [-np.inf, -np.inf, 0.0]])]),
    "logcumsumexp at inf": (lambda M, x: M.logcumsumexp(x, 0),
                            [np.array([0.5, np.inf, 1.0, -np.inf])]),
    "var and std at inf and ties": (lambda M, x: x.var(1) + x.std(1),
                                    [np.array([[np.inf, 1.0, -1.0], [2.0, 2.0, 2.0]])]),
    "norm of nan": (lambda M, x: x.norm(dim=1) + x.norm(0.5, dim=1) + x.norm(3, dim=1),
                    [np.array([[np.nan, 1.0, 0.0], [0.0, 3.0, 4.0]])]),
    "norm(inf) with nan": (lambda M, x: x.norm(float("inf"), dim=1),
                           [np.array([[np.nan, 1.0], [-2.0, 1.0]])]),
    "copysign of a denormal": (lambda M, a, b: M.copysign(a, b),
                               [np.array([5e-324, 0.0, -1.0]), np.array([0.0, -1.0, 1.0])]),
    "acosh at -1": (lambda M, x: M.acosh(x), [np.array([-1.0, 1.0, 2.0])]),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", EDGE_REGRESSIONS)
def test_edge_value_regressions_match_pytorch(name, dtype):
    fn, arrays = EDGE_REGRESSIONS[name]
    arrays = [a.astype(dtype) for a in arrays]
    (c_out, c_grads), (t_out, t_grads) = (_value_and_gradients(m, fn, arrays) for m in (cr, torch))
    problem = pg.compare_tensors(c_out, t_out, "value", edges=True)
    assert problem is None, problem
    for k, (c, t) in enumerate(zip(c_grads, t_grads)):
        problem = pg.compare_tensors(c, t, f"input {k}.grad", edges=True)
        assert problem is None, problem


@pytest.mark.parametrize("dtype", ["int32", "uint8"])
def test_an_int_beyond_the_dtype_wraps_as_in_pytorch(dtype):
    values = np.array([1, 2, 200], dtype=dtype)
    for expression in (lambda m, x: x | 4294967295, lambda m, x: x + 300,
                       lambda m, x: x // -2, lambda m, x: m.clamp(x, min=-1)):
        c, t = expression(cr, cr.tensor(values)), expression(torch, torch.tensor(values))
        problem = pg.compare_tensors(c, t, "result")
        assert problem is None, problem


def test_sums_of_bools_and_bytes_are_int64_as_in_pytorch():
    for values in (np.array([True, True, False]), np.array([200, 100], dtype=np.uint8)):
        problem = pg.compare_tensors(cr.tensor(values).sum(), torch.tensor(values).sum(), "sum")
        assert problem is None, problem


# -- the deliberate differences at edge values (docs/semantics.md), each pinned down ----------

def test_fmod_by_a_denormal_is_exact_where_pytorch_gives_nan():
    a = np.array([1.0, 2.5, 1e300, -7.0] * 4)
    b = np.array([5e-324, 5e-324, 1e-300, 5e-324] * 4)
    ours = cr.fmod(cr.tensor(a), cr.tensor(b)).numpy()
    np.testing.assert_array_equal(ours, np.fmod(a, b))  # C's exact fmod
    assert np.isfinite(ours).all()
    remainder = cr.remainder(cr.tensor(a), cr.tensor(b)).numpy()
    assert np.isfinite(remainder).all() and (np.abs(remainder) < np.abs(b)).all()


def test_a_p_below_1_norm_that_overflows_keeps_its_true_gradient():
    x = cr.tensor(np.array([1e38, 1e38, 4.0], dtype=np.float32), requires_grad=True)
    norm = x.norm(0.5)
    assert np.isinf(norm.item())  # (sum sqrt|x|)^2 overflows float32, as in PyTorch
    norm.backward()
    total = np.sqrt(1e38) * 2 + 2.0  # d/dx (sum sqrt|x|)^2 = (sum sqrt|x|) / sqrt|x|
    np.testing.assert_allclose(x.grad.numpy(), total / np.sqrt([1e38, 1e38, 4.0]), rtol=1e-6)


def test_scalar_divided_by_a_tensor_is_reciprocal_times_scalar_as_pytorch():
    # PyTorch computes reciprocal(x) * scalar: inf * 1e-5 and inf * 0 (NaN) at denormals, and
    # an ulp from the true quotient in a quarter of ordinary ones (tests/test_number_over_tensor.py).
    values = np.array([1e-310, 5e-324, 2.0, 3.0])
    for scalar in (1e-5, 0.0, 0.1):
        ours = (scalar / cr.tensor(values, requires_grad=True)).detach().numpy()
        theirs = (scalar / torch.tensor(values)).numpy()
        np.testing.assert_array_equal(ours, theirs)


def test_sort_is_stable_for_signed_zeros():
    values = cr.tensor([0.0, -0.0, 1.0, -0.0, 0.0])
    np.testing.assert_array_equal(cr.sort(values).indices.numpy(), [0, 1, 3, 4, 2])


def test_relu_and_clamp_keep_minus_zero_as_pytorch():
    # PyTorch's relu and clamp keep x at a tie with the bound (so 1 / relu(-0) is -inf).
    values = np.array([-0.0, 0.0, -1.0, np.nan, 2.0])
    for expression in (lambda m, x: m.relu(x), lambda m, x: x.clamp(min=0.0),
                       lambda m, x: x.clamp(-0.0, 0.0), lambda m, x: 1.0 / m.relu(x)):
        c, t = expression(cr, cr.tensor(values)), expression(torch, torch.tensor(values))
        problem = pg.compare_tensors(c, t, "result", edges="signed")
        assert problem is None, problem


def test_logsumexp_gradient_is_exact_where_the_sum_absorbs_its_terms():
    x = cr.tensor(np.full(4, -1e20, dtype=np.float32), requires_grad=True)
    x.logsumexp(0).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(4, 0.25, dtype=np.float32))


def test_a_tensor_exponent_is_cs_pow_even_broadcast_as_in_pytorch():
    # NumPy's power takes sqrt for a broadcast exponent 0.5: nan at -inf, where pow gives inf.
    base, exponent = np.array([[-np.inf, -0.0, 0.5]]), np.array([0.5])
    c = cr.tensor(base) ** cr.tensor(exponent)
    t = torch.tensor(base) ** torch.tensor(exponent)
    problem = pg.compare_tensors(c, t, "result", edges="signed")
    assert problem is None, problem


def test_an_integer_to_a_negative_integer_tensor_power_is_pytorchs():
    for library in (cr, torch):
        base = library.tensor([2, 1, -1, -1, 0, 3])
        exponent = library.tensor([-1, -2, -3, -2, -1, 2])
        if library is cr:
            ours = (base ** exponent).numpy()
        else:
            theirs = (base ** exponent).numpy()
    np.testing.assert_array_equal(ours, theirs)
    with pytest.raises(ValueError):  # a negative number as the exponent is refused, as there
        cr.tensor([2, 3]) ** -1


def test_pow_differentiates_the_promoted_power():
    # A float64 0-d exponent of 1e-300 is 0 once promoted to the float32 base's dtype, so the
    # power is the constant 1 and its slope 0 (PyTorch reads the float64 exponent and gives
    # NaN at a zero base; docs/semantics.md).
    x = cr.tensor(np.array([-0.0, 2.0], dtype=np.float32), requires_grad=True)
    y = cr.tensor(np.array(1e-300), requires_grad=True)
    (x ** y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])
