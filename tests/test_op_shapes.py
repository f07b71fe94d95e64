"""Every elementwise op and composite on several shapes: a 0-d tensor, a vector, a 3-d tensor
and a zero-size dimension (unary), and broadcasting pairs (binary): forward against NumPy and
gradients against float64 central differences."""
import numpy as np
import pytest

import chainrule as cr

UNARY_SHAPES = [(), (5,), (2, 3, 4), (0, 3)]
BINARY_SHAPES = [((3, 4), (4,)), ((), (2, 3)), ((2, 1, 3), (4, 1)), ((0, 3), (1, 3))]

# name: (chainrule function, NumPy reference, low, high); inputs are drawn from [low, high]
# and kept away from kinks (0) where the op has one.
UNARY = {
    "neg": (lambda a: -a, np.negative, -2, 2),
    "exp": (cr.exp, np.exp, -2, 2),
    "log": (cr.log, np.log, 0.2, 3),
    "sqrt": (cr.sqrt, np.sqrt, 0.2, 3),
    "abs": (cr.abs, np.abs, 0.2, 3),
    "tanh": (cr.tanh, np.tanh, -2, 2),
    "relu": (cr.relu, lambda a: np.maximum(a, 0), 0.2, 3),
    "pow": (lambda a: a ** 2.5, lambda a: a ** 2.5, 0.2, 3),
    "clip": (lambda a: a.clip(-1.0, 1.0), lambda a: np.clip(a, -1, 1), -0.9, 0.9),
    "sigmoid": (cr.sigmoid, lambda a: 1 / (1 + np.exp(-a)), -3, 3),
    "leaky_relu": (lambda a: cr.leaky_relu(a, 0.1), lambda a: np.where(a > 0, a, 0.1 * a), 0.2, 3),
    "softplus": (cr.softplus, lambda a: np.log1p(np.exp(a)), -3, 3),
    "sum": (lambda a: a.sum(), np.sum, -2, 2),
    "mean": (lambda a: a.mean(axis=-1) if a.ndim else a.mean(), None, -2, 2),
    "softmax": (lambda a: cr.softmax(a, axis=-1), None, -2, 2),
    "log_softmax": (lambda a: cr.log_softmax(a, axis=-1), None, -2, 2),
    "logsumexp": (lambda a: cr.logsumexp(a, axis=-1), None, -2, 2),
    "var": (lambda a: a.var(axis=-1), None, -2, 2),
}

BINARY = {
    "add": (lambda a, b: a + b, np.add, -2, 2),
    "sub": (lambda a, b: a - b, np.subtract, -2, 2),
    "mul": (lambda a, b: a * b, np.multiply, -2, 2),
    "div": (lambda a, b: a / b, np.divide, 0.5, 2),
    "pow": (lambda a, b: a ** b, np.power, 0.5, 2),
    "maximum": (cr.maximum, np.maximum, -2, 2),
    "minimum": (cr.minimum, np.minimum, -2, 2),
    "where": (lambda a, b: cr.where(a > 0, a, b), lambda a, b: np.where(a > 0, a, b), -2, 2),
}


def _draw(rng, shape, low, high):
    return cr.tensor(rng.uniform(low, high, size=shape), requires_grad=True)


def _applicable(name, shape):
    # reductions over the last axis need one; softmax over an empty axis has no value
    needs_axis = name in ("softmax", "log_softmax", "logsumexp", "var")
    return not (needs_axis and (len(shape) == 0 or 0 in shape))


@pytest.mark.parametrize("name, shape", [(name, shape) for name in sorted(UNARY)
                                         for shape in UNARY_SHAPES if _applicable(name, shape)],
                         ids=str)
def test_unary_ops_on_every_shape(name, shape):
    fn, reference, low, high = UNARY[name]
    x = _draw(np.random.default_rng(0), shape, low, high)
    out = fn(x)
    if reference is not None:
        np.testing.assert_allclose(out.detach().numpy(), reference(x.detach().numpy()), rtol=1e-12, atol=1e-12)
    assert cr.gradcheck(fn, [x])


@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_ops_broadcast_on_every_shape(name, shapes):
    fn, reference, low, high = BINARY[name]
    rng = np.random.default_rng(1)
    a, b = (_draw(rng, shape, low, high) for shape in shapes)
    np.testing.assert_allclose(fn(a, b).detach().numpy(), reference(a.detach().numpy(), b.detach().numpy()), rtol=1e-12, atol=1e-12)
    assert cr.gradcheck(fn, [a, b])
    assert fn(a, b).shape == np.broadcast_shapes(*shapes)
