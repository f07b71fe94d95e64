"""set_grad_enabled and inference_mode against PyTorch's: the same block of code, run with
``M`` as chainrule or torch, records (or not) the same graphs and reports the same modes."""
import numpy as np
import pytest

import chainrule as cr


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def restore_modes():
    yield
    cr.set_grad_enabled(True)
    assert not cr.is_inference_mode_enabled()


def leaf(M):
    return M.tensor(np.array([1.0, 2.0]), requires_grad=True)


def states(M, block):
    """What ``block(M, w)`` reports: a list of (requires_grad of w * 2, is_grad_enabled)."""
    w = leaf(M)
    seen = []

    def probe():
        seen.append(((w * 2).requires_grad, M.is_grad_enabled()))
    block(M, probe)
    probe()
    return seen


def both(torch, block):
    ours, theirs = states(cr, block), states(torch, block)
    assert ours == theirs
    return ours


def test_set_grad_enabled_as_a_context_manager(torch):
    def block(M, probe):
        with M.set_grad_enabled(False):
            probe()
            with M.set_grad_enabled(True):
                probe()
            probe()
    assert both(torch, block) == [(False, False), (True, True), (False, False), (True, True)]


def test_set_grad_enabled_as_a_plain_call_stays_until_changed(torch):
    def block(M, probe):
        M.set_grad_enabled(False)
        probe()
        with M.no_grad():
            probe()
        probe()
        M.set_grad_enabled(True)
    assert both(torch, block) == [(False, False)] * 3 + [(True, True)]


def test_set_grad_enabled_as_a_decorator_changes_nothing_until_called(torch):
    def block(M, probe):
        @M.set_grad_enabled(False)
        def predict():
            probe()
        probe()  # after decorating, before calling
        predict()
        probe()
    assert both(torch, block) == [(True, True), (False, False), (True, True), (True, True)]


def test_set_grad_enabled_restores_after_an_exception(torch):
    for M in (cr, torch):
        with pytest.raises(KeyError):
            with M.set_grad_enabled(False):
                raise KeyError("inside")
        assert M.is_grad_enabled()


def test_set_grad_enabled_wants_a_bool(torch):
    for value in (1, None, "no"):
        with pytest.raises(TypeError):
            torch.set_grad_enabled(value)
        with pytest.raises(TypeError, match="must be a bool"):
            cr.set_grad_enabled(value)
    assert cr.is_grad_enabled()


def test_inference_mode_as_a_context_manager_and_its_flag(torch):
    def block(M, probe):
        with M.inference_mode():
            probe()
            assert M.is_inference_mode_enabled()
            with M.inference_mode(False):  # PyTorch: records again
                probe()
                assert not M.is_inference_mode_enabled()
            probe()
        assert not M.is_inference_mode_enabled()
    assert both(torch, block) == [(False, False), (True, True), (False, False), (True, True)]


def test_inference_mode_false_inside_no_grad_turns_recording_on(torch):
    def block(M, probe):
        with M.no_grad():
            with M.inference_mode(mode=False):
                probe()
            probe()
    assert both(torch, block) == [(True, True), (False, False), (True, True)]


def test_inference_mode_as_a_decorator_with_and_without_parentheses(torch):
    def block(M, probe):
        @M.inference_mode()
        def called():
            probe()

        @M.inference_mode
        def bare():
            probe()

        @M.inference_mode(False)
        def off():
            probe()
        called()
        bare()
        off()
    assert both(torch, block) == [(False, False), (False, False), (True, True), (True, True)]


def test_inference_mode_restores_after_an_exception(torch):
    for M in (cr, torch):
        with pytest.raises(KeyError):
            with M.inference_mode():
                raise KeyError("inside")
        assert M.is_grad_enabled() and not M.is_inference_mode_enabled()


def test_values_computed_in_inference_mode_match(torch):
    values = []
    for M in (cr, torch):
        w = leaf(M)
        with M.inference_mode():
            values.append((w.exp() * 3).numpy())
    np.testing.assert_allclose(values[0], values[1])


def test_the_autograd_namespace_has_the_switches():
    for name in ("set_grad_enabled", "inference_mode", "is_inference_mode_enabled", "no_grad",
                 "enable_grad", "grad", "gradcheck", "gradgradcheck", "Function"):
        assert getattr(cr.autograd, name) is not None
    assert cr.autograd.set_grad_enabled is cr.set_grad_enabled


def test_second_grad_of_a_constant_gradient_says_why_it_has_none():
    # relu's gradient is 0 or 1, a constant: differentiating it again has nothing to follow.
    # PyTorch answers zeros for relu; chainrule raises, saying why (no wrong number either way).
    x = cr.tensor([-1.0, 2.0], requires_grad=True)
    (g,) = cr.autograd.grad(cr.relu(x).sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.numpy(), [0.0, 1.0])
    with pytest.raises(cr.errors.GradientError, match="piecewise-linear"):
        cr.autograd.grad(g.sum(), x)
