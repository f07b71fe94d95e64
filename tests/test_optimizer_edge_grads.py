"""Every optimizer against PyTorch at the gradients' edges: a zero, infinite, NaN or tiny
(1e-300, whose products underflow) gradient, a gradient that is None every other step, beside
an empty parameter and a second one with ordinary gradients; with the options that change the
update (weight decay, maximize, momentum, amsgrad, eps = 0 ...), in float64 and float32."""
import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

W0 = np.random.default_rng(0).standard_normal((3, 4))
STEPS = [np.random.default_rng(i).standard_normal((3, 4)) for i in range(4)]
FIFTH = np.arange(12).reshape(3, 4) == 5

GRADIENTS = {
    "zeros": lambda i: np.zeros((3, 4)),
    "none-every-other-step": lambda i: None if i % 2 == 0 else STEPS[i],
    "inf": lambda i: np.where(FIFTH, np.inf, STEPS[i]),
    "nan": lambda i: np.where(FIFTH, np.nan, STEPS[i]),
    "tiny": lambda i: STEPS[i] * 1e-300,
}

OPTIONS = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.5, dampening=0.3, maximize=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.01, betas=(0.0, 0.0), eps=0.0)),
    ("AdamW", dict(lr=0.01, weight_decay=0.5, amsgrad=True)),
    ("Adamax", dict(lr=0.01, eps=0.0, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, momentum_decay=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, decoupled_weight_decay=True, weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, decoupled_weight_decay=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.9, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, alpha=0.0, eps=0.0)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("Adadelta", dict(lr=1.0, rho=0.5, weight_decay=0.1)),
    ("Rprop", dict(lr=0.01, etas=(0.3, 1.5), step_sizes=(1e-3, 0.1))),
    ("Rprop", dict(lr=0.01, maximize=True)),
    ("ASGD", dict(lr=0.01, t0=1, lambd=0.1, weight_decay=0.1)),
]


def _train(M, name, options, gradient, dtype):
    params = [M.nn.Parameter(M.tensor(W0.astype(dtype))),
              M.nn.Parameter(M.tensor(np.zeros((0, 2), dtype))),
              M.nn.Parameter(M.tensor(W0[0].astype(dtype)))]
    optimizer = getattr(M.optim, name)(params, **options)
    for i in range(len(STEPS)):
        optimizer.zero_grad()
        g = gradient(i)
        params[0].grad = None if g is None else M.tensor(g.astype(dtype))
        params[1].grad = M.tensor(np.zeros((0, 2), dtype))
        params[2].grad = M.tensor((W0[1] * (i + 1)).astype(dtype))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's, on inf and NaN
            optimizer.step()
    return [p.detach().numpy() for p in params]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("gradient", GRADIENTS, ids=str)
@pytest.mark.parametrize("name, options", OPTIONS,
                         ids=[f"{n}-{'-'.join(o)}" for n, o in OPTIONS])
def test_the_weights_after_four_steps_are_pytorchs(name, options, gradient, dtype):
    ours = _train(cr, name, options, GRADIENTS[gradient], dtype)
    theirs = _train(torch, name, options, GRADIENTS[gradient], dtype)
    tolerance = 1e-12 if dtype == "float64" else 1e-5
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=tolerance, atol=tolerance)
