"""The PyTorch toolbox, case by case: each case is one call written once for both libraries
(``M`` is ``chainrule`` or ``torch``, whose names chainrule shares), with its inputs.

test_torch_ops.py runs every case in both and compares values, dtypes, shapes and gradients
(on float64 and float32, with fan-out, views, in-place changes and mixed dtypes among the
cases), and checks each float64 case's gradient and second derivative against central
differences. ``covers`` names the registered primitives a case exercises (test_ops.py checks
that every differentiable primitive has a case somewhere).
"""
from dataclasses import dataclass, field

import numpy as np


@dataclass
class In:
    """An input: ``kind`` "float" (requires grad), "const" (a fixed array), "zeros" (floats
    with some exact zeros), "edge" (edge values requiring grad; ``value`` is their layout)."""
    shape: tuple = ()
    kind: str = "float"
    low: float = -2.0
    high: float = 2.0
    dtype: str = None  # None: the case's dtype
    value: object = None  # for "const"

    def array(self, rng, dtype):
        if self.kind == "const":
            return np.array(self.value)
        if self.kind == "edge":
            return edge_array(self.shape, self.dtype or dtype, self.value, rng)
        a = rng.uniform(self.low, self.high, size=self.shape)
        if self.kind == "zeros":
            a[rng.random(self.shape) < 0.4] = 0.0
        return a.astype(self.dtype or dtype)


# The values at which ops have kinks, singularities, overflow and special conventions; every
# list has the same length, so a grid of pairs has the same shape in each dtype.
_INF, _NAN = float("inf"), float("nan")
EDGES = {
    "float64": [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, _INF, -_INF, _NAN,
                1e-300, -1e-300, 5e-324, 1e300, -1e300],
    "float32": [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, _INF, -_INF, _NAN,
                1e-38, -1e-38, 1e-45, 1e38, -1e38],
}
N_EDGES = len(EDGES["float64"])
# Rows for reductions along the last axis, one story each: signed zeros; a zero among others;
# inf; inf and -inf; nan; all -inf; tiny and denormal values; overflow; a three-way tie.
EDGE_ROWS = {
    dtype: [[0.0, -0.0, -0.0, 0.0], [2.0, 0.0, -1.5, 0.5], [_INF, 1.0, -1.0, 2.0],
            [_INF, -_INF, 1.0, 2.0], [1.0, _NAN, 0.0, -1.0], [-_INF, -_INF, -_INF, -_INF],
            [tiny, -tiny, denormal, 1.0], [huge, huge, 2.0, huge], [2.0, -1.0, 2.0, 2.0]]
    for dtype, (tiny, denormal, huge) in (("float64", (1e-300, 5e-324, 1e300)),
                                          ("float32", (1e-38, 1e-45, 1e38)))}


def edge_array(shape, dtype, layout, rng):
    """Edge values of ``dtype`` filling ``shape``: "rows" the reduction rows above (shape
    (9, 4); "rows/moderate" without the overflowing row); "grid-a"/"grid-b" the two operands
    of every pair (shape (N_EDGES**2,); with "/normal", without tiny and denormal values);
    otherwise the list, shuffled by ``rng`` and repeated as needed."""
    if layout in ("rows", "rows/moderate"):
        rows = EDGE_ROWS[dtype]
        return np.array(rows[:7] + rows[8:] if layout == "rows/moderate" else rows, dtype=dtype)
    values = np.array(EDGES[dtype], dtype=dtype)
    if layout and layout.endswith("/normal"):
        values = values[(values == 0) | ~(np.abs(values) < np.finfo(dtype).tiny * 1e10)]
    if layout and layout.startswith("grid-a"):
        return np.repeat(values, len(values))
    if layout and layout.startswith("grid-b"):
        return np.tile(values, len(values))
    size = int(np.prod(shape))
    return np.resize(rng.permutation(values), size).reshape(shape)


def E(*shape, layout=None, dtype=None):
    """Edge values (requiring grad) of the case's dtype."""
    return In(tuple(shape), "edge", dtype=dtype, value=layout)


def F(*shape, low=-2.0, high=2.0, dtype=None):
    return In(tuple(shape), "float", low, high, dtype)


def Z(*shape):
    return In(tuple(shape), "zeros")


def K(value, dtype=None):
    return In(kind="const", value=np.array(value, dtype=dtype))


@dataclass
class Case:
    name: str
    fn: object  # fn(M, *inputs)
    inputs: list
    covers: tuple = ()
    twice: bool = True  # check second derivatives
    none_is_zero: bool = False  # PyTorch leaves a zero gradient as None
    loose: str = ""  # why float32's tolerance is used on float64 (a PyTorch imprecision)
    zero_signs: bool = True  # edge cases: compare the signs of zero results too
    id: str = field(default="")

    @property
    def edges(self):
        """Whether the case draws edge values: compared element by element with PyTorch, and
        not by central differences (which have no meaning at inf, nan or a kink)."""
        return any(spec.kind == "edge" for spec in self.inputs)


CASES = []


def case(name, fn, inputs, covers=(), **options):
    CASES.append(Case(name, fn, list(inputs), tuple(covers) or (name,), **options))


# -- elementwise functions, as functions and as methods, on shapes with 0-d and empty ones ---
UNARY = {  # name -> input range
    "sin": (-3, 3), "cos": (-3, 3), "tan": (-1.2, 1.2), "asin": (-0.9, 0.9),
    "acos": (-0.9, 0.9), "atan": (-3, 3), "sinh": (-2, 2), "cosh": (-2, 2),
    "asinh": (-3, 3), "acosh": (1.2, 3), "atanh": (-0.9, 0.9), "erf": (-2, 2),
    "log1p": (-0.8, 3), "expm1": (-2, 2), "log2": (0.2, 3), "log10": (0.2, 3),
    "exp2": (-2, 2), "reciprocal": (0.3, 2), "rsqrt": (0.3, 2), "square": (-2, 2),
    "floor": (-3, 3), "ceil": (-3, 3), "trunc": (-3, 3), "round": (-3, 3), "frac": (-3, 3),
    "nan_to_num": (-2, 2), "sigmoid": (-3, 3), "neg": (-2, 2),
}
for _name, (_low, _high) in UNARY.items():
    case(_name, lambda M, x, n=_name: getattr(M, n)(x), [F(3, 4, low=_low, high=_high)])
    case(_name, lambda M, x, n=_name: getattr(x, n)(), [F(low=_low, high=_high)])
    case(_name, lambda M, x, n=_name: getattr(M, n)(x), [F(0, 3, low=_low, high=_high)])
    # fan-out: the input is used twice, once through a view
    case(_name, lambda M, x, n=_name: getattr(M, n)(x) * x + getattr(M, n)(x[1:]).sum(),
         [F(3, low=_low, high=_high)])
for _alias, _low, _high in (("arcsin", -0.9, 0.9), ("arctanh", -0.9, 0.9), ("fix", -3, 3),
                            ("negative", -2, 2), ("absolute", 0.2, 2)):
    case(_alias, lambda M, x, n=_alias: getattr(M, n)(x), [F(2, 3, low=_low, high=_high)],
         covers=("getitem",))
case("round", lambda M, x: M.round(x, decimals=1), [F(5)])
case("nan_to_num", lambda M, x: M.nan_to_num(M.log(x), nan=1.5, neginf=-7.0), [F(6)],
     twice=False)
case("isnan", lambda M, x: (M.isnan(M.log(x)), M.isinf(1 / (x > 0)), M.isfinite(M.log(x))),
     [F(7)], covers=("isnan", "isinf", "isfinite"), twice=False)

BINARY = {"atan2": (-2, 2, -2, 2), "copysign": (-2, 2, -2, 2), "fmod": (-5, 5, 0.7, 2),
          "remainder": (-5, 5, 0.7, 2), "logaddexp": (-3, 3, -3, 3),
          "maximum": (-2, 2, -2, 2), "minimum": (-2, 2, -2, 2)}
for _name, (_la, _ha, _lb, _hb) in BINARY.items():
    case(_name, lambda M, a, b, n=_name: getattr(M, n)(a, b),
         [F(3, 4, low=_la, high=_ha), F(4, low=_lb, high=_hb)])
    case(_name, lambda M, a, b, n=_name: getattr(a, n)(b),
         [F(2, 1, low=_la, high=_ha), F(1, 3, low=_lb, high=_hb)])
    # mixed dtypes: a float32 and a float64 operand promote to float64
    case(_name, lambda M, a, b, n=_name: getattr(M, n)(a, b),
         [F(3, low=_la, high=_ha, dtype="float32"), F(3, low=_lb, high=_hb, dtype="float64")])
case("fmod", lambda M, a: M.fmod(a, 1.5) + M.remainder(a, -1.5), [F(6, low=-5, high=5)],
     covers=("fmod", "remainder"))
case("rounded_div", lambda M, a, b: M.div(a, b, rounding_mode="floor") * a +
     M.div(a, b, rounding_mode="trunc"), [F(6, low=-5, high=5), F(6, low=0.5, high=2)])
case("rounded_div", lambda M, a, b: (M.div(a, b, rounding_mode="trunc"),
                                     M.div(a, b, rounding_mode="floor"), a // b, a % b),
     [K([7, -7, 5, -5, 0]), K([2, 2, -3, -3, 4])], covers=("floor_divide", "remainder"))
case("shifts", lambda M, a, b: (a << b, a >> b, a ^ b, M.bitwise_left_shift(a, b)),
     [K([1, 8, -8, 5]), K([1, 2, 1, 0])], covers=("bitwise_left_shift",))
case("lerp", lambda M, a, b: M.lerp(a, b, 0.3), [F(3, 4), F(4)], covers=("mul",))
case("lerp", lambda M, a, b, w: M.lerp(a, b, w), [F(3), F(3), F(3, low=0, high=1)],
     covers=("mul",))
case("isclose", lambda M, a: (M.isclose(a, a + 1e-9), M.isclose(a, a + 0.1),
                              M.allclose(a, a * (1 + 1e-7))), [F(4)], twice=False)
case("square", lambda M, a: M.square(a), [K([1, -2, 3])], covers=("mul",))
case("add", lambda M, a, b: (M.add(a, b, alpha=2), M.sub(a, b, alpha=0.5), a.mul(b),
                             a.div(b), a.pow(2), M.true_divide(a, b)),
     [F(3, 2), F(2, low=0.5, high=2)], covers=("add", "sub", "mul", "div", "pow"))
case("inplace", lambda M, a, b: _inplace_chain(a, b), [F(3, 2), F(2)],
     covers=("add", "mul", "clip"))


case("inplace", lambda M, a, v: _fill_chain(a, v), [F(3, 2), F()],
     covers=("where", "div", "pow"))


def _fill_chain(a, v):
    y = a * 1
    y.div_(2)
    y.pow_(2)
    y.masked_fill_(a > 0.5, -1.0)
    z = a[0] * 1  # a view of a row, then refilled from a 0-d tensor
    z.fill_(v)
    return y, z, a.new_zeros(2).fill_(2.5)


def _inplace_chain(a, b):
    y = a * 1
    y.add_(b, alpha=2)
    y.mul_(b)
    y.clamp_(-1.0, 1.5)
    y.sub_(0.25)
    return y


# -- reductions and running ops ------------------------------------------------------------
for _dim, _keep in ((None, False), (1, False), (0, True), (-1, True)):
    case("prod", lambda M, x, d=_dim, k=_keep: (M.prod(x) if d is None else
                                                M.prod(x, d, keepdim=k)), [F(3, 4)])
    case("prod", lambda M, x, d=_dim, k=_keep: (x.prod() if d is None else
                                                x.prod(d, keepdim=k)), [Z(3, 4)])
case("prod", lambda M, x: M.prod(x), [F()])
case("prod", lambda M, x: M.prod(x, 0), [F(0, 3)])
case("prod", lambda M, x: (M.prod(x), M.prod(x, 0), M.prod(x > 0)), [K([[1, 2], [3, 4]])],
     covers=())
for _name in ("cumsum", "cumprod", "logcumsumexp"):
    case(_name, lambda M, x, n=_name: getattr(M, n)(x, 1), [F(3, 4)])
    case(_name, lambda M, x, n=_name: getattr(x, n)(0) * x, [F(4)])
    case(_name, lambda M, x, n=_name: getattr(M, n)(x, 0), [F()])
    case(_name, lambda M, x, n=_name: getattr(M, n)(x, -1), [F(2, 0)])
case("cumprod", lambda M, x: M.cumprod(x, 1), [Z(3, 5)])
case("cumprod", lambda M, x: M.cumprod(x, 0), [K([0.0, 2.0, 0.0, 3.0])], covers=())
case("cumsum", lambda M, x: (M.cumsum(x, 0), x.cumprod(1)), [K([[1, 2], [3, 4]], "int32")],
     covers=())
case("logcumsumexp", lambda M, x: M.logcumsumexp(x * 300, 0), [F(5)])
for _name in ("cummax", "cummin"):
    case(_name, lambda M, x, n=_name: getattr(M, n)(x, 1), [F(3, 5)], covers=("getitem",))
    case(_name, lambda M, x, n=_name: getattr(x, n)(0), [K([1.0, 3.0, 3.0, 2.0, 3.0])],
         covers=())
    case(_name, lambda M, x, n=_name: getattr(M, n)(x, 0), [F()], covers=("getitem",))
for _p in (2, 1, float("inf"), float("-inf"), 0, 3, "fro", 0.5):
    case("norm", lambda M, x, p=_p: M.norm(x, p), [F(3, 4)],
         covers=("sqrt", "abs", "vector_norm"), none_is_zero=_p == 0)
    case("norm", lambda M, x, p=_p: x.norm(p, dim=1, keepdim=True), [F(3, 4)],
         covers=("sqrt", "abs"), none_is_zero=_p == 0)
case("norm", lambda M, x: M.norm(x * 0), [F(3)], covers=("sqrt",), twice=False)
case("normalize", lambda M, x: M.nn.functional.normalize(x, dim=1), [F(3, 4)],
     covers=("div",))
case("normalize", lambda M, x: M.nn.functional.normalize(x, p=1, dim=0), [F(3, 4)],
     covers=("div",))
case("std_mean", lambda M, x: (*M.std_mean(x, 1), *M.var_mean(x, 0, keepdim=True),
                               *M.var_mean(x, correction=0)), [F(3, 4)], covers=("sqrt",))
case("any", lambda M, x: (M.any(x > 0), M.all(x > -1, 1), x.any(0, keepdim=True),
                          M.count_nonzero(x > 0)), [F(3, 4)], covers=(), twice=False)

# -- reading and writing at indices ----------------------------------------------------------
ROW_INDEX = np.array([[2, 0], [1, 3], [3, 3]])  # (3, 2), into 4 columns
case("gather", lambda M, x, i: M.gather(x, 1, i), [F(3, 4), K(ROW_INDEX)], covers=("getitem",))
case("gather", lambda M, x, i: x.gather(0, i) * x[:2, :2], [F(3, 4), K([[2, 0], [0, 0]])],
     covers=("getitem",))
case("gather", lambda M, x, i: M.gather(x, 0, i), [F(), K(0)], covers=("getitem",))
case("take_along_dim", lambda M, x, i: M.take_along_dim(x, i, 1), [F(3, 4), K([[1], [0], [3]])],
     covers=("getitem",))
UNIQUE_INDEX = np.array([[2, 0], [1, 3], [0, 3]])
case("scatter", lambda M, x, i, s: M.scatter(x, 1, i, s), [F(3, 4), K(UNIQUE_INDEX), F(3, 2)],
     covers=("index_put",))
case("scatter", lambda M, x, i: x.scatter(1, i, 2.5), [F(3, 4), K(UNIQUE_INDEX)],
     covers=("index_put",))
case("scatter_add", lambda M, x, i, s: M.scatter_add(x, 1, i, s),
     [F(3, 4), K(ROW_INDEX), F(3, 2)], covers=("add_at",))
case("scatter_add", lambda M, x, i, s: M.scatter_add(x, 0, i, s),
     [F(3, 2), K([[0, 1], [0, 0], [2, 0], [1, 1]]), F(4, 2)], covers=("add_at",))
for _reduce in ("sum", "mean", "amax", "amin", "prod"):
    for _self in (True, False):
        case("scatter_reduce", lambda M, x, i, s, r=_reduce, k=_self:
             M.scatter_reduce(x, 1, i, s, r, include_self=k),
             [F(3, 4), K(ROW_INDEX), F(3, 2)],
             covers=("scatter_extreme",) if _reduce in ("amax", "amin") else ("add_at",))
case("scatter_reduce", lambda M, x, i, s: M.scatter_reduce(x, 0, i, s, "amax"),
     [K([1.0, 2.0, 3.0]), K([0, 0, 2, 2]), K([5.0, 5.0, 3.0, 1.0])], covers=())
case("index_select", lambda M, x, i: M.index_select(x, 1, i), [F(3, 4), K([3, 0, 0])],
     covers=("getitem",))
case("index_select", lambda M, x, i: x.index_select(0, i), [F(3, 4), K([], "int64")],
     covers=("getitem",))
case("masked_fill", lambda M, x: M.masked_fill(x, x > 0.5, -1.0), [F(3, 4)],
     covers=("where",))
case("masked_fill", lambda M, x, v: x.masked_fill(x[0] > 0, v), [F(3, 4), F()],
     covers=("where",))
case("masked_select", lambda M, x: M.masked_select(x, x > 0), [F(3, 4)], covers=("getitem",))
case("masked_select", lambda M, x, m: M.masked_select(x, m), [F(4), K([[True], [False]])],
     covers=("getitem",))
case("nonzero", lambda M, x: (M.nonzero(x > 0), *M.nonzero(x > 0, as_tuple=True)), [F(3, 4)],
     covers=(), twice=False)
for _off, _d1, _d2 in ((0, 0, 1), (1, 0, 1), (-1, 0, 1), (0, 1, 2), (2, -1, 0)):
    case("diagonal", lambda M, x, o=_off, a=_d1, b=_d2: M.diagonal(x, o, a, b), [F(2, 3, 4)],
         covers=("getitem",))
case("diag", lambda M, x: M.diag(x) + M.diag(x, 1)[1:, :-1], [F(3)], covers=("add_at",))
case("diag", lambda M, x: (M.diag(x), M.diag(x, -1)), [F(3, 4)], covers=("getitem",))
for _k in (0, 1, -1):
    case("tril", lambda M, x, k=_k: (M.tril(x, k), x.triu(k)), [F(2, 3, 4)], covers=("where",))

# -- rearranging -----------------------------------------------------------------------------
case("expand", lambda M, x: x.expand(2, 3, -1) * x.expand_as(M.zeros(3, 4)).sum(0),
     [F(3, 1)], covers=("broadcast_to",))
case("repeat", lambda M, x: x.repeat(2, 1, 3), [F(3, 2)], covers=("broadcast_to",))
case("repeat", lambda M, x: M.tile(x, (2,)), [F(3, 2)], covers=("broadcast_to",))
case("flip", lambda M, x: M.flip(x, (0, 2)) * x + x.flip(1), [F(2, 3, 2)], covers=("getitem",))
case("flip", lambda M, x: (M.fliplr(x), M.flipud(x)), [F(2, 3)], covers=("getitem",))
case("roll", lambda M, x: M.roll(x, 1, 0) + x.roll((-1, 2), (0, 1)) + M.roll(x, 5),
     [F(3, 4)], covers=("getitem",))
case("split", lambda M, x: M.split(x, 2, 1), [F(3, 5)], covers=("getitem",))
case("split", lambda M, x: x.split([1, 3, 1], dim=1), [F(3, 5)], covers=("getitem",))
case("chunk", lambda M, x: M.chunk(x, 3, 1) + x.chunk(2), [F(3, 5)], covers=("getitem",))
case("chunk", lambda M, x: M.chunk(x, 4, 0), [F(6, 2)], covers=("getitem",))
case("unbind", lambda M, x: M.unbind(x, 1), [F(3, 2)], covers=("getitem",))
case("tensor_split", lambda M, x: M.tensor_split(x, 3, 1), [F(2, 7)], covers=("getitem",))
case("unfold", lambda M, x: x.unfold(1, 2, 1) * 2 + x.unfold(1, 3, 2).sum(), [F(3, 5)],
     covers=("getitem",))
case("unfold", lambda M, x: x.unfold(0, 2, 2), [F(5, 2)], covers=("getitem",))
case("unflatten", lambda M, x: M.unflatten(x, 1, (2, -1)), [F(3, 6)], covers=("reshape",))
case("repeat_interleave", lambda M, x: M.repeat_interleave(x, 2), [F(2, 3)],
     covers=("getitem",))
case("repeat_interleave", lambda M, x, r: x.repeat_interleave(r, dim=0), [F(3, 2), K([1, 0, 3])],
     covers=("getitem",))
case("meshgrid", lambda M, a, b: M.meshgrid(a, b, indexing="ij") + M.meshgrid(a, b, indexing="xy"),
     [F(3), F(2)], covers=("broadcast_to",))
for _mode in ("constant", "reflect", "replicate", "circular"):
    case("pad", lambda M, x, m=_mode: M.nn.functional.pad(x, (1, 2), mode=m), [F(2, 3, 4)],
         covers=("getitem",))
    case("pad", lambda M, x, m=_mode: M.nn.functional.pad(x, (2, 1, 1, 1), mode=m),
         [F(1, 2, 3, 4)], covers=("getitem",))
case("pad", lambda M, x: M.nn.functional.pad(x, (1, -1, 0, 2), value=1.5), [F(3, 4)],
     covers=("index_put",))
case("movedim", lambda M, x: (M.movedim(x, 0, 2), x.movedim((0, 1), (2, 0))), [F(2, 3, 4)],
     covers=("transpose",))
case("narrow", lambda M, x: M.narrow(x, 1, 1, 2).sum() * x.narrow(0, -2, 1), [F(3, 4)],
     covers=("getitem",))

# -- sorting ---------------------------------------------------------------------------------
case("sort", lambda M, x: M.sort(x), [F(3, 4)], covers=("getitem",))
case("sort", lambda M, x: x.sort(0, descending=True), [F(3, 4)], covers=("getitem",))
case("sort", lambda M, x: M.sort(x, descending=True), [K([3.0, 1.0, 3.0, float("nan"), 2.0])],
     covers=())
case("sort", lambda M, x: (M.sort(x, stable=True), M.argsort(x, descending=True)),
     [K([3, 1, 3, 2, 1])], covers=())
case("argsort", lambda M, x: (M.argsort(x, 1), x.argsort(0, descending=True)), [F(3, 4)],
     covers=(), twice=False)
case("topk", lambda M, x: M.topk(x, 2), [F(3, 4)], covers=("getitem",))
case("topk", lambda M, x: x.topk(2, 0, largest=False), [F(3, 4)], covers=("getitem",))
case("msort", lambda M, x: M.msort(x), [F(3, 2)], covers=("getitem",))

# -- einsum ----------------------------------------------------------------------------------
for _eq, _shapes in (("ij,jk->ik", [(2, 3), (3, 4)]), ("ii->", [(3, 3)]), ("ii->i", [(3, 3)]),
                     ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]), ("i,i->", [(3,), (3,)]),
                     ("ij->", [(2, 3)]), ("ij->j", [(2, 3)]), ("...ij->...ji", [(2, 2, 3)]),
                     ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]), ("ij,jk", [(2, 3), (3, 2)]),
                     ("i,j->ij", [(2,), (3,)]), ("bi,bi->b", [(3, 2), (3, 2)]),
                     ("iij->j", [(2, 2, 3)]), ("ij,j->i", [(0, 2), (2,)])):
    case("einsum", lambda M, *xs, e=_eq: M.einsum(e, *xs), [F(*s) for s in _shapes],
         covers=("einsum", "einsum_one"))
case("einsum", lambda M, a, b: M.einsum("ij,jk->ik", [a, b]), [F(2, 2), F(2, 2)],
     covers=("einsum",))

# -- small conveniences ---------------------------------------------------------------------
case("t", lambda M, x, v: (x.t(), M.t(x) * 2, v.t(), M.clamp_min(x, 0.2), x.clamp_max(-0.3)),
     [F(2, 3), F(3)], covers=("transpose", "clip"))
case("where", lambda M, x: (M.where(x > 0, x, x * 2), *M.where(x > 0.5)), [F(3, 4)],
     covers=("where",))
case("clone", lambda M, x: M.clone(x) * x.clone(), [F(3)], covers=("astype",))

# -- convolutional networks (20 random configurations each: test_conv_ops.py) ----------------
CONV = ("conv2d_forward", "conv2d_input_grad", "conv2d_weight_grad")
case("conv2d", lambda M, x, w, b: M.nn.functional.conv2d(x, w, b, stride=2, padding=1),
     [F(2, 3, 5, 5), F(4, 3, 3, 3), F(4)], covers=CONV)
case("conv2d", lambda M, x, w: M.nn.functional.conv2d(x, w, groups=2, dilation=(1, 2)),
     [F(1, 4, 5, 6), F(2, 2, 2, 2)], covers=CONV)
case("conv_transpose2d", lambda M, x, w: M.nn.functional.conv_transpose2d(
    x, w, stride=2, padding=1, output_padding=1), [F(1, 2, 3, 3), F(2, 3, 3, 3)], covers=CONV)
case("conv1d", lambda M, x, w: M.nn.functional.conv1d(x, w, padding=1), [F(2, 2, 5), F(3, 2, 3)],
     covers=CONV)
# fan-out, views and in-place changes around the convolutional ops
case("conv2d", lambda M, x, w: M.nn.functional.conv2d(x, w) + M.nn.functional.conv2d(x, w * 2),
     [F(1, 2, 4, 4), F(3, 2, 2, 2)], covers=CONV)
case("conv2d", lambda M, x, w: M.nn.functional.conv2d(x[:, :, 1:, ::2], w.transpose(2, 3)),
     [F(2, 2, 5, 7), F(3, 2, 2, 3)], covers=CONV)
case("conv2d", lambda M, x, w: _conv_in_place(M, x, w), [F(1, 2, 4, 4), F(2, 2, 3, 3)],
     covers=CONV)
case("max_pool2d", lambda M, x: M.nn.functional.max_pool2d(x.transpose(2, 3), 2) * x[:, :, :2, :2],
     [F(1, 2, 4, 4)], covers=("max_pool_forward",))
case("batch_norm", lambda M, x: _norm_in_place(M, x), [F(3, 2, 5)], covers=("normalize",))


def _activation_in_place(M, act, x, y):
    """act on a tensor changed in place (a multiply, then a row written through a view), on a
    view of it, and beside a float64 partner."""
    z = x * 1
    z.mul_(2)
    z[0] = z[0] * 3
    return act(z) * y + act(z[1:]).sum()


def _conv_in_place(M, x, w):
    y = M.nn.functional.conv2d(x, w, padding=1)
    y.mul_(2)
    y.add_(y.detach() * 0 + 1)
    return M.nn.functional.relu(y) * y


def _norm_in_place(M, x):
    y = x * 1
    y[0] = y[0] * 3
    return M.nn.functional.layer_norm(y, (5,)) + M.nn.functional.group_norm(y, 1)


# 3-D: composites of the 2-D primitives, on a fan-out, a view and an in-place change
case("conv3d", lambda M, x, w, b: M.nn.functional.conv3d(x, w, b, stride=(1, 2, 1),
                                                         padding=(1, 0, 1)),
     [F(2, 2, 3, 4, 3), F(3, 2, 2, 2, 2), F(3)], covers=CONV)
case("conv3d", lambda M, x, w: M.nn.functional.conv3d(x[:, :, 1:, ::2], w, groups=2)
     + M.nn.functional.conv3d(x[:, :, 1:, ::2], w * 2, groups=2),
     [F(1, 4, 4, 5, 3), F(2, 2, 2, 1, 2)], covers=CONV)
case("max_pool3d", lambda M, x: _pool3d_in_place(M, x), [F(1, 2, 4, 4, 3)],
     covers=("max_pool_forward",))
case("avg_pool3d", lambda M, x: M.nn.functional.avg_pool3d(x.transpose(2, 4), 2, padding=1,
                                                          count_include_pad=False) * 2,
     [F(1, 2, 3, 4, 4)], covers=CONV)


def _pool3d_in_place(M, x):
    y = x * 1
    y[:, :, 0] = y[:, :, 0] * 3
    return M.nn.functional.max_pool3d(y, 2, stride=1) * x[:, :, :3, :3, :2]


POOL = ("max_pool_forward", "max_pool_scatter", "max_pool_gather")
case("max_pool2d", lambda M, x: M.nn.functional.max_pool2d(x, 2) * 3, [F(2, 2, 4, 5)], covers=POOL)
case("max_pool2d", lambda M, x: M.nn.functional.max_pool2d(x, (3, 2), stride=1, padding=1),
     [F(1, 2, 4, 4)], covers=POOL)
case("avg_pool2d", lambda M, x: M.nn.functional.avg_pool2d(x, 2, padding=1,
                                                          count_include_pad=False),
     [F(1, 2, 5, 4)], covers=CONV)
case("adaptive_avg_pool2d", lambda M, x: M.nn.functional.adaptive_avg_pool2d(x, (2, 3)),
     [F(2, 2, 5, 7)], covers=("gather_taps", "scatter_taps"))
case("interpolate", lambda M, x: (M.nn.functional.interpolate(x, scale_factor=2),
                                  M.nn.functional.interpolate(x, size=(3, 5), mode="bilinear")),
     [F(1, 2, 2, 3)], covers=("getitem", "gather_taps", "scatter_taps"))
case("batch_norm", lambda M, x, w, b: M.nn.functional.batch_norm(
    x, M.zeros(3, dtype=x.dtype), M.ones(3, dtype=x.dtype), w, b, training=True),
    [F(4, 3, 2, 2), F(3), F(3)], covers=("normalize",))
case("layer_norm", lambda M, x, w, b: M.nn.functional.layer_norm(x, (4,), w, b),
     [F(3, 4), F(4), F(4)], covers=("layer_norm_affine",))
# Over two dimensions, scale without shift, the input used again after (fan-out).
case("layer_norm", lambda M, x, w: M.nn.functional.layer_norm(x, (3, 4), w) * x.tanh(),
     [F(2, 3, 4), F(3, 4)], covers=("layer_norm_affine",))
case("group_norm", lambda M, x: M.nn.functional.group_norm(x, 2), [F(2, 4, 3)],
     covers=("normalize",))

# -- matrix helpers ----------------------------------------------------------------------------
case("mm", lambda M, a, b, c: (M.mm(a, b), M.bmm(a[None], b[None]), M.dot(c, c), M.outer(c, c)),
     [F(2, 3), F(3, 2), F(3)], covers=("matmul",))


# -- activations, as functions and as modules -------------------------------------------------
ACTIVATIONS = {  # name -> (options, module name)
    "gelu": ({}, "GELU"), "silu": ({}, "SiLU"), "elu": ({"alpha": 0.7}, "ELU"),
    "selu": ({}, "SELU"), "celu": ({"alpha": 1.5}, "CELU"),
    "softplus": ({"beta": 2.0, "threshold": 3.0}, "Softplus"), "logsigmoid": ({}, "LogSigmoid"),
    "hardtanh": ({"min_val": -0.5, "max_val": 1.0}, "Hardtanh"), "relu6": ({}, "ReLU6"),
    "hardsigmoid": ({}, "Hardsigmoid"), "hardswish": ({}, "Hardswish"), "mish": ({}, "Mish"),
    "softsign": ({}, "Softsign"), "tanhshrink": ({}, "Tanhshrink"),
}
# PyTorch's float64 hardsigmoid backward multiplies by 1/6 rounded to float32 (it gives
# 0.16666667163 where 1/6 is 0.16666666667), so that one is compared at float32's tolerance.
LOOSE = {"hardsigmoid": "PyTorch's float64 backward uses 1/6 rounded to float32"}
for _name, (_options, _module) in ACTIVATIONS.items():
    _loose = {"loose": LOOSE.get(_name, "")}
    case(_name, lambda M, x, n=_name: getattr(M.nn.functional, n)(x), [F(3, 4, low=-5, high=5)],
         covers=("where",), **_loose)
    case(_name, lambda M, x, n=_name, o=_options: getattr(M.nn.functional, n)(x, **o) * x,
         [F(7, low=-8, high=8)], covers=("where",), **_loose)
    case(_name, lambda M, x, m=_module, o=_options: getattr(M.nn, m)(**o)(x), [F(2, 3)],
         covers=("where",), **_loose)
case("gelu", lambda M, x: M.nn.functional.gelu(x, approximate="tanh"), [F(3, 4, low=-4, high=4)],
     covers=("tanh",))
case("gelu", lambda M, x: M.nn.functional.gelu(x) * x + M.nn.functional.gelu(x[1:]).sum(),
     [F(3, 4, low=-6, high=6)], covers=("ndtr", "mul"))
case("elu", lambda M, x: M.nn.functional.elu(x * 100), [F(4)], covers=("expm1",))
case("softplus", lambda M, x: M.nn.functional.softplus(x * 30), [F(6)], covers=("where",))
# sigmoid, softplus and leaky_relu are primitives: each on a fan-out through a view, inside an
# in-place chain, with a mixed-dtype partner, and (leaky_relu) at exact zeros, where the slope
# applies as in PyTorch.
case("sigmoid", lambda M, x, y: _activation_in_place(M, M.sigmoid, x, y),
     [F(3, 2, dtype="float32"), F(2, dtype="float64")])
case("softplus", lambda M, x, y: _activation_in_place(
    M, lambda t: M.nn.functional.softplus(t, beta=1.5, threshold=2.0), x, y),
     [F(3, 2, low=-3, high=3, dtype="float32"), F(2, dtype="float64")])
case("softplus", lambda M, x: M.nn.functional.softplus(x) * x + M.nn.functional.softplus(x[1:]).sum(),
     [F(4, low=-25, high=25)])
case("leaky_relu", lambda M, x: M.nn.functional.leaky_relu(x, 0.2) * x
     + M.nn.functional.leaky_relu(x[::2]).sum(), [F(6)])
case("leaky_relu", lambda M, x, y: _activation_in_place(
    M, lambda t: M.nn.functional.leaky_relu(t, 0.3), x, y),
     [F(3, 2, dtype="float32"), F(2, dtype="float64")])
case("leaky_relu", lambda M, x: M.nn.LeakyReLU(0.05)(x.transpose(0, 1)), [F(2, 3)])
case("log_sigmoid", lambda M, x: M.nn.functional.logsigmoid(x * 50), [F(6)], covers=("log",))
for _module, _dim in (("Softmax", 1), ("LogSoftmax", 0), ("Softmin", -1)):
    case(_module, lambda M, x, m=_module, d=_dim: getattr(M.nn, m)(dim=d)(x), [F(3, 4)],
         covers=("exp",))
case("softmin", lambda M, x: M.nn.functional.softmin(x, dim=1), [F(2, 3)], covers=("exp",))
case("Identity", lambda M, x: M.nn.Identity(3, flag=True)(x) * 2, [F(3)], covers=("mul",))

# -- losses, every option ----------------------------------------------------------------------
LABELS = np.array([2, 0, 1, 2])
LABELS_IGNORED = np.array([2, -100, 1, 2])
CLASS_WEIGHTS = np.array([0.5, 2.0, 1.0])
for _reduction in ("mean", "sum", "none"):
    R = {"reduction": _reduction}
    case("cross_entropy", lambda M, x, y, r=R: M.nn.functional.cross_entropy(x, y, **r),
         [F(4, 3), K(LABELS)], covers=("softmax_cross_entropy",))
    case("cross_entropy", lambda M, x, y, w, r=R: M.nn.functional.cross_entropy(
        x, y, weight=w.to(x.dtype), ignore_index=-100, **r),
        [F(4, 3), K(LABELS_IGNORED), K(CLASS_WEIGHTS)], covers=("getitem",))
    case("cross_entropy", lambda M, x, y, w, r=R: M.nn.functional.cross_entropy(
        x, y, weight=w.to(x.dtype), label_smoothing=0.2, **r),
        [F(4, 3), K(LABELS_IGNORED), K(CLASS_WEIGHTS)], covers=("getitem",))
    case("cross_entropy", lambda M, x, y, r=R: M.nn.functional.cross_entropy(
        x, y, label_smoothing=0.1, ignore_index=1, **r), [F(4, 3), K(LABELS)],
        covers=("getitem",))
    case("cross_entropy", lambda M, x, y, r=R: M.nn.functional.cross_entropy(x, y, **r),
         [F(2, 3, 2, 2), K([[[0, 2], [1, 1]], [[2, 0], [0, -100]]])], covers=("getitem",))
    case("cross_entropy", lambda M, x, t, r=R: M.nn.functional.cross_entropy(
        x, M.softmax(t, 1), label_smoothing=0.3, **r), [F(4, 3), F(4, 3)], covers=("exp",))
    case("cross_entropy", lambda M, x, t, w, r=R: M.nn.functional.cross_entropy(
        x, M.softmax(t, 1), weight=w.to(x.dtype), **r), [F(4, 3), F(4, 3), K(CLASS_WEIGHTS)],
        covers=("exp",))
    case("nll_loss", lambda M, x, y, w, r=R: M.nn.functional.nll_loss(
        M.log_softmax(x, 1), y, weight=w.to(x.dtype), **r),
        [F(4, 3), K(LABELS_IGNORED), K(CLASS_WEIGHTS)], covers=("getitem",))
    case("nll_loss", lambda M, x, y, r=R: M.nn.NLLLoss(ignore_index=0, **r)(x, y),
         [F(4, 3), K(LABELS)], covers=("getitem",))
    case("binary_cross_entropy", lambda M, p, t, r=R: M.nn.functional.binary_cross_entropy(
        M.sigmoid(p), t, **r), [F(3, 2), F(3, 2, low=0, high=1)],
        covers=("binary_cross_entropy_elementwise",))
    case("binary_cross_entropy", lambda M, p, t, w, r=R: M.nn.BCELoss(weight=w.to(p.dtype), **r)(
        p, t.to(p.dtype)), [F(4, low=0.05, high=0.95), K([0.0, 1.0, 1.0, 0.0]), K([1.0, 2.0, 0.5, 1.0])],
        covers=("binary_cross_entropy_elementwise",))
    case("binary_cross_entropy_with_logits", lambda M, x, t, w, r=R:
         M.nn.functional.binary_cross_entropy_with_logits(x, t, pos_weight=w.to(x.dtype), **r),
         [F(3, 2, low=-30, high=30), F(3, 2, low=0, high=1), K([0.5, 3.0])], covers=("exp",))
    case("binary_cross_entropy_with_logits", lambda M, x, t, r=R:
         M.nn.BCEWithLogitsLoss(**r)(x, t.to(x.dtype)), [F(3, 2), K([[0.0, 1.0]] * 3)], covers=("exp",))
    for _loss, _options in (("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {"beta": 0.5}),
                            ("smooth_l1_loss", {"beta": 0.0}), ("huber_loss", {"delta": 0.7}),
                            ("huber_loss", {})):
        case(_loss, lambda M, a, b, n=_loss, o=_options, r=R: getattr(M.nn.functional, n)(
            a, b, **o, **r), [F(3, 4), F(3, 4)], covers=("abs",))
    case("kl_div", lambda M, x, t, r=R: M.nn.functional.kl_div(M.log_softmax(x, 1), t, **r),
         [F(3, 4), F(3, 4, low=0.0, high=1.0)], covers=("log",))
    case("kl_div", lambda M, x, t, r=R: M.nn.KLDivLoss(log_target=True, **r)(
        M.log_softmax(x, 1), M.log_softmax(t, 1)), [F(3, 4), F(3, 4)], covers=("exp",))
    case("multi_margin_loss", lambda M, x, y, r=R: M.nn.functional.multi_margin_loss(x, y, **r),
         [F(4, 3, low=-5, high=5), K(LABELS)], covers=("relu",))
    case("multi_margin_loss", lambda M, x, y, w, r=R: M.nn.MultiMarginLoss(
        p=2, margin=0.5, weight=w.to(x.dtype), **r)(x, y), [F(4, 3, low=-5, high=5), K(LABELS),
                                                         K(CLASS_WEIGHTS)], covers=("relu",))
case("kl_div", lambda M, x, t: M.nn.functional.kl_div(M.log_softmax(x, 1), t.to(x.dtype),
                                                       reduction="batchmean"),
     [F(3, 4), K([[0.0, 0.5, 0.5, 0.0]] * 3)], covers=("log",))
case("cross_entropy", lambda M, x, y: M.nn.functional.cross_entropy(x, y), [F(3), K(1)],
     covers=("getitem",))
# Near 0 and 1, not at them: there the target's gradient is PyTorch's +-inf, which central
# differences of the clamped loss cannot see (tests/test_loss_norm_edges.py checks it).
case("binary_cross_entropy", lambda M, p, t: M.nn.functional.binary_cross_entropy(
    p.to(t.dtype), t),
     [K([1e-6, 1 - 1e-6, 0.5]), F(3, low=0, high=1)], covers=("binary_cross_entropy_elementwise",))


# -- edge values: every op and its gradient at 0, -0, +-1, inf, nan, tiny, denormal, huge ------
# (issue 19). PyTorch's conventions at kinks and singularities are the answers; values and
# gradients are compared element by element, NaN positions and the signs of zeros included.
_GRID = [E(N_EDGES ** 2, layout="grid-a"), E(N_EDGES ** 2, layout="grid-b")]
_ROWS = [E(9, 4, layout="rows")]
for _name in list(UNARY) + ["exp", "log", "sqrt", "abs", "tanh", "relu", "sign"]:
    case(_name, lambda M, x, n=_name: getattr(M, n)(x), [E(N_EDGES)])
    case(_name, lambda M, x, n=_name: getattr(x, n)(), [E(2, 0)])
for _alias in ("arcsin", "arctanh", "fix", "negative", "absolute"):
    case(_alias, lambda M, x, n=_alias: getattr(M, n)(x), [E(N_EDGES)], covers=())
for _name in ("atan2", "copysign", "logaddexp", "add", "sub", "mul", "div", "pow"):
    case(_name, lambda M, a, b, n=_name: getattr(M, n)(a, b), _GRID)
# The sign of a zero maximum of 0 and -0 depends on PyTorch's vectorised loop (the first
# argument below 8 elements, the second above), so it is not compared; fmod and remainder by a divisor so small that a / b overflows are NaN in PyTorch's
# vectorised loop and exact here (docs/semantics.md), so the grid leaves those out.
for _name in ("maximum", "minimum"):
    case(_name, lambda M, a, b, n=_name: getattr(M, n)(a, b), _GRID, zero_signs=False)
for _name in ("fmod", "remainder"):
    case(_name, lambda M, a, b, n=_name: getattr(M, n)(a, b),
         [E(1, layout="grid-a/normal"), E(1, layout="grid-b/normal")])
case("rounded_div", lambda M, a, b: (M.div(a, b, rounding_mode="floor"),
                                     M.div(a, b, rounding_mode="trunc")), _GRID)
case("where", lambda M, a, b: (M.where(a > b, a, b), M.where(a <= b, a * 2, b)), _GRID)
case("lerp", lambda M, a, b: (M.lerp(a, b, 0.25), M.lerp(a, b, 0.75)), _GRID, covers=("mul",))
case("comparisons", lambda M, a, b: (a == b, a != b, a < b, a <= b, a > b, a >= b,
                                     M.isclose(a, b)), _GRID, covers=())
# A power by a number: PyTorch's slope of x ** 0 is 0 at x = 0; a negative base gives a nan
# exponent gradient; 0 ** x has -inf there for x < 0; x ** 0.5 and x ** -0.5 are sqrt forms.
POWERS = {"x**0.0": lambda M, x: x ** 0.0, "x**0": lambda M, x: x ** 0,
          "pow(x,0)": lambda M, x: M.pow(x, 0.0), "x**2": lambda M, x: x ** 2,
          "x**3": lambda M, x: x ** 3, "x**-1": lambda M, x: x ** -1.0,
          "x**-2": lambda M, x: x ** -2, "x**0.5": lambda M, x: x ** 0.5,
          "x**-0.5": lambda M, x: x ** -0.5, "x**1.5": lambda M, x: x ** 1.5,
          "(-2)**x": lambda M, x: (-2.0) ** x, "(-5.5)**x": lambda M, x: (-5.5) ** x,
          "0**x": lambda M, x: 0.0 ** x, "0i**x": lambda M, x: 0 ** x,
          "2**x": lambda M, x: 2.0 ** x, "1**x": lambda M, x: 1.0 ** x,
          "x**x": lambda M, x: x ** x}
for _form, _fn in POWERS.items():
    case("pow", _fn, [E(N_EDGES)], id=_form)
SCALAR_FORMS = {
    "x/0": lambda M, x: x / 0.0, "x%0": lambda M, x: x % 0.0, "x%-1.5": lambda M, x: x % -1.5,
    "fmod(x,0)": lambda M, x: M.fmod(x, 0.0), "fmod(x,-2)": lambda M, x: M.fmod(x, -2.0),
    "x//0": lambda M, x: M.div(x, 0.0, rounding_mode="floor"),
    "trunc(x/0)": lambda M, x: M.div(x, 0.0, rounding_mode="trunc"),
    "x*inf": lambda M, x: x * float("inf"), "x+nan": lambda M, x: x + float("nan"),
    "clamp": lambda M, x: x.clamp(-1.0, 1.0), "clamp_min0": lambda M, x: x.clamp(min=0.0),
    "clamp_max": lambda M, x: M.clamp(x, max=0.5), "clip-0-3": lambda M, x: M.clip(x, 0.0, 3.0),
    "nan_to_num": lambda M, x: M.nan_to_num(x, nan=2.0, posinf=9.0, neginf=-9.0),
    "nan_to_num-default": lambda M, x: M.nan_to_num(x),
    "maximum0": lambda M, x: M.maximum(x, M.zeros_like(x)),
    "minimum-x": lambda M, x: M.minimum(x, -x),
    "where-nan": lambda M, x: M.where(x == x, x, 0.0) + M.where(M.isnan(x), 1.0, x),
    "isnan": lambda M, x: (M.isnan(x), M.isinf(x), M.isfinite(x)),
    "square": lambda M, x: M.square(x) + x * x,
    "reciprocal": lambda M, x: M.reciprocal(x) + M.rsqrt(x),
}
for _form, _fn in SCALAR_FORMS.items():
    case("edge", _fn, [E(N_EDGES)], covers=(), id=_form,
         zero_signs=not _form.startswith(("maximum", "minimum")))
# Reductions along rows of edge values (signed zeros, inf, -inf, nan, all -inf, tiny, huge,
# ties), with keepdim, and over every element.
REDUCTIONS = {
    "sum": lambda M, x: (x.sum(1), x.sum(0, keepdim=True)),
    "mean": lambda M, x: (x.mean(1), M.mean(x, 0)),
    "prod": lambda M, x: (x.prod(1), M.prod(x, 1, keepdim=True)),
    "prod-all": lambda M, x: x.prod(), "max-all": lambda M, x: (x.max(), x.min()),
    "amax": lambda M, x: (M.amax(x, 1), x.amin(1, keepdim=True)),
    "max-dim": lambda M, x: (*x.max(1), *M.min(x, 1)),
    "argmax": lambda M, x: (M.argmax(x, 1), x.argmin(1)),
    "cumsum": lambda M, x: M.cumsum(x, 1), "cumprod": lambda M, x: M.cumprod(x, 1),
    "cummax": lambda M, x: (*M.cummax(x, 1), *x.cummin(1)),
    "softmax": lambda M, x: (M.softmax(x, 1), M.log_softmax(x, 1)),
    "norm2": lambda M, x: x.norm(2, dim=1), "norm1": lambda M, x: x.norm(1, dim=1),
    "norm3": lambda M, x: x.norm(3, dim=1),
    "norm-inf": lambda M, x: x.norm(float("-inf"), dim=1),
    "var": lambda M, x: (x.var(1), x.var(1, correction=0)), "std": lambda M, x: x.std(1),
    "sort": lambda M, x: M.sort(x, dim=1, stable=True), "sort-descending":
    lambda M, x: M.sort(x, dim=1, descending=True, stable=True),
    "topk": lambda M, x: M.topk(x[:, :3].nan_to_num(), 2, 1),
    "normalize": lambda M, x: M.nn.functional.normalize(x, dim=1),
}
for _form, _fn in REDUCTIONS.items():
    case("reduction", _fn, _ROWS, covers=(), id=_form)
# PyTorch's logsumexp gradient exp(x - out) loses the overflowing row's shares (out = x +
# log 3 rounds to x, so each of three tied maxima gets 1, not 1/3); chainrule's is exact
# (docs/semantics.md), so that row is left out.
case("reduction", lambda M, x: (M.logsumexp(x, 1), x.logsumexp(1, keepdim=True)),
     [E(8, 4, layout="rows/moderate")], covers=(), id="logsumexp")
case("reduction", lambda M, x: M.logcumsumexp(x, 1), _ROWS, covers=(), id="logcumsumexp")
# Likewise PyTorch's p < 1 norm gradient is inf where the norm overflows float32 (it divides
# by the overflowed norm); chainrule's chain rule stays finite.
case("reduction", lambda M, x: x.norm(0.5, dim=1), [E(8, 4, layout="rows/moderate")],
     covers=(), id="norm0.5")
# Activations, softmax, losses, sorting and shape ops at edge values.
# (The sign of a zero activation is not compared: PyTorch flushes float32 denormals to 0 in
# gelu and computes logsigmoid(huge) as +0.)
# PyTorch's vectorised float32 gelu gives nan at +inf where its one-element and float64 paths
# give inf, as chainrule does (test_gelu_is_infinite_at_infinity); +inf is left out of gelu's row.
_FINITE_FOR = {"gelu": lambda M, x: M.where(x == float("inf"), 1.0, x)}
for _name, (_options, _module) in ACTIVATIONS.items():
    case(_name, lambda M, x, n=_name, o=_options: getattr(M.nn.functional, n)(
        _FINITE_FOR.get(n, lambda M, x: x)(M, x), **o),
         [E(N_EDGES)], covers=(), loose=LOOSE.get(_name, ""), zero_signs=False)
EDGE_MISC = {
    "leaky_relu": lambda M, x: M.nn.functional.leaky_relu(x, 0.2),
    "gelu-tanh": lambda M, x: M.nn.functional.gelu(x, approximate="tanh"),
    "softplus-default": lambda M, x: M.nn.functional.softplus(x),
    "sigmoid": lambda M, x: M.sigmoid(x) + M.tanh(x),
    "softmax": lambda M, x: (M.softmax(x, 0), M.log_softmax(x, 0), M.nn.functional.softmin(x, 0)),
    "sort": lambda M, x: (*M.sort(x, stable=True), *M.sort(x, descending=True, stable=True)),
    "topk": lambda M, x: M.topk(x, 3), "topk-smallest": lambda M, x: M.topk(x, 3, largest=False),
    "argmax": lambda M, x: (M.argmax(x), M.argmin(x)),
    "cummax": lambda M, x: (*M.cummax(x, 0), *M.cummin(x, 0)),
    "matmul": lambda M, x: (x.reshape(3, 5) @ x.reshape(5, 3), M.outer(x[:4], x[4:8])),
    "cat": lambda M, x: M.cat([x, x * 2]).reshape(2, -1).sum(0),
    "gather": lambda M, x: M.gather(x, 0, M.tensor([0, 3, 3, 9, 14])) * x[:5],
    "index": lambda M, x: x[[1, 1, 4]] + x[::3][:3],
    "masked_fill": lambda M, x: M.masked_fill(x, x > 1, float("nan")),
    "where-scalar": lambda M, x: M.where(x > 0, x, float("-inf")),
    "mse": lambda M, x: M.nn.functional.mse_loss(x, x.flip(0)),
    "l1": lambda M, x: M.nn.functional.l1_loss(x, x.flip(0)),
    "smooth_l1": lambda M, x: M.nn.functional.smooth_l1_loss(x, x.flip(0)),
    "huber": lambda M, x: M.nn.functional.huber_loss(x, x.flip(0)),
    "bce_logits": lambda M, x: M.nn.functional.binary_cross_entropy_with_logits(
        x, M.ones_like(x) * 0.25, reduction="none"),
    "cross_entropy": lambda M, x: M.nn.functional.cross_entropy(
        x.reshape(5, 3), M.tensor([0, 1, 2, 0, 1]), reduction="none"),
    "normalize": lambda M, x: M.nn.functional.normalize(x.reshape(3, 5), dim=1),
    "layer_norm": lambda M, x: M.nn.functional.layer_norm(x.reshape(3, 5), (5,)),
    "layer_norm-affine": lambda M, x: M.nn.functional.layer_norm(
        x.reshape(3, 5), (5,), M.linspace(0.5, 2.0, 5, dtype=x.dtype),
        M.linspace(-1.0, 1.0, 5, dtype=x.dtype)),
}
for _form, _fn in EDGE_MISC.items():
    case("edge", _fn, [E(N_EDGES)], covers=(), id=_form)

# Empty tensors: elementwise ops keep the shape; reductions over an empty axis give PyTorch's
# identities (0, 1, -inf for logsumexp) or refuse (max).
EMPTY = {"sum": lambda M, x: (x.sum(1), x.sum(0)), "prod": lambda M, x: (x.prod(1), x.prod()),
         "mean": lambda M, x: x.mean(0), "logsumexp": lambda M, x: M.logsumexp(x, 1),
         "softmax": lambda M, x: M.softmax(x, 1), "cumsum": lambda M, x: M.cumsum(x, 0),
         "cumprod": lambda M, x: M.cumprod(x, 1), "amax": lambda M, x: M.amax(x, 1),
         "amax-0": lambda M, x: M.amax(x, 0), "norm": lambda M, x: x.norm(dim=1),
         "var": lambda M, x: x.var(1), "sort": lambda M, x: M.sort(x, 1),
         "pow": lambda M, x: (x ** 0.0, 2.0 ** x, x ** x),
         "matmul": lambda M, x: x @ x.T}
for _form, _fn in EMPTY.items():
    case("empty", _fn, [E(3, 0)], covers=(), id=_form)

# Integer, bool and uint8 inputs: PyTorch's dtypes, wrapping and refusals.
INT_EDGES = {"int64": [0, 1, -1, 7, -7, 2 ** 62, -2 ** 63, 2 ** 63 - 1],
             "int32": [0, 1, -1, 7, -7, 3, -2 ** 31, 2 ** 31 - 1],
             "uint8": [0, 1, 2, 7, 127, 128, 254, 255],
             "bool": [True, False, True, True, False, False, True, False]}
INTEGER_OPS = {  # one expression each, so that a refusal is PyTorch's refusal of that one
    "neg": lambda M, x: -x, "abs": lambda M, x: M.abs(x), "sign": lambda M, x: M.sign(x),
    "square": lambda M, x: x * x, "add": lambda M, x: x + x, "add1": lambda M, x: x + 1,
    "sub": lambda M, x: x - 2, "rsub": lambda M, x: 3 - x, "mul": lambda M, x: x * 3,
    "mul-flip": lambda M, x: x * x.flip(0), "scalar-wrap": lambda M, x: x + 300,
    "div": lambda M, x: x / 2, "floor_div": lambda M, x: x // 3,
    "floor_div-neg": lambda M, x: x // -2, "mod": lambda M, x: x % 3,
    "mod-neg": lambda M, x: x % -2, "fmod": lambda M, x: M.fmod(x, -3),
    "trunc_div": lambda M, x: M.div(x, -3, rounding_mode="trunc"),
    "and": lambda M, x: x & 6, "or-wrap": lambda M, x: x | 4294967295, "xor": lambda M, x: x ^ -1,
    "not": lambda M, x: ~x, "shift": lambda M, x: (x << 1, x >> 1),
    "compare": lambda M, x: (x > 0, x == 7, x <= -1),
    "maximum": lambda M, x: M.maximum(x, x.flip(0)), "minimum": lambda M, x: M.minimum(x, x * 0 + 3),
    "sin": lambda M, x: M.sin(x), "sqrt": lambda M, x: M.sqrt(x), "exp": lambda M, x: M.exp(x * 0),
    "to-float": lambda M, x: x.to(M.float32) / 3, "pow2": lambda M, x: x ** 2,
    "pow0": lambda M, x: x ** 0, "rpow": lambda M, x: 2 ** (x * 0 + 3), "pow-half": lambda M, x: x ** 0.5,
    "sum": lambda M, x: x.sum(), "prod": lambda M, x: x.prod(), "amax": lambda M, x: M.amax(x),
    "max": lambda M, x: x.max(), "argmax": lambda M, x: M.argmax(x),
    "cumsum": lambda M, x: M.cumsum(x, 0), "cumprod": lambda M, x: M.cumprod(x, 0),
    "sort": lambda M, x: M.sort(x, stable=True), "argsort": lambda M, x: M.argsort(x, stable=True),
    "clamp": lambda M, x: x.clamp(0, 5), "clamp-wrap": lambda M, x: M.clamp(x, min=-1),
    "clamp-float": lambda M, x: x.clamp(min=2.5),
    "where": lambda M, x: M.where(x > 0, x, -x), "where-float": lambda M, x: M.where(x > 0, x, 0.5),
    "cat": lambda M, x: M.cat([x, x.to(M.float32)]),
}
# Where PyTorch refuses a bool and chainrule answers (docs/semantics.md): a bool minus a number
# (chainrule promotes the bool to int64 first) and argmax of bools.
ANSWERED_FOR_BOOL = ("sub", "rsub", "argmax")
for _dtype, _values in INT_EDGES.items():
    for _form, _fn in INTEGER_OPS.items():
        if _dtype != "bool" or _form not in ANSWERED_FOR_BOOL:
            case("integer", _fn, [K(_values, _dtype)], covers=(), id=f"{_form}-{_dtype}")


# -- pooling options, unpooling, transposed 1-D/3-D convolutions, resizing (the conv engineer's
# rows; random configurations in test_pool_options.py and test_interpolate.py) ---------------
case("max_pool1d", lambda M, x: M.nn.functional.max_pool1d(x, 3, stride=2, padding=1,
                                                          ceil_mode=True), [F(2, 3, 8)],
     covers=POOL)
case("max_pool2d", lambda M, x: M.nn.functional.max_pool2d(x.transpose(2, 3), (2, 3), stride=2,
                                                          ceil_mode=True, return_indices=True),
     [F(1, 2, 6, 5)], covers=POOL)
case("max_pool3d", lambda M, x: M.nn.functional.max_pool3d(x, 2, stride=(1, 2, 2), padding=1,
                                                          return_indices=True) * 2,
     [F(1, 2, 3, 4, 5)], covers=POOL)
case("avg_pool2d", lambda M, x: M.nn.functional.avg_pool2d(x, 3, stride=2, padding=1,
                                                          ceil_mode=True,
                                                          count_include_pad=False),
     [F(2, 2, 6, 5)], covers=CONV)
case("avg_pool1d", lambda M, x: M.nn.functional.avg_pool1d(x, 2, ceil_mode=True) * x[:, :, :4],
     [F(1, 2, 7)], covers=CONV)
case("max_unpool2d", lambda M, x: M.nn.functional.max_unpool2d(
    *M.nn.functional.max_pool2d(x, 2, return_indices=True), 2, output_size=(5, 5)),
    [F(1, 2, 5, 5)], covers=POOL + ("index_put",))
case("conv_transpose1d", lambda M, x, w, b: M.nn.functional.conv_transpose1d(
    x, w, b, stride=2, padding=1, output_padding=1), [F(2, 2, 4), F(2, 3, 3), F(3)],
    covers=CONV)
case("conv_transpose3d", lambda M, x, w: M.nn.functional.conv_transpose3d(
    x, w, stride=(2, 1, 2), padding=(1, 0, 0), groups=2), [F(1, 2, 2, 3, 2), F(2, 1, 2, 2, 3)],
    covers=CONV + ("index_put",))
for _mode, _size in (("linear", (7,)), ("nearest-exact", (5, 3)), ("bicubic", (5, 3)),
                     ("trilinear", (3, 4, 2)), ("area", (2, 2, 1))):
    case("interpolate", lambda M, x, m=_mode, s=_size: M.nn.functional.interpolate(
        x[(0,) * (3 - len(s))] if len(s) < 3 else x, size=s, mode=m),
        [F(1, 2, 3, 2, 4)], covers=("getitem", "gather_taps", "scatter_taps"))
case("pad", lambda M, x: M.nn.functional.pad(x, (2, -1, -1, 2), mode="circular"), [F(1, 2, 3, 4)],
     covers=("getitem",))

# -- the memory model: views of views, C-ordered copies, batched transposes ----------------
case("contiguous", lambda M, x: x.transpose(0, 1).contiguous().view(-1) * x.view(-1),
     [F(3, 4)], covers=("contiguous", "reshape", "transpose"))
case("contiguous", lambda M, x: x[:, ::2].contiguous().view(2, 2) + x.mT.contiguous()[:2, :2],
     [F(2, 4)], covers=("contiguous", "getitem"))
case("contiguous", lambda M, x: x[..., 0].contiguous().view(-1), [F(2, 3, 4)])
case("contiguous", lambda M, x: x.contiguous() * 2, [F(0, 3)], covers=("mul",))
case("view", lambda M, x: x.view(2, 6).view(-1, 3) * x.view(4, 3) + x.view(-1).view(4, 3),
     [F(3, 4)], covers=("reshape",))
case("mT", lambda M, x: x.mT @ x + x.mT.mT.sum(), [F(2, 3, 4)], covers=("transpose", "matmul"))
case("flip", lambda M, x: x.flip(1) * x + x.flip((0, 1)).contiguous().view(-1)[:4].sum(),
     [F(2, 4)], covers=("contiguous", "getitem"))

# -- attention: causal and full, one tensor read as query, key and value (fan-out, views) -----
case("scaled_dot_product_attention", lambda M, x: M.nn.functional.scaled_dot_product_attention(
    x[..., :3, :], x[..., 1:, :], x[..., 1:, :] * 2, is_causal=True), [F(2, 5, 3)],
     covers=("attention_softmax", "matmul", "getitem"))
case("scaled_dot_product_attention", lambda M, q, k, v:
     M.nn.functional.scaled_dot_product_attention(q, k, v), [F(2, 3, 4, 2), F(2, 3, 5, 2),
                                                              F(2, 3, 5, 3)],
     covers=("attention_softmax", "matmul"))

for _i, _c in enumerate(CASES):
    _c.id = f"{_c.name}-{_c.id + '-' if _c.id else ''}{_i}"
