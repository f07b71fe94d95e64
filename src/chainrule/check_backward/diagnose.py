"""How a wrong gradient is wrong: wrong shape, transposed, off by a constant factor, missing the
sum over the batch, wrong sign, a gate's mask taken from dout, the convolutional network's
mistakes (cnn_diagnose.py), backpropagation through time's and the backprop ninja's
(sequence_diagnose.py), or wrong values."""
from ..backend import xp
from .cnn_diagnose import CNN_TESTS, padding_not_cropped
from .numeric import DIAGNOSIS_TOL, _relative_error, is_kink, one_sided_slopes
from .report import Diagnosis
from .sequence_diagnose import SEQUENCE_TESTS


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
    for test in (_transposed, _constant_factor, _missing_batch_sum, _wrong_sign, _mask_from_dout,
                 *CNN_TESTS, *SEQUENCE_TESTS):
        diagnosis = test(got, expected, x, problem)
        if diagnosis is not None:
            return diagnosis
    return _wrong_values(got, expected)


def _wrong_shape(got, expected):
    shapes = f"got shape {got.shape}, but the input has shape {expected.shape}"
    uncropped = padding_not_cropped(got, expected, None, None)
    if uncropped is not None:
        return uncropped
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
    left, right = one_sided_slopes(problem, k, index)
    if not is_kink(left, right):
        return diagnosis
    return Diagnosis(diagnosis.kind, diagnosis.message + (
        f" Note: at that element the slope from the left ({left:.6g}) and from the right "
        f"({right:.6g}) differ, so the input sits at a kink (relu at 0, a hinge margin at 0), "
        f"and the value returned there lies between neither; any value between them would be "
        f"a valid subgradient."))


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


def _index(flat, shape):
    return tuple(int(i) for i in xp.unravel_index(int(flat), shape))
