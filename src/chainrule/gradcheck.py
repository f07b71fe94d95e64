"""Gradient checking: analytic gradients from the engine against float64 central differences.

The output is reduced to a scalar with a fixed random weighting, L = sum(out * v), so one
backward pass gives every input's gradient and one finite difference per element (or per random
direction, for large inputs) checks it.
"""
from .engine import enable_grad
from .backend import xp
from .errors import ChainruleError
from .tensor import Tensor, grad as autograd_grad


class GradcheckError(ChainruleError, AssertionError):
    """The analytic gradient disagrees with the numerical one; the message says where.

    >>> x = cr.tensor([1., 2.], dtype="float64", requires_grad=True)
    >>> cr.gradcheck(lambda x: cr.stop_gradient(x) * x, [x])  # the stopped factor is missed
    Traceback (most recent call last):
        ...
    chainrule.gradcheck.GradcheckError: gradcheck: gradient of input 0 (shape (2,)) is wrong at element (0,):
    ...
    """


def _prepare(inputs):
    prepared = []
    for x in inputs:
        data = x._data if isinstance(x, Tensor) else xp.asarray(x)
        wants = x.requires_grad if isinstance(x, Tensor) else data.dtype.kind == "f"
        if data.dtype.kind == "f":
            prepared.append(Tensor._wrap(data.astype(xp.float64), requires_grad=wants))
        else:
            prepared.append(Tensor._wrap(data))
    if not any(t.requires_grad for t in prepared):
        raise ValueError("gradcheck: none of the inputs is a floating-point tensor to check")
    return prepared


def _scalar(fn, inputs, weights):
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    return (out * weights).sum() if weights is not None else out.sum()


def _weights(fn, inputs, rng):
    out = fn(*inputs)
    return Tensor._wrap(rng.standard_normal(out.shape)) if out.numel() > 1 else None


def _evaluate(fn, inputs, weights):
    # Not under no_grad: fn may itself call chainrule.grad (a gradient penalty, say).
    return float(_scalar(fn, inputs, weights)._data)


def _analytic(fn, inputs, weights, checked):
    scalar = _scalar(fn, inputs, weights)
    if not scalar.requires_grad:  # e.g. the derivative of a piecewise-linear function
        return [None] * len(checked)
    return autograd_grad(scalar, checked, allow_unused=True)


def _at(fn, inputs, weights, tensor):
    """The checked scalar as a function of ``tensor``'s values."""
    def evaluate(values):
        tensor.data = values
        return _evaluate(fn, inputs, weights)
    return evaluate


def _kink_note(fn, inputs, weights, tensor, direction, eps, numeric):
    original = tensor._data.copy()
    center = _evaluate(fn, inputs, weights)
    tensor.data = original + eps * direction
    right = (_evaluate(fn, inputs, weights) - center) / eps
    tensor.data = original - eps * direction
    left = (center - _evaluate(fn, inputs, weights)) / eps
    tensor.data = original
    if abs(right - left) > 10 * (abs(numeric) * 1e-3 + 1e-6):
        return (f"\n  note: the one-sided slopes differ ({left:.6g} from the left, {right:.6g} "
                f"from the right): the point sits at a kink (relu or abs at 0, a tie in max or "
                f"maximum, a clip boundary), where the derivative is not defined and any value "
                f"between them is a valid subgradient. Move the point off the kink.")
    return ""


def central_difference(f, x, direction, eps):
    """(f(x + eps d) - f(x - eps d)) / (2 eps): the derivative of ``f`` at the array ``x``
    along ``d``, with an error of O(eps^2). ``f`` may return a number or an array (then the
    derivative of each element). This is the one central difference of chainrule: gradcheck
    uses it, and check_backward combines two of them into a fourth-order one.

    >>> from chainrule.gradcheck import central_difference
    >>> round(central_difference(lambda a: float((a ** 3).sum()), np.ones(2), np.array([1., 0.]), 1e-4), 6)
    3.0
    """
    return (f(x + eps * direction) - f(x - eps * direction)) / (2 * eps)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, max_elements=400, directions=20,
              seed=0):
    """Check ``fn``'s gradients against central differences in float64.

    ``inputs`` is a sequence of tensors or arrays; those requiring grad (or, for arrays, every
    floating one) are checked. Inputs with at most ``max_elements`` elements are checked element
    by element, larger ones along ``directions`` random directions. Backward is run twice and
    must give bitwise-identical gradients. Returns True or raises GradcheckError with a report.

    >>> x = cr.tensor([0.5, 1.5], dtype='float64', requires_grad=True)
    >>> cr.gradcheck(lambda x: (x * x).sin(), [x])
    True
    """
    rng = xp.random.default_rng(seed)
    inputs = _prepare(list(inputs))
    checked = [t for t in inputs if t.requires_grad]
    weights = _weights(fn, inputs, rng)
    analytic = _analytic(fn, inputs, weights, checked)
    again = _analytic(fn, inputs, weights, checked)
    for k, (first, second) in enumerate(zip(analytic, again)):
        if first is not None and not xp.array_equal(first._data, second._data, equal_nan=True):
            raise GradcheckError(f"gradcheck: backward is not deterministic for input {k}: two "
                                 f"runs gave different gradients")
    for k, (tensor, g) in enumerate(zip(checked, analytic)):
        g = xp.zeros_like(tensor._data) if g is None else g._data
        if g.shape != tensor.shape:
            raise GradcheckError(f"gradcheck: input {k} has shape {tensor.shape} but its "
                                 f"gradient has shape {g.shape}")
        element_wise = tensor.numel() <= max_elements
        count = tensor.numel() if element_wise else directions
        for i in range(count):
            if element_wise:
                direction = xp.zeros(tensor.shape)
                direction.flat[i] = 1.0
                where = f"element {tuple(int(j) for j in xp.unravel_index(i, tensor.shape))}"
            else:
                direction = rng.standard_normal(tensor.shape)
                direction /= xp.linalg.norm(direction)
                where = f"random direction {i}"
            original = tensor._data
            numeric = central_difference(_at(fn, inputs, weights, tensor), original, direction,
                                         eps)
            tensor.data = original
            exact = float((g * direction).sum())
            if not abs(exact - numeric) <= atol + rtol * abs(numeric):
                note = _kink_note(fn, inputs, weights, tensor, direction, eps, numeric)
                raise GradcheckError(
                    f"gradcheck: gradient of input {k} (shape {tensor.shape}) is wrong at "
                    f"{where}:\n  analytic {exact:.8g}\n  numeric  {numeric:.8g}\n  "
                    f"difference {abs(exact - numeric):.3g} > atol {atol} + rtol {rtol} * "
                    f"|numeric|{note}")
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, **options):
    """Check second derivatives: the gradients that backward builds with create_graph=True are
    themselves differentiated and compared with central differences.

    >>> x = cr.tensor([0.5, 1.5], dtype='float64', requires_grad=True)
    >>> cr.gradgradcheck(lambda x: x.exp() * x, [x])
    True
    """
    rng = xp.random.default_rng(seed + 1)
    inputs = _prepare(list(inputs))
    weights = _weights(fn, inputs, rng)
    mask = [t.requires_grad for t in inputs]
    probes = [Tensor._wrap(rng.standard_normal(t.shape)) for t in inputs if t.requires_grad]

    @enable_grad()  # the numerical side evaluates this under no_grad, but it needs a graph
    def first_derivative(*xs):
        wanted = [x.detach().requires_grad_() if not x.requires_grad else x
                  for x, m in zip(xs, mask) if m]
        xs = list(xs)
        for position, x in zip([i for i, m in enumerate(mask) if m], wanted):
            xs[position] = x
        grads = autograd_grad(_scalar(fn, xs, weights), wanted, create_graph=True,
                              allow_unused=True)
        total = Tensor._wrap(xp.zeros(()))
        for g, p in zip(grads, probes):
            if g is not None:
                total = total + (g * p).sum()
        return total

    return gradcheck(first_derivative, inputs, eps=eps, atol=atol, rtol=rtol, seed=seed, **options)
