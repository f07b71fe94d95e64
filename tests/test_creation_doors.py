"""Creation doors against PyTorch: ``logspace``; ``as_tensor`` of a tensor that requires grad
with another dtype stays in the graph (it was a detached copy, so no gradient reached the
tensor); a single-element integer or bool tensor of any shape is an index (``__index__``)."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("start, end, steps, base", [
    (0, 2, 3, 10.0), (0, 1, 4, 2), (-5, 5, 11, 10.0), (0.1, 3.3, 7, 10.0), (1, 1, 1, 10.0),
    (0, 1, 0, 10.0), (2, -2, 5, 3.0), (0, 3, 4, 0.5)])
@pytest.mark.parametrize("dtype", [None, "float64", "int64"])
def test_logspace_is_pytorchs(start, end, steps, base, dtype):
    ours = cr.logspace(start, end, steps, base, dtype=dtype)
    theirs = torch.logspace(start, end, steps, base,
                            dtype=None if dtype is None else getattr(torch, dtype))
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    tolerance = dict(rtol=3e-7) if dtype is None else dict(rtol=1e-14)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), **tolerance)


def test_logspace_refuses_what_pytorch_refuses():
    with pytest.raises(ValueError):
        cr.logspace(0, 1, -1)
    with pytest.raises(cr.DtypeError):
        cr.logspace(0, 1, 3, dtype=cr.bool)


@pytest.mark.parametrize("dtype", ["float64", "float16", "float32"])
def test_as_tensor_of_a_tensor_in_the_graph_keeps_the_gradient_path(dtype):
    grads = []
    for lib in (torch, cr):
        t = lib.tensor([1.5, -2.0], requires_grad=True)
        y = lib.as_tensor(t, dtype=getattr(lib, dtype))
        assert y.requires_grad and str(y.dtype).replace("torch.", "") == dtype
        (y * y * 3).sum().backward()
        grads.append(np.array(t.grad.tolist()))
    np.testing.assert_array_equal(grads[1], grads[0])
    t = cr.tensor([1.0])
    assert cr.as_tensor(t) is t and cr.as_tensor(t, dtype=cr.float32) is t


@pytest.mark.parametrize("index", [[3], [[1]], True, False, 2, [[[0]]]])
def test_a_single_element_integer_tensor_is_an_index(index):
    items = [10, 20, 30, 40]
    assert items[cr.tensor(index)] == items[torch.tensor(index)]


@pytest.mark.parametrize("index", [[2, 3], 1.0, [], [[1.0]]])
def test_other_tensors_are_not_an_index(index):
    for lib in (torch, cr):
        with pytest.raises(TypeError):
            [10, 20, 30][lib.tensor(index)]


@pytest.mark.parametrize("parts, dim", [
    ((("empty", "float32"), ((2, 3), "int64")), 0), ((((2, 3), "float32"), ("empty", "float32")), 0),
    ((("empty", "float32"), ((2, 3), "float32")), 1), ((("empty", "float64"), ((2, 3), "float32"),
                                                      ("empty", "float32"), ((1, 3), "float32")), 0),
    ((("empty", "float32"), ("empty", "float32")), 0), ((("empty", "int64"), ((3,), "int64")), 0)])
def test_cat_leaves_out_1d_empty_tensors_as_pytorch(parts, dim):
    def make(lib):
        return [lib.zeros(0, dtype=getattr(lib, dtype)) if shape == "empty" else
                lib.arange(float(np.prod(shape))).reshape(shape).to(getattr(lib, dtype))
                for shape, dtype in parts]
    ours, theirs = cr.cat(make(cr), dim), torch.cat(make(torch), dim)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_cat_with_a_1d_empty_tensor_sends_the_gradient_to_the_others():
    grads = []
    for lib in (torch, cr):
        x = lib.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
        out = lib.cat([lib.tensor([]), x * 2, lib.tensor([])])
        (out * out).sum().backward()
        grads.append(np.array(x.grad.tolist()))
    np.testing.assert_array_equal(grads[1], grads[0])


def test_cat_keeps_a_1d_empty_tensor_that_requires_grad_in_the_graph():
    results = []
    for lib in (torch, cr):
        empty = lib.tensor(np.zeros(0), requires_grad=True)
        x = lib.tensor(np.ones((2, 3), np.float32), requires_grad=True)
        out = lib.cat([x, empty])
        out.sum().backward()
        results.append((out.requires_grad, str(out.dtype).replace("torch.", ""),
                        tuple(empty.grad.shape), tuple(x.grad.shape)))
    assert results[1] == results[0]
