"""One declaration per public op (chainrule/public.py): the ``cr.`` names, Tensor methods,
``F.`` names, NumPy dispatch and API reference that follow from it.

The NumPy test enumerates the declarations: every NumPy function or ufunc that shares a name
with a declared op (or is named by its ``numpy=``) must dispatch through the protocol and give
NumPy's answer on tensors, and a namesake without a sample call below fails the coverage test.
"""
import importlib.util
import pathlib

import numpy as np
import pytest

import chainrule as cr
from chainrule.numpy_protocol import _numpy_callable
from chainrule.public import DECLARATIONS, declarations, public

RNG = np.random.default_rng(3)
A = RNG.uniform(0.2, 0.9, (3, 4))
B = RNG.uniform(0.2, 0.9, (3, 4))
V = RNG.uniform(0.2, 0.9, 4)
M = RNG.uniform(0.2, 0.9, (4, 4))
I = np.array([[3, 5, 12], [7, 0, 9]])
A[0, 1] = A[0, 2]  # a tie, for sort and argsort to order stably


def _namesakes():
    found = {}
    for name, declaration in DECLARATIONS.items():
        for numpy_name in (name,) + (declaration.numpy if name == declaration.name else ()):
            if _numpy_callable(numpy_name) is not None:
                found.setdefault(numpy_name, declaration)
    return found


NAMESAKES = _namesakes()
UFUNCS = sorted(n for n in NAMESAKES if isinstance(_numpy_callable(n), np.ufunc))

# NumPy functions (not ufuncs) that share a declared op's name: each called as NumPy code would,
# on arrays, with ``t`` the conversion applied to every array argument.
CALLS = {
    "sum": lambda: np.sum(A, axis=1), "nansum": lambda: np.nansum(A + 0 * A / (A > 0.5), axis=1),
    "mean": lambda: np.mean(A, axis=0, keepdims=True),
    "max": lambda: np.max(A, axis=1), "min": lambda: np.min(A), "amax": lambda: np.amax(A, 0),
    "amin": lambda: np.amin(A, axis=1), "var": lambda: np.var(A, axis=1),
    "std": lambda: np.std(A), "argmax": lambda: np.argmax(A, axis=1),
    "argmin": lambda: np.argmin(A), "prod": lambda: np.prod(A, axis=0),
    "any": lambda: np.any(A > 0.5, axis=1), "all": lambda: np.all(A > 0.1),
    "count_nonzero": lambda: np.count_nonzero(A > 0.5), "cumsum": lambda: np.cumsum(A),
    "cumprod": lambda: np.cumprod(A, axis=1), "round": lambda: np.round(A, 2),
    "nan_to_num": lambda: np.nan_to_num(A / (A > 0.5)), "clip": lambda: np.clip(A, 0.3, 0.6),
    "isclose": lambda: np.isclose(A, B, atol=0.2), "allclose": lambda: np.allclose(A, A + 1e-9),
    "transpose": lambda: np.transpose(A), "swapaxes": lambda: np.swapaxes(A, 0, 1),
    "squeeze": lambda: np.squeeze(A[:1]), "reshape": lambda: np.reshape(A, (4, 3)),
    "broadcast_to": lambda: np.broadcast_to(V, (2, 4)), "dot": lambda: np.dot(A, V),
    "outer": lambda: np.outer(V, A), "where": lambda: np.where(A > 0.5, A, B),
    "fix": lambda: np.fix(A * 4 - 2), "nonzero": lambda: np.nonzero(A > 0.5),
    "diagonal": lambda: np.diagonal(M, 1), "diag": lambda: np.diag(V, -1),
    "tril": lambda: np.tril(M, -1), "triu": lambda: np.triu(M, k=1),
    "repeat": lambda: np.repeat(A, 2, axis=1), "tile": lambda: np.tile(V, 2),
    "flip": lambda: np.flip(A), "fliplr": lambda: np.fliplr(A), "flipud": lambda: np.flipud(A),
    "roll": lambda: np.roll(A, 1), "split": lambda: np.split(A, 2, axis=1),
    "moveaxis": lambda: np.moveaxis(A, 0, 1), "meshgrid": lambda: np.meshgrid(V, V[:2]),
    "einsum": lambda: np.einsum("ij,j->i", A, V), "concat": lambda: np.concat([A, B]),
    "concatenate": lambda: np.concatenate([A, B], axis=1), "stack": lambda: np.stack([A, B], 1),
    "expand_dims": lambda: np.expand_dims(A, 1), "astype": lambda: np.astype(A, np.float32),
    "sort": lambda: np.sort(A), "argsort": lambda: np.argsort(A, axis=1, stable=True),
    "pad": lambda: np.pad(A, ((1, 0), (2, 1))), "median": lambda: np.median(A, axis=1),
    "unique": lambda: np.unique(np.round(A * 3)), "histogram": lambda: np.histogram(A, bins=4),
    "hstack": lambda: np.hstack([A, B]), "vstack": lambda: np.vstack([A, V]),
    "dstack": lambda: np.dstack([A, B]), "column_stack": lambda: np.column_stack([V, V]),
    "trace": lambda: np.trace(M), "kron": lambda: np.kron(V[:2], A),
    "inner": lambda: np.inner(A, B), "tensordot": lambda: np.tensordot(A, B, axes=([1], [1])),
    "diff": lambda: np.diff(A, n=2, axis=1, prepend=0.5),
    "cross": lambda: np.cross(A[:, :3], B[:, :3]),
    "nanmean": lambda: np.nanmean(A + 0 * A / (A > 0.3), axis=1),
    "nanmedian": lambda: np.nanmedian(A + 0 * A / (A > 0.3), axis=0, keepdims=True),
    "quantile": lambda: np.quantile(A, [0.2, 0.5], axis=1, method="nearest"),
    "nanquantile": lambda: np.nanquantile(A + 0 * A / (A > 0.3), 0.3, axis=1),
    "bincount": lambda: np.bincount(I[0], minlength=14), "argwhere": lambda: np.argwhere(A > 0.5),
    "take": lambda: (np.take(A, [[5, -1]]), np.take(A, [[2, 0]], axis=1)),
    "select": lambda: np.select([A > 0.6, A > 0.4], [A, B * 2], default=-1.0),
    "hsplit": lambda: np.hsplit(A, [1, 3]), "vsplit": lambda: np.vsplit(A, 3),
    "dsplit": lambda: np.dsplit(A.reshape(3, 1, 4), 2), "rot90": lambda: np.rot90(A, -1, (1, 0)),
    "diagflat": lambda: np.diagflat(V[:3], -1), "isreal": lambda: np.isreal(A),
    "isposinf": lambda: np.isposinf(A / (A > 0.5)), "isneginf": lambda: np.isneginf(-A / (A > 0.5)),
    "sinc": lambda: np.sinc(A * 4 - 2),
    "vdot": lambda: np.vdot(V, V),
    # No array argument, so nothing to dispatch: NumPy answers (k, m: NumPy's order).
    "tril_indices": lambda: np.tril_indices(3, -1, 4),
    "triu_indices": lambda: np.triu_indices(4, 1, 3),
}


def _as_tensors(call):
    """Run ``call`` with its module-level arrays swapped for tensors (those of floats
    requiring grad), through the protocol."""
    names = {"A": A, "B": B, "V": V, "M": M, "I": I}
    swapped = {k: cr.tensor(v, requires_grad=v.dtype.kind == "f") for k, v in names.items()}
    globals_ = dict(call.__globals__, **swapped)
    return type(call)(call.__code__, globals_)()


def _plain(x):
    if isinstance(x, cr.Tensor):
        return x.detach().numpy()
    if isinstance(x, (list, tuple)):
        return [_plain(item) for item in x]
    return np.asarray(x)


def _same(ours, theirs):
    if isinstance(theirs, (list, tuple)):
        assert isinstance(ours, (list, tuple)) and len(ours) == len(theirs)
        for mine, reference in zip(ours, theirs):
            _same(mine, reference)
        return
    np.testing.assert_allclose(_plain(ours), theirs, rtol=1e-6, atol=1e-12, equal_nan=True)


def test_every_numpy_namesake_of_a_declared_op_has_a_sample_call():
    functions = {n for n in NAMESAKES if n not in UFUNCS}
    assert functions <= set(CALLS), f"add a sample call for {sorted(functions - set(CALLS))}"


@pytest.mark.parametrize("name", sorted(set(NAMESAKES) - set(UFUNCS)))
def test_numpy_function_dispatches_and_gives_numpys_answer(name):
    call = CALLS[name]
    _same(_as_tensors(call), call())


def _ufunc_inputs(ufunc):
    floats = any(t.startswith("d" * ufunc.nin) for t in ufunc.types)
    if ufunc is np.matmul:
        return [A, B.T]
    if floats:
        low = 1.2 if ufunc.__name__ in ("arccosh",) else 0.2
        return [RNG.uniform(low, low + 0.7, (3, 4)) for _ in range(ufunc.nin)]
    return [I, np.array([1, 2, 3])][:ufunc.nin] if ufunc.nin == 2 else [I]


@pytest.mark.parametrize("name", UFUNCS)
def test_numpy_ufunc_dispatches_and_gives_numpys_answer(name):
    ufunc = _numpy_callable(name)
    arrays = _ufunc_inputs(ufunc)
    tensors = [cr.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    out = ufunc(*tensors)
    outs = out if ufunc.nout > 1 else (out,)  # frexp: (mantissa, exponent)
    assert all(isinstance(o, cr.Tensor) for o in outs), f"numpy.{name} gave {out!r}"
    _same(out, ufunc(*arrays))


def test_numpys_meanings_stay_in_numpys_functions():
    x = cr.tensor(A, requires_grad=True)
    values = np.max(x, axis=1)  # NumPy: the values alone
    assert isinstance(values, cr.Tensor) and values.shape == (3,)
    pair = x.max(axis=1)  # PyTorch's axis= alias of dim=: values and indices
    np.testing.assert_array_equal(pair[1].numpy(), np.argmax(A, axis=1))
    np.testing.assert_allclose(np.std(x).detach().numpy(), np.std(A))  # ddof 0
    np.testing.assert_allclose(x.std().detach().numpy(), np.std(A, ddof=1))  # unbiased


def test_numpy_dispatch_keeps_the_graph():
    x = cr.tensor(A, requires_grad=True)
    np.sum(np.cumsum(np.sin(x), axis=1) * np.log1p(x)).backward()
    sin_cumsum = np.cumsum(np.sin(A), axis=1)
    expected = np.cos(A) * np.cumsum(np.log1p(A)[:, ::-1], axis=1)[:, ::-1] + \
        sin_cumsum / (1 + A)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-10)


# -- names, methods, F. ------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(DECLARATIONS))
def test_each_declared_name_is_a_cr_name(name):
    assert getattr(cr, name) is DECLARATIONS[name].function
    assert name in cr.__all__


@pytest.mark.parametrize("name", sorted(n for n, d in DECLARATIONS.items() if d.method))
def test_each_declared_method_is_a_tensor_method(name):
    assert callable(getattr(cr.Tensor, name, None))


def test_methods_are_declared_where_pytorch_has_them():
    torch = pytest.importorskip("torch")
    missing = sorted(n for n, d in DECLARATIONS.items()
                     if not d.method and hasattr(torch, n) and hasattr(torch.Tensor, n)
                     and n not in ("where",))  # Tensor.where(cond, other): another order
    assert not missing, f"torch.Tensor has these methods: declare method=True: {missing}"
    extra = sorted(n for n, d in DECLARATIONS.items()
                   if d.method and hasattr(torch, n) and not hasattr(torch.Tensor, n))
    assert not extra, f"torch.Tensor has no such methods: {extra}"


def test_in_place_forms_are_pytorchs_and_return_the_tensor():
    torch = pytest.importorskip("torch")
    made = sorted(f"{n}_" for d in declarations() if d.inplace for n in d.names)
    assert made and not [m for m in made if not hasattr(torch.Tensor, m)]
    x = cr.tensor([0.5, 2.0])
    view = x[1:]
    assert view.sqrt_() is view and x.numpy()[1] == np.float32(np.sqrt(2.0))


def test_functional_declarations_are_f_names():
    F = cr.nn.functional
    declared = {n for n, d in DECLARATIONS.items() if d.functional}
    assert {"one_hot", "relu", "softmax", "pad"} <= declared
    for name in declared:
        assert getattr(F, name) is DECLARATIONS[name].function
        assert name in F.__all__


def test_a_name_declared_twice_raises_and_leaves_the_first():
    with pytest.raises(NameError, match="'sin' is declared twice"):
        public(lambda x: x, name="sin", aliases=("not_yet_a_name",))
    assert "not_yet_a_name" not in DECLARATIONS
    assert cr.sin is DECLARATIONS["sin"].function


def test_a_method_declared_after_import_is_attached_and_accepts_axis():
    def running_total(input, dim, keepdim=False):
        """A declared-later op, for this test."""
        return input.cumsum(dim)
    try:
        public(running_total, method=True)
        x = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
        np.testing.assert_array_equal(x.running_total(axis=1).numpy(), [[1, 3], [3, 7]])
    finally:
        DECLARATIONS.pop("running_total", None)
        if "running_total" in vars(cr.Tensor):
            delattr(cr.Tensor, "running_total")


def test_no_star_import_in_the_package():
    source = pathlib.Path(cr.__file__).read_text()
    assert "import *" not in source


def test_api_reference_lists_every_declaration():
    path = pathlib.Path(__file__).parents[1] / "docs" / "make_api.py"
    spec = importlib.util.spec_from_file_location("make_api", path)
    make_api = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_api)
    text = make_api.render()
    for declaration in declarations():
        assert f"`cr.{declaration.name}(" in text, declaration.name


@pytest.mark.parametrize("module", ["chainrule.linalg", "chainrule.public", "chainrule.stats"])
def test_the_examples_in_these_modules_run(module):
    import doctest
    import importlib
    found = importlib.import_module(module)
    result = doctest.testmod(found, extraglobs={"cr": cr, "np": np},
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted and not result.failed


# -- every declared op that PyTorch has is run against PyTorch somewhere -----------------------

def _code_of(function):
    function = getattr(function, "__wrapped__", function)
    function = getattr(function, "forward", function)  # a primitive: its forward on arrays
    return getattr(function, "__code__", None)


def _codes_run_by_the_differential_cases():
    import sys

    torch_ops = pytest.importorskip("test_torch_ops")
    from test_missing_names_ops import CASES as MISSING
    from test_more_indexing import CASES as INDEXING
    from more_math_cases import CASES as MATH
    from linalg_more_cases import CASES as LINALG_MORE
    from test_new_names import CASES as NEW
    from test_new_pytorch_names import CASES as PYTORCH_NAMES
    from test_linalg_products import CASES as PRODUCTS
    from test_small_layers import CASES as SMALL
    from torch_cases import CASES
    codes = set()

    def record(frame, event, arg):
        if event == "call":
            codes.add(frame.f_code)
    from test_spellings import BINARY, CALLS, X
    calls = [(case.fn, torch_ops._make(cr, [spec.array(np.random.default_rng(0), "float64")
                                             for spec in case.inputs], case.inputs))
             for case in CASES + NEW + MISSING + PRODUCTS + INDEXING + MATH + LINALG_MORE
             + PYTORCH_NAMES + SMALL]
    calls += [(call, [cr.tensor(X, requires_grad=True)]) for call in CALLS.values()]
    calls += [(call, [cr.tensor([1.0, 2.0]), cr.tensor([3, 4])]) for call in BINARY.values()]
    for call, inputs in calls:
        sys.setprofile(record)
        try:
            call(cr, *inputs)
        except Exception:  # noqa: BLE001  (a refusal still runs the op)
            pass
        finally:
            sys.setprofile(None)
    return codes


# Random draws cannot equal PyTorch's (another generator); their tests compare distributions.
RANDOM = {"randperm", "multinomial", "bernoulli"}


def test_every_declared_op_that_pytorch_has_is_checked_against_it():
    torch = pytest.importorskip("torch")
    run = _codes_run_by_the_differential_cases()
    unchecked = sorted(d.name for d in declarations()
                       if (hasattr(torch, d.name) or hasattr(torch.Tensor, d.name))
                       and d.name not in RANDOM
                       and _code_of(d.function) not in run
                       and _code_of(vars(cr.Tensor).get(d.name)) not in run)
    assert not unchecked, f"add a case to tests/torch_cases.py for: {unchecked}"
