"""check_backward: test a hand-written backward pass, and when a gradient is wrong, say how.

    out, cache = affine_forward(x, w, b)           # cs231n's form
    dx, dw, db = affine_backward(dout, cache)
    report = chainrule.check_backward(affine_forward, affine_backward, [x, w, b])
    print(report)                                   # one row per gradient
    report.passed

Every gradient the backward returns is compared with float64 central differences of
sum(out * dout) and, where the forward also runs on chainrule Tensors, with autograd. A wrong
gradient gets a diagnosis: wrong shape, transposed, off by a constant factor, missing the sum
over the batch, wrong sign, a gate's mask taken from dout instead of x, or wrong values.
"""
import inspect
import textwrap
from dataclasses import dataclass, field

from .autograd import enable_grad
from .backend import ndarray, xp
from .tensor import Tensor, grad as autograd_grad

KINDS = ("layer", "loss")
DIAGNOSIS_TOL = 1e-6  # central differences are good to about 1e-9 here; mistakes are far larger
WIDTH = 96
DOUT_STREAM = 0xD0D7
NO_BREAK = "\u00a0"  # textwrap breaks lines at ASCII whitespace only


@dataclass(frozen=True)
class Diagnosis:
    """How a gradient is wrong: ``kind`` is a short label ("wrong shape", "transposed",
    "constant factor", "missing batch sum", "wrong sign", "mask from dout", "wrong values",
    "imprecise", "not finite", "missing"), ``message`` the explanation, ``factor`` the constant c when the
    gradient is c times the right one."""

    kind: str
    message: str
    factor: float = None


@dataclass(repr=False)
class GradientCheck:
    """One row of the report: the gradient called ``name``, what the backward returned
    (``got``), the central-difference gradient (``numeric``) and autograd's (``autograd``, None
    where it could not be used), and the relative errors between them."""

    name: str
    shape: tuple
    got_shape: tuple
    numeric_error: float
    autograd_error: float
    passed: bool
    diagnosis: Diagnosis = None
    got: ndarray = None
    numeric: ndarray = None
    autograd: ndarray = None

    def __repr__(self):
        verdict = "ok" if self.passed else f"wrong: {self.diagnosis.kind}"
        return f"GradientCheck({self.name}, shape={self.shape}, {verdict})"


@dataclass(repr=False)
class BackwardReport:
    """What check_backward found: ``rows`` (one GradientCheck per gradient), ``passed``, and
    ``autograd_note``, which says why autograd was not used (None when it was)."""

    title: str
    kind: str
    rows: list
    rtol: float
    eps: float
    autograd_note: str = None
    notes: list = field(default_factory=list)

    @property
    def passed(self):
        return all(row.passed for row in self.rows)

    @property
    def differentiated(self):
        """The scalar whose central differences give the numeric gradients."""
        return "sum(out * dout)" if self.kind == "layer" else "the loss"

    def __getitem__(self, name):
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"no gradient named {name!r}; the report has {[r.name for r in self.rows]}")

    def __repr__(self):
        return f"<BackwardReport {self.title}: {'passed' if self.passed else 'FAILED'}>"

    def __str__(self):
        return _render(self)


def check_backward(forward, backward, inputs, names=None, dout=None, seed=0, rtol=1e-7,
                   kind=None, autograd_forward=None, eps=1e-4):
    """Check a hand-written backward pass against central differences and autograd.

    ``forward(*inputs)`` returns ``(out, cache)`` and ``backward(dout, cache)`` returns one
    gradient per floating-point array among the inputs (one array, or a tuple), in order.
    Other inputs (integer labels, Python numbers, strings, None) are passed through unchanged.
    For a loss that returns ``(loss, gradients)`` in one call (svm_loss, softmax_loss,
    l2_regularization) pass ``backward=None``, or ``kind="loss"``.

    Everything runs in float64. ``dout`` (random with ``seed`` if not given) weights the output,
    so the numeric gradient is that of sum(out * dout), by fourth-order central differences
    with step ``eps``: four forward calls per input element, so keep the inputs small, and
    more than 2 * eps away from kinks such as relu's at 0. A gradient passes when its relative
    error is at most ``rtol`` against central differences and, where autograd is used, against
    autograd. ``autograd_forward(*inputs) -> out`` is the forward written with chainrule ops,
    for forwards that call np.* functions which do not accept Tensors.

    Returns a BackwardReport; ``print(report)`` shows the table and the diagnoses.
    """
    kind = _resolve_kind(kind, backward)
    inputs = _as_float64(list(inputs))
    paths, values = _leaves(inputs)
    if not values:
        raise ValueError("check_backward: none of the inputs is a floating-point NumPy array, "
                         "so there is no gradient to check")
    names = _gradient_names(forward, paths, names)
    title = _title(forward, backward)
    out, dout, got = _run_user_pair(forward, backward, inputs, kind, dout, seed)
    got = _match_gradients(got, names, title)

    def output(leaf_values):
        result = forward(*_rebuild(inputs, [v.copy() for v in leaf_values]))
        return xp.asarray(result[0], dtype=xp.float64)

    problem = _Problem(output, values, dout, eps, kind, out.shape, _batch_size(kind, out, values))
    numeric = [_central_differences(problem, k) for k in range(len(values))]
    autograd, note = _autograd(autograd_forward or forward, autograd_forward is None, inputs,
                               values, dout, out.shape)
    rows, notes = [], []
    for k, name in enumerate(names):
        trusted = None
        if autograd is not None:
            error = _relative_error(autograd[k], numeric[k])
            if error <= rtol:
                trusted = autograd[k]
            else:
                notes.append(f"autograd and central differences disagree on {name} (relative "
                             f"error {error:.1e}), so the verdict uses central differences "
                             f"alone: the forward may leave the graph through an np.* call, "
                             f"or an input sits at a kink")
        rows.append(_check_one(name, k, got[k], numeric[k], trusted, problem, rtol))
    return BackwardReport(title, kind, rows, rtol, eps, autograd_note=note, notes=notes)


@dataclass
class _Problem:
    """What every gradient's check shares: ``output(leaf values)`` runs the forward."""

    output: object
    values: list
    dout: ndarray
    eps: float
    kind: str
    out_shape: tuple
    batch: int


# -- running the user's functions -----------------------------------------------------------------

def _resolve_kind(kind, backward):
    if kind is None:
        return "loss" if backward is None else "layer"
    if kind not in KINDS:
        raise ValueError(f"check_backward: kind must be one of {KINDS}, got {kind!r}")
    if kind == "layer" and backward is None:
        raise ValueError("check_backward: kind='layer' needs a backward(dout, cache) function")
    if kind == "loss" and backward is not None:
        raise ValueError("check_backward: kind='loss' is for a forward that returns (loss, "
                         "gradients) itself; pass backward=None")
    return kind


def _run_user_pair(forward, backward, inputs, kind, dout, seed):
    result = forward(*_rebuild(inputs, [v.copy() for v in _leaves(inputs)[1]]))
    if not (isinstance(result, tuple) and len(result) == 2):
        shape = "(out, cache)" if kind == "layer" else "(loss, gradients)"
        raise TypeError(f"check_backward: forward must return a pair {shape}, "
                        f"got {type(result).__name__}")
    value = xp.asarray(result[0], dtype=xp.float64)
    if kind == "loss":
        if value.ndim != 0:
            raise ValueError(f"check_backward: a loss must be a scalar, but forward returned "
                             f"shape {value.shape}; for a layer, pass its backward(dout, cache)")
        if dout is not None:
            raise ValueError("check_backward: dout is for layers; a loss's gradients are "
                             "those of the loss itself")
        return value, xp.asarray(1.0), result[1]
    if dout is None:
        # A stream of its own: inputs drawn with default_rng(seed) and a dout drawn the same
        # way would be equal, and then x.T @ dout is symmetric and hides a forgotten transpose.
        dout = xp.random.default_rng([seed, DOUT_STREAM]).standard_normal(value.shape)
    dout = xp.asarray(dout, dtype=xp.float64)
    if dout.shape != value.shape:
        raise ValueError(f"check_backward: dout has shape {dout.shape} but forward's output "
                         f"has shape {value.shape}")
    # A copy: a backward that writes into dout (dx = dout; dx[x <= 0] = 0) must not change ours.
    return value, dout, backward(dout.copy(), result[1])


def _match_gradients(got, names, title):
    got = _flatten(got)
    if len(got) != len(names):
        raise ValueError(
            f"check_backward: {title} returned {len(got)} gradient(s), but the inputs have "
            f"{len(names)} floating-point array(s), so it should return {', '.join(names)}: "
            f"one gradient per floating-point input, in order")
    return [None if g is None else xp.asarray(g, dtype=xp.float64) for g in got]


def _central_differences(problem, k):
    """d sum(out * dout) / d values[k], element by element, by the fourth-order central
    difference (8 [f(x+h) - f(x-h)] - [f(x+2h) - f(x-2h)]) / 12h.

    Its truncation error is O(h^4), so h can be 1e-4 rather than the 1e-6 of the two-point
    formula, and rounding, which grows like 1/h, drops a hundredfold: gradient elements a
    thousand times smaller than the output are still resolved to about 1e-9. Differencing the
    outputs before weighting them by dout keeps outputs that do not move out of the rounding.
    """
    values, h = problem.values, problem.eps
    grad = xp.zeros_like(values[k])
    for index in xp.ndindex(values[k].shape):
        near = _difference(problem, k, index, h)
        far = _difference(problem, k, index, 2 * h)
        grad[index] = (8 * near - far) / (12 * h)
    return grad


def _difference(problem, k, index, step):
    """sum((out(x + step) - out(x - step)) * dout), x being values[k][index]."""
    plus = problem.output(_moved(problem.values, k, index, step))
    minus = problem.output(_moved(problem.values, k, index, -step))
    return xp.sum((plus - minus) * problem.dout)


def _moved(values, k, index, step):
    moved = list(values)
    moved[k] = values[k].copy()
    moved[k][index] += step
    return moved


def _autograd(fn, returns_pair, inputs, values, dout, out_shape):
    """Gradients from chainrule's autograd, or (None, the reason it could not be used)."""
    tensors = [Tensor(v.copy(), requires_grad=True) for v in values]
    with enable_grad():
        try:
            result = fn(*_rebuild(inputs, tensors))
        except Exception as error:  # reported in the table's note, not hidden
            return None, (f"not used: forward cannot run on chainrule Tensors "
                          f"({type(error).__name__}: {error}); pass autograd_forward= to "
                          f"compare with autograd")
        out = result[0] if returns_pair and isinstance(result, tuple) else result
        if not isinstance(out, Tensor):
            made = f"{type(out).__module__}.{type(out).__name__}"
            return None, (f"not used: given Tensors, forward returned {made}, not a Tensor: "
                          f"it computes with np.* functions (np.maximum, np.where, "
                          f"np.asarray, ...) that do not record a graph; pass "
                          f"autograd_forward= to compare with autograd")
        if out.shape != out_shape:
            return None, (f"not used: autograd's output has shape {out.shape}, the forward's "
                          f"{out_shape}")
        if not out.requires_grad:
            return None, "not used: given Tensors, forward's output does not depend on them"
        seed = xp.array(xp.broadcast_to(dout, out.shape))
        grads = autograd_grad(out, tensors, grad_outputs=seed, allow_unused=True)
    return [xp.zeros_like(v) if g is None else xp.asarray(g.data, dtype=xp.float64)
            for v, g in zip(values, grads)], None


# -- one gradient: error, verdict, diagnosis ----------------------------------------------------

def _check_one(name, k, got, numeric, autograd, problem, rtol):
    if got is None:
        return GradientCheck(name, numeric.shape, None, None, None, False,
                             Diagnosis("missing", f"backward returned None for {name}"),
                             None, numeric, autograd)
    same_shape = got.shape == numeric.shape
    numeric_error = _relative_error(got, numeric) if same_shape else None
    autograd_error = None
    if same_shape and autograd is not None:
        autograd_error = _relative_error(got, autograd)
    passed = same_shape and numeric_error <= rtol and (autograd_error is None
                                                       or autograd_error <= rtol)
    diagnosis = None
    if not passed:
        expected = autograd if autograd is not None else numeric
        diagnosis = _diagnose(got, expected, problem.values[k], problem)
        if diagnosis.kind == "wrong values":
            diagnosis = _with_kink_note(diagnosis, got, expected, problem, k)
    return GradientCheck(name, numeric.shape, got.shape, numeric_error, autograd_error, passed,
                         diagnosis, got, numeric, autograd)


def _relative_error(got, expected):
    """max |got - expected| over the elements, divided by the largest magnitude in either
    array. Scaling by the largest element rather than element by element keeps gradients
    near zero from turning the rounding noise of central differences into large ratios."""
    if got.size == 0:
        return 0.0
    scale = max(float(xp.abs(got).max()), float(xp.abs(expected).max()))
    if scale == 0.0:
        return 0.0
    return float(xp.abs(got - expected).max() / scale)


def _close(got, expected):
    return got.shape == expected.shape and _relative_error(got, expected) <= DIAGNOSIS_TOL


def _diagnose(got, expected, x, problem):
    """The first explanation, in this order, that fits what the backward returned."""
    if got.shape != expected.shape:
        return _wrong_shape(got, expected)
    if not xp.isfinite(got).all():
        index = _index(xp.argmax(~xp.isfinite(got)), got.shape)
        return Diagnosis("not finite", f"got {got[index]} at index {index} "
                                       f"(expected {expected[index]:.6g})")
    error = _relative_error(got, expected)
    if error <= DIAGNOSIS_TOL:
        return Diagnosis("imprecise", (
            f"relative error {error:.1e}: right to about {DIAGNOSIS_TOL:g} but not to rtol. "
            f"The formula is probably right and the arithmetic imprecise, e.g. float32 "
            f"somewhere in the backward."))
    for test in (_transposed, _constant_factor, _missing_batch_sum, _wrong_sign, _mask_from_dout):
        diagnosis = test(got, expected, x, problem)
        if diagnosis is not None:
            return diagnosis
    return _wrong_values(got, expected)


def _wrong_shape(got, expected):
    shapes = f"got shape {got.shape}, but the input has shape {expected.shape}"
    if got.ndim == expected.ndim + 1 and got.shape[1:] == expected.shape \
            and _close(got.sum(axis=0), expected):
        return Diagnosis("missing batch sum", (
            f"{shapes}, and summing over axis 0 gives the right gradient. The parameter is "
            f"shared by every example in the batch, so its gradient adds up the examples' "
            f"contributions, e.g. `db = dout.sum(axis=0)`."))
    hint = ""
    if got.ndim == 2 and got.T.shape == expected.shape and _close(got.T, expected):
        hint = (" Its transpose is the right gradient: a forgotten transpose (for `out = x @ w`, "
                "`dw = x.T @ dout`, not `dout.T @ x`).")
    elif got.size == expected.size and _close(got.reshape(expected.shape), expected):
        hint = (f" It holds the right numbers in the wrong layout: reshape it back to the "
                f"input's shape, e.g. `dx.reshape(x.shape)`, here {expected.shape}.")
    return Diagnosis("wrong shape", f"{shapes}.{hint}")


def _transposed(got, expected, x, problem):
    if got.ndim == 2 and got.shape[0] == got.shape[1] and _close(got.T, expected):
        return Diagnosis("transposed", (
            "got.T is the right gradient: a forgotten transpose (for `out = x @ w`, "
            "`dw = x.T @ dout`, not `dout.T @ x`). The shapes agree only because the matrix is "
            "square."))
    return None


def _factor(got, expected):
    norm = float((expected * expected).sum())
    if norm == 0.0:
        return None
    c = float((got * expected).sum()) / norm
    if c == 0.0 or abs(c - 1) <= DIAGNOSIS_TOL or not _close(got, c * expected):
        return None
    return c


def _constant_factor(got, expected, x, problem):
    c = _factor(got, expected)
    if c is None or abs(c + 1) <= DIAGNOSIS_TOL or _is_batch_mean(c, expected, problem):
        return None
    return Diagnosis("constant factor", (
        f"got = {_describe(c)} x the right gradient{_batch_hint(c, problem)}. Every element "
        f"is off by the same factor, so the formula's structure is right and a constant is "
        f"wrong."), factor=c)


def _missing_batch_sum(got, expected, x, problem):
    c = _factor(got, expected)
    if c is not None and _is_batch_mean(c, expected, problem):
        return Diagnosis("missing batch sum", (
            f"got = 1/{problem.batch} x the right gradient: averaged over the batch of "
            f"N = {problem.batch} instead of summed. Any 1/N of a mean loss is already in "
            f"dout, so the parameter's gradient is the plain sum, e.g. `db = dout.sum(axis=0)`."),
            factor=c)
    if problem.kind == "layer" and problem.dout.ndim >= 1 \
            and expected.shape == problem.dout.shape[1:] and problem.dout.shape[0] > 1:
        for i, row in enumerate(problem.dout):
            if _close(got, row):
                return Diagnosis("missing batch sum", (
                    f"got equals dout[{i}], the gradient from example {i} alone; the "
                    f"parameter is shared by all {problem.dout.shape[0]} examples, so sum "
                    f"over the batch, e.g. `db = dout.sum(axis=0)`."))
    return None


def _wrong_sign(got, expected, x, problem):
    if _close(-got, expected):
        return Diagnosis("wrong sign", (
            "got = -(the right gradient): every element has the right size and the opposite "
            "sign; look for a flipped sign in a local derivative."), factor=-1.0)
    return None


def _mask_from_dout(got, expected, x, problem):
    dout = problem.dout
    if problem.kind != "layer" or not (got.shape == x.shape == dout.shape):
        return None
    agree = (x > 0) & (dout > 0)
    differ = (x <= 0) & (dout > 0)
    if not agree.any() or not differ.any():
        return None
    closed = dout <= 0  # a mask taken from dout shuts every one of these
    scale = max(float(xp.abs(got).max()), float(xp.abs(expected).max()))
    shut = not closed.any() or float(xp.abs(got[closed]).max()) <= DIAGNOSIS_TOL * scale
    if shut and _close(got[agree], expected[agree]) \
            and not _close(got[differ], expected[differ]):
        return Diagnosis("mask from dout", (
            "right where x > 0 and dout > 0, wrong where x <= 0 < dout: the gate's mask was "
            "taken from dout instead of x. Whether a unit let its value through is decided "
            "by its input in the forward pass, so the mask is `x > 0`, whatever the sign of "
            "dout: `dx = dout * (x > 0)`."))
    return None


def _wrong_values(got, expected):
    difference = xp.abs(got - expected)
    index = _index(xp.argmax(difference), got.shape)
    scale = max(float(xp.abs(got).max()), float(xp.abs(expected).max()))
    wrong = int((difference > DIAGNOSIS_TOL * scale).sum())
    return Diagnosis("wrong values", (
        f"{wrong} of {got.size} elements are wrong; the worst is at index {index}: got "
        f"{got[index]:.8g}, expected {expected[index]:.8g}."))


def _with_kink_note(diagnosis, got, expected, problem, k):
    index = _index(xp.argmax(xp.abs(got - expected)), got.shape)
    centre = xp.sum(problem.output(problem.values) * problem.dout)
    slopes = []
    for step in (problem.eps, -problem.eps):
        moved = _moved(problem.values, k, index, step)
        slopes.append(float((xp.sum(problem.output(moved) * problem.dout) - centre) / step))
    right, left = (slope + 0.0 for slope in slopes)  # + 0.0 prints -0.0 as 0
    if abs(right - left) <= 10 * (1e-3 * max(abs(right), abs(left)) + 1e-6):
        return diagnosis
    return Diagnosis(diagnosis.kind, diagnosis.message + (
        f" Note: at that element the slope from the left ({left:.6g}) and from the right "
        f"({right:.6g}) differ, so the input sits at a kink (relu at 0, a hinge margin at 0), "
        f"where central differences average the two sides; move the inputs away from it."))


def _is_batch_mean(c, expected, problem):
    n = problem.batch
    per_feature = problem.kind == "layer" and expected.shape == tuple(problem.out_shape[1:])
    return per_feature and n is not None and n > 1 and abs(c * n - 1) <= DIAGNOSIS_TOL


def _describe(c):
    for k in range(1, 1001):
        if abs(c - k) <= DIAGNOSIS_TOL * k:
            return str(k)
        if abs(c + k) <= DIAGNOSIS_TOL * k:
            return str(-k)
        if abs(c * k - 1) <= DIAGNOSIS_TOL:
            return f"1/{k}"
        if abs(c * k + 1) <= DIAGNOSIS_TOL:
            return f"-1/{k}"
    return f"{c:.6g}"


def _batch_hint(c, problem):
    n = problem.batch
    if n is None or n < 2:
        return ""
    if abs(c - n) <= DIAGNOSIS_TOL * n:
        return (f" (N = {n}, the batch size: a loss averaged over the batch divides every "
                f"example's gradient by N)")
    if abs(c * n - 1) <= DIAGNOSIS_TOL:
        return f" (1/N, with N = {n} the batch size: divided by N once too often)"
    return ""


def _batch_size(kind, value, values):
    shape = value.shape if kind == "layer" else values[0].shape
    return shape[0] if len(shape) >= 1 else None


def _index(flat, shape):
    return tuple(int(i) for i in xp.unravel_index(int(flat), shape))


# -- inputs as a tree of arrays -------------------------------------------------------------------

def _is_leaf(value):
    return isinstance(value, ndarray) and value.dtype.kind == "f"


def _as_float64(tree):
    if isinstance(tree, Tensor):
        tree = tree.data
    if _is_leaf(tree):
        return tree.astype(xp.float64)  # a copy, so the caller's arrays are never touched
    if isinstance(tree, dict):
        return {key: _as_float64(value) for key, value in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_as_float64(value) for value in tree)
    return tree


def _leaves(tree, path=()):
    """(paths, arrays) of the floating-point arrays in tree, depth first."""
    if _is_leaf(tree):
        return [path], [tree]
    items = ()
    if isinstance(tree, dict):
        items = tree.items()
    elif isinstance(tree, (list, tuple)):
        items = enumerate(tree)
    paths, arrays = [], []
    for key, value in items:
        more_paths, more_arrays = _leaves(value, path + (key,))
        paths += more_paths
        arrays += more_arrays
    return paths, arrays


def _rebuild(tree, replacements):
    """tree with its floating-point arrays replaced, in order, by ``replacements``."""
    remaining = iter(replacements)

    def rebuild(node):
        if _is_leaf(node):
            return next(remaining)
        if isinstance(node, dict):
            return {key: rebuild(value) for key, value in node.items()}
        if isinstance(node, (list, tuple)):
            return type(node)(rebuild(value) for value in node)
        return node

    return rebuild(tree)


def _flatten(grads):
    if isinstance(grads, dict):
        grads = list(grads.values())
    if isinstance(grads, (list, tuple)):
        return [leaf for g in grads for leaf in _flatten(g)]
    return [grads]


def _gradient_names(forward, paths, names):
    if names is not None:
        names = list(names)
        if len(names) != len(paths):
            raise ValueError(f"check_backward: {len(names)} names for {len(paths)} gradients")
        return names
    try:
        parameters = list(inspect.signature(forward).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    positional = [p.name for p in parameters
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    result = []
    for position, *rest in paths:
        base = positional[position] if position < len(positional) else f"input{position}"
        result.append("d" + base + "".join(f"[{key!r}]" for key in rest))
    return result


def _title(forward, backward):
    name = getattr(forward, "__name__", type(forward).__name__)
    if backward is None:
        return f"{name} (loss and gradients in one call)"
    return f"{name} / {getattr(backward, '__name__', type(backward).__name__)}"


# -- the table ------------------------------------------------------------------------------------

def _render(report):
    failed = [row for row in report.rows if not row.passed]
    verdict = "passed" if not failed else f"FAILED ({len(failed)} of {len(report.rows)} wrong)"
    header = ("gradient", "shape", "vs numeric", "vs autograd", "result")
    table = [header] + [(row.name, str(row.shape), _error(row.numeric_error),
                         _error(row.autograd_error) if report.autograd_note is None else "n/a",
                         "ok" if row.passed else f"WRONG: {row.diagnosis.kind}")
                        for row in report.rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = [f"check_backward: {report.title}: {verdict}"]
    lines += ["  " + "  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip()
              for line in table]
    for row in failed:
        lines += _wrap(f"{row.name}: {row.diagnosis.kind}: {row.diagnosis.message}")
    if report.autograd_note is not None:
        lines += _wrap(f"autograd: {report.autograd_note}")
    for note in report.notes:
        lines += _wrap(f"note: {note}")
    lines.append(f"  relative error: max|got - expected| / max(|got|, |expected|), passing at "
                 f"<= {report.rtol:g}")
    lines.append(f"  numeric: float64 fourth-order central differences of "
                 f"{report.differentiated}, h = {report.eps:g}")
    return "\n".join(lines)


def _wrap(text):
    """Indented lines of at most WIDTH characters that never break inside `code`."""
    pieces = text.split("`")
    pieces[1::2] = [piece.replace(" ", NO_BREAK) for piece in pieces[1::2]]
    lines = textwrap.wrap("`".join(pieces), WIDTH, initial_indent="  ",
                          subsequent_indent="    ")
    return [line.replace(NO_BREAK, " ") for line in lines]


def _error(value):
    return "-" if value is None else f"{value:.1e}"


__all__ = ["check_backward", "BackwardReport", "GradientCheck", "Diagnosis"]
