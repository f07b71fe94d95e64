"""PyTorch's memory model: views share memory and answer stride() and is_contiguous() as
PyTorch's do; view() raises where PyTorch's raises instead of quietly copying; a write through
any view reaches its base and its version counter; ``.data`` is a detached tensor sharing the
memory; parameters are C-contiguous, so a numerical gradient check through ``view(-1)`` works."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")

# Each takes the module (chainrule or torch) and a 2x3x4 tensor and returns a view of it.
VIEWS = {
    "itself": lambda M, x: x,
    "transpose": lambda M, x: x.transpose(0, 2),
    "permute": lambda M, x: x.permute(2, 0, 1),
    "mT": lambda M, x: x.mT,
    "slice": lambda M, x: x[:, 1:],
    "step": lambda M, x: x[:, :, ::2],
    "row": lambda M, x: x[1],
    "last": lambda M, x: x[..., 0],
    "narrow_size_one": lambda M, x: x[:, :1],
    "unsqueeze": lambda M, x: x.unsqueeze(1),
    "new_axis": lambda M, x: x[None],
    "new_axis_inside": lambda M, x: x[:, None],
    "view": lambda M, x: x.view(6, 4),
    "view_of_transpose": lambda M, x: x.transpose(0, 1).view(3, 2, 2, 2),
    "squeeze": lambda M, x: x[:, :1].squeeze(1),
    "twice_transposed": lambda M, x: x.transpose(0, 1).transpose(0, 1),
    "transposed_row": lambda M, x: x[0].t(),
    "flatten_contiguous": lambda M, x: x.flatten(1),
    "expand": lambda M, x: x[:, :1].expand(2, 5, 4),
}
SHAPES = [(-1,), (2, -1), (-1, 2), (1, -1, 1)]


def _pair(dtype="float64"):
    base = np.arange(24, dtype=dtype).reshape(2, 3, 4)
    return cr.tensor(base), torch.tensor(base)


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_views_answer_stride_and_contiguity_as_pytorch(name):
    ours, theirs = (VIEWS[name](M, x) for M, x in zip((cr, torch), _pair()))
    assert ours.shape == theirs.shape
    assert ours.stride() == theirs.stride()
    assert [ours.stride(d) for d in range(-ours.dim(), ours.dim())] == \
        [theirs.stride(d) for d in range(-theirs.dim(), theirs.dim())]
    assert ours.is_contiguous() == theirs.is_contiguous()
    assert (ours.contiguous() is ours) == (theirs.contiguous() is theirs)
    assert ours.contiguous().is_contiguous()
    assert ours.contiguous().stride() == theirs.contiguous().stride()
    np.testing.assert_array_equal(ours.contiguous().numpy(), theirs.contiguous().numpy())


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(VIEWS))
def test_view_works_or_raises_as_in_pytorch(name, shape):
    (ours_base, theirs_base) = _pair()
    ours, theirs = VIEWS[name](cr, ours_base), VIEWS[name](torch, theirs_base)
    try:
        want = theirs.view(*shape)
    except RuntimeError:
        with pytest.raises(RuntimeError, match=r"view\(.*reshape"):
            ours.view(*shape)
        return
    got = ours.view(*shape)
    assert got.shape == want.shape and got.stride() == want.stride()
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    if name != "expand":  # writing into an expanded tensor is refused by both
        got[(0,) * got.dim()] = -1.0
        want[(0,) * want.dim()] = -1.0
        np.testing.assert_array_equal(ours_base.numpy(), theirs_base.numpy())
        assert ours_base._version == theirs_base._version == 1


def test_the_issues_example_no_longer_copies():
    x = cr.zeros(3, 2)
    assert x.t().contiguous().is_contiguous()
    with pytest.raises(RuntimeError, match="cannot be viewed"):
        x.t().view(-1)
    with pytest.raises(cr.ShapeError):  # also chainrule's own error class
        x.t().view(6)
    assert x.t().reshape(-1).shape == (6,)  # reshape copies where it must


@pytest.mark.parametrize("shape", [(4,), (-1, -1), (2, -2), (7, -1)], ids=str)
def test_view_to_an_impossible_shape_raises_as_in_pytorch(shape):
    with pytest.raises(RuntimeError):
        torch.zeros(3, 2).view(*shape)
    with pytest.raises(RuntimeError, match=r"view\("):
        cr.zeros(3, 2).view(*shape)


def test_view_of_an_empty_and_a_0d_tensor():
    for shape, target in [((0, 3), (-1,)), ((0, 3), (3, 0)), ((), (1,)), ((1,), ())]:
        want = torch.zeros(shape).view(target)
        got = cr.zeros(shape).view(target)
        assert got.shape == want.shape
    with pytest.raises(RuntimeError):
        torch.zeros(0, 3).view(-1, 0)
    with pytest.raises(RuntimeError):
        cr.zeros(0, 3).view(-1, 0)


def test_a_write_through_a_view_reaches_every_view_and_the_version_counter():
    base = cr.arange(12.0).view(3, 4)
    row, column, flat, t = base[1], base[:, 2], base.view(-1), base.t()
    row[2] = 100.0
    assert column[1].item() == 100.0 and flat[6].item() == 100.0 and t[2, 1].item() == 100.0
    flat.mul_(2)
    assert base[1, 2].item() == 200.0
    assert base._version == row._version == column._version == t._version == 2


def test_views_are_differentiable_and_pass_gradient_checks():
    x = cr.tensor(np.random.default_rng(0).normal(size=(2, 3, 4)), requires_grad=True)

    def fn(x):
        return (x.transpose(0, 1).contiguous().view(3, 8) ** 2).sum(0) * x.view(-1)[:8] \
            + x.mT.contiguous().view(2, 12)[0, :8] * x[:, :, ::2].contiguous().view(-1)[:8]
    assert cr.gradcheck(fn, [x])
    assert cr.gradgradcheck(fn, [x])
    theirs = torch.tensor(x.detach().numpy(), requires_grad=True)
    fn(x).sum().backward()
    fn(theirs).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("source, target", [
    ("float32", "int32"), ("int32", "float32"), ("float64", "int64"), ("float32", "float64"),
    ("float64", "float32"), ("int64", "int32"), ("int32", "int64"), ("uint8", "int8"),
    ("bool", "uint8"), ("uint8", "bool"), ("float16", "int16"), ("int16", "float16"),
    ("int8", "int16"),
])
def test_view_as_a_dtype_reinterprets_the_bits_as_pytorch(source, target):
    values = np.array([[0, 1, -2, 3], [1, 0, 5, 2]]).astype(source)
    if source == "uint8" and target == "bool":
        values = (values != 0).astype(np.uint8)
    want = torch.from_numpy(values.copy()).view(getattr(torch, target))
    got = cr.tensor(values).view(getattr(cr, target))
    assert got.shape == want.shape and str(got.dtype) == target
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_view_as_a_dtype_shares_memory_and_refuses_what_pytorch_refuses():
    x = cr.zeros(2, 4)
    bits = x.view(cr.int32)
    bits[0, 0] = 1065353216  # the bits of 1.0 as float32
    assert x[0, 0].item() == 1.0
    for make in [lambda M: M.zeros(2, 3).view(M.float64),
                 lambda M: M.zeros(4, 2).t().view(M.float64),
                 lambda M: M.zeros(()).view(M.float64)]:
        with pytest.raises(RuntimeError):
            make(torch)
        with pytest.raises(RuntimeError, match="view"):
            make(cr)
    w = cr.ones(2, requires_grad=True)
    assert not w.view(cr.int32).requires_grad  # no gradient through the bits, as PyTorch


def test_mT_and_its_refusal():
    x = cr.tensor(np.arange(24.0).reshape(2, 3, 4))
    np.testing.assert_array_equal(x.mT.numpy(), torch.tensor(x.numpy()).mT.numpy())
    with pytest.raises(RuntimeError):
        torch.zeros(3).mT
    with pytest.raises(RuntimeError, match="mT"):
        cr.zeros(3).mT


def test_grad_fn_names_and_next_functions_follow_pytorch():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    assert x.grad_fn is None and t.grad_fn is None
    assert cr.tensor([1.0]).grad_fn is None
    for make in [lambda a: a * 2, lambda a: a + 1, lambda a: a.exp(), lambda a: a.sum(),
                 lambda a: a.mean(), lambda a: a - 1, lambda a: a / 2, lambda a: a.tanh(),
                 lambda a: a.sigmoid(), lambda a: a.log(), lambda a: -a]:
        assert make(x).grad_fn.name() == make(t).grad_fn.name()
    ours, theirs = (x * 2).exp(), (t * 2).exp()
    inner = ours.grad_fn.next_functions[0][0]
    assert inner.name() == theirs.grad_fn.next_functions[0][0].name() == "MulBackward0"
    leaf = inner.next_functions[0][0]
    assert leaf.name() == "AccumulateGrad" and leaf.variable is x
    assert inner.next_functions[1][0] is None  # the constant 2
    assert ours.grad_fn == ours.grad_fn and "ExpBackward0" in repr(ours.grad_fn)
    with cr.no_grad():
        assert (x * 2).grad_fn is None


def test_detach_in_place_makes_a_leaf_keeping_the_memory():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    memory = y.data_ptr()
    assert y.detach_() is y
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    assert y.data_ptr() == memory
    t = torch.tensor([1.0, 2.0], requires_grad=True) * 2
    t.detach_()
    assert not t.requires_grad and t.is_leaf


@pytest.mark.parametrize("make", [lambda x: (x * 2)[1:], lambda x: (x * 2).view(3, 1),
                                  lambda x: x[0:2], lambda x: x.unsqueeze(0)])
def test_detach_in_place_refuses_a_view_as_pytorch(make):
    for M in (cr, torch):
        x = M.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="view"):
            make(x).detach_()
    y = cr.ones(3, requires_grad=True)[[0, 2]]  # an index array copies: not a view
    assert not y.detach_().requires_grad


def test_data_ptr_tells_shared_memory_as_pytorch():
    for M in (cr, torch):
        x = M.zeros(4, 3)
        assert x.view(12).data_ptr() == x.data_ptr() == x.t().data_ptr()
        assert x[1:].data_ptr() == x.data_ptr() + 3 * x.element_size()
        assert x.clone().data_ptr() != x.data_ptr()


# ------------------------------------------------------------------------- .data


def test_data_is_a_detached_tensor_sharing_the_parameters_memory():
    m = nn.Linear(4, 3)
    data = m.weight.data
    assert isinstance(data, cr.Tensor) and not isinstance(data, nn.Parameter)
    assert not data.requires_grad and data.grad_fn is None and data.is_leaf
    assert data.data_ptr() == m.weight.data_ptr()
    assert m.weight.data.shape == (3, 4) and m.weight.data.dtype == cr.float32


def test_the_usual_initialisations_through_data_change_the_parameter():
    # d2l's and the PyTorch tutorials' init, outside no_grad: .data records no graph
    m = nn.Linear(50, 40)
    weight, bias = m.weight, m.bias
    m.weight.data.normal_(0, 0.01)
    m.bias.data.zero_()
    assert m.weight is weight and m.bias is bias and weight.requires_grad
    assert abs(float(m.weight.detach().numpy().std()) - 0.01) < 0.002
    assert not m.bias.detach().numpy().any()
    m.bias.data.fill_(0.5)
    assert (m.bias.detach().numpy() == 0.5).all()
    m.weight.data.uniform_(-0.1, 0.1)
    assert np.abs(m.weight.detach().numpy()).max() <= 0.1
    source = cr.randn(40, 50)
    m.weight.data.copy_(source)
    np.testing.assert_array_equal(m.weight.detach().numpy(), source.numpy())
    m.weight.data[0, 0] = 7.0
    m.weight.data.mul_(2)
    assert m.weight[0, 0].item() == 14.0
    assert m.weight.grad is None and m.weight.is_leaf


def test_data_changes_match_pytorch_values():
    values = np.random.default_rng(1).normal(size=(3, 4))
    ours = cr.tensor(values, requires_grad=True)
    theirs = torch.tensor(values, requires_grad=True)
    for op in [lambda d: d.add_(1.5), lambda d: d.mul_(-2), lambda d: d.clamp_(-1, 2),
               lambda d: d.copy_(d * 3 + 1), lambda d: d.__setitem__((0, 1), 9.0),
               lambda d: d[1].fill_(4.0), lambda d: d.t()[0].zero_()]:
        op(ours.data)
        op(theirs.data)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-15)
    assert ours.requires_grad and ours.is_leaf


def test_assigning_data_keeps_working():
    for M in (cr, torch):
        w = M.zeros(3, requires_grad=True)
        w.data = M.ones(3)
        assert w.requires_grad and w.sum().item() == 3.0
        w.data = M.ones(3).data * 2
        assert w.sum().item() == 6.0


def test_a_change_through_data_is_seen_by_backward():
    # PyTorch's .data hides the change from autograd and backward silently uses the new
    # values; chainrule counts versions per memory, so backward raises instead (a deliberate
    # difference, docs/semantics.md): no silently mixed gradient.
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    w.data.mul_(2)
    assert w._version == 1
    with pytest.raises(cr.GradientError, match="modified in place"):
        loss.backward()
    (w * w).sum().backward()  # a graph built after the change is fine
    np.testing.assert_array_equal(w.grad.numpy(), [4.0, 8.0])


# ------------------------------------------------------------- parameters' layout

LAYERS = {
    "Linear": lambda: nn.Linear(5, 3),
    "Linear_nobias": lambda: nn.Linear(5, 3, bias=False),
    "Conv1d": lambda: nn.Conv1d(2, 4, 3),
    "Conv2d": lambda: nn.Conv2d(2, 4, 3),
    "Conv3d": lambda: nn.Conv3d(2, 4, 3),
    "ConvTranspose2d": lambda: nn.ConvTranspose2d(2, 4, 3),
    "BatchNorm1d": lambda: nn.BatchNorm1d(4),
    "BatchNorm2d": lambda: nn.BatchNorm2d(4),
    "LayerNorm": lambda: nn.LayerNorm((3, 4)),
    "GroupNorm": lambda: nn.GroupNorm(2, 4),
    "Sequential": lambda: nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 2)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_layers_parameters_and_buffers_are_c_contiguous(name):
    m = LAYERS[name]()
    for label, tensor in list(m.named_parameters()) + list(m.named_buffers()):
        assert tensor.is_contiguous(), f"{name}.{label} has strides {tensor.stride()}"
    for label, tensor in m.double().named_parameters():
        assert tensor.is_contiguous(), f"{name}.{label} after double()"


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_a_flat_view_of_a_weight_writes_into_it(name):
    m = LAYERS[name]()
    for label, p in m.named_parameters():
        flat = p.detach().view(-1)
        flat[0] = 123.0
        assert p.detach().numpy().reshape(-1)[0] == 123.0, label
        assert p._version >= 1


def test_a_pytorch_style_numerical_gradient_check_through_view():
    cr.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3)).double()
    x = cr.randn(6, 4, dtype=cr.float64)
    target = cr.randn(6, 3, dtype=cr.float64)

    def loss():
        return ((m(x) - target) ** 2).mean()

    loss().backward()
    eps = 1e-6
    for p in m.parameters():
        flat = p.detach().view(-1)
        numerical = np.zeros(flat.numel())
        for i in range(flat.numel()):
            original = flat[i].item()
            flat[i] = original + eps
            plus = loss().item()
            flat[i] = original - eps
            minus = loss().item()
            flat[i] = original
            numerical[i] = (plus - minus) / (2 * eps)
        assert np.abs(numerical).max() > 0  # the issue's symptom was all zeros
        np.testing.assert_allclose(numerical, p.grad.numpy().reshape(-1), rtol=1e-5,
                                   atol=1e-9)


LIKE = ["zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"]
LAYOUTS = {
    "transposed": lambda M: M.zeros(3, 2).t(),
    "permuted": lambda M: M.zeros(2, 3, 4).permute(2, 0, 1),
    "strided": lambda M: M.zeros(4, 6)[:, ::2],
    "contiguous": lambda M: M.zeros(2, 3),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("name", LIKE + ["full_like", "randint_like"])
def test_like_keeps_a_dense_inputs_strides_as_pytorch(name, layout):
    extra = {"full_like": (2.0,), "randint_like": (5,)}.get(name, ())
    ours = getattr(cr, name)(LAYOUTS[layout](cr), *extra)
    theirs = getattr(torch, name)(LAYOUTS[layout](torch), *extra)
    assert ours.shape == theirs.shape and ours.stride() == theirs.stride()
    assert ours.is_contiguous() == theirs.is_contiguous()
    if name == "full_like":
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_like_with_requires_grad_is_a_leaf_in_the_inputs_layout():
    made = cr.zeros_like(cr.zeros(3, 2).t(), requires_grad=True)
    want = torch.zeros_like(torch.zeros(3, 2).t(), requires_grad=True)
    assert made.requires_grad and made.is_leaf and made.stride() == want.stride()
    (made * 2).sum().backward()
    np.testing.assert_array_equal(made.grad.numpy(), np.full((2, 3), 2.0))


def test_flip_is_a_copy_as_in_pytorch():
    for M in (cr, torch):
        x = M.arange(6.0).view(2, 3)
        y = x.flip(1)
        assert y.stride() == (3, 1) and y.is_contiguous()
        y[0, 0] = 100.0
        assert x[0, 2].item() == 2.0  # the input is untouched
        assert y.view(-1).shape == (6,)


@pytest.mark.parametrize("index", [np.s_[::-1], np.s_[:, ::-2], np.s_[1, 3:0:-1]], ids=str)
def test_a_negative_step_is_refused_as_in_pytorch(index):
    for M in (cr, torch):
        x = M.zeros(4, 4)
        with pytest.raises(ValueError, match="step must be greater than zero"):
            x[index]
        with pytest.raises(ValueError, match="step must be greater than zero"):
            x[index] = 1.0
