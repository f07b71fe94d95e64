"""cr.autograd.Function against torch.autograd.Function: the same class body, written once with
``M`` (chainrule or torch), gives the same values, gradients and refusals."""
import gc
import weakref

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import GradientError, ShapeError


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def cube(M):
    class Cube(M.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            x, = ctx.saved_tensors
            return grad * 3 * x ** 2
    return Cube


def scale(M):
    """Non-tensor arguments, one by keyword, one left to its default; records needs_input_grad
    as PyTorch gives it."""
    class Scale(M.autograd.Function):
        seen = []

        @staticmethod
        def forward(ctx, x, k, y, shift=0.0, power=1):
            ctx.k = k
            ctx.save_for_backward(y)
            Scale.seen.append(tuple(ctx.needs_input_grad))
            return x * k * y ** power + shift

        @staticmethod
        def backward(ctx, grad):
            y, = ctx.saved_tensors
            return grad * ctx.k * y, None, None, None, None  # y's gradient left out on purpose
    return Scale


def split(M):
    """Two outputs carrying gradients and one marked non-differentiable."""
    class Split(M.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            doubled, exp = x * 2, x.exp()
            sign = (x > 0).to(x.dtype) if M is not cr else (x > 0).astype(x.dtype)
            ctx.mark_non_differentiable(sign)
            ctx.save_for_backward(exp)
            return doubled, exp, sign

        @staticmethod
        def backward(ctx, g_doubled, g_exp, g_sign):
            exp, = ctx.saved_tensors
            return g_doubled * 2 + g_exp * exp
    return Split


def pair(M, data, dtype="float64"):
    if M is cr:
        return cr.tensor(np.array(data, dtype=dtype), requires_grad=True)
    import torch
    return torch.tensor(np.array(data, dtype=dtype), requires_grad=True)


def grad_of(t):
    return None if t.grad is None else t.grad.detach().numpy()


X = [[0.5, -1.0, 2.0], [0.0, 1.5, -0.25]]


def test_values_and_gradients_match_pytorch_with_fan_out(torch):
    results = []
    for M in (cr, torch):
        Cube = cube(M)
        x = pair(M, X)
        y = Cube.apply(x)
        loss = (y + Cube.apply(x) * y).sum() + (x * y).sum()  # the Function used twice
        loss.backward()
        results.append((y.detach().numpy(), grad_of(x)))
    np.testing.assert_allclose(results[0][0], results[1][0])
    np.testing.assert_allclose(results[0][1], results[1][1])


def test_central_differences_and_second_order():
    Cube = cube(cr)
    x = pair(cr, X)
    assert cr.gradcheck(Cube.apply, [x])
    assert cr.gradgradcheck(Cube.apply, [x])


def test_create_graph_through_a_function_matches_pytorch(torch):
    results = []
    for M in (cr, torch):
        Cube = cube(M)
        x = pair(M, X)
        g, = M.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
        (g * g).sum().backward()
        results.append((g.detach().numpy(), grad_of(x)))
    np.testing.assert_allclose(results[0][0], results[1][0])
    np.testing.assert_allclose(results[0][1], results[1][1])


def test_non_tensor_arguments_needs_input_grad_and_a_none_gradient(torch):
    results = []
    for M in (cr, torch):
        Scale = scale(M)
        x, y = pair(M, X), pair(M, X)
        out = Scale.apply(x, 3.0, y, shift=1.0)
        out.sum().backward()
        results.append((out.detach().numpy(), grad_of(x), grad_of(y), Scale.seen[-1]))
    np.testing.assert_allclose(results[0][0], results[1][0])
    np.testing.assert_allclose(results[0][1], results[1][1])
    assert results[0][2] is None and results[1][2] is None  # backward returned None for y
    assert results[0][3] == results[1][3] == (True, False, True, False)


def test_several_outputs_unused_ones_and_non_differentiable_ones(torch):
    results = []
    for M in (cr, torch):
        Split = split(M)
        x = pair(M, X)
        doubled, exp, sign = Split.apply(x)
        (doubled * exp).sum().backward(retain_graph=True)
        first = grad_of(x)
        x.grad = None
        exp.sum().backward()  # doubled gets no gradient: zeros, as PyTorch's materialized ones
        results.append((first, grad_of(x), sign.requires_grad, doubled.requires_grad,
                        sign.detach().numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0])
    np.testing.assert_allclose(results[0][1], results[1][1])
    assert results[0][2:4] == results[1][2:4] == (False, True)
    np.testing.assert_array_equal(results[0][4], results[1][4])


def test_several_outputs_second_order():
    Split = split(cr)
    x = pair(cr, X)
    assert cr.gradcheck(lambda x: Split.apply(x)[1] * Split.apply(x)[0], [x])
    assert cr.gradgradcheck(lambda x: Split.apply(x)[1] * Split.apply(x)[0], [x])


def test_a_gradient_in_the_broadcast_shape_is_reduced_and_cast(torch):
    def wide(M):
        class Wide(M.autograd.Function):
            @staticmethod
            def forward(ctx, b):
                return b * 1.0

            @staticmethod
            def backward(ctx, grad):
                ones = M.ones((4, 3), dtype=M.float64)
                return ones * 2  # (4, 3) for an input of (3,), in float64 for a float32 input
        return Wide
    grads = []
    for M in (cr, torch):
        b = pair(M, [1.0, 2.0, 3.0], dtype="float32")
        wide(M).apply(b).sum().backward()
        grads.append(b.grad)
    assert str(grads[0].dtype) == str(grads[1].dtype).replace("torch.", "")
    np.testing.assert_allclose(grads[0].numpy(), grads[1].numpy())


def wrong_shape(M):
    class WrongShape(M.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad[:1]
    return WrongShape


def test_a_gradient_of_the_wrong_shape_is_refused_naming_the_function(torch):
    with pytest.raises(RuntimeError):
        wrong_shape(torch).apply(pair(torch, [1.0, 2.0])).sum().backward()
    with pytest.raises(ShapeError, match=r"WrongShape.*\(1,\).*\(2,\)"):
        wrong_shape(cr).apply(pair(cr, [1.0, 2.0])).sum().backward()


def test_too_few_gradients_is_refused(torch):
    def short(M):
        class Short(M.autograd.Function):
            @staticmethod
            def forward(ctx, x, y):
                return x * y

            @staticmethod
            def backward(ctx, grad):
                return grad
        return Short
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        short(torch).apply(pair(torch, [1.0]), pair(torch, [2.0])).sum().backward()
    with pytest.raises(GradientError, match="Short.backward returned 1 gradient"):
        short(cr).apply(pair(cr, [1.0]), pair(cr, [2.0])).sum().backward()


def test_a_gradient_that_is_not_a_tensor_is_refused():
    class Raw(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad.numpy() * 2
    with pytest.raises(TypeError, match="Raw.backward returned a ndarray"):
        Raw.apply(pair(cr, [1.0])).sum().backward()


def test_saved_input_changed_in_place_is_refused(torch):
    for M, error in ((torch, RuntimeError), (cr, GradientError)):
        x = pair(M, [1.0, 2.0])
        h = x * 1.0
        y = cube(M).apply(h)
        with M.no_grad():
            h += 1
        with pytest.raises(error):
            y.sum().backward()


def test_second_backward_needs_retain_graph():
    x = pair(cr, [1.0, 2.0])
    y = cube(cr).apply(x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * 3 * np.array([1.0, 4.0]))
    with pytest.raises(GradientError, match="second time"):
        y.backward()


def test_returning_an_input_leaves_the_input_a_leaf(torch):
    def identity(M):
        class Identity(M.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x

            @staticmethod
            def backward(ctx, grad):
                return grad * 5
        return Identity
    grads = []
    for M in (cr, torch):
        x = pair(M, [1.0, 2.0])
        y = identity(M).apply(x)
        assert x.is_leaf and y.requires_grad
        (y * y).sum().backward()
        grads.append(grad_of(x))
    np.testing.assert_allclose(grads[0], grads[1])


def test_no_graph_under_no_grad_and_saved_tensors_only_in_backward(torch):
    for M in (cr, torch):
        with M.no_grad():
            y = cube(M).apply(pair(M, [1.0]))
        assert not y.requires_grad
    ctx = cr.autograd.FunctionCtx((True,))
    with pytest.raises(GradientError, match="only be read inside backward"):
        ctx.saved_tensors
    with pytest.raises(TypeError, match="can only save tensors"):
        ctx.save_for_backward(np.ones(2))


def test_the_graph_of_a_function_is_freed_with_its_output():
    x = pair(cr, [1.0, 2.0])
    y = cube(cr).apply(x * 2)
    node = weakref.ref(y.node)
    del y
    gc.collect()
    assert node() is None


def test_keyword_only_arguments_are_refused(torch):
    def keyword(M):
        class Keyword(M.autograd.Function):
            @staticmethod
            def forward(ctx, x, *, k):
                return x * k

            @staticmethod
            def backward(ctx, grad):
                return grad
        return Keyword
    with pytest.raises(TypeError):
        keyword(torch).apply(pair(torch, [1.0]), k=2.0)
    with pytest.raises(TypeError, match="keyword-only"):
        keyword(cr).apply(pair(cr, [1.0]), k=2.0)
    with pytest.raises(TypeError):
        scale(torch).apply(pair(torch, [1.0]), 2.0, pair(torch, [1.0]), power=2)
    with pytest.raises(TypeError, match="power"):
        scale(cr).apply(pair(cr, [1.0]), 2.0, pair(cr, [1.0]), power=2)


def test_forward_and_backward_must_be_defined():
    class Empty(cr.autograd.Function):
        pass
    with pytest.raises(NotImplementedError, match="forward"):
        Empty.apply(pair(cr, [1.0]))
