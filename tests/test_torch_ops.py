"""The PyTorch toolbox against PyTorch itself and against central differences (the cases are
in torch_cases.py): values, dtypes, shapes, requires_grad and every leaf's gradient."""
import numpy as np
import pytest

import chainrule as cr
from torch_cases import CASES

torch = pytest.importorskip("torch")
from program_gen import compare_tensors  # noqa: E402  (imports torch)


def _leaves(value):
    """The tensors (and plain values) in a result: tuples, lists and named tuples opened."""
    if isinstance(value, (tuple, list)):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def _make(library, spec_arrays, specs):
    made = []
    for array, spec in zip(spec_arrays, specs):
        grad = spec.kind in ("float", "zeros", "edge")
        made.append(library.tensor(array.copy(), requires_grad=grad))
    return made


def _run(case, dtype, seed=0):
    """Both libraries' inputs and results; None where PyTorch refuses the call, after checking
    that chainrule refuses it too."""
    rng = np.random.default_rng(seed)
    arrays = [spec.array(rng, dtype) for spec in case.inputs]
    c_inputs, t_inputs = _make(cr, arrays, case.inputs), _make(torch, arrays, case.inputs)
    try:
        t_out = case.fn(torch, *t_inputs)
    except (RuntimeError, ValueError, TypeError, IndexError) as refusal:
        with pytest.raises(Exception) as ours:
            case.fn(cr, *c_inputs)
        assert not isinstance(ours.value, AssertionError), (ours.value, refusal)
        return None
    c_out = case.fn(cr, *c_inputs)
    return c_inputs, t_inputs, _leaves(c_out), _leaves(t_out)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_matches_pytorch(case, dtype):
    ran = _run(case, dtype)
    if ran is None:
        return
    c_inputs, t_inputs, c_out, t_out = ran
    edges = ("signed" if case.zero_signs else True) if case.edges else False
    assert len(c_out) == len(t_out), f"{len(c_out)} results vs PyTorch's {len(t_out)}"
    precision = "float32" if dtype == "float32" or case.loose or any(
        getattr(t, "dtype", None) == torch.float32 for t in t_out + t_inputs) else None
    terms = []
    for k, (c, t) in enumerate(zip(c_out, t_out)):
        if not isinstance(t, torch.Tensor):
            assert c == t and type(c) is type(t), f"result {k}: {c!r} vs PyTorch's {t!r}"
            continue
        problem = compare_tensors(c, t, f"result {k}", precision, edges)
        assert problem is None, str(problem)
        if t.requires_grad:
            weights = np.random.default_rng(k).uniform(-1, 1, size=tuple(t.shape))
            terms.append((c, t, weights))
    if not terms:
        return
    c_loss = sum((c * cr.tensor(w.astype(c.dtype))).sum() for c, _, w in terms)
    t_loss = sum((t * torch.tensor(w.astype(str(t.dtype).replace("torch.", "")))).sum()
                 for _, t, w in terms)
    c_loss.backward()
    t_loss.backward()
    for k, (c, t) in enumerate(zip(c_inputs, t_inputs)):
        if t.requires_grad:
            if case.none_is_zero and t.grad is None:
                assert c.grad is None or not c.grad.numpy().any()
                continue
            problem = compare_tensors(c.grad, t.grad, f"input {k}.grad", precision,
                                      bool(edges))
            assert problem is None, str(problem)


def _differentiable(case):
    """The case as a function of its float inputs returning one flat tensor, for gradcheck."""
    rng = np.random.default_rng(0)
    arrays = [spec.array(rng, "float64") for spec in case.inputs]
    floats = [i for i, spec in enumerate(case.inputs) if spec.kind in ("float", "zeros")]
    if not floats:
        return None, None
    probe = _leaves(case.fn(cr, *_make(cr, arrays, case.inputs)))
    if not any(isinstance(p, cr.Tensor) and p.requires_grad for p in probe):
        return None, None

    def fn(*xs):
        inputs = [cr.tensor(a) for a in arrays]
        for i, x in zip(floats, xs):
            inputs[i] = x
        outs = [o for o in _leaves(case.fn(cr, *inputs))
                if isinstance(o, cr.Tensor) and o.requires_grad]
        return cr.cat([o.reshape(-1) for o in outs])
    return fn, [cr.tensor(arrays[i].astype("float64"), requires_grad=True) for i in floats]


# Central differences mean nothing at inf or nan, and the integer cases have no gradient (and
# some are PyTorch's refusals, checked in test_matches_pytorch).
SMOOTH = [c for c in CASES if not c.edges and c.name != "integer"]


@pytest.mark.parametrize("case", SMOOTH, ids=[c.id for c in SMOOTH])
def test_gradient_matches_central_differences(case):
    fn, inputs = _differentiable(case)
    if fn is None:
        out = _leaves(case.fn(cr, *_make(cr, [s.array(np.random.default_rng(0), "float64")
                                               for s in case.inputs], case.inputs)))
        assert not any(getattr(o, "requires_grad", False) for o in out)
        return
    assert cr.gradcheck(fn, inputs)


@pytest.mark.parametrize("case", [c for c in SMOOTH if c.twice], ids=lambda c: c.id)
def test_second_derivative_matches_central_differences(case):
    fn, inputs = _differentiable(case)
    if fn is None:
        return
    assert cr.gradgradcheck(fn, inputs, atol=1e-4, rtol=1e-3)


def table_tests(cases, smooth, runs=(), refused=()):
    """This file's three checks for another file's table of cases, returned as test functions
    for that module to bind to its own test_ names:

        test_matches_pytorch, test_gradient_matches_central_differences, \\
            test_second_derivative_matches_central_differences = table_tests(CASES, SMOOTH)

    Every case against PyTorch in float64 and float32, where each case of ``runs`` must run in
    PyTorch and each of ``refused`` must be refused by it (and, as _run checks, by chainrule;
    elsewhere a refusal by both passes); the ``smooth`` cases against central differences to
    first order, and those of them with ``twice`` to second order."""
    runs, refused = list(runs), list(refused)

    @pytest.mark.parametrize("dtype", ["float64", "float32"])
    @pytest.mark.parametrize("case", cases, ids=lambda c: c.id)
    def matches_pytorch(case, dtype):
        if case in runs:
            assert _run(case, dtype) is not None, "PyTorch refuses this case"
        if case in refused:
            assert _run(case, dtype) is None, "PyTorch accepts this call"
        test_matches_pytorch(case, dtype)

    @pytest.mark.parametrize("case", smooth, ids=lambda c: c.id)
    def gradient_matches_central_differences(case):
        test_gradient_matches_central_differences(case)

    @pytest.mark.parametrize("case", [c for c in smooth if c.twice], ids=lambda c: c.id)
    def second_derivative_matches_central_differences(case):
        test_second_derivative_matches_central_differences(case)

    return (matches_pytorch, gradient_matches_central_differences,
            second_derivative_matches_central_differences)


def test_the_deliberate_differences_are_errors_or_casts():
    x = cr.tensor(np.zeros((2, 3), dtype=np.float32))
    loss = cr.nn.functional.cross_entropy(x, cr.tensor([0, 2]),
                                          weight=cr.tensor(np.ones(3, dtype=np.float64)))
    assert loss.dtype == np.float32  # cast to the input's dtype; PyTorch raises
    with pytest.raises(cr.ShapeError, match="mse_loss"):
        cr.nn.functional.mse_loss(cr.zeros(3, 1), cr.zeros(3))


def test_integer_division_by_zero_raises_as_in_pytorch():
    for expression in (lambda: cr.tensor([1]) // cr.tensor([0]), lambda: cr.tensor([1]) % 0,
                       lambda: cr.fmod(cr.tensor([1]), 0),
                       lambda: cr.div(cr.tensor([1]), 0, rounding_mode="trunc")):
        with pytest.raises(ZeroDivisionError):
            expression()
    with pytest.raises(RuntimeError):
        torch.tensor([1]) // torch.tensor([0])


def test_floor_divide_has_no_derivative_as_in_pytorch():
    a = cr.tensor([3.0, 4.0], requires_grad=True)
    with pytest.raises(cr.GradientError, match="floor_divide"):
        (a // 2).sum().backward()
    t = torch.tensor([3.0, 4.0], requires_grad=True)
    with pytest.raises(RuntimeError):
        (t // 2).sum().backward()


def test_random_fills_use_the_library_generator():
    cr.manual_seed(3)
    first = cr.empty(4).uniform_(-1, 1).numpy().copy()
    cr.manual_seed(3)
    np.testing.assert_array_equal(cr.empty(4).uniform_(-1, 1).numpy(), first)
    w = cr.zeros(3, requires_grad=True)
    with pytest.raises(cr.GradientError, match="no_grad"):
        w.normal_()
    with cr.no_grad():
        w.normal_()
    assert w.detach().numpy().std() > 0


def test_fill_replaces_infinities_and_nans_too():
    x = cr.tensor([float("inf"), float("nan"), 1.0])
    np.testing.assert_array_equal(x.fill_(2.0).numpy(), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(cr.tensor([1, 2]).fill_(2.5).numpy(),
                                  torch.tensor([1, 2]).fill_(2.5).numpy())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_leaky_relu_at_zero_takes_the_slope_as_in_pytorch(dtype):
    # A kink, so no central difference applies: the subgradient is PyTorch's.
    x = np.array([-1.0, 0.0, -0.0, 2.0], dtype=dtype)
    ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (cr.nn.functional.leaky_relu(ours, 0.2) * 3).sum().backward()
    (torch.nn.functional.leaky_relu(theirs, 0.2) * 3).sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


def test_overwriting_leaky_relus_input_keeps_the_gradient_of_what_it_saw():
    # PyTorch's leaky_relu saves its input, so this raises there; chainrule's keeps a mask, so
    # the gradient exists, and it must equal PyTorch's on a copy (no in-place change).
    x = np.array([[1.0, -2.0], [-3.0, 4.0]])
    ours = cr.tensor(x, requires_grad=True)
    z = ours * 1
    z[1] = cr.nn.functional.leaky_relu(z[1], 0.2)
    (z * z).sum().backward()
    theirs = torch.tensor(x, requires_grad=True)
    z = torch.cat([theirs[:1] * 1, torch.nn.functional.leaky_relu(theirs[1:] * 1, 0.2)])
    (z * z).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)
    with pytest.raises(RuntimeError):
        y = torch.tensor(x, requires_grad=True) * 1
        y[1] = torch.nn.functional.leaky_relu(y[1], 0.2)
        y.sum().backward()
