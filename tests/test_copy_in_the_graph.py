"""copy_ and zero_ inside the graph, against PyTorch: the copy is recorded, so the gradient
goes to the source and none to the values replaced. Both used to write outside the graph: the
tensor kept its old node, so y = 2x; y.zero_(); (y * x).sum() gave x the gradient 2x where
PyTorch gives 0, and y.copy_(z) sent z's gradient to x. On a leaf that requires grad they are
refused, as in PyTorch; under no_grad (and for buffers) they write as before."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

PROGRAMS = {
    "copy_ from another branch": "y = x * 2\nz = x * x\ny.copy_(z)\nout = (y * 3).sum()",
    "zero_ then used": "y = x * 2\ny.zero_()\nout = (y * x).sum()",
    "copy_ broadcast": "y = x * 2\ny.copy_(x[:1] * 5)\nout = (y * y).sum()",
    "copy_ into float64": "y = (x * 2).double()\ny.copy_(x)\nout = (y * y * x).sum()",
    "copy_ into float32 from float64": "y = x * 2\ny.copy_(x.double() ** 2)\nout = (y * x).sum()",
    "copy_ a number": "y = x * 2\ny.copy_(lib.tensor(4.0))\nout = (y * x).sum()",
    "copy_ from an array": "y = x * 2\ny.copy_(lib.tensor(np.array([0.5, 0.25])))\nout = (y * x).sum()",
    "copy_ into a tensor without grad": "y = lib.zeros(2)\ny.copy_(x * 3)\nout = (y * y).sum()",
    "copy_ into an integer tensor": "y = lib.zeros(2, dtype=lib.int64)\ny.copy_(x * 3)\n"
                                    "out = (y * x).sum()",
    "zero_ without grad then copy_": "y = lib.ones(2)\ny.zero_()\ny.copy_(x)\nout = (y * x).sum()",
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gradients_are_pytorchs(name, dtype):
    results = []
    for lib in (torch, cr):
        x = lib.tensor(np.array([1.5, -2.0], dtype=dtype), requires_grad=True)
        env = {"x": x, "lib": lib, "np": np}
        exec(PROGRAMS[name], env)
        env["out"].backward()
        results.append((env["out"].item(), np.array(x.grad.tolist()),
                        str(env["y"].dtype).replace("torch.", ""),
                        bool(env["y"].requires_grad)))
    assert results[1][0] == pytest.approx(results[0][0], rel=1e-6)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-6)
    assert results[1][2:] == results[0][2:]


@pytest.mark.parametrize("change", ["copy_", "zero_"])
def test_a_leaf_that_requires_grad_is_refused_and_under_no_grad_written(change):
    def apply(w, lib):
        return w.copy_(lib.tensor([5.0, 6.0])) if change == "copy_" else w.zero_()
    for lib in (torch, cr):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError if lib is torch else cr.GradientError, match="leaf"):
            apply(w, lib)
        assert w.tolist() == [1.0, 2.0]
        with lib.no_grad():
            apply(w, lib)
        assert w.tolist() == ([5.0, 6.0] if change == "copy_" else [0.0, 0.0])


def test_load_state_dict_still_writes_parameters_with_grad_mode_on():
    model = cr.nn.Linear(2, 1)
    state = {"weight": np.array([[3.0, 4.0]], dtype=np.float32), "bias": np.zeros(1, np.float32)}
    model.load_state_dict(state)
    np.testing.assert_array_equal(model.weight.detach().numpy(), state["weight"])
    assert model.weight.is_leaf and model.weight.requires_grad
