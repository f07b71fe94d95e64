"""The core contract (docs/semantics.md): every case once found giving a silently wrong number
now gives PyTorch's answer or a clear error. Expected values are worked out by hand from the
math (d/dx tanh = 1 - tanh^2, ...), or computed by PyTorch where it is installed."""
import numpy as np
import pytest

import chainrule as cr


def leaf(values, dtype="float32"):
    return cr.tensor(np.array(values, dtype=dtype), requires_grad=True)


# -- 2. NumPy functions on tensors keep the graph ------------------------------------------

def test_numpy_tanh_beside_the_tensor_sums_both_paths():
    x = leaf([0.5, -1.0])
    (np.tanh(x) + x).sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), 1 - np.tanh([0.5, -1.0]) ** 2 + 1, rtol=1e-6)


def test_numpy_maximum_times_x_gets_the_whole_gradient():
    x = leaf([2.0, -3.0])
    (np.maximum(x, 0) * x).sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [4.0, 0.0])  # d(relu(x) x)/dx = 2x for x > 0


def test_numpy_reductions_accept_numpys_keywords():
    x = leaf([[1.0, 2.0], [3.0, 5.0]])
    assert np.sum(x).item() == 11.0 and np.mean(x, axis=0).tolist() == [2.0, 3.5]
    assert np.var(x).item() == pytest.approx(np.var([1, 2, 3, 5]))  # NumPy's function: ddof=0
    assert isinstance(np.linalg.norm(x), cr.Tensor)


def test_an_array_of_a_tensor_that_requires_grad_is_refused_with_the_fix():
    x = leaf([1.0])
    for leave in (np.asarray, np.array, cr.Tensor.numpy):
        with pytest.raises(cr.GradientError, match=r"detach\(\)\.numpy\(\)"):
            leave(x)
    assert np.asarray(x.detach()).tolist() == [1.0]


def test_numpy_function_without_a_counterpart_names_itself():
    with pytest.raises(TypeError, match="numpy.fft.fft"):
        np.fft.fft(leaf([1.0, 2.0]))


# -- 3. In-place updates that do nothing ----------------------------------------------------

def test_d2l_sgd_outside_no_grad_raises_as_pytorch_does():
    model = cr.nn.Linear(3, 2)
    model(cr.tensor(np.ones((4, 3), np.float32))).sum().backward()
    with pytest.raises(cr.GradientError, match="no_grad"):
        for p in model.parameters():
            p -= 0.1 * p.grad


def test_d2l_sgd_inside_no_grad_changes_the_parameters():
    model = cr.nn.Linear(3, 2)
    before = model.weight.detach().numpy().copy()
    model(cr.tensor(np.ones((4, 3), np.float32))).sum().backward()
    with cr.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    np.testing.assert_allclose(model.weight.detach().numpy(), before - 0.1 * 4.0, rtol=1e-6)


def test_update_through_data_changes_the_parameter_and_state_dict_sees_it():
    model = cr.nn.Linear(3, 2)
    before = model.weight.detach().numpy().copy()
    model(cr.tensor(np.ones((4, 3), np.float32))).sum().backward()
    for p in model.parameters():
        p.data -= 0.1 * p.grad
    assert isinstance(model.weight.data, cr.Tensor)
    np.testing.assert_allclose(model.state_dict()["weight"].numpy(), before - 0.4, rtol=1e-6)


# -- 4. PyTorch names with PyTorch meanings -------------------------------------------------

def test_transpose_swaps_the_two_dims_it_names():
    x = cr.tensor(np.arange(6.0).reshape(2, 3))
    assert x.transpose(0, 1).shape == (3, 2)
    assert cr.tensor(np.zeros((2, 3, 4))).transpose(0, 2).shape == (4, 3, 2)


def test_var_and_std_are_unbiased_by_default():
    x = cr.tensor([1.0, 2.0, 4.0])
    assert x.var().item() == pytest.approx(np.var([1, 2, 4], ddof=1))
    assert x.std(correction=0).item() == pytest.approx(np.std([1, 2, 4]))
    assert x.var(unbiased=False).item() == pytest.approx(np.var([1, 2, 4]))


def test_var_with_no_degrees_of_freedom_is_nan_or_inf_never_negative():
    assert np.isnan(cr.tensor([3.0]).var().item())
    assert cr.tensor([1.0, 2.0, 4.0]).var(ddof=4).item() == np.inf


def test_squeeze_of_a_dim_that_is_not_one_leaves_the_tensor():
    assert cr.tensor(np.zeros((4, 3, 1, 6))).squeeze(1).shape == (4, 3, 1, 6)
    assert cr.tensor(np.zeros((4, 3, 1, 6))).squeeze(2).shape == (4, 3, 6)


def test_concatenate_and_stack_refuse_misuse_and_honour_a_positional_dim():
    a, b = cr.tensor(np.zeros((2, 3))), cr.tensor(np.ones((2, 3)))
    with pytest.raises(TypeError, match=r"concatenate\(\[a, b\], dim\)"):
        cr.concatenate(a, b)
    with pytest.raises(TypeError, match="dim must be an int"):
        cr.stack((a, b), a)
    assert cr.concatenate([a, b], 1).shape == (2, 6) and cr.cat([a, b]).shape == (4, 3)
    assert cr.stack([a, b], 1).shape == (2, 2, 3)


def test_bitwise_operators_on_integers_are_bitwise():
    a, b = cr.tensor([6, 3]), cr.tensor([3, 5])
    assert (a & b).tolist() == [2, 1] and (a | b).tolist() == [7, 7]
    assert (a ^ b).tolist() == [5, 6] and (~a).tolist() == [-7, -4]
    assert (cr.tensor([True, False]) & cr.tensor([True, True])).tolist() == [True, False]
    with pytest.raises(TypeError, match="integer or bool"):
        cr.tensor([1.0]) & cr.tensor([1.0])


def test_max_along_a_dim_returns_values_and_indices_and_sends_the_gradient_to_one():
    x = leaf([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]])
    values, indices = x.max(1)
    assert values.tolist() == [3.0, 2.0] and indices.tolist() == [1, 0]
    values.sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]


# -- 5. float64 does not spread silently -----------------------------------------------------

@pytest.mark.parametrize("make, expected", [
    (lambda: cr.tensor(1) + 0.5, np.float32),
    (lambda: cr.tensor([1.0]) * np.float64(2.0), np.float32),
    (lambda: cr.tensor([1.0]) / cr.tensor(np.array([2], np.int32)), np.float32),
    (lambda: cr.tensor(np.array([4], np.int32)) ** 0.5, np.float32),
    (lambda: cr.tensor(np.array([4], np.int32)) * np.int64(3), np.int32),
    (lambda: cr.exp(cr.tensor([1])), np.float32),
    (lambda: cr.tensor([1.0]) + cr.tensor(np.array(2.0)), np.float32),  # a 0-d float64
    (lambda: cr.tensor(np.array([1], np.int32)) + cr.tensor(np.array(2.0)), np.float64),
], ids=["int+float", "f32*np.f64", "f32/i32", "i32**0.5", "i32*np.i64", "exp(int)",
        "f32+0d-f64", "i32+0d-f64"])
def test_type_promotion_is_pytorchs(make, expected):
    assert make().dtype == expected


def test_a_promoted_input_gets_its_gradient_in_its_own_dtype():
    a = leaf([1.0, 2.0], "float32")
    b = leaf([3.0, 4.0], "float64")
    out = a * b
    out.sum().backward()
    assert out.dtype == np.float64 and a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    assert a.grad.tolist() == [3.0, 4.0] and b.grad.tolist() == [1.0, 2.0]


# -- 6. Aliasing at the door ------------------------------------------------------------------

def test_tensor_copies_so_changing_the_array_later_changes_nothing():
    array = np.array([1.0, 2.0], np.float32)
    w = cr.tensor(array, requires_grad=True)
    x = leaf([3.0, 4.0])
    loss = (w * x).sum()
    array[:] = 100.0
    loss.backward()
    assert x.grad.tolist() == [1.0, 2.0]


def test_as_tensor_and_from_numpy_share_memory_and_say_so():
    array = np.zeros(2, np.float32)
    for share in (cr.as_tensor, cr.from_numpy):
        t = share(array)
        array[0] = 7.0
        assert t.detach().numpy()[0] == 7.0
        array[0] = 0.0
    assert "shares" in cr.as_tensor.__doc__ and "sharing" in cr.from_numpy.__doc__


@pytest.mark.parametrize("data", ["abc", None, {"a": 1}, [object()]])
def test_non_numeric_data_is_refused(data):
    with pytest.raises(TypeError, match="numbers"):
        cr.tensor(data)


# -- 7. Arguments are honoured or refused -----------------------------------------------------

def test_data_of_the_wrong_shape_is_refused():
    w = cr.nn.Linear(3, 2).weight
    with pytest.raises(cr.ShapeError, match=r"\(2, 3\).*\(5, 5\)"):
        w.data = np.zeros((5, 5), np.float32)
    w.data = cr.tensor(np.ones((2, 3), np.float32))  # a tensor is unwrapped
    assert type(w.detach().numpy()) is np.ndarray


# -- 8. Views and in-place --------------------------------------------------------------------

def test_in_place_through_a_view_changes_the_base_and_its_graph():
    x = leaf([1.0, 2.0])
    y = x * 1
    v = y[0]
    v += 1
    assert y.detach().numpy().tolist() == [2.0, 2.0]  # one memory, as in PyTorch
    v.backward(retain_graph=True)  # y's new history runs through v's
    assert x.grad.tolist() == [1.0, 0.0]
    (y * 2).sum().backward()  # y's history took the change, as PyTorch's CopySlices
    assert x.grad.tolist() == [3.0, 2.0]


def test_in_place_on_an_output_that_exp_saved_makes_backward_raise():
    x = leaf([0.5, 1.0])
    y = x.exp()
    a = y
    y *= 2
    with pytest.raises(cr.GradientError, match="exp.*modified in place"):
        a.sum().backward()


def test_item_assignment_inside_the_graph_is_differentiable():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 2
    y[1] = x[0] * 10
    y.sum().backward()
    assert y.detach().numpy().tolist() == [2.0, 10.0, 6.0] and x.grad.tolist() == [12.0, 0.0, 2.0]


# -- 9. Crashes -------------------------------------------------------------------------------

def test_a_0d_leaf_backward_twice_accumulates():
    x = cr.tensor(2.0, requires_grad=True)
    (x * 2.0).backward()
    (x * 2.0).backward()
    assert x.grad.item() == 4.0 and type(x.grad.detach().numpy()) is np.ndarray


def test_a_user_op_returning_grad_itself_after_sum_and_fan_out():
    @cr.primitive
    def identity(x):
        return x.copy()

    @identity.vjp
    def _(grad):
        return grad

    x = leaf([1.0, 2.0])
    y = identity(x)
    (y.sum() + (y * 3).sum() + identity(y).sum()).backward()
    assert x.grad.tolist() == [5.0, 5.0]
    x.grad.detach().numpy()[0] = 0.0  # the gradient is the caller's to change


# -- 10. Smaller ------------------------------------------------------------------------------

def test_sign_floor_like_ops_give_zero_gradients():
    x = leaf([-2.0, 3.0])
    (cr.sign(x) * x).sum().backward()
    assert x.grad.tolist() == [-1.0, 1.0]  # only the path through x itself


def test_out_of_range_index_is_an_index_error_naming_the_op():
    with pytest.raises(IndexError, match="getitem"):
        leaf([1.0, 2.0])[5]


@pytest.mark.parametrize("make, error, pattern", [
    (lambda: cr.tensor([2]) ** -2, ValueError, "pow: Integers to negative integer powers"),
    (lambda: cr.clip(cr.tensor([1.0])), ValueError, "clamp: at least one of min or max must not be None"),
])
def test_numpys_complaints_keep_their_meaning(make, error, pattern):
    with pytest.raises(error, match=pattern) as raised:
        make()
    assert "cannot apply to shapes" not in str(raised.value)


def test_comparison_results_do_not_require_grad():
    x = leaf([1.0, 2.0])
    assert not (x > 1).requires_grad and not x.argmax().requires_grad
    assert not x.astype("int32").requires_grad
