"""The names added for PyTorch's users (issue 19: median, unique, histc, histogram, the joins,
index_put(_), scatter_add_, Tensor.matmul, cr.linalg, F.one_hot), run through the same checks
as tests/torch_cases.py's table (test_torch_ops.py): values, dtypes, every leaf's gradient
against PyTorch on float64 and float32, and float64 central differences to second order."""
import inspect

import pytest

from torch_cases import N_EDGES, Case, E, F, K

pytest.importorskip("torch")
import test_torch_ops as checks  # noqa: E402  (imports torch)
from chainrule.public import declarations  # noqa: E402

INF = float("inf")
CASES = [
    Case("median", lambda M, x: (x.median(1), M.median(x, 0, keepdim=True), x.median()),
         [F(3, 5)]),
    Case("median", lambda M, x: (x.median(0), M.median(x * x[0])), [F(4)]),
    Case("median", lambda M, x: (x.median(axis=0), M.median(x[0, 0], 0)), [F(2, 3)]),
    Case("join", lambda M, a, b: (M.hstack([a, b]), M.vstack([a, b]), M.dstack([a, b]),
                                  M.column_stack([a[0], b[0]])), [F(2, 3), F(2, 3)]),
    Case("join", lambda M, a, b: (M.hstack([a, b[0]]), M.vstack([a, b]),
                                  M.column_stack([a, b])), [F(3), F(3, 3)]),
    Case("join", lambda M, a, b: M.hstack([a, b]), [F(2), K([1, 2])]),
    Case("cat", lambda M, a, b: (M.cat([a, b]), M.stack([b, a], 1)), [F(2), K([1, 2])]),
    Case("index_put", lambda M, x, v: (M.index_put(x, (M.tensor([0, 2]),), v),
                                       x.index_put((M.tensor([1, 1]),), v, accumulate=True)),
         [F(3, 2), F(2)]),
    Case("index_put", lambda M, x, v: x.clone().index_put_((M.tensor([0, 0]), M.tensor([1, 1])),
                                                           v, accumulate=True) * x,
         [F(2, 3), F()]),
    Case("scatter_add", lambda M, x, s: x.clone().scatter_add_(1, M.tensor([[0, 0], [2, 1]]),
                                                                 s), [F(2, 3), F(2, 2)]),
    Case("matmul", lambda M, a, b: a.matmul(b) + a.matmul(b[:, :1]), [F(2, 3), F(3, 4)]),
    *[Case("linalg.norm", lambda M, x, o=ord_: M.linalg.norm(x, o), [F(3, 4)], id=str(ord_))
      for ord_ in (None, "fro", 1, -1, INF, -INF)],
    Case("linalg.norm", lambda M, x: (M.linalg.norm(x, 3, dim=1, keepdim=True),
                                      M.linalg.vector_norm(x, INF, dim=(0, 1)),
                                      M.linalg.vector_norm(x), M.linalg.matrix_norm(x[None], -1),
                                      M.linalg.matrix_norm(x, INF, keepdim=True)), [F(3, 4)]),
    Case("linalg.norm", lambda M, x: M.linalg.norm(x, dim=(2, 0)), [F(2, 3, 4)]),
    Case("unique", lambda M, x: (M.unique(x, return_inverse=True, return_counts=True),
                                 M.unique(x.reshape(3, 2), dim=0),
                                 M.histc(x.to(M.float32), bins=3),
                                 M.histc(x.to(M.float32), bins=4, min=1, max=3),
                                 M.histogram(x.to(M.float64), bins=3)),
         [K([3, 1, 3, 2, 1, 3])]),
    # functions until now run only as methods or operators
    Case("compare", lambda M, a, b: (M.eq(a, b), M.ne(a, b), M.lt(a, b), M.le(a, b),
                                     M.gt(a, b), M.ge(a, b), M.logical_not(a > 0),
                                     M.equal(a, a), M.equal(a, b), M.is_tensor(a)),
         [F(3), F(3)]),
    Case("shape", lambda M, x: (M.broadcast_to(x, (2, 3, 4)), M.flatten(x),
                                M.permute(x, (1, 0)), M.unsqueeze(x, 1) * x[:, None]),
         [F(3, 4)]),
    # edge values (signed zeros, +-inf, nan, tiny, huge, ties), views, in-place changes, empty
    Case("median", lambda M, x: (x.median(1).values, M.median(x)), [E(9, 4, layout="rows")]),
    Case("median", lambda M, x: M.median(x), [E(N_EDGES)]),
    Case("median", lambda M, x: _written_then_viewed(x).median(0), [F(3, 4)]),
    Case("linalg.norm", lambda M, x: tuple(M.linalg.vector_norm(x, o, dim=1)
                                            for o in (2, 1, INF, -INF, 0, 3)),
         [E(9, 4, layout="rows/moderate")]),
    Case("linalg.norm", lambda M, x: (M.linalg.matrix_norm(x.reshape(-1, 2, 2), 1),
                                      M.linalg.matrix_norm(x.reshape(-1, 2, 2), -INF),
                                      M.linalg.matrix_norm(x.reshape(-1, 2, 2))),
         [E(8, 4, layout="rows/moderate")]),
    Case("linalg.norm", lambda M, x: (M.linalg.norm(_written_then_viewed(x), 1),
                                      M.linalg.vector_norm(x[:0]), M.linalg.norm(x[:, :0])),
         [F(3, 4)]),
    Case("join", lambda M, x: (M.hstack([x, x[::2]]), M.vstack([x[:4], x[4:8]]),
                               M.column_stack([x[:3], x[3:6]])), [E(N_EDGES)]),
    Case("join", lambda M, x: (M.hstack([M.zeros(0, dtype=x.dtype), x[0]]),
                               M.vstack([x[:0], x[:0]]), M.dstack([x.t(), x.t()])), [F(2, 3)]),
    Case("index_put", lambda M, x, v: M.index_put(x, (M.tensor([0, 0, 5]),), v, accumulate=True),
         [E(N_EDGES), E(3)]),
    Case("unique", lambda M, x: (M.unique(x[:0]), M.unique(x, return_counts=True),
                                 M.histc(x[:0], bins=2), M.histogram(x, bins=2)),
         [K([0.5, -0.0, 0.0, 2.5, 0.5])]),
    Case("bitwise", lambda M, x, s: _bitwise_in_place(x, s), [K([5, -8, 3, 0, 12]), K([1, 2])]),
    Case("bitwise", lambda M, x: _bitwise_in_place(x > 2, x[:2] > 0), [K([5, -8, 3, 0, 12])]),
    Case("one_hot", lambda M, x: (M.nn.functional.one_hot(x), M.nn.functional.one_hot(x, 5)),
         [K([0, 3, 1], "int64")]),
]


def _bitwise_in_place(x, s):
    """Each in-place bitwise form on a view of a copy: the copy must see every write."""
    y = x.clone()
    view = y[1:3]
    view &= s
    view |= s
    view ^= s
    view.bitwise_not_().bitwise_xor_(s)
    view.bitwise_and_(s).bitwise_or_(s)
    if y.dtype != view.dtype or str(y.dtype).endswith("bool"):
        return y, view
    view <<= s
    view >>= 1
    view.bitwise_left_shift_(s).bitwise_right_shift_(1)
    return y, view


def _in_place(M, x, name, binary):
    """``name_`` on a copy of x, then on a view of another copy: each returns the tensor it
    changed, and x gets the gradient through the change."""
    other = (x.flip(0),) if binary else ()
    if name in ("clamp_min", "clamp_max"):
        other = (0.5,)  # chainrule's bounds are numbers or tensors without grad
    y = x * 1
    same = getattr(y, f"{name}_")(*other) is y
    view = (x * 1)[1:]
    getattr(view, f"{name}_")(*(o[1:] if hasattr(o, "shape") else o for o in other))
    return y, view, same


# Every in-place form that a declaration gives (x.sin_(), x.clamp_min_(m), ...), on a view.
# PyTorch has no gradient for floor_divide_ and heaviside_ (nor does chainrule: both refuse,
# tests/test_more_math.py) and none for the in-place inverse hyperbolics (chainrule has one):
# no comparison to make there. digamma_ has no second derivative here (polygamma(2, x)).
# nextafter_ on x and x.flip(0) meets itself in the middle, where its gradient is PyTorch's
# convention, not a derivative central differences can see (tests/test_more_math.py).
_NO_TORCH_GRADIENT = {"floor_divide", "heaviside", "nextafter", "asinh", "arcsinh", "acosh", "arccosh",
                      "atanh", "arctanh"}
_ONCE_DIFFERENTIABLE = {"digamma"}
_DOMAINS = {"acosh": (1.2, 2.0), "arccosh": (1.2, 2.0)}
for _declaration in declarations():
    if not _declaration.inplace:
        continue
    _function = getattr(_declaration.function, "__wrapped__", _declaration.function)
    _arity = len([p for p in inspect.signature(_function).parameters.values()
                  if p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD])
    if _arity > 2:
        continue  # addmm_, addcmul_, ...: their cases are in tests/test_linalg_products.py
    _binary = _arity > 1
    for _name in [n for n in _declaration.names if n not in _NO_TORCH_GRADIENT]:
        _low, _high = _DOMAINS.get(_name, (0.2, 0.9))
        CASES.append(Case("in_place", lambda M, x, n=_name, b=_binary: _in_place(M, x, n, b),
                          [F(5, low=_low, high=_high)], id=_name,
                          twice=_name not in _ONCE_DIFFERENTIABLE))


def _written_then_viewed(x):
    """A copy of ``x`` changed in place, then read through a transposed view."""
    y = x * 1
    y[0] = y[0] * 2
    return y.t()


for _i, _case in enumerate(CASES):
    _case.id = f"{_case.name}-{_case.id + '-' if _case.id else ''}{_i}"


SMOOTH = [c for c in CASES if not c.edges]  # central differences mean nothing at inf or nan

test_matches_pytorch, test_gradient_matches_central_differences, \
    test_second_derivative_matches_central_differences = checks.table_tests(CASES, SMOOTH)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_unique_keeps_each_nan_apart_as_pytorch(dtype):
    import numpy as np
    import torch

    import chainrule as cr
    x = [float("nan"), 1.0, float("nan"), 1.0, -float("nan"), 0.0, float("inf")]
    ours = cr.unique(cr.tensor(x, dtype=getattr(cr, dtype)), return_inverse=True,
                     return_counts=True)
    theirs = torch.unique(torch.tensor(x, dtype=getattr(torch, dtype)), return_inverse=True,
                          return_counts=True)
    for o, t in zip(ours, theirs):
        np.testing.assert_array_equal(np.asarray(o), t.numpy())
    assert len(ours[0]) == 6  # three NaNs, not one
