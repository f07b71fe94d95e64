"""PyTorch's in-place activation functions F.relu_, elu_, leaky_relu_, hardtanh_, threshold_,
selu_, celu_ and rrelu_, run through the checks of tests/torch_cases.py's table
(test_torch_ops.py): each writes into a non-leaf tensor (or a view of one) inside a graph, and
the values, dtypes and every leaf's gradient must be PyTorch's on float64 and float32, and
central differences' to first and second order. Refusals (a leaf that requires grad, a graph
that saved the overwritten values) are compared with PyTorch's below."""
import numpy as np
import pytest

import chainrule as cr
from torch_cases import N_EDGES, Case, E, F, K


def _into(M, name, x, *args, view=None):
    """``F.<name>(y, *args)`` on y = x * 1 (or on ``view(y)``), checked to return the tensor
    written into; the result is y, which must show the change."""
    y = x * 1
    target = y if view is None else view(y)
    if getattr(M.nn.functional, name)(target, *args) is not target:
        raise AssertionError(f"{name} did not return its input")
    return y


INPLACE = {"relu_": (), "elu_": (0.7,), "leaky_relu_": (0.2,), "hardtanh_": (-0.5, 1.0),
           "threshold_": (0.3, -2.0), "selu_": (), "celu_": (1.5,), "rrelu_": (0.1, 0.3)}
CASES = []
for _name, _args in INPLACE.items():
    CASES += [
        Case(_name, lambda M, x, n=_name, a=_args: _into(M, n, x, *a), [F(3, 4, low=-3, high=3)]),
        Case(_name, lambda M, x, n=_name: _into(M, n, x), [F(5, low=-3, high=3)])
        if _name != "threshold_" else
        Case(_name, lambda M, x: _into(M, "threshold_", x, 0.0, 0.5), [F(5)]),
        # through a view: the base sees the change; fan-out: x also used beside it
        Case(_name, lambda M, x, n=_name, a=_args: _into(M, n, x, *a, view=lambda y: y[1:, ::2])
             * x, [F(3, 4, low=-3, high=3)]),
        Case(_name, lambda M, x, n=_name, a=_args: _into(M, n, x, *a, view=lambda y: y.t()),
             [F(2, 3, low=-3, high=3)]),
        Case(_name, lambda M, x, n=_name, a=_args: _into(M, n, x, *a), [F(0, 3)]),
        Case(_name, lambda M, x, n=_name, a=_args: _into(M, n, x, *a), [E(N_EDGES)],
             zero_signs=False),
    ]
CASES += [
    # rrelu_ in training with lower = upper: no randomness left
    Case("rrelu_", lambda M, x: _into(M, "rrelu_", x, 0.2, 0.2, True), [F(3, 4)]),
    # integers, which relu_ and threshold_ accept in PyTorch
    Case("relu_", lambda M, x: M.nn.functional.relu_(x * 1), [K([-2, 0, 3])]),
    Case("threshold_", lambda M, x: M.nn.functional.threshold_(x * 1, 1, 7), [K([-2, 1, 3])]),
]
for _i, _case in enumerate(CASES):
    _case.id = f"{_case.name}-{_i}"

torch = pytest.importorskip("torch")
import test_torch_ops as checks  # noqa: E402  (imports torch)


SMOOTH = [c for c in CASES if not c.edges]

test_matches_pytorch, test_gradient_matches_central_differences, \
    test_second_derivative_matches_central_differences = checks.table_tests(
        CASES, SMOOTH, runs=CASES)


# -- what the table cannot say ----------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(INPLACE))
def test_a_leaf_that_requires_grad_is_refused_as_in_pytorch(name):
    with pytest.raises(RuntimeError, match="leaf"):
        getattr(torch.nn.functional, name)(torch.ones(2, requires_grad=True), *INPLACE[name])
    with pytest.raises(cr.GradientError, match=f"leaf tensor .*{name}"):
        getattr(cr.nn.functional, name)(cr.ones(2, requires_grad=True), *INPLACE[name])
    with cr.no_grad():  # a parameter update, outside the graph, is allowed
        w = cr.ones(2, requires_grad=True)
        assert getattr(cr.nn.functional, name)(w, *INPLACE[name]) is w


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_overwriting_values_a_graph_saved_is_refused_as_in_pytorch(name):
    def run(M, error):
        x = M.tensor([[-1.5, 2.0], [0.5, -0.25]], requires_grad=True)
        y = x * 1
        z = y * y  # saves y
        before = y._version
        getattr(M.nn.functional, name)(y, *INPLACE[name])
        assert y._version > before
        with pytest.raises(error):
            z.sum().backward()
    run(torch, RuntimeError)
    run(cr, cr.GradientError)


def test_outside_a_graph_it_is_a_plain_update():
    x = cr.tensor([-1.0, 0.5, 3.0])
    cr.nn.functional.hardtanh_(x, 0.0, 2.0)
    np.testing.assert_array_equal(x.numpy(), [0.0, 0.5, 2.0])
    cr.nn.functional.rrelu_(x, 0.2, 0.2, True)
    np.testing.assert_array_equal(x.numpy(), [0.0, 0.5, 2.0])
    y = cr.tensor([-4.0, 1.0])
    cr.nn.functional.rrelu_(y, 0.1, 0.3, training=True)
    assert -1.2 <= float(y[0]) <= -0.4 and float(y[1]) == 1.0
