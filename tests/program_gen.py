"""Random programs, built in chainrule and in PyTorch side by side (for test_differential.py).

A Program is a list of statements over named values v0, v1, ... Each statement is written twice,
in chainrule's spelling and in PyTorch's, and executed in both libraries; the value it makes is
compared at once (shape, dtype, requires_grad, values). At the end a randomly weighted sum of
every value that requires grad is back-propagated in both, and every leaf's ``.grad`` is
compared. On a mismatch the chainrule statements, printed in the message, are a complete
reproduction (run them after ``from program_gen import *``: user primitives, weights).

Hypothesis draws the choices as a tape of bytes, so a tape replays its program exactly.
Inputs stay in safe domains: log and sqrt see only positive values, and a kink (relu or abs at
0, a tie in max or maximum, a clip bound, a where condition, an integer cast) is used only when
every element is either clearly away from it or exactly on it in both libraries, where the two
agree on the subgradient (PyTorch's conventions: ties share equally, relu'(0) = abs'(0) = 0,
clamp passes the gradient at its bounds).
"""
import functools
import re

import numpy as np
import torch

import chainrule as cr

FLOATS = ("float32", "float64")
# Relative and absolute tolerances; the absolute one is scaled by the array's largest magnitude,
# so that a sum whose terms cancel is judged against the size of its terms.
TOLERANCES = {"float32": (1e-5, 1e-5), "float64": (1e-10, 1e-10)}
MARGIN = 1e-3  # how far from a kink an element must be, when it is not exactly on it
LARGEST = 100.0  # values beyond this (or not finite) are not used again
MAX_SIZE = 64  # nor are values with more elements than this
# Edge values that programs with ``edges=True`` mix into their leaves (issue 19): signed zeros,
# +-1, infinities, nan, tiny and huge numbers. float32's huge value is 1e37, not 1e38, so that a
# sum of a few of them is order-independent (it neither overflows nor cancels differently).
EDGE_FLOATS = {"float64": (0.0, -0.0, 1.0, -1.0, float("inf"), float("-inf"), float("nan"),
                           1e-300, -1e-300, 1e300, -1e300),
               "float32": (0.0, -0.0, 1.0, -1.0, float("inf"), float("-inf"), float("nan"),
                           1e-38, -1e-38, 1e37, -1e37)}
EDGE_INTEGERS = {"int64": (0, 1, -1, 2 ** 62, -2 ** 63), "int32": (0, 1, -1, 2 ** 31 - 1, -2 ** 31),
                 "uint8": (0, 1, 255, 128)}
HUGE = 1e15  # sums over values beyond this could cancel in an order-dependent way
inf, nan = float("inf"), float("nan")  # so that a listing with edge values runs as printed


# -- user-defined primitives whose VJPs return the upstream gradient as it is ---------------

def _private(prim):
    """Keep a test's own primitive out of the shared registry: test_ops checks that every
    registered primitive has an op case."""
    cr.REGISTRY.pop(prim.name, None)
    return prim


@cr.primitive
def user_identity(x):
    return x  # the output is the input array itself


@user_identity.vjp
def _(grad):
    return grad


@cr.primitive
def user_shift(x):
    return x + 1.0


@user_shift.vjp
def _(grad):
    return grad


@cr.primitive
def user_add(a, b):
    return a + b


@user_add.vjp("a")
def _(grad):
    return grad


@user_add.vjp("b")
def _(grad):
    return grad


for _prim in (user_identity, user_shift, user_add):
    _private(_prim)

def weights(shape, dtype, seed):
    """Fixed dyadic weights (multiples of 1/16 in [-2, 2]) for the loss terms."""
    return _weights(tuple(shape), dtype, seed).copy()


@functools.lru_cache(maxsize=4096)
def _weights(shape, dtype, seed):
    k = np.random.default_rng(seed).integers(-32, 33, size=shape)
    return (k / 16).astype(dtype)


HELPERS = {"user_identity": user_identity, "user_shift": user_shift, "user_add": user_add,
           "weights": weights, "inf": inf, "nan": nan}


# -- comparing one chainrule tensor with one torch tensor -------------------------------------

class Mismatch(AssertionError):
    """chainrule and PyTorch disagree. One subclass per kind of disagreement, so that
    Hypothesis, which tells failures apart by exception type, reports each kind it finds."""


class ChainruleRaised(Mismatch):
    """chainrule raised where PyTorch runs the statement."""


class WrongShape(Mismatch):
    pass


class WrongDtype(Mismatch):
    pass


class WrongRequiresGrad(Mismatch):
    pass


class WrongValues(Mismatch):
    pass


class WrongGradient(Mismatch):
    """A leaf's .grad differs (or one library gives None)."""


class WrongType(Mismatch):
    """t.detach().numpy() is not an ndarray (a NumPy scalar, say), as PyTorch's always is."""


_TORCH_DTYPE_NAMES = {}


def torch_dtype_name(t):
    name = _TORCH_DTYPE_NAMES.get(t.dtype)
    if name is None:
        name = _TORCH_DTYPE_NAMES[t.dtype] = str(t.dtype).replace("torch.", "")
    return name


def compare_tensors(c, t, what, precision=None, edges=False):
    """None if chainrule's ``c`` matches torch's ``t``, else a Mismatch (not raised) that
    describes the difference. Values are compared with the tolerance of ``precision`` (a float
    dtype name), by default with their own. A ``what`` ending in ".grad" names a gradient.
    With ``edges`` (values with inf, nan, huge and tiny entries) each element is judged on its
    own (see edge_values_close), and the signs of zeros are compared too where ``edges`` is
    "signed"."""
    gradient = what.endswith(".grad")
    if t is None or c is None:
        if t is None and c is None:
            return None
        return WrongGradient(f"{what}: chainrule gives {_describe(c)}, PyTorch gives "
                             f"{_describe(t)}")
    if not isinstance(c, cr.Tensor):
        return WrongDtype(f"{what}: chainrule gives a {type(c).__name__}, not a Tensor: {c!r}")
    expected = t.detach().numpy()
    if tuple(c.shape) != tuple(expected.shape):
        kind = WrongGradient if gradient else WrongShape
        return kind(f"{what}: shape {tuple(c.shape)} vs PyTorch's {tuple(expected.shape)}")
    if np.dtype(c.dtype).name != torch_dtype_name(t):
        kind = WrongGradient if gradient else WrongDtype
        return kind(f"{what}: dtype {np.dtype(c.dtype)} vs PyTorch's {torch_dtype_name(t)}")
    if bool(c.requires_grad) != t.requires_grad:
        kind = WrongGradient if gradient else WrongRequiresGrad
        return kind(f"{what}: requires_grad {c.requires_grad} vs PyTorch's {t.requires_grad}")
    actual = c.detach().numpy()
    if type(actual) is not np.ndarray:
        return WrongType(f"{what}: .detach().numpy() gives a {type(actual).__name__}, "
                         f"PyTorch an ndarray")
    close = (edge_values_close(actual, expected, precision, edges == "signed") if edges else
             values_close(actual, expected, precision))
    if not close:
        kind = WrongGradient if gradient else WrongValues
        return kind(f"{what}: values differ{_first_difference(actual, expected, edges)}\n"
                    f"  chainrule: {_short(actual)}\n  PyTorch:   {_short(expected)}")
    return None


def values_close(actual, expected, precision=None):
    if expected.dtype.kind not in "fc" or np.array_equal(actual, expected):
        return bool(np.array_equal(actual, expected))
    rtol, atol = TOLERANCES.get(precision or str(expected.dtype), TOLERANCES["float32"])
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    same_special = (a == e) | (np.isnan(a) & np.isnan(e))
    finite = np.isfinite(e)
    scale = max(1.0, float(np.abs(e[finite]).max())) if finite.any() else 1.0
    with np.errstate(invalid="ignore"):
        close = np.abs(a - e) <= atol * scale + rtol * np.abs(e)
    return bool(np.all(same_special | close))


def edge_values_close(actual, expected, precision=None, zero_signs=False):
    """Element by element: NaN where PyTorch has NaN, the same infinities, and finite values
    within the relative tolerance of ``precision`` of their own size (with an absolute floor of
    the tolerance times the largest finite magnitude below 1e6, so that a huge element does
    not excuse a wrong small one). With ``zero_signs``, a zero must have PyTorch's sign."""
    if expected.dtype.kind not in "fc":
        return bool(np.array_equal(actual, expected))
    rtol, atol = TOLERANCES.get(precision or str(expected.dtype), TOLERANCES["float32"])
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    if not np.array_equal(np.isnan(a), np.isnan(e)):
        return False
    finite = np.isfinite(e)
    if not np.array_equal(a[~finite & ~np.isnan(e)], e[~finite & ~np.isnan(e)]):
        return False
    if not np.all(np.isfinite(a[finite])):
        return False
    moderate = np.abs(e[finite])
    moderate = moderate[moderate < 1e6]
    scale = max(1.0, float(moderate.max())) if moderate.size else 1.0
    if not np.all(np.abs(a[finite] - e[finite]) <= atol * scale + rtol * np.abs(e[finite])):
        return False
    if zero_signs:
        zeros = (e == 0) & (a == 0)
        return bool(np.array_equal(np.signbit(a[zeros]), np.signbit(e[zeros])))
    return True


def _first_difference(actual, expected, edges):
    """Where the first element that differs is, for a long array."""
    if actual.size <= 8 or expected.dtype.kind not in "fc":
        return ""
    for index in np.ndindex(expected.shape):
        a, e = actual[index:index + 1] if not index else actual[index], expected[index]
        a, e = np.asarray(a).reshape(1), np.asarray(e).reshape(1)
        close = (edge_values_close(a, e, None, edges == "signed") if edges else
                 values_close(a, e))
        if not close:
            return f" (first at {index}: {a[0]!r} vs PyTorch's {e[0]!r})"
    return ""


def _describe(x):
    if x is None:
        return "None"
    return f"{type(x).__name__} of shape {tuple(x.shape)} dtype {getattr(x, 'dtype', '?')}"


def _short(array):
    return np.array2string(np.asarray(array), precision=8, threshold=40).replace("\n", " ")


def array_text(array):
    """Source text that rebuilds ``array`` exactly (values are dyadic, so they print short)."""
    text = f"np.array({array.tolist()!r}, dtype='{array.dtype}')"
    if array.size == 0:
        text += f".reshape({tuple(array.shape)!r})"
    return text


# -- the program ----------------------------------------------------------------------------

class Program:
    """Named values in both libraries, the statements that made them, and the choices."""

    def __init__(self, tape, mixed_dtypes=False, integers=False, numpy_scalars=False,
                 edges=False):
        self.tape = tape  # the bytes every choice is read from (see choose)
        self.position = 0
        self.mixed_dtypes = mixed_dtypes
        self.integers = integers  # integer tensors may appear
        self.numpy_scalars = numpy_scalars
        self.edges = edges  # leaves hold edge values, and domain guards are off
        self.dtype = self.choose(FLOATS)
        self.seed = int.from_bytes(bytes(self.byte() for _ in range(4)), "little")
        self.rng = np.random.default_rng(self.seed)
        self.cr_names = {"cr": cr, "np": np, **HELPERS}
        self.torch_names = {"torch": torch, "np": np, **HELPERS}
        self.cr_lines, self.torch_lines = [], []
        self.pool = []  # names of values that later steps may use
        self.leaves = []  # names of tensors made by cr.tensor / torch.tensor
        self.used = set()
        self.count = 0
        # Once a float32 value has appeared, a float64 value may have been computed from it
        # (or its gradient through it), so values are compared with float32's tolerance.
        self.precision = None

    # -- choices ----------------------------------------------------------------------------
    # Every choice reads one byte of a tape that Hypothesis draws in one go (st.binary): a
    # draw per choice costs about 0.3 ms in Hypothesis, a program makes about fifty, and the
    # file must run 2,000 programs in well under a minute. A 0 byte is the first option and
    # an exhausted tape reads as zeros, so shrinking, where it is switched on, leads to
    # simple programs.
    def byte(self):
        if self.position >= len(self.tape):
            return 0
        self.position += 1
        return self.tape[self.position - 1]

    def choose(self, options):
        options = list(options)
        return options[self.byte() % len(options)]

    def flip(self, p_true=0.5):
        return self.byte() >= 256 * (1 - p_true)

    def integer(self, low, high):
        return low + self.byte() % (high - low + 1)

    def permutation(self, n):
        items = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.integer(0, i)
            items[i], items[j] = items[j], items[i]
        return tuple(items)

    # -- what a value is ----------------------------------------------------------------------
    def t(self, name):
        return self.torch_names[name]

    def c(self, name):
        return self.cr_names[name]

    def shape(self, name):
        return tuple(self.t(name).shape)

    def dtype_of(self, name):
        return torch_dtype_name(self.t(name))

    def is_float(self, name):
        return self.t(name).dtype.is_floating_point

    def arrays(self, name):
        """The value in both libraries, as float64 NumPy arrays (for the domain guards)."""
        c = np.asarray(self.c(name).detach().numpy(), dtype=np.float64)
        return c, self.t(name).detach().numpy().astype(np.float64)

    def pick(self, accept=None):
        """One of the pool's values (the newest first, so shrinking favours chains)."""
        candidates = [n for n in reversed(self.pool) if accept is None or accept(n)]
        return self.choose(candidates) if candidates else None

    def numeric(self, name):
        return self.is_float(name) or (self.integers and self.t(name).dtype != torch.bool)

    def summable(self, name):
        """Whether a sum over the value is the same in any order: no finite element beyond
        HUGE, which could cancel another differently in NumPy's order and PyTorch's."""
        if not self.edges:
            return True
        values = self.t(name).detach().numpy().astype(np.float64)
        return bool(np.all(np.abs(values[np.isfinite(values)]) <= HUGE))

    def leaf_dtype(self):
        return self.choose(FLOATS) if self.mixed_dtypes else self.dtype

    # -- running statements -------------------------------------------------------------------
    def new_name(self):
        name = f"v{self.count}"
        self.count += 1
        return name

    def run(self, cr_code, torch_code, check=None, cr_do=None, torch_do=None):
        """Execute one statement in both libraries; compare the value named ``check``.

        Statements run through exec, so the listing is exactly what ran. Leaves and loss
        terms, whose long literals would cost more to compile than everything else, pass
        ``cr_do``/``torch_do`` instead: functions that do what their text says."""
        self.cr_lines.append(cr_code)
        self.torch_lines.append(torch_code)
        target = cr_code.split(" = ", 1)[0] if " = " in cr_code.split("\n")[0] else None
        self.used.update(n for n in _NAME.findall(cr_code) if n != target)
        try:
            if torch_do is None:
                exec(_compiled(torch_code), self.torch_names)
            else:
                torch_do()
        except Exception as error:  # a bug in the generator, not in chainrule: say so
            raise RuntimeError(f"program_gen made a statement PyTorch rejects ({error})\n"
                               f"{self.listing()}") from error
        try:
            if cr_do is None:
                exec(_compiled(cr_code), self.cr_names)
            else:
                cr_do()
        except Exception as error:
            raise ChainruleRaised(f"chainrule raised {type(error).__name__}: {error}\n"
                                  f"(PyTorch runs it)\n{self.listing()}") from error
        if check is not None:
            self.check(self.cr_names.get(check), self.t(check), check)

    def check(self, c, t, what):
        if t is not None and t.dtype == torch.float32:
            self.precision = "float32"
        problem = compare_tensors(c, t, what, self.precision)
        if problem is not None:
            raise type(problem)(f"{problem}\n{self.listing()}")

    def emit(self, cr_expr, torch_expr):
        """``vN = expr`` in both libraries; the new value joins the pool if it is tame."""
        name = self.new_name()
        self.run(f"{name} = {cr_expr}", f"{name} = {torch_expr}", check=name)
        if self._tame(name):
            self.pool.append(name)
        return name

    def _tame(self, name):
        t = self.t(name)
        if t.numel() > MAX_SIZE or t.dtype == torch.bool:
            return False
        if self.edges:
            return True
        values = t.detach().numpy().astype(np.float64)
        return bool(np.all(np.isfinite(values)) and np.all(np.abs(values) <= LARGEST))

    def listing(self):
        return ("chainrule program:\n    " + "\n    ".join(_indent(self.cr_lines)) +
                "\nPyTorch program:\n    " + "\n    ".join(_indent(self.torch_lines)))

    # -- leaves -----------------------------------------------------------------------------
    def draw_shape(self, ndim=None):
        """Mostly 1 to 3 axes of 1 to 3 elements; an eighth are 0-d, some hold no elements."""
        if ndim is None:
            ndim = self.choose((2, 1, 3, 2, 0, 1, 2, 3))
        return tuple(self.choose((2, 1, 3)) if self.flip(0.96) else 0 for _ in range(ndim))

    def values(self, shape, dtype, positive=False):
        """Dyadic values (multiples of 1/16), exact in float32 and float64 and short to print,
        at least 3/16 away from zero."""
        if dtype.startswith("int") or dtype == "uint8":
            values = self.rng.integers(0 if dtype == "uint8" else -4, 5, size=shape)
            return self._with_edges(values.astype(dtype), EDGE_INTEGERS.get(dtype))
        k = self.rng.integers(3, 33, size=shape)
        if not positive:
            k = k * self.rng.choice([-1, 1], size=shape)
        return self._with_edges((k / 16).astype(dtype), EDGE_FLOATS[dtype])

    def _with_edges(self, values, edges):
        """In programs with edges, about a third of the elements become edge values."""
        if not self.edges or not np.size(values):
            return values
        values = np.array(values)  # a 0-d array rather than a NumPy scalar, to assign into
        chosen = self.rng.random(values.shape) < 0.35
        values[chosen] = self.rng.choice(np.array(edges, dtype=values.dtype), size=values.shape)[chosen]
        return values

    def leaf(self, shape=None, dtype=None):
        """A new tensor made from literal values; most float ones require grad."""
        shape = self.draw_shape() if shape is None else tuple(shape)
        dtype = self.leaf_dtype() if dtype is None else dtype
        requires_grad = dtype in FLOATS and self.flip(0.8)
        array = self.values(shape, dtype, positive=self.flip(0.3))
        grad_text = ", requires_grad=True" if requires_grad else ""
        if array.size and (dtype == "float32" and self.flip(0.25) or
                           dtype == "int64" and self.flip(0.5)):
            # Python floats make float32 tensors, Python ints int64 ones
            source, text = array.tolist(), repr(array.tolist())
        else:
            source, text = array, array_text(array)
        name = self.new_name()

        def make(namespace, library):
            namespace[name] = library.tensor(
                source.copy() if isinstance(source, np.ndarray) else source,
                requires_grad=requires_grad)

        self.run(f"{name} = cr.tensor({text}{grad_text})",
                 f"{name} = torch.tensor({text}{grad_text})", check=name,
                 cr_do=lambda: make(self.cr_names, cr),
                 torch_do=lambda: make(self.torch_names, torch))
        self.pool.append(name)
        self.leaves.append(name)
        return name

    def scalar(self, integer_ok=True):
        """A nonzero Python number or (in mixed programs) NumPy scalar: a weak operand."""
        options = ["0.5", "2.0", "-1.5", "0.25", "3.0"]
        if integer_ok:
            options += ["2", "-1", "3"]
        if self.numpy_scalars:
            options += ["np.float64(0.75)", "np.float32(1.5)", "np.float64(-2.0)"]
            if integer_ok:
                options += ["np.int64(2)", "np.int32(-3)"]
        return self.choose(options)

    # -- the end: one backward pass in both -------------------------------------------------
    def finish(self):
        terms = [n for n in self.pool if self.t(n).requires_grad and self.is_float(n)]
        if terms:
            specs = [(name, (self.shape(name), self.dtype_of(name), i))
                     for i, name in enumerate(terms)]
            text = " + ".join(f"({name} * M.tensor(weights{args!r})).sum()"
                              for name, args in specs)
            # With huge values of both signs among the terms, the loss's own value depends on
            # the order of the sum; the gradients, compared below, do not.
            check = "loss" if all(self.summable(n) for n in terms) else None
            self.run(*_both(f"loss = {text}"), check=check,
                     cr_do=lambda: _weighted_sum(self.cr_names, cr, specs),
                     torch_do=lambda: _weighted_sum(self.torch_names, torch, specs))
            if self.flip(0.2):  # twice: the leaves' gradients accumulate
                self.run("loss.backward(retain_graph=True)", "loss.backward(retain_graph=True)")
            self.run("loss.backward()", "loss.backward()")
        for name in self.leaves:
            c, t = self.c(name), self.t(name)
            self.check(c.grad, t.grad, f"{name}.grad")


def _weighted_sum(namespace, library, specs):
    """What the loss statement says: the sum of (value * weights).sum() over the values."""
    loss = None
    for name, args in specs:
        term = (namespace[name] * library.tensor(weights(*args))).sum()
        loss = term if loss is None else loss + term
    namespace["loss"] = loss


_CODE = {}


def _compiled(source):
    """Compiling costs more than running these small statements, and many recur."""
    code = _CODE.get(source)
    if code is None:
        if len(_CODE) > 20000:
            _CODE.clear()
        code = _CODE[source] = compile(source, "<program>", "exec")
    return code


_NAME = re.compile(r"\bv\d+\b")


def _indent(lines):
    out = []
    for line in lines:
        out.extend(line.split("\n"))
    return out


# -- guards: is it safe to apply a kinked op to these values? ------------------------------

def clear_of_kink(diff_c, diff_t):
    """Every element of the difference to the kink is either exactly 0 in both libraries, or
    NaN in both, or at least MARGIN from 0 in both."""
    on_c, on_t = diff_c == 0, diff_t == 0
    nan_c, nan_t = np.isnan(diff_c), np.isnan(diff_t)
    if not (np.array_equal(on_c, on_t) and np.array_equal(nan_c, nan_t)):
        return False
    away = (np.abs(diff_c) > MARGIN) & (np.abs(diff_t) > MARGIN)
    return bool(np.all(on_t | away | nan_t))


def extremum_clear(xc, xt, axis, largest):
    """In every reduced slice the extreme elements are exact ties in both libraries (or
    unique), and every other element is at least MARGIN from the extreme."""
    hits = []
    if not np.array_equal(np.isnan(xc), np.isnan(xt)):
        return False
    for x in (xc, xt):
        m = x.max(axis=axis, keepdims=True) if largest else x.min(axis=axis, keepdims=True)
        with np.errstate(invalid="ignore"):
            gap = np.abs(x - m)  # inf - inf is nan: those are hits, found by ==
        if not np.all((x == m) | (gap > MARGIN) | np.isnan(m)):  # a NaN slice: NaN is the max
            return False
        hits.append(x == m)
    return bool(np.array_equal(hits[0], hits[1]))


def _unique_extremes(x, axis, largest):
    """Whether every slice has a single extreme element (and no NaN), so that the index
    PyTorch's max(dim) picks is not a matter of tie-breaking."""
    if x.shape[axis] == 0 or np.isnan(x).any():
        return False
    m = x.max(axis=axis, keepdims=True) if largest else x.min(axis=axis, keepdims=True)
    return bool(np.all((x == m).sum(axis=axis) == 1))


def broadcastable(*shapes):
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return False
    return True


def reduced_count(shape, axis):
    if axis is None:
        return int(np.prod(shape)) if shape else 1
    axes = (axis,) if isinstance(axis, int) else axis
    return int(np.prod([shape[a] for a in axes])) if axes else 1


# -- the steps: each applies one kind of op to values of the pool ---------------------------
# A step returns False when the pool has nothing it can use; the program then draws another.
# Templates write "M." where the two libraries share a function name ("M.tanh(x)").

def _both(template, **names):
    text = template.format(**names)
    return text.replace("M.", "cr."), text.replace("M.", "torch.")


def step_unary(p):
    x = p.pick(p.numeric)
    if x is None:
        return False
    xc, xt = p.arrays(x)
    is_int = not p.is_float(x)
    low, high = (min(xc.min(), xt.min()), max(xc.max(), xt.max())) if xt.size else (1.0, 1.0)
    smallest = min(np.abs(xc).min(), np.abs(xt).min()) if xt.size else 1.0
    options = ["-{x}", "M.neg({x})", "{x}.tanh()", "M.tanh({x})", "{x}.sigmoid()",
               "M.sigmoid({x})", "{x} ** 2", "{x} ** 3", "{x} * {x}"]
    # With edges, every op meets every value: inf, nan and overflow must land as PyTorch's.
    if high <= 6 or p.edges:
        options += ["{x}.exp()", "M.exp({x})"]
    if max(abs(low), abs(high)) <= 6 or p.edges:
        options += ["2.0 ** {x}"]
    if low > 0.05 or p.edges:
        options += ["{x}.log()", "M.log({x})", "{x}.sqrt()", "M.sqrt({x})", "{x} ** 0.5",
                    "{x} ** 1.5"]
    if (smallest > 0.2 or p.edges) and not is_int:  # PyTorch refuses int ** -1
        options += ["{x} ** -1", "1.0 / {x}"]
    if p.edges and not is_int:
        options += ["{x} ** 0.0", "{x} ** -0.5", "(-2.0) ** {x}", "0.0 ** {x}"]
    if clear_of_kink(xc, xt):
        options += ["abs({x})", "{x}.abs()", "M.abs({x})", "{x}.relu()", "M.relu({x})"]
    cr_expr, torch_expr = _both(p.choose(options), x=x)
    p.emit(cr_expr, torch_expr)
    return True


def _operand_for(p, a, same_dtype=False, tensor_only=False, shape_of=None):
    """A second operand for ``a``: a pool value that broadcasts with it, a new leaf of a
    broadcast-compatible shape, or (unless ``tensor_only``) a weak scalar. Returns its text
    (a name or a number) and whether it is a scalar."""
    kinds = ["pool", "leaf"] + ([] if tensor_only else ["scalar"])
    kind = p.choose(kinds)
    shape = p.shape(a) if shape_of is None else shape_of
    if kind == "scalar":
        return p.scalar(integer_ok=not p.is_float(a) or p.flip(0.5)), True
    if kind == "pool":
        b = p.pick(lambda n: (p.numeric(n) and broadcastable(shape, p.shape(n)) and
                              (not same_dtype or p.dtype_of(n) == p.dtype_of(a))))
        if b is not None:
            return b, False
    return p.leaf(shape=_broadcast_variant(p, shape),
                  dtype=p.dtype_of(a) if same_dtype and p.is_float(a) else None), False


def _broadcast_variant(p, shape):
    """A shape that broadcasts against ``shape``: some axes set to 1, leading axes dropped
    or added."""
    new = [1 if p.flip(0.3) else n for n in shape]
    if p.flip(0.3):
        new = new[p.integer(0, len(new)):]
    elif p.flip(0.2):
        new = [p.choose((1, 2))] + new
    return tuple(new)


def step_binary(p):
    a = p.pick(p.numeric)
    if a is None:
        return False
    b, b_is_scalar = _operand_for(p, a)
    op = p.choose(["+", "-", "*", "/", "M.add", "M.sub", "M.mul", "M.div"])
    left, right = (b, a) if b_is_scalar and p.flip(0.5) else (a, b)
    if op in ("/", "M.div") and not _safe_denominator(p, right):
        op = "*"
    if op.startswith("M.") and left == b and b_is_scalar:
        op = {"M.add": "+", "M.sub": "-", "M.mul": "*", "M.div": "/"}[op]
    template = f"{op}({{l}}, {{r}})" if op.startswith("M.") else f"{{l}} {op} {{r}}"
    cr_expr, torch_expr = _both(template, l=left, r=right)
    p.emit(cr_expr, torch_expr)
    return True


def _safe_denominator(p, text):
    if p.edges:
        return True  # division by zero gives inf and nan, which must be PyTorch's
    if text in p.torch_names and isinstance(p.t(text), torch.Tensor):
        bc, bt = p.arrays(text)
        return bool(bt.size == 0 or min(np.abs(bc).min(), np.abs(bt).min()) > 0.2)
    return float(eval(text, {"np": np})) != 0


def step_pow(p):
    """Tensor ** tensor, with a positive base."""
    a = p.pick(lambda n: p.is_float(n) and (p.edges or _all_above(p, n, 0.1)))
    if a is None:
        return False
    b, _ = _operand_for(p, a, tensor_only=True)
    if not p.is_float(b) or not (p.edges or _bounded(p, b, 3.0)):
        return False
    if p.dtype_of(a) != p.dtype_of(b) and _has_denormal_in(p, b, p.dtype_of(a)):
        # PyTorch's gradient reads the exponent before promotion, chainrule's after it; they
        # differ only where the cast turns a nonzero exponent into 0 (1e-300 as float32).
        return False
    form = p.choose(["{a} ** {b}", "M.pow({a}, {b})"])
    p.emit(*_both(form, a=a, b=b))
    return True


def _zeros_of_both_signs(a, b):
    """Whether 0 meets -0 somewhere: which of them PyTorch's maximum returns depends on its
    vectorised loop (docs/semantics.md), and 1 / x or log(x) later would tell them apart."""
    a, b = np.broadcast_arrays(a, b)
    return bool(np.any((a == 0) & (b == 0) & (np.signbit(a) != np.signbit(b))))


def _has_denormal_in(p, name, dtype):
    values = p.arrays(name)[1]
    return bool(np.any((values != 0) & (np.abs(values) < np.finfo(dtype).tiny)))


def _all_above(p, name, low):
    c, t = p.arrays(name)
    return bool(t.size == 0 or min(c.min(), t.min()) > low)


def _bounded(p, name, bound):
    c, t = p.arrays(name)
    return bool(t.size == 0 or max(np.abs(c).max(), np.abs(t).max()) <= bound)


def step_maximum(p):
    a = p.pick(p.numeric)
    if a is None:
        return False
    b, _ = _operand_for(p, a, tensor_only=True)
    (ac, at), (bc, bt) = p.arrays(a), p.arrays(b)
    if not clear_of_kink(ac - bc, at - bt) or _zeros_of_both_signs(at, bt):
        return False
    fn = p.choose(["maximum", "minimum"])
    left, right = (a, b) if p.flip(0.5) else (b, a)
    p.emit(*_both(f"M.{fn}({{l}}, {{r}})", l=left, r=right))
    return True


def step_where(p):
    c = p.pick(p.numeric)
    if c is None:
        return False
    cc, ct = p.arrays(c)
    threshold = p.choose(["0.0", "0.5", "-1.0"])
    if not clear_of_kink(cc - float(threshold), ct - float(threshold)):
        return False
    a, _ = _operand_for(p, c)
    a_shape = p.shape(a) if a in p.torch_names else ()
    b, _ = _operand_for(p, c, shape_of=np.broadcast_shapes(p.shape(c), a_shape))
    comparison = p.choose([">", "<", ">="])
    p.emit(*_both(f"M.where({{c}} {comparison} {threshold}, {{a}}, {{b}})", c=c, a=a, b=b))
    return True


def step_clip(p):
    x = p.pick(p.is_float)
    if x is None:
        return False
    low, high = p.choose([("-1.0", "1.0"), ("-0.5", "None"), ("None", "0.75"), ("0.0", "2.0")])
    xc, xt = p.arrays(x)
    for bound in (low, high):
        if bound != "None" and not clear_of_kink(xc - float(bound), xt - float(bound)):
            return False
    if high == "None":
        args = low if p.flip(0.5) else f"{low}, None"
    else:
        args = f"{low}, {high}"
    p.emit(*_both(f"{{x}}.clip({args})", x=x))
    return True


def step_softmax(p):
    x = p.pick(lambda n: p.is_float(n) and len(p.shape(n)) >= 1 and p.t(n).numel() > 0)
    if x is None:
        return False
    ndim = len(p.shape(x))
    axis = p.integer(-ndim, ndim - 1)
    fn = p.choose(["softmax", "log_softmax"])
    form = p.choose(["{x}.FN({d})", "M.FN({x}, {d})"]).replace("FN", fn)
    p.emit(*_both(form, x=x, d=axis))
    return True


def _draw_axis(p, ndim, allow_none=True):
    """None, an int (perhaps negative) or a tuple of distinct axes."""
    kinds = (["none"] if allow_none else []) + (["int", "tuple"] if ndim else [])
    if not kinds:
        return None
    kind = p.choose(kinds)
    if kind == "none":
        return None
    if kind == "int":
        return p.integer(-ndim, ndim - 1)
    count = p.integer(1, ndim)
    axes = p.permutation(ndim)[:count]
    return tuple(a - ndim if p.flip(0.3) else a for a in axes)


def _reduction_text(p, method, axis, keepdims, torch_method=None):
    """The same reduction in both spellings: NumPy's keywords (axis=, keepdims=) or plain
    positions for chainrule, dim=/keepdim= for torch."""
    torch_method = torch_method or method
    if axis is None and not keepdims and p.flip(0.5):
        return f"{{x}}.{method}()", f"{{x}}.{torch_method}()"
    if p.flip(0.3):
        args = f"{axis!r}, {keepdims}"
        return f"{{x}}.{method}({args})", f"{{x}}.{torch_method}({args})"
    return (f"{{x}}.{method}(axis={axis!r}, keepdims={keepdims})",
            f"{{x}}.{torch_method}(dim={axis!r}, keepdim={keepdims})")


def step_sum_mean(p):
    method = p.choose(["sum", "mean"])
    accept = p.numeric if method == "sum" else p.is_float
    x = p.pick(lambda n: accept(n) and p.summable(n))
    if x is None:
        return False
    shape = p.shape(x)
    axis = _draw_axis(p, len(shape))
    if method == "mean" and reduced_count(shape, axis) == 0:
        return False
    cr_form, torch_form = _reduction_text(p, method, axis, p.flip(0.4))
    p.emit(cr_form.format(x=x), torch_form.format(x=x))
    return True


def step_max_min(p):
    x = p.pick(lambda n: p.numeric(n) and p.t(n).numel() > 0)
    if x is None:
        return False
    largest = p.flip(0.5)
    shape = p.shape(x)
    axis = _draw_axis(p, len(shape))
    xc, xt = p.arrays(x)
    if not extremum_clear(xc, xt, axis, largest):
        return False
    method = "max" if largest else "min"
    keepdims = p.flip(0.4)
    if axis is None and not keepdims and p.flip(0.5):
        # PyTorch's all-reduce x.max() also shares the gradient equally between ties.
        p.emit(f"{x}.{method}()", f"{x}.{method}()")
        return True
    if axis is None and not keepdims:
        # Over every element chainrule's max is PyTorch's max() (which shares the gradient
        # among NaNs), not amax (which gives NaN everywhere then).
        p.emit(f"{x}.{method}(axis=None, keepdims=False)", f"{x}.{method}()")
        return True
    if isinstance(axis, int) and p.flip(0.4) and _unique_extremes(xc, axis, largest):
        # (values, indices) along one axis, PyTorch's max(dim): the gradient goes to the index
        p.emit(f"{x}.{method}({axis}, keepdim={keepdims}).values",
               f"{x}.{method}({axis}, keepdim={keepdims}).values")
        return True
    torch_axis = () if axis is None else axis
    p.emit(f"{x}.a{method}(axis={axis!r}, keepdims={keepdims})",
           f"{x}.a{method}(dim={torch_axis!r}, keepdim={keepdims})")
    return True


def step_var_std(p):
    x = p.pick(lambda n: p.is_float(n) and p.summable(n))
    if x is None:
        return False
    method = p.choose(["var", "std"])
    shape = p.shape(x)
    axis = _draw_axis(p, len(shape))
    form = p.choose(["default", "positional", "keywords"])
    ddof = 1 if form != "keywords" else p.choose([0, 1])
    if reduced_count(shape, axis) <= ddof or (form == "positional" and axis is None):
        return False
    if method == "std":  # sqrt'(0) is infinite: only spreads clearly above 0
        xc, xt = p.arrays(x)
        if not p.edges and np.any(xt.var(axis=axis, ddof=ddof) < MARGIN):
            return False
    if form == "default" and axis is None:  # PyTorch's default is the unbiased estimate
        p.emit(f"{x}.{method}()", f"{x}.{method}()")
    elif form == "default":
        p.emit(f"{x}.{method}(axis={axis!r})", f"{x}.{method}(dim={axis!r})")
    elif form == "positional":
        p.emit(f"{x}.{method}({axis!r})", f"{x}.{method}({axis!r})")
    else:
        keepdims = p.flip(0.4)
        p.emit(f"{x}.{method}(axis={axis!r}, ddof={ddof}, keepdims={keepdims})",
               f"{x}.{method}(dim={axis!r}, correction={ddof}, keepdim={keepdims})")
    return True


def step_logsumexp(p):
    # (Not over huge values: where the log-sum rounds away, chainrule's gradient is exact and
    # PyTorch's is not, docs/semantics.md.)
    x = p.pick(lambda n: p.is_float(n) and len(p.shape(n)) >= 1 and p.t(n).numel() > 0 and
               p.summable(n))
    if x is None:
        return False
    ndim = len(p.shape(x))
    axis = _draw_axis(p, ndim)
    keepdims = p.flip(0.4)
    dims = tuple(range(ndim)) if axis is None else axis
    fn_form = p.flip(0.5)
    if fn_form:
        p.emit(f"cr.logsumexp({x}, axis={axis!r}, keepdims={keepdims})",
               f"torch.logsumexp({x}, dim={dims!r}, keepdim={keepdims})")
    else:
        p.emit(f"{x}.logsumexp(axis={axis!r}, keepdims={keepdims})",
               f"{x}.logsumexp(dim={dims!r}, keepdim={keepdims})")
    return True


def step_matmul(p):
    a = p.pick(lambda n: p.is_float(n) and 1 <= len(p.shape(n)) <= 3 and p.summable(n))
    if a is None:
        return False
    shape = p.shape(a)
    k = p.choose((2, 1, 3, 0))
    if p.flip(0.5):  # a on the left: its last axis meets the other's first (or only) axis
        n = shape[-1]
        other = p.choose([(n,), (n, k), (p.choose((1, 2)), n, k)])
        order = "{a} @ {b}"
    else:  # a on the right
        n = shape[0] if len(shape) == 1 else shape[-2]
        other = p.choose([(n,), (k, n), (p.choose((1, 2)), k, n)])
        order = "{b} @ {a}"
    if len(shape) >= 3 and len(other) == 3 and p.flip(0.5):
        other = (shape[0],) + other[1:]
    b = p.pick(lambda m: p.shape(m) == other and p.dtype_of(m) == p.dtype_of(a) and
               p.summable(m))
    if b is None:
        b = p.leaf(shape=other, dtype=p.dtype_of(a))
    if not broadcastable(shape[:-2], other[:-2]):
        return False
    if p.flip(0.3):
        order = order.replace("{a} @ {b}", "M.matmul({a}, {b})").replace(
            "{b} @ {a}", "M.matmul({b}, {a})")
    p.emit(*_both(order, a=a, b=b))
    return True


def step_index(p):
    x = p.pick(lambda n: len(p.shape(n)) >= 1)
    if x is None:
        return False
    parts = []
    advanced = False
    shape = p.shape(x)
    count = p.integer(1, len(shape))
    ellipsis = p.flip(0.15)  # then the parts index the last axes
    for n in (shape[-count:] if ellipsis else shape[:count]):
        kinds = ["slice", "full"] + (["int"] if n and not advanced else []) + \
                (["array"] if not advanced and not any(k == "int" for k, _ in parts) else [])
        kind = p.choose(kinds)
        if kind == "int":
            parts.append(("int", str(p.integer(-n, n - 1))))
        elif kind == "full":
            parts.append(("full", ":"))
        elif kind == "slice":
            start, stop = p.integer(-n - 1, n + 1), p.integer(-n - 1, n + 1)
            step = p.choose((1, 2))
            parts.append(("slice", f"{start}:{stop}" + (f":{step}" if step != 1 else "")))
        else:
            # PyTorch and NumPy place the result's axes differently when an int and an index
            # array are separated by a slice, so arrays are not mixed with ints here.
            advanced = True
            length = p.choose((3, 2, 1, 0)) if n else 0
            items = [p.integer(-n, n - 1) for _ in range(length)] if n else []
            parts.append(("array", f"np.array({items!r}, dtype=np.int64)"))
    texts = [text for _, text in parts]
    if p.flip(0.15):
        texts.insert(p.integer(0, len(texts)), "None")
    if ellipsis:
        texts.insert(0, "...")
    index = ", ".join(texts)
    p.emit(f"{x}[{index}]", f"{x}[{index}]")
    return True


def step_mask(p):
    x = p.pick(lambda n: len(p.shape(n)) >= 1)
    if x is None:
        return False
    mask_of = p.pick(lambda n: p.shape(n) == p.shape(x) and p.numeric(n)) or x
    mc, mt = p.arrays(mask_of)
    if not clear_of_kink(mc, mt):
        return False
    p.emit(f"{x}[{mask_of} > 0]", f"{x}[{mask_of} > 0]")
    return True


def step_reshape(p):
    x = p.pick()
    if x is None:
        return False
    size = p.t(x).numel()
    factors = _prime_factors(size) if size else [0]
    target = [1] * p.integer(0 if size == 1 else 1, 4)
    for f in factors:
        target[p.integer(0, len(target) - 1)] *= f
    if size and target and p.flip(0.4):
        target[p.integer(0, len(target) - 1)] = -1
    target = tuple(target)
    if p.flip(0.3) and target:
        args = ", ".join(map(str, target))
    else:
        args = repr(target)
    p.emit(f"{x}.reshape({args})", f"{x}.reshape({args})")
    return True


def _prime_factors(n):
    factors, d = [], 2
    while n > 1:
        while n % d == 0:
            factors.append(d)
            n //= d
        d += 1
    return factors


def step_transpose(p):
    x = p.pick(lambda n: len(p.shape(n)) >= 1)
    if x is None:
        return False
    ndim = len(p.shape(x))
    kind = p.choose(["transpose", "T", "permute", "swapaxes"] if ndim == 2 else
                    ["transpose", "permute", "swapaxes"])
    if kind == "T":
        p.emit(f"{x}.T", f"{x}.T")
    elif kind == "permute":
        perm = p.permutation(ndim)
        if p.flip(0.5):
            p.emit(f"{x}.permute{perm!r}" if ndim > 1 else f"{x}.permute({perm[0]})",
                   f"{x}.permute{perm!r}" if ndim > 1 else f"{x}.permute({perm[0]})")
        else:
            p.emit(f"cr.permute({x}, {perm!r})", f"torch.permute({x}, {perm!r})")
    else:
        d0, d1 = p.integer(-ndim, ndim - 1), p.integer(-ndim, ndim - 1)
        if kind == "transpose":  # PyTorch's transpose(dim0, dim1) swaps two axes
            p.emit(f"{x}.transpose({d0}, {d1})", f"{x}.transpose({d0}, {d1})")
        else:
            p.emit(*_both(f"M.swapaxes({{x}}, {d0}, {d1})", x=x))
    return True


def step_expand_squeeze(p):
    x = p.pick()
    if x is None:
        return False
    shape = p.shape(x)
    ones = [i for i, n in enumerate(shape) if n == 1]
    if ones and p.flip(0.5):
        if p.flip(0.3):
            p.emit(f"{x}.squeeze()", f"{x}.squeeze()")
        else:
            axis = p.choose(ones)
            axis = axis - len(shape) if p.flip(0.3) else axis
            p.emit(f"{x}.squeeze({axis})", f"{x}.squeeze({axis})")
        return True
    axis = p.integer(-len(shape) - 1, len(shape))
    if p.flip(0.5):
        p.emit(f"{x}.expand_dims({axis})", f"{x}.unsqueeze({axis})")
    else:
        p.emit(f"cr.expand_dims({x}, {axis})", f"torch.unsqueeze({x}, {axis})")
    return True


def step_broadcast_to(p):
    x = p.pick()
    if x is None:
        return False
    shape = p.shape(x)
    target = tuple(p.choose((2, 3)) if n == 1 and p.flip(0.6) else n for n in shape)
    if p.flip(0.5):
        target = (p.choose((1, 2)),) + target
    p.emit(f"{x}.broadcast_to({target!r})", f"{x}.broadcast_to({target!r})")
    return True


def step_concatenate(p):
    a = p.pick(lambda n: len(p.shape(n)) >= 1)
    if a is None:
        return False
    shape = p.shape(a)
    axis = p.integer(-len(shape), len(shape) - 1)
    stack = p.flip(0.35)

    def fits(n):
        other = p.shape(n)
        if len(other) != len(shape) or not p.numeric(n) or p.numeric(n) != p.numeric(a):
            return False
        if p.is_float(n) != p.is_float(a) or (not p.mixed_dtypes and
                                              p.dtype_of(n) != p.dtype_of(a)):
            return False
        if stack:
            return other == shape
        return all(s == o for i, (s, o) in enumerate(zip(shape, other)) if i != axis % len(shape))

    b = p.pick(fits) if p.flip(0.6) else None
    if b is None:
        other = list(shape)
        if not stack:
            other[axis] = p.choose((1, 2, 0))
        b = p.leaf(shape=other, dtype=p.dtype_of(a) if not p.is_float(a) else None)
    items = p.choose([[a, b], [a, b, a], [b, a], [a, a]])
    listed = ", ".join(items)
    if stack:
        p.emit(f"cr.stack([{listed}], axis={axis})", f"torch.stack([{listed}], dim={axis})")
    else:
        p.emit(f"cr.concatenate([{listed}], axis={axis})", f"torch.cat([{listed}], dim={axis})")
    return True


def step_astype(p):
    x = p.pick(p.numeric)
    if x is None:
        return False
    targets = list(FLOATS)
    xc, xt = p.arrays(x)
    if p.integers and clear_of_kink(xc - np.round(xc), xt - np.round(xt)):
        targets += ["int32", "int64"]
    target = p.choose(targets)
    spelled = p.choose([f"'{target}'", f"np.{target}"])
    p.emit(f"{x}.astype({spelled})", f"{x}.to(torch.{target})")
    return True


def step_leaf(p):
    integers = ("int32", "int64", "uint8") if p.edges else ("int32", "int64")
    dtype = p.choose(FLOATS + integers) if p.integers else None
    p.leaf(dtype=dtype)
    return True


def step_clone_detach(p):
    x = p.pick()
    if x is None:
        return False
    method = p.choose(["clone", "detach"])
    p.emit(f"{x}.{method}()", f"{x}.{method}()")
    return True


def step_no_grad(p):
    """An elementwise step computed under no_grad: its result needs no gradient."""
    x = p.pick(p.is_float)
    if x is None:
        return False
    form = p.choose(["{x} * 2.0", "{x}.tanh()", "{x} + {x}", "{x}.sum(0)" if p.shape(x) else
                     "{x} - 1.0"])
    expr = form.format(x=x)
    name = p.new_name()
    p.run(f"with cr.no_grad():\n    {name} = {expr}",
          f"with torch.no_grad():\n    {name} = {expr}", check=name)
    if p._tame(name):
        p.pool.append(name)
    return True


def step_inplace(p):
    """Change a float leaf in place under no_grad, before anything has used it."""
    candidates = [n for n in p.leaves if n not in p.used and p.is_float(n)]
    if not candidates:
        return False
    x = p.choose(candidates)
    op = p.choose(["+=", "-=", "*=", "/="])
    if p.flip(0.5):
        operand = p.scalar()
    else:
        operand = p.pick(lambda n: p.is_float(n) and n != x and
                         broadcastable(p.shape(x), p.shape(n)) and
                         np.broadcast_shapes(p.shape(x), p.shape(n)) == p.shape(x))
        if operand is None or (op == "/=" and not _safe_denominator(p, operand)):
            operand = p.scalar()
    name_c, name_t = (f"with cr.no_grad():\n    {x} {op} {operand}",
                      f"with torch.no_grad():\n    {x} {op} {operand}")
    p.run(name_c, name_t, check=x)
    if not p._tame(x) and x in p.pool:
        p.pool.remove(x)
    return True


def step_user_primitive(p):
    x = p.pick(p.is_float)
    if x is None:
        return False
    kind = p.choose(["user_identity", "user_shift", "user_add"])
    if kind == "user_identity":
        p.emit(f"user_identity({x})", f"{x}.clone()")
    elif kind == "user_shift":
        p.emit(f"user_shift({x})", f"({x} + 1.0)")
    else:
        b = p.pick(lambda n: p.dtype_of(n) == p.dtype_of(x) and
                   broadcastable(p.shape(x), p.shape(n)))
        left, right = (x, b) if p.flip(0.5) else (b, x)
        p.emit(f"user_add({left}, {right})", f"({left} + {right})")
    return True


def step_inplace_in_graph(p):
    """Change a fresh intermediate in place inside the graph (v = x * 1.0; v *= y), which is
    recorded and written into v's own memory, then keep using v."""
    x = p.pick(lambda n: p.is_float(n) and p.t(n).requires_grad)
    if x is None:
        return False
    v = p.emit(f"{x} * 1.0", f"{x} * 1.0")
    shape = p.shape(v)
    if shape and shape[0] > 0 and p.flip(0.25):
        value = p.choose(["0.5", "-1.5", "2.0"])  # torch refuses to assign NumPy scalars
        p.run(f"{v}[0] = {value}", f"{v}[0] = {value}", check=v)
        return True
    op = p.choose(["+=", "-=", "*=", "/="])
    operand = p.pick(lambda n: p.numeric(n) and n != v and broadcastable(shape, p.shape(n)) and
                     np.broadcast_shapes(shape, p.shape(n)) == shape)
    if operand is None or p.flip(0.3) or (op == "/=" and not _safe_denominator(p, operand)):
        operand = p.scalar(integer_ok=op != "/=")
    p.run(f"{v} {op} {operand}", f"{v} {op} {operand}", check=v)
    return True


def step_numpy(p):
    """A NumPy function called on a tensor: it must run chainrule's op and keep the graph."""
    x = p.pick(lambda n: p.is_float(n) and p.summable(n))
    if x is None:
        return False
    xc, xt = p.arrays(x)
    shape = p.shape(x)
    options = [("np.tanh({x})", "torch.tanh({x})"), ("np.sum({x})", "torch.sum({x})"),
               ("np.multiply({x}, {x})", "torch.mul({x}, {x})"),
               ("np.square({x})", "torch.square({x})"),
               ("np.float64(1.5) * {x}", "1.5 * {x}"), ("np.add({x}, 0.25)", "({x} + 0.25)")]
    if xt.size == 0 or max(xc.max(), xt.max()) <= 6:
        options.append(("np.exp({x})", "torch.exp({x})"))
    if shape:
        options.append(("np.sum({x}, axis=0)", "torch.sum({x}, dim=0)"))
        if shape[-1] > 0:
            options.append(("np.mean({x}, axis=-1, keepdims=True)",
                            "torch.mean({x}, dim=-1, keepdim=True)"))
    # maximum rather than clamp, which differs at ties and NaN
    if clear_of_kink(xc, xt) and not _zeros_of_both_signs(xt, 0.0):
        options.append(("np.maximum({x}, 0.0)", "torch.maximum({x}, torch.zeros_like({x}))"))
    cr_template, torch_template = p.choose(options)
    p.emit(cr_template.format(x=x), torch_template.format(x=x))
    return True


ELEMENTWISE = (step_unary, step_binary, step_pow, step_maximum, step_where, step_clip,
               step_softmax)
REDUCTIONS = (step_sum_mean, step_max_min, step_var_std, step_logsumexp, step_unary,
              step_binary, step_broadcast_to)
SHAPES = (step_index, step_mask, step_reshape, step_transpose, step_expand_squeeze,
          step_broadcast_to, step_concatenate, step_matmul, step_binary, step_unary)
DTYPES = (step_astype, step_leaf, step_binary, step_unary, step_where, step_maximum,
          step_sum_mean, step_max_min, step_concatenate, step_matmul, step_index, step_clone_detach)
GRAPH = (step_clone_detach, step_no_grad, step_inplace, step_user_primitive, step_binary,
         step_unary, step_sum_mean, step_index, step_broadcast_to, step_inplace_in_graph,
         step_numpy)
EVERYTHING = tuple(dict.fromkeys(ELEMENTWISE + REDUCTIONS + SHAPES + DTYPES + GRAPH))


def run_program(tape, steps, mixed_dtypes=False, integers=False, numpy_scalars=False,
                max_steps=8, edges=False):
    """Run the program that ``tape`` describes: leaves, 2 to ``max_steps`` steps, backward."""
    p = Program(tape, mixed_dtypes=mixed_dtypes, integers=integers, numpy_scalars=numpy_scalars,
                edges=edges)
    for _ in range(p.integer(1, 3)):
        p.leaf(dtype=p.leaf_dtype())
    wanted = p.integer(2, max_steps)
    done = attempts = 0
    while done < wanted and attempts < 3 * max_steps:
        attempts += 1
        if p.choose(steps)(p):
            done += 1
    p.finish()
    return p
