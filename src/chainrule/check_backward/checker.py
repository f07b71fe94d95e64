"""check_backward itself: run the user's forward and backward, compare every gradient with
central differences and autograd, and give each a verdict."""
from ..autograd import enable_grad
from ..backend import xp
from ..tensor import Tensor, grad as autograd_grad
from .inputs import _as_float64, _flatten, _gradient_names, _leaves, _rebuild, _title
from .numeric import _central_differences, _Problem, _relative_error, accept_subgradients
from .report import BackwardReport, Diagnosis, GradientCheck

KINDS = ("layer", "loss")
DOUT_STREAM = 0xD0D7


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
    with step ``eps``: four forward calls per input element, so keep the inputs small. At a
    kink (relu's at 0), where central differences average the two sides, any value between the
    slopes from the left and from the right is accepted, as a valid subgradient. A gradient
    passes when its relative error is at most ``rtol`` against central differences and, where
    autograd is used, against autograd. A backward that writes into ``dout`` fails, whatever it
    returns. ``autograd_forward(*inputs) -> out`` is the forward written with chainrule ops,
    for forwards that call np.* functions which do not accept Tensors.

    Returns a BackwardReport; ``print(report)`` shows the table and the diagnoses.

    >>> import chainrule.manual as manual
    >>> x = np.random.default_rng(0).normal(size=(2, 3))
    >>> cr.check_backward(manual.relu_forward, manual.relu_backward, [x]).passed
    True
    """
    kind = _resolve_kind(kind, backward)
    inputs = _as_float64(list(inputs))
    paths, values = _leaves(inputs)
    if not values:
        raise ValueError("check_backward: none of the inputs is a floating-point NumPy array, "
                         "so there is no gradient to check")
    names = _gradient_names(forward, paths, names)
    title = _title(forward, backward)
    out, dout, got, failures = _run_user_pair(forward, backward, inputs, kind, dout, seed)
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
        trusted = None if autograd is None else _trusted_autograd(problem, k, autograd[k],
                                                                  numeric[k], name, rtol, notes)
        expected, accepted = accept_subgradients(problem, k, got[k], numeric[k])
        if trusted is not None:
            trusted, _ = accept_subgradients(problem, k, got[k], trusted)
        if accepted:
            notes.append(f"{name}: {len(accepted)} element(s), the first at index "
                         f"{accepted[0]}, sit at a kink; there {name} lies between the slopes "
                         f"from the left and from the right, a valid subgradient (PyTorch takes "
                         f"relu's as 0), so central differences' average of the two is not "
                         f"asked for")
        rows.append(_check_one(name, k, got[k], expected, trusted, problem, rtol))
    return BackwardReport(title, kind, rows, rtol, eps, autograd_note=note, notes=notes,
                          failures=failures)


def _trusted_autograd(problem, k, autograd, numeric, name, rtol, notes):
    """Autograd's gradient when central differences confirm it (at kinks, when it is one of the
    valid subgradients there), else None with a note saying why it is not used."""
    adjusted, _ = accept_subgradients(problem, k, autograd, numeric)
    error = _relative_error(autograd, adjusted)
    if error <= rtol:
        return autograd
    notes.append(f"autograd and central differences disagree on {name} (relative error "
                 f"{error:.1e}), so the verdict uses central differences alone: the forward "
                 f"may leave the graph through an np.* call")
    return None


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
        return value, xp.asarray(1.0), result[1], []
    if dout is None:
        # A stream of its own: inputs drawn with default_rng(seed) and a dout drawn the same
        # way would be equal, and then x.T @ dout is symmetric and hides a forgotten transpose.
        dout = xp.random.default_rng([seed, DOUT_STREAM]).standard_normal(value.shape)
    dout = xp.asarray(dout, dtype=xp.float64)
    if dout.shape != value.shape:
        raise ValueError(f"check_backward: dout has shape {dout.shape} but forward's output "
                         f"has shape {value.shape}")
    # A copy, kept apart from ours: a backward that writes into dout (dx = dout; dx[x <= 0] = 0)
    # is found out by comparing the two afterwards.
    given = dout.copy()
    got = backward(given, result[1])
    return value, dout, got, _dout_written(given, dout)


def _dout_written(given, dout):
    changed = ~((given == dout) | (xp.isnan(given) & xp.isnan(dout)))
    if not changed.any():
        return []
    index = tuple(int(i) for i in xp.argwhere(changed)[0])
    return [("wrote into dout", (
        f"backward changed {int(changed.sum())} of {dout.size} elements of dout (the first at "
        f"index {index}: {dout[index]:.6g} became {given[index]:.6g}). dout belongs to the "
        f"caller: in a network the same array can be the upstream gradient of other layers (a "
        f"value that fans out, a residual connection), whose gradients would then be wrong. "
        f"Build a new array instead, e.g. `dx = dout * (x > 0)` or `dx = dout.copy()` before "
        f"writing into it."))]


def _match_gradients(got, names, title):
    got = _flatten(got)
    if len(got) != len(names):
        raise ValueError(
            f"check_backward: {title} returned {len(got)} gradient(s), but the inputs have "
            f"{len(names)} floating-point array(s), so it should return {', '.join(names)}: "
            f"one gradient per floating-point input, in order")
    return [None if g is None else xp.asarray(g, dtype=xp.float64) for g in got]


def _autograd(fn, returns_pair, inputs, values, dout, out_shape):
    """Gradients from chainrule's autograd, or (None, the reason it could not be used)."""
    tensors = [Tensor._wrap(v.copy(), requires_grad=True) for v in values]
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
    return [xp.zeros_like(v) if g is None else xp.asarray(g._data, dtype=xp.float64)
            for v, g in zip(values, grads)], None


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
        # Loaded only when something failed: `import chainrule` stays light.
        from .diagnose import _diagnose, _with_kink_note
        expected = autograd if autograd is not None else numeric
        diagnosis = _diagnose(got, expected, problem.values[k], problem)
        if diagnosis.kind == "wrong values":
            diagnosis = _with_kink_note(diagnosis, got, expected, problem, k)
    return GradientCheck(name, numeric.shape, got.shape, numeric_error, autograd_error, passed,
                         diagnosis, got, numeric, autograd)


def _batch_size(kind, value, values):
    shape = value.shape if kind == "layer" else values[0].shape
    return shape[0] if len(shape) >= 1 else None
