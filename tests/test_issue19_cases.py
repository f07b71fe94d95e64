"""Issue 19's "Confirmed today" cases, checked the way a PyTorch user porting code would.

Every case is written once, as a function of the library ``M`` (``torch`` or ``chainrule``), and
run in both. The answers are compared with PyTorch's (values with nan positions, dtypes, shapes,
gradients, the Python types of what comes back), or, where PyTorch raises, chainrule must raise an
instance of the class PyTorch raises with a message naming the op. No expected value is copied
from chainrule: PyTorch is the oracle. Item numbers follow the issue.
"""
import signal

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

# -- comparing the two answers ----------------------------------------------------------------

def _dtype_name(dtype):
    return str(dtype).replace("torch.", "")


def same(got, want, *, rtol=None, atol=None, signs=False, path="answer"):
    """chainrule's answer ``got`` means what PyTorch's ``want`` means, recursively.

    Floats agree to a few units in the last place of their dtype unless rtol/atol say otherwise;
    with ``signs`` the signs of zeros must agree too."""
    if isinstance(want, torch.Size):
        assert isinstance(got, tuple), f"{path}: {type(got).__name__}, PyTorch gives a Size"
        assert tuple(got) == tuple(want), f"{path}: {tuple(got)} != PyTorch's {tuple(want)}"
    elif isinstance(want, torch.Tensor):
        assert isinstance(got, cr.Tensor), f"{path}: {type(got).__name__}, PyTorch gives a Tensor"
        w, g = want.detach().numpy(), got.detach().numpy()
        assert g.shape == w.shape, f"{path}: shape {g.shape} != PyTorch's {w.shape}"
        assert g.dtype == w.dtype, f"{path}: dtype {g.dtype} != PyTorch's {w.dtype}"
        assert got.requires_grad == want.requires_grad, f"{path}: requires_grad"
        if w.dtype.kind == "f":
            tiny = np.finfo(w.dtype).eps
            np.testing.assert_allclose(g, w, rtol=rtol or 32 * tiny, atol=atol or 32 * tiny,
                                       equal_nan=True, err_msg=path)
            if signs:
                zeros = w == 0
                np.testing.assert_array_equal(np.signbit(g[zeros]), np.signbit(w[zeros]),
                                              err_msg=f"{path}: signs of zeros")
        else:
            np.testing.assert_array_equal(g, w, err_msg=path)
    elif isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list)), f"{path}: {type(got).__name__}, PyTorch a sequence"
        assert len(got) == len(want), f"{path}: {len(got)} items, PyTorch {len(want)}"
        for field in ("values", "indices"):
            if hasattr(want, field):
                assert hasattr(got, field), f"{path}: no .{field} as PyTorch's"
        for i, (g, w) in enumerate(zip(got, want)):
            same(g, w, rtol=rtol, atol=atol, signs=signs, path=f"{path}[{i}]")
    elif isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), f"{path}: keys"
        for key in want:
            same(got[key], want[key], rtol=rtol, atol=atol, signs=signs, path=f"{path}[{key!r}]")
    elif isinstance(want, torch.dtype):
        assert _dtype_name(got) == _dtype_name(want), f"{path}: {got} != PyTorch's {want}"
    elif isinstance(want, float):
        assert isinstance(got, float), f"{path}: {type(got).__name__}, PyTorch gives a float"
        np.testing.assert_allclose(got, want, rtol=rtol or 1e-6, atol=atol or 1e-7,
                                   equal_nan=True, err_msg=path)
    else:
        assert type(got) is type(want), f"{path}: {type(got).__name__} != {type(want).__name__}"
        assert got == want, f"{path}: {got!r} != PyTorch's {want!r}"


def agree(case, **options):
    same(case(cr), case(torch), **options)


def refuse_alike(case, says):
    """PyTorch raises; chainrule raises an instance of the same class, naming the op."""
    with pytest.raises(Exception) as theirs:
        case(torch)
    with pytest.raises(type(theirs.value), match=says):
        case(cr)


def F(M):
    return M.nn.functional


# Cases that still differ from PyTorch, each with the reason; strict, so a fix shows up as a
# pass that must be unmarked.
XFAIL = {
}


def cases(table):
    """The names of a table of cases as parameters, the known differences marked xfail."""
    return [pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=XFAIL[name]))
            if name in XFAIL else name for name in table]


XS = np.array([[1.0, 3.0, 2.0], [4.0, 0.0, 5.0], [2.5, 2.5, -1.0],
               [0.5, 7.0, 3.0], [6.0, -2.0, 1.5]], dtype=np.float32)
YS = np.array([0, 2, 1, 1, 0])


# -- 1. Batches are Tensors, from every kind of dataset ----------------------------------------

def batch_of_tensor_dataset(M):
    D = M.utils.data
    loader = D.DataLoader(D.TensorDataset(M.tensor(XS), M.tensor(YS)), batch_size=3)
    xb, yb = next(iter(loader))
    return xb, yb, xb.std(0), xb.transpose(0, 1), xb.max(1), len(loader)


def test_1_the_issues_tuple_loader_batches_as_a_tensor_dataset():
    # The issue's snippet: DataLoader((x, y)) is chainrule's spelling of TensorDataset(x, y)
    # (docs/semantics.md); its batches must be PyTorch's TensorDataset batches.
    x, y = XS, YS
    xb, yb = next(iter(cr.data.DataLoader((cr.tensor(x), cr.tensor(y)), batch_size=3)))
    D = torch.utils.data
    xt, yt = next(iter(D.DataLoader(D.TensorDataset(torch.tensor(x), torch.tensor(y)),
                                    batch_size=3)))
    same((xb, yb, xb.std(0), xb.transpose(0, 1), xb.max(1)),
         (xt, yt, xt.std(0), xt.transpose(0, 1), xt.max(1)))


def batches_of_a_list_of_pairs(M):
    D = M.utils.data
    pairs = [(M.tensor(XS[i]), int(YS[i])) for i in range(len(XS))]
    return [list(b) for b in D.DataLoader(pairs, batch_size=2)]


def batches_of_numpy_pairs(M):
    D = M.utils.data
    pairs = [(XS[i], YS[i]) for i in range(len(XS))]
    return [list(b) for b in D.DataLoader(pairs, batch_size=2)]


def batches_of_a_map_style_dataset(M):
    D = M.utils.data

    class Squares(D.Dataset):
        def __len__(self):
            return 7

        def __getitem__(self, i):
            return M.tensor([float(i), float(i * i)]), i % 3

    return [list(b) for b in D.DataLoader(Squares(), batch_size=3)]


def batches_of_dicts(M):
    D = M.utils.data
    items = [{"x": M.tensor(XS[i]), "y": int(YS[i]), "w": 0.5 * i} for i in range(4)]
    return list(D.DataLoader(items, batch_size=4))


def batches_with_strings(M):
    D = M.utils.data
    names = [("ada", 1, ("x", 0.5)), ("bo", 2, ("y", 1.5)), ("cy", 3, ("z", 2.5))]
    return list(D.DataLoader(names, batch_size=2)), list(D.DataLoader(["a", "b", "c"],
                                                                      batch_size=2))


def batches_dropped_and_split(M):
    D = M.utils.data
    data = D.TensorDataset(M.tensor(XS), M.tensor(YS))
    kept = [list(b) for b in D.DataLoader(data, batch_size=2, drop_last=True)]
    parts = D.random_split(range(11), [0.5, 0.25, 0.25], generator=M.Generator().manual_seed(0))
    whole = sorted(i for part in parts for i in part)
    shuffled = D.DataLoader(data, batch_size=2, shuffle=True,
                            generator=M.Generator().manual_seed(1))
    seen = sorted(int(y) for _, yb in shuffled for y in yb)
    return kept, [len(p) for p in parts], whole, seen, len(shuffled), list(D.BatchSampler(
        D.SequentialSampler(range(5)), 2, False))


@pytest.mark.parametrize("case", [batch_of_tensor_dataset, batches_of_a_list_of_pairs,
                                  batches_of_numpy_pairs, batches_of_a_map_style_dataset,
                                  batches_of_dicts, batches_with_strings,
                                  batches_dropped_and_split], ids=lambda c: c.__name__)
def test_1_batches_are_tensors_with_pytorchs_meaning(case):
    agree(case)


# -- 2. .data and state_dict() values are Tensors that alias the parameters -------------------

def data_initialisers(M):
    m = M.nn.Linear(100, 50)
    m.weight.data.normal_(0, 0.01)
    m.bias.data.zero_()
    std_near = abs(float(m.weight.detach().std()) - 0.01) < 0.0005
    mean_near = abs(float(m.weight.detach().mean())) < 0.0005
    zeroed = m.bias.detach().clone()
    m.bias.data.copy_(M.arange(50.0))
    copied = m.bias.detach().clone()
    m.state_dict()["weight"].fill_(0.0)
    return std_near, mean_near, zeroed, copied, m.weight.detach()[:2, :4], type(m.weight.data)


def _is_tensor_type(got, want):
    return (got is cr.Tensor) and (want is torch.Tensor)


def manual_sgd_through_data(M):
    # The pre-optimizer idiom of many courses: update through .data, zero the gradient in place.
    w = M.tensor([[0.5], [-1.0]], requires_grad=True)
    b = M.zeros(1, requires_grad=True)
    x = M.tensor(XS[:, :2])
    y = M.tensor(XS[:, 2:])
    losses = []
    for _ in range(4):
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        w.data -= 0.01 * w.grad.data
        b.data.sub_(0.01 * b.grad)
        w.grad.data.zero_()
        b.grad.zero_()
        losses.append(loss.item())
    return losses, w, b, w.grad, w.data.requires_grad, w.is_leaf


def test_2_manual_sgd_through_data():
    agree(manual_sgd_through_data)


def test_2_data_initialisers_reach_the_parameters():
    got, want = data_initialisers(cr), data_initialisers(torch)
    assert _is_tensor_type(got[-1], want[-1]), got[-1]
    same(got[:-1], want[:-1])


def checkpoint_dict_taken_before_training(M):
    m = M.nn.Linear(2, 1)
    m.load_state_dict({"weight": M.tensor([[0.5, -1.0]]), "bias": M.tensor([0.25])})
    ckpt = {"model": m.state_dict()}
    opt = M.optim.SGD(m.parameters(), lr=0.1)
    x = M.tensor([[1.0, 2.0], [3.0, -1.0]])
    for _ in range(3):
        opt.zero_grad()
        ((m(x) - 1.0) ** 2).mean().backward()
        opt.step()
    return (ckpt["model"]["weight"], m.weight.detach(),
            ckpt["model"]["weight"].data_ptr() == m.weight.data_ptr())


def test_2_a_state_dict_checkpoint_aliases_the_weights():
    agree(checkpoint_dict_taken_before_training)


def optimizer_state(M):
    m = M.nn.Linear(2, 1)
    m.load_state_dict({"weight": M.tensor([[0.5, -1.0]]), "bias": M.tensor([0.25])})
    adam = M.optim.Adam(m.parameters(), lr=0.1)
    sgd = M.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    ((m(M.tensor([[1.0, 2.0]])) - 1.0) ** 2).sum().backward()
    adam.step()
    sgd.step()
    a, s = adam.state_dict(), sgd.state_dict()
    return (type(a["state"]).__name__, a["state"][0]["exp_avg"], a["state"][1]["exp_avg_sq"],
            s["state"][0]["momentum_buffer"], a["param_groups"][0]["params"],
            a["param_groups"][0]["betas"])


def test_2_optimizer_state_dict_holds_tensors_keyed_by_index():
    agree(optimizer_state)


# -- 3. Memory layout: views share memory, contiguity as PyTorch ------------------------------

def a_flat_view_writes_the_weight(M):
    m = M.nn.Linear(3, 2)
    flat = m.weight.detach().view(-1)
    flat[0] = 123.0
    return (m.weight[0, 0].item() == 123.0, m.weight.is_contiguous(), m.weight.stride(),
            M.zeros(3, 2).t().contiguous().is_contiguous(), M.zeros(3, 2).t().is_contiguous(),
            M.zeros(3, 2).t().stride(), M.zeros(3, 2).t().contiguous().stride())


def test_3_a_flat_view_writes_through_and_strides_are_pytorchs():
    agree(a_flat_view_writes_the_weight)


def views_share_memory(M):
    x = M.arange(12.0).reshape(3, 4)
    flat = x.view(-1)
    flat += 1
    x.view(2, 6)[1, 0] = -5.0
    col = x[:, 1]
    col.mul_(10)
    row = x.narrow(0, 2, 1)
    row.zero_()
    e = x[0].expand(2, 4)
    return (x, col.is_contiguous(), col.stride(), x.unsqueeze(0).stride(), e.stride(),
            x.permute(1, 0).is_contiguous(), x.t().contiguous().view(-1),
            M.empty(2, 3, 4).stride(), M.nn.Conv2d(2, 3, 3).weight.is_contiguous(),
            M.nn.Conv2d(2, 3, 3).weight.stride())


def test_3_views_share_memory_and_strides_are_pytorchs():
    agree(views_share_memory)


def _strides(t):
    # The stride of a size-1 dimension addresses no memory; docs/semantics.md says it may
    # differ from PyTorch's, so it is left out of the comparison.
    return tuple(None if n == 1 else step for n, step in zip(t.shape, t.stride()))


LAYOUTS = {
    "flip-stride": lambda M: M.zeros(2, 3).flip(0).stride(),
    "flip-view-writes": lambda M: (lambda f: (f.view(-1).add_(1), f.is_contiguous())[1])(
        M.arange(6.0).reshape(2, 3).flip(1)),
    "zeros_like-of-transpose": lambda M: M.zeros_like(M.zeros(2, 3).t()).stride(),
    "empty_like-of-transpose": lambda M: M.empty_like(M.zeros(2, 3).t()).stride(),
    "step-slice-stride": lambda M: M.zeros(6, 4)[::2, 1:].stride(),
    "expand-stride": lambda M: M.zeros(1, 3).expand(2, 3).stride(),
    "clone-of-transpose": lambda M: M.zeros(2, 3).t().clone().stride(),
    "contiguous-of-expand": lambda M: M.zeros(1, 3).expand(2, 3).contiguous().stride(),
    "conv-output": lambda M: _strides(F(M).conv2d(M.ones(1, 1, 4, 4), M.ones(2, 1, 3, 3))),
    "linear-grad": lambda M: (lambda m: (m(M.ones(4, 3)).sum().backward(),
                                         m.weight.grad.stride())[1])(M.nn.Linear(3, 2)),
    "numpy-shares": lambda M: (lambda x: (x.numpy().__setitem__(0, 9.0), x)[1])(M.zeros(2)),
    "from_numpy-shares": lambda M: (lambda a: (M.from_numpy(a).add_(1), M.tensor(a))[1])(
        np.zeros(2)),
    "tensor-copies": lambda M: (lambda a: (M.tensor(a).add_(1), M.tensor(a))[1])(np.zeros(2)),
}


@pytest.mark.parametrize("name", cases(LAYOUTS))
def test_3_layouts_are_pytorchs(name):
    agree(LAYOUTS[name])


_IMAGES = np.random.default_rng(0).normal(size=(2, 3, 6, 6)).astype(np.float32)


def _images(M, requires_grad=False):
    return M.tensor(_IMAGES, requires_grad=requires_grad)


def _grad_of_input(fn):
    def case(M):
        x = _images(M, requires_grad=True)
        fn(M, x).sum().backward()
        return x.grad
    return case


# Results whose layout ported code relies on: what PyTorch makes contiguous is flattened with
# view(x.size(0), -1), so chainrule's must be contiguous too, with PyTorch's strides; where
# PyTorch's view raises (a permuted reshape that is a view, an elementwise op that keeps its
# input's layout), chainrule's must raise too.
CONTIGUOUS_RESULTS = {
    "conv2d": lambda M: F(M).conv2d(_images(M), M.ones(4, 3, 3, 3)),
    "conv1d": lambda M: F(M).conv1d(_images(M)[:, :, 0], M.ones(4, 3, 3)),
    "conv3d": lambda M: F(M).conv3d(_images(M)[None], M.ones(2, 2, 2, 2, 2)),
    "conv_transpose2d": lambda M: F(M).conv_transpose2d(_images(M), M.ones(3, 2, 3, 3),
                                                        stride=2),
    "relu-max_pool2d": lambda M: F(M).max_pool2d(F(M).relu(_images(M)), 2),
    "avg_pool2d": lambda M: F(M).avg_pool2d(_images(M), 2),
    "batch_norm": lambda M: M.nn.BatchNorm2d(3)(_images(M)),
    "layer_norm": lambda M: M.nn.LayerNorm(6)(_images(M)),
    "softmax-dim1": lambda M: F(M).softmax(_images(M), 1),
    "matmul-of-transpose": lambda M: _images(M)[0, 0].t() @ _images(M)[0, 1],
    "cat-dim1": lambda M: M.cat([_images(M), _images(M)], 1),
    "stack-dim2": lambda M: M.stack([_images(M), _images(M)], 2),
    "interpolate-nearest": lambda M: F(M).interpolate(_images(M), scale_factor=2),
    "interpolate-bilinear": lambda M: F(M).interpolate(_images(M), scale_factor=2,
                                                       mode="bilinear"),
    "pad-constant": lambda M: F(M).pad(_images(M), (1, 1, 1, 1)),
    "pad-reflect": lambda M: F(M).pad(_images(M), (1, 1, 1, 1), mode="reflect"),
    "index_select": lambda M: _images(M).index_select(1, M.tensor([2, 0])),
    "flip": lambda M: _images(M).flip(1),
    "roll": lambda M: _images(M).roll(1, 2),
    "repeat_interleave": lambda M: _images(M).repeat_interleave(2, dim=1),
    "permute-reshape": lambda M: _images(M).permute(0, 2, 3, 1).reshape(2, -1, 3),
    "transpose-plus-1": lambda M: _images(M).transpose(1, 2) + 1,
    "grad-of-a-transpose": _grad_of_input(lambda M, x: x.transpose(2, 3) * 2),
    "grad-of-conv2d-input": _grad_of_input(lambda M, x: F(M).conv2d(x, M.ones(4, 3, 3, 3))),
    "grad-of-matmul-by-T": _grad_of_input(lambda M, x: x @ M.ones(6, 6).T),
    "batch-of-a-loader": lambda M: next(iter(M.utils.data.DataLoader(
        M.utils.data.TensorDataset(_images(M)), batch_size=2)))[0],
}


@pytest.mark.parametrize("name", cases(CONTIGUOUS_RESULTS))
def test_3_result_layouts_are_pytorchs(name):
    def layout(M):
        y = CONTIGUOUS_RESULTS[name](M)
        try:
            flat = y.view(y.size(0), -1).shape
        except RuntimeError:
            flat = "view raised RuntimeError"
        return y.is_contiguous(), _strides(y), flat
    agree(layout)


def test_3_view_of_a_transpose_raises_as_pytorch():
    refuse_alike(lambda M: M.zeros(3, 2).t().view(-1), r"view")


# -- 4. axis= is PyTorch's alias of dim= -------------------------------------------------------

def _x(M, requires_grad=False):
    return M.tensor(XS[:2], requires_grad=requires_grad)


AXIS_CASES = {
    "max-axis": lambda M: _x(M).max(axis=1),
    "max-axis-indices": lambda M: _x(M).max(axis=1)[1],
    "min-axis": lambda M: _x(M).min(axis=0),
    "cr.max-axis": lambda M: M.max(_x(M), axis=1),
    "cr.min-axis-keepdims": lambda M: M.min(_x(M), axis=1, keepdims=True),
    "cumsum-axis": lambda M: _x(M).cumsum(axis=1),
    "cr.cumsum-axis": lambda M: M.cumsum(_x(M), axis=0),
    "any-axis": lambda M: (_x(M) > 2).any(axis=1),
    "all-axis": lambda M: (_x(M) > 0).all(axis=0),
    "sort-axis": lambda M: _x(M).sort(axis=1),
    "cr.sort-axis": lambda M: M.sort(_x(M), axis=0, descending=True),
    "std_mean-axis": lambda M: M.std_mean(_x(M), axis=1),
    "sum-axis-keepdims": lambda M: _x(M).sum(axis=1, keepdims=True),
    "argmax-axis": lambda M: _x(M).argmax(axis=1),
    "mean-axis-tuple": lambda M: _x(M).mean(axis=(0, 1)),
    "sum-axis-list": lambda M: _x(M).sum(axis=[0, 1]),
    "var-axis-keepdims": lambda M: _x(M).var(axis=0, keepdims=True),
    "cr.std-axis-keepdims": lambda M: M.std(_x(M), axis=1, keepdims=True),
    "softmax-axis": lambda M: _x(M).softmax(axis=1),
    "log_softmax-axis": lambda M: _x(M).log_softmax(axis=0),
    "logsumexp-axis": lambda M: _x(M).logsumexp(axis=1),
    "squeeze-axis": lambda M: _x(M).unsqueeze(0).squeeze(axis=0),
    "unsqueeze-axis": lambda M: _x(M).unsqueeze(axis=1),
    "cumprod-axis": lambda M: _x(M).cumprod(axis=1),
    "cummax-axis": lambda M: _x(M).cummax(axis=1),
    "argsort-axis": lambda M: _x(M).argsort(axis=1),
    "topk-axis": lambda M: _x(M).topk(2, axis=1),
    "prod-axis": lambda M: _x(M).prod(axis=1),
    "amax-axis": lambda M: _x(M).amax(axis=1),
    "median-axis": lambda M: _x(M).median(axis=1),
    "count_nonzero-axis": lambda M: _x(M).count_nonzero(axis=1),
    "cr.cat-axis": lambda M: M.cat([_x(M), _x(M)], axis=1),
    "cr.stack-axis": lambda M: M.stack([_x(M), _x(M)], axis=1),
    "cr.min-axis-keepdims-kw": lambda M: M.min(_x(M), axis=0, keepdims=True),
    "any-axis-tuple": lambda M: (_x(M) > 1).any(axis=(0, 1)),
    "size-axis": lambda M: _x(M).size(axis=1),
    "unbind-axis": lambda M: _x(M).unbind(axis=1),
    "chunk-axis": lambda M: _x(M).chunk(2, axis=1),
    "index_select-axis": lambda M: _x(M).index_select(axis=1, index=M.tensor([2, 0])),
    "gather-axis": lambda M: _x(M).gather(axis=1, index=M.tensor([[0], [2]])),
}


@pytest.mark.parametrize("name", cases(AXIS_CASES))
def test_4_axis_means_dim(name):
    agree(AXIS_CASES[name])


def max_axis_gradient(M):
    x = _x(M, requires_grad=True)
    values, indices = x.max(axis=1)
    (values * M.tensor([1.0, 2.0])).sum().backward()
    return values, indices, x.grad


def test_4_max_axis_backpropagates_as_max_dim():
    agree(max_axis_gradient)


# -- 5. cat/stack promotion, default initialisation, Module.apply order ------------------------

PROMOTIONS = {
    "cat-int64-float32": lambda M: M.cat([M.tensor([1, 2]), M.tensor([0.5], dtype=M.float32)]),
    "stack-int64-float32": lambda M: M.stack([M.tensor([1, 2]), M.tensor([0.5, 1.5])]),
    "cat-uint8-int8": lambda M: M.cat([M.tensor([200], dtype=M.uint8),
                                       M.tensor([-3], dtype=M.int8)]),
    "cat-bool-int32": lambda M: M.cat([M.tensor([True]), M.tensor([7], dtype=M.int32)]),
    "stack-float16-int64": lambda M: M.stack([M.tensor([1.5], dtype=M.float16),
                                              M.tensor([3])]),
    "hstack-int32-float64": lambda M: M.hstack([M.tensor([1], dtype=M.int32),
                                                M.tensor([0.25], dtype=M.float64)]),
    "cat-int32-int64": lambda M: M.cat([M.tensor([1], dtype=M.int32), M.tensor([2])]),
    "stack-uint8-bool": lambda M: M.stack([M.tensor([1], dtype=M.uint8), M.tensor([True])]),
    "cat-float32-float64": lambda M: M.cat([M.ones(1), M.ones(1, dtype=M.float64)]),
    "where-int-float": lambda M: M.where(M.tensor([True, False]), M.tensor([1, 2]),
                                         M.tensor([0.5, 1.5])),
    "vstack-bool-float32": lambda M: M.vstack([M.tensor([True, False]), M.tensor([0.5, 2.0])]),
}


@pytest.mark.parametrize("name", cases(PROMOTIONS))
def test_5_cat_and_stack_promote_as_pytorch(name):
    agree(PROMOTIONS[name])


def cat_mixed_float_gradients(M):
    a = M.ones(2, dtype=M.float32, requires_grad=True)
    b = M.ones(3, dtype=M.float64, requires_grad=True)
    y = M.cat([a, b]) * M.arange(5, dtype=M.float64)
    y.sum().backward()
    return y, a.grad, b.grad


def test_5_cat_of_mixed_floats_returns_each_gradient_in_its_dtype():
    agree(cat_mixed_float_gradients)


def _linear_draws(M, draws=300):
    M.manual_seed(0)
    weights, biases = [], []
    for _ in range(draws):
        m = M.nn.Linear(3, 1)
        weights.append(m.weight.detach().numpy().ravel().copy())
        biases.append(m.bias.detach().numpy().ravel().copy())
    return np.concatenate(weights), np.concatenate(biases)


def test_5_linear_3_1_initialises_from_pytorchs_distributions():
    bound = 1 / np.sqrt(3)  # PyTorch: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias
    theirs, ours = _linear_draws(torch), _linear_draws(cr)
    for (w_t, w_c), what in zip(zip(theirs, ours), ("weight", "bias")):
        assert np.abs(w_c).max() <= bound + 1e-7, what
        # the largest draw reaches as far as PyTorch's does, and the spread is PyTorch's
        assert np.abs(w_c).max() >= 0.97 * np.abs(w_t).max(), what
        assert abs(w_c.std() - w_t.std()) < 0.1 * w_t.std(), what
        assert abs(w_c.mean()) < 0.05 and np.count_nonzero(w_c) == w_c.size, what


def apply_order(M):
    nn = M.nn
    model = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 3)),
                          nn.Sequential(nn.Tanh()), nn.Linear(3, 1))
    names = {id(m): name for name, m in model.named_modules()}
    seen = []
    model.apply(lambda m: seen.append(names[id(m)]))
    return seen


def test_5_module_apply_visits_in_pytorchs_order():
    agree(apply_order)


# -- 6. Edge values ------------------------------------------------------------------------------

def _grad_of(fn, values, dtype="float64"):
    def case(M):
        x = M.tensor(values, dtype=getattr(M, dtype), requires_grad=True)
        y = fn(M, x)
        y.sum().backward()
        return y, x.grad
    return case


EDGES = {
    "x**0.0-at-0": _grad_of(lambda M, x: x ** 0.0, [0.0, -0.0, 2.0, -1.5]),
    "x**0-at-0": _grad_of(lambda M, x: x ** 0, [0.0, -0.0, 2.0]),
    "pow(x,0.0)-float32": _grad_of(lambda M, x: M.pow(x, 0.0), [0.0, 1.0], "float32"),
    "(-2.0)**x": _grad_of(lambda M, x: (-2.0) ** x, [0.5, 1.0, 2.0, -1.0, 0.0]),
    "(-5.5)**x": _grad_of(lambda M, x: (-5.5) ** x, [0.5, 1.0, 2.0, -3.0]),
    "tensor(-2.0)**x": _grad_of(lambda M, x: M.tensor(-2.0, dtype=M.float64) ** x, [1.0, 2.0]),
    "0**x": _grad_of(lambda M, x: 0.0 ** x, [-1.0, -0.5, 0.0, 0.5, 2.0]),
    "0**x-int-base": _grad_of(lambda M, x: 0 ** x, [-2.0, -1.0, 1.0]),
    "zeros**x": _grad_of(lambda M, x: M.zeros(4, dtype=M.float64) ** x, [-1.0, 0.0, 0.5, 2.0]),
    "prod(-1)-0d": _grad_of(lambda M, x: x.prod(-1), 3.0),
    "prod(0)-0d-zero": _grad_of(lambda M, x: x.prod(0), 0.0),
    "x**0.5-at-0": _grad_of(lambda M, x: x ** 0.5, [0.0, -0.0, 4.0]),
    "x**-1-at-0": _grad_of(lambda M, x: x ** -1, [0.0, -0.0, 2.0]),
    "x**2-at--0": _grad_of(lambda M, x: x ** 2, [-0.0, 0.0, -3.0]),
    "x**x-at-0": _grad_of(lambda M, x: x ** x, [0.0, 0.5, 2.0]),
    "sqrt-at-0": _grad_of(lambda M, x: M.sqrt(x), [0.0, -0.0, 4.0]),
    "abs-at-0": _grad_of(lambda M, x: M.abs(x), [0.0, -0.0, -2.0]),
    "prod-with-zeros": _grad_of(lambda M, x: x.prod(), [0.0, 2.0, 3.0]),
    "prod-two-zeros": _grad_of(lambda M, x: x.prod(0), [0.0, 2.0, 0.0]),
    "prod(-1,keepdim)-0d": _grad_of(lambda M, x: x.prod(-1, keepdim=True), -2.5),
}


def pow_both_tensors(M):
    x = M.tensor([0.0, 0.0, -2.0, 0.0, -1.5], dtype=M.float64, requires_grad=True)
    y = M.tensor([0.0, -1.0, 0.5, 2.0, 2.0], dtype=M.float64, requires_grad=True)
    z = M.pow(x, y)
    z.sum().backward()
    return z, x.grad, y.grad


EDGES["pow(x,y)-at-0-and-negative"] = pow_both_tensors


@pytest.mark.parametrize("name", cases(EDGES))
def test_6_edge_values_give_pytorchs_values_and_gradients(name):
    agree(EDGES[name], signs=True)


INT32 = [2 ** 31 - 1, -1, 0, 5, -2 ** 31]
BITWISE = {
    "int32|4294967295": lambda M: M.tensor(INT32, dtype=M.int32) | 4294967295,
    "int32|int32": lambda M: M.tensor(INT32, dtype=M.int32) | M.tensor([-1] * 5, dtype=M.int32),
    "int32&4294967295": lambda M: M.tensor(INT32, dtype=M.int32) & 4294967295,
    "int32^int32": lambda M: M.tensor(INT32, dtype=M.int32) ^ M.tensor(INT32[::-1],
                                                                       dtype=M.int32),
}


BITWISE["int-pow-negative-int-tensor"] = lambda M: M.tensor([2, 1, -1, 0, 3]) ** M.tensor(
    [-1, -2, -3, 0, 2])
BITWISE["int32-wraps-on-add"] = lambda M: M.tensor([2 ** 31 - 1], dtype=M.int32) + 1
BITWISE["uint8-wraps-on-sub"] = lambda M: M.tensor([1], dtype=M.uint8) - 2


@pytest.mark.parametrize("name", cases(BITWISE))
def test_6_int32_bitwise_at_the_edges(name):
    agree(BITWISE[name])


def _padded(pads, shape):
    def case(M):
        x = M.arange(float(np.prod(shape)), dtype=M.float64).reshape(shape).requires_grad_()
        y = F(M).pad(x, pads, mode="circular")
        (y * M.arange(float(y.numel()), dtype=M.float64).reshape(y.shape)).sum().backward()
        return y, x.grad
    return case


CIRCULAR = {
    "1d-negative-left": _padded((-1, 2), (1, 2, 5)),
    "1d-negative-right": _padded((3, -2), (1, 2, 5)),
    "1d-wrap-exactly-once": _padded((5, 5), (1, 1, 5)),
    "2d-mixed": _padded((1, -1, -1, 2), (1, 1, 3, 4)),
    "2d-both-negative": _padded((-1, -1, 0, -1), (2, 1, 3, 4)),
    "3d": _padded((1, 0, -1, 1, 2, -1), (1, 1, 3, 3, 4)),
}


@pytest.mark.parametrize("name", cases(CIRCULAR))
def test_6_circular_pad_with_negative_pads(name):
    agree(CIRCULAR[name])


@pytest.mark.parametrize("pads, shape", [((6, 0), (1, 2, 5)), ((0, 11), (1, 1, 5)),
                                         ((0, 0, 4, 0), (1, 1, 3, 4))])
def test_6_circular_pad_that_wraps_more_than_once_is_refused(pads, shape):
    refuse_alike(lambda M: F(M).pad(M.zeros(shape), pads, mode="circular"), r"pad|wrap")


def _uint8_image(M, shape, seed=0):
    return M.tensor(np.random.default_rng(seed).integers(0, 256, shape), dtype=M.uint8)


UINT8_RESIZE = {
    "bilinear-up": lambda M: F(M).interpolate(_uint8_image(M, (2, 3, 10, 20)), size=(17, 31),
                                              mode="bilinear", align_corners=False),
    "bilinear-down": lambda M: F(M).interpolate(_uint8_image(M, (1, 3, 20, 30), 1),
                                                size=(7, 11), mode="bilinear"),
    "bilinear-align-corners": lambda M: F(M).interpolate(_uint8_image(M, (1, 2, 6, 9), 2),
                                                         scale_factor=2.5, mode="bilinear",
                                                         align_corners=True),
    "nearest": lambda M: F(M).interpolate(_uint8_image(M, (1, 1, 5, 7), 3), size=(8, 3)),
}


@pytest.mark.parametrize("name", cases(UINT8_RESIZE))
def test_6_uint8_interpolation_rounds_as_pytorch(name):
    agree(UINT8_RESIZE[name])


# -- 7. The NumPy table: NumPy's functions on tensors reach chainrule's ops --------------------

NUMPY_CALLS = {  # name: (NumPy's call on a chainrule tensor, PyTorch's op)
    "sin": (lambda t: np.sin(t), lambda t: torch.sin(t)),
    "log1p": (lambda t: np.log1p(t), lambda t: torch.log1p(t)),
    "cumsum": (lambda t: np.cumsum(t, axis=0), lambda t: torch.cumsum(t, 0)),
    "prod": (lambda t: np.prod(t), lambda t: torch.prod(t)),
    "einsum": (lambda t: np.einsum("ij,kj->ik", t, t), lambda t: torch.einsum("ij,kj->ik", t, t)),
    "max-axis-is-numpys": (lambda t: np.max(t, axis=1), lambda t: torch.amax(t, 1)),
    "exp": (lambda t: np.exp(t), lambda t: torch.exp(t)),
    "mean": (lambda t: np.mean(t, axis=0), lambda t: torch.mean(t, 0)),
    "tanh": (lambda t: np.tanh(t), lambda t: torch.tanh(t)),
    "matmul": (lambda t: np.matmul(t, t.T), lambda t: torch.matmul(t, t.T)),
    "transpose": (lambda t: np.transpose(t), lambda t: t.permute(1, 0)),
    "concatenate": (lambda t: np.concatenate([t, t * 2]), lambda t: torch.cat([t, t * 2])),
    "clip": (lambda t: np.clip(t, 0.5, 2.0), lambda t: torch.clamp(t, 0.5, 2.0)),
    "sqrt": (lambda t: np.sqrt(t), lambda t: torch.sqrt(t)),
    "square": (lambda t: np.square(t), lambda t: torch.square(t)),
    "maximum": (lambda t: np.maximum(t, 1.0),
                lambda t: torch.maximum(t, torch.tensor(1.0, dtype=t.dtype))),
    "sum": (lambda t: np.sum(t, axis=1, keepdims=True), lambda t: torch.sum(t, 1, keepdim=True)),
}


@pytest.mark.parametrize("name", cases(NUMPY_CALLS))
def test_7_numpy_functions_dispatch_to_chainrule(name):
    numpy_call, torch_call = NUMPY_CALLS[name]
    values = np.array([[0.5, 1.0, 2.0], [3.0, 0.25, 1.5]])
    t = cr.tensor(values, requires_grad=True)
    want_in = torch.tensor(values, requires_grad=True)
    got, want = numpy_call(t), torch_call(want_in)
    assert isinstance(got, cr.Tensor), f"np.{name} on a tensor gave {type(got).__name__}"
    got.sum().backward()
    want.sum().backward()
    same((got, t.grad), (want, want_in.grad))


# -- 8. Errors of PyTorch's class --------------------------------------------------------------

def _ones(M, *shape):
    return M.ones(*shape)


ERRORS = {
    "reshape": (lambda M: _ones(M, 2, 3).reshape(4, 2), r"reshape|shape"),
    "reshape-two-inferred": (lambda M: _ones(M, 2, 3).reshape(-1, -1), r"reshape|-1"),
    "permute-dims": (lambda M: _ones(M, 2, 3).permute(0, 0), r"permute"),
    "permute-count": (lambda M: _ones(M, 2, 3).permute(2, 0, 1), r"permute"),
    "einsum": (lambda M: M.einsum("ij,jk->ik", _ones(M, 2, 3), _ones(M, 2, 3)), r"einsum"),
    "gather-index": (lambda M: M.gather(_ones(M, 2, 3), 1, M.full((2, 1), 7, dtype=M.int64)),
                     r"gather"),
    "conv2d-padding-3x3": (lambda M: F(M).conv2d(_ones(M, 1, 1, 3, 3), _ones(M, 1, 1, 2, 2),
                                                 padding=-1), r"conv2d|padding"),
    "conv2d-padding": (lambda M: F(M).conv2d(_ones(M, 1, 1, 4, 4), _ones(M, 1, 1, 2, 2),
                                             padding=-1), r"conv2d|padding"),
    "sum-dim-out-of-range": (lambda M: _ones(M, 2, 3).sum(2), r"sum|dim"),
    "mean-dim-out-of-range": (lambda M: _ones(M, 2, 3).mean(-3), r"mean|dim"),
    "softmax-dim-out-of-range": (lambda M: _ones(M, 2, 3).softmax(5), r"softmax|dim"),
    "x[0, 0]-on-1d": (lambda M: _ones(M, 3)[0, 0], r"index"),
    "x[5]-on-3": (lambda M: _ones(M, 3)[5], r"index|5"),
    "transpose-dim": (lambda M: _ones(M, 2, 3).transpose(0, 2), r"transpose|dim"),
    "cat-dim": (lambda M: M.cat([_ones(M, 2), _ones(M, 2)], 1), r"cat|dim"),
    "matmul-shapes": (lambda M: _ones(M, 2, 3) @ _ones(M, 2, 3), r"matmul|mm|shape"),
    "squeeze-dim": (lambda M: _ones(M, 2, 3).squeeze(3), r"squeeze|dim"),
    "unsqueeze-dim": (lambda M: _ones(M, 2, 3).unsqueeze(4), r"unsqueeze|dim"),
    "view-size": (lambda M: _ones(M, 2, 3).view(4), r"view"),
    "index_select-index": (lambda M: _ones(M, 3).index_select(0, M.tensor([3])),
                           r"index_select|index"),
    "linear-features": (lambda M: M.nn.Linear(3, 2)(_ones(M, 4, 5)), r"Linear|mat|shape"),
    "cross_entropy-label": (lambda M: F(M).cross_entropy(_ones(M, 2, 3), M.tensor([0, 3])),
                            r"cross_entropy|label|target|3"),
}


ERRORS.update({  # more misuse a porter meets, found while checking the cases above
    "float-of-two-elements": (lambda M: float(M.ones(2)), r"element|scalar"),
    "int-of-two-elements": (lambda M: int(M.ones(2)), r"element|scalar"),
    "neg-of-bool": (lambda M: -M.tensor([True, False]), r"neg|bool"),
    "hstack-empty": (lambda M: M.hstack([]), r"hstack"),
    "reshape-minus-2": (lambda M: _ones(M, 4).reshape(-2, 2), r"reshape|-2"),
    "randint-low-above-high": (lambda M: M.randint(5, 3, (2,)), r"randint"),
    "normal_-negative-std": (lambda M: _ones(M, 2).normal_(0, -1), r"normal|std"),
    "uniform_-reversed": (lambda M: _ones(M, 2).uniform_(1, 0), r"uniform"),
    "scatter_add_-dtypes": (lambda M: M.zeros(3).scatter_add_(0, M.tensor([0]),
                                                              M.ones(1, dtype=M.float64)),
                            r"scatter"),
    "shift-of-float": (lambda M: _ones(M, 2) << 1, r"shift"),
    "eye-of-float": (lambda M: M.eye(2.5), r"eye"),
    "write-into-expand": (lambda M: _ones(M, 1, 3).expand(2, 3).add_(1), r"add_|expand|memory"),
    "one_hot-too-few-classes": (lambda M: F(M).one_hot(M.tensor([3]), num_classes=2),
                                r"one_hot|class"),
    "multinomial-negative": (lambda M: M.multinomial(M.tensor([0.5, -0.1]), 1), r"multinomial"),
    "multinomial-too-many": (lambda M: M.multinomial(M.tensor([0.5, 0.5]), 3), r"multinomial"),
    "backward-of-a-vector": (lambda M: (M.ones(2, requires_grad=True) * 2).backward(),
                             r"backward|scalar|grad"),
    "backward-without-grad": (lambda M: M.ones(2).sum().backward(), r"grad"),
    "inplace-on-a-leaf": (lambda M: M.ones(2, requires_grad=True).add_(1), r"leaf|in-place"),
    "numpy-of-requires-grad": (lambda M: M.ones(2, requires_grad=True).numpy(), r"numpy|grad"),
    "linear-int64-input": (lambda M: M.nn.Linear(3, 2)(M.ones(1, 3, dtype=M.int64)),
                           r"Linear|dtype|int64|Long"),
    "int-floor-divide-by-0": (lambda M: M.tensor([1, 2]) // 0, r"floor_divide|zero"),
    "int-remainder-by-0": (lambda M: M.tensor([1, 2]) % 0, r"remainder|zero"),
    "load_state_dict-missing-key": (lambda M: M.nn.Linear(2, 1).load_state_dict(
        {"weight": M.ones(1, 2)}), r"bias|missing"),
})


@pytest.mark.parametrize("name", cases(ERRORS))
def test_8_misuse_raises_pytorchs_class(name):
    case, says = ERRORS[name]
    refuse_alike(case, says)


# -- 9. The everyday names a porter hit --------------------------------------------------------

def devices(M):
    device = M.device("cuda" if M.cuda.is_available() else "cpu")
    x = M.ones(2, 3).to(device)
    y = M.zeros(2, device=device).to("cpu", M.float64)
    z = x.to(y)
    m = M.nn.Linear(3, 2).to(device)
    return (str(device), device.type, x.device == device, str(x.device), y.dtype, z.dtype,
            M.cuda.is_available(), M.cuda.device_count(), m.weight.device.type,
            m(x).device.type)


def test_9_device_names():
    agree(devices)


CONSTRUCTORS = {
    "zeros": lambda M, d: M.zeros(2, 3, device=d),
    "ones": lambda M, d: M.ones(2, device=d),
    "empty": lambda M, d: M.empty(2, device=d),
    "full": lambda M, d: M.full((2,), 1.5, device=d),
    "arange": lambda M, d: M.arange(3, device=d),
    "linspace": lambda M, d: M.linspace(0, 1, 5, device=d),
    "eye": lambda M, d: M.eye(3, device=d),
    "tensor": lambda M, d: M.tensor([1.0, 2.0], device=d),
    "as_tensor": lambda M, d: M.as_tensor([1.0, 2.0], device=d),
    "rand": lambda M, d: M.rand(2, device=d),
    "randn": lambda M, d: M.randn(2, device=d),
    "randint": lambda M, d: M.randint(0, 5, (3,), device=d),
    "randperm": lambda M, d: M.randperm(4, device=d),
    "zeros_like": lambda M, d: M.zeros_like(M.ones(2), device=d),
    "ones_like": lambda M, d: M.ones_like(M.ones(2), device=d),
    "full_like": lambda M, d: M.full_like(M.ones(2), 3.0, device=d),
    "rand_like": lambda M, d: M.rand_like(M.ones(2), device=d),
    "randn_like": lambda M, d: M.randn_like(M.ones(2), device=d),
    "empty_like": lambda M, d: M.empty_like(M.ones(2), device=d),
    "randint_like": lambda M, d: M.randint_like(M.ones(2), 5, device=d),
}


@pytest.mark.parametrize("name", cases(CONSTRUCTORS))
def test_9_device_on_every_constructor(name):
    def case(M):
        t = CONSTRUCTORS[name](M, M.device("cpu"))
        s = CONSTRUCTORS[name](M, "cpu")
        return t.device.type, str(s.device), t.dtype, t.shape
    agree(case)


def test_9_set_default_device_cpu():
    def case(M):
        M.set_default_device("cpu")
        try:
            return M.ones(2).device.type, str(M.get_default_device())
        finally:
            M.set_default_device(None)  # PyTorch's way back to no default
    agree(case)


def sizes(M):
    x = M.zeros(2, 3)
    return (repr(x.shape).split("Size", 1)[1], x.size(1), x.shape == (2, 3), x.shape.numel(),
            isinstance(x.shape, tuple), x.shape[1:], x.size()[-1])


def test_9_shapes_are_sizes():
    assert type(cr.zeros(2).shape).__name__ == "Size"
    agree(sizes)


def test_9_print_of_a_shape_shows_size():
    def printed(M):
        return str(M.zeros(2, 3).shape).split("Size", 1)[-1]
    agree(printed)


def custom_function(M):
    class MulCube(M.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(x, w)
            return x ** 3 * w

        @staticmethod
        def backward(ctx, grad):
            x, w = ctx.saved_tensors
            return (grad * 3 * x ** 2 * w if ctx.needs_input_grad[0] else None,
                    grad * x ** 3 if ctx.needs_input_grad[1] else None)

    x = M.tensor([0.5, -1.0, 2.0], dtype=M.float64, requires_grad=True)
    w = M.tensor([2.0, 3.0, -1.0], dtype=M.float64)
    y = MulCube.apply(x, w)
    (y * y).sum().backward()
    return y.detach(), x.grad, w.grad, y.requires_grad


def test_9_autograd_function():
    agree(custom_function)


LAZY = {
    "LazyLinear": lambda M: (M.nn.LazyLinear(4), M.ones(2, 3)),
    "LazyConv1d": lambda M: (M.nn.LazyConv1d(4, 3), M.ones(2, 2, 8)),
    "LazyConv2d": lambda M: (M.nn.LazyConv2d(4, 3, padding=1), M.ones(2, 3, 5, 5)),
    "LazyBatchNorm1d": lambda M: (M.nn.LazyBatchNorm1d(), M.ones(4, 6)),
    "LazyBatchNorm2d": lambda M: (M.nn.LazyBatchNorm2d(), M.ones(2, 5, 3, 3)),
}


@pytest.mark.parametrize("name", cases(LAZY))
def test_9_lazy_modules_become_their_class(name):
    def case(M):
        m, x = LAZY[name](M)
        before = type(m).__name__
        uninitialized = [isinstance(p, M.nn.UninitializedParameter) for p in m.parameters()]
        y = m(x)
        return (before, uninitialized, type(m).__name__,
                [tuple(p.shape) for p in m.parameters()], y.shape, y.dtype)
    agree(case)


def lazy_loads_a_checkpoint(M):
    m = M.nn.LazyLinear(2)
    m.load_state_dict({"weight": M.ones(2, 3), "bias": M.zeros(2)})
    return m.weight.shape, m(M.ones(1, 3)), type(m).__name__


def test_9_a_lazy_module_loads_a_checkpoint_before_its_first_call():
    agree(lazy_loads_a_checkpoint)


def module_cpu(M):
    m = M.nn.Linear(2, 1)
    return m.cpu() is m, m.to("cpu") is m, M.ones(2).cpu().device.type


def test_9_module_cpu():
    agree(module_cpu)


class _Range:
    def __init__(self, M, n):
        self.M, self.n = M, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self.M.tensor([float(i), -float(i)]), i


def workers(M):
    D = M.utils.data
    loader = D.DataLoader(_Range(M, 10), batch_size=3, num_workers=2)
    return [list(b) for b in loader], len(loader)


def test_9_dataloader_num_workers():
    agree(workers)


SMALL_NAMES = {
    "histogram": lambda M: M.histogram(M.tensor([0.5, 1.0, 2.5, 3.9, 0.1]), bins=4),
    "histogram-range": lambda M: tuple(M.histogram(M.tensor([0.5, 1.0, 2.5]), bins=3,
                                                   range=(0.0, 3.0))),
    "histc": lambda M: M.histc(M.tensor([0.5, 1.0, 2.5, 3.9]), bins=4, min=0, max=4),
    "Tensor.matmul": lambda M: M.tensor([[1.0, 2.0]]).matmul(M.tensor([[3.0], [4.0]])),
    "one_hot": lambda M: F(M).one_hot(M.tensor([0, 2, 1]), num_classes=4),
    "one_hot-inferred": lambda M: F(M).one_hot(M.tensor([[0, 2], [1, 1]])),
    "median": lambda M: M.tensor([3.0, 1.0, 2.0, 5.0]).median(),
    "median-dim": lambda M: M.tensor([[3.0, 1.0], [2.0, 5.0], [0.0, 4.0]]).median(dim=0),
    "unique": lambda M: M.tensor([3, 1, 3, 2, 1]).unique(return_counts=True,
                                                         return_inverse=True),
    "mT": lambda M: M.arange(6.0).reshape(1, 2, 3).mT,
    "hstack": lambda M: M.hstack([M.tensor([1.0, 2.0]), M.tensor([3.0])]),
    "vstack": lambda M: M.vstack([M.tensor([1.0, 2.0]), M.tensor([3.0, 4.0])]),
    "linalg.norm": lambda M: M.linalg.norm(M.tensor([[3.0, 4.0], [1.0, -2.0]])),
    "linalg.norm-ord-dim": lambda M: M.linalg.norm(M.tensor([[3.0, 4.0], [1.0, -2.0]]),
                                                   ord=1, dim=1),
    "view(dtype)": lambda M: M.tensor([1.0, -2.0]).view(M.int32),
    "bitwise_not": lambda M: M.tensor([0, 5, -3]).bitwise_not(),
    "shift-methods": lambda M: (M.tensor([1, 5, -8]).bitwise_left_shift(2),
                                M.tensor([1, 5, -8]).bitwise_right_shift(1),
                                M.tensor([1, 5, -8]) << 3, M.tensor([1, 5, -8]) >> 2),
    "randint-requires_grad": lambda M: M.randint(0, 5, (3,), requires_grad=False).requires_grad,
}


@pytest.mark.parametrize("name", cases(SMALL_NAMES))
def test_9_small_names(name):
    agree(SMALL_NAMES[name])


def in_place_names(M):
    x = M.zeros(2, 3)
    x.scatter_add_(1, M.tensor([[0, 0, 2], [1, 1, 1]]), M.tensor([[1.0, 2.0, 3.0],
                                                                  [4.0, 5.0, 6.0]]))
    y = M.zeros(4)
    y.index_put_((M.tensor([0, 2, 0]),), M.tensor([1.0, 2.0, 3.0]), accumulate=True)
    a = M.ones(2, requires_grad=True)
    b = a * 2
    has_fn = b.grad_fn is not None and a.grad_fn is None
    b.detach_()
    return x, y, has_fn, b.requires_grad, b.grad_fn is None


def test_9_in_place_names_and_grad_fn():
    agree(in_place_names)


def save_and_load(M, path):
    obj = {"w": M.arange(6.0).reshape(2, 3), "step": 3, "name": "run",
           "nested": [M.tensor([1, 2]), (0.5, M.tensor(True))]}
    M.save(obj, path)
    return M.load(path)


def test_9_save_and_load(tmp_path):
    same(save_and_load(cr, tmp_path / "a.pt"), save_and_load(torch, tmp_path / "b.pt"))


def grad_modes(M):
    x = M.ones(2, requires_grad=True)
    with M.set_grad_enabled(False):
        a = x * 2
        enabled_inside = M.is_grad_enabled()
    M.set_grad_enabled(False)
    try:
        b = x * 2
    finally:
        M.set_grad_enabled(True)
    with M.inference_mode():
        c = x * 2
        in_inference = M.is_inference_mode_enabled()

    @M.inference_mode()
    def predict(t):
        return t * 3

    with M.set_grad_enabled(True):
        d = x * 2
    return (a.requires_grad, enabled_inside, b.requires_grad, c.requires_grad, in_inference,
            predict(x).requires_grad, d.requires_grad, M.is_grad_enabled(),
            M.is_inference_mode_enabled())


def test_9_set_grad_enabled_and_inference_mode():
    agree(grad_modes)


def clipping(M):
    a = M.nn.Parameter(M.tensor([1.0, 2.0]))
    b = M.nn.Parameter(M.tensor([[3.0, -4.0]]))
    a.grad, b.grad = M.tensor([3.0, -4.0]), M.tensor([[12.0, 0.5]])
    total = M.nn.utils.clip_grad_norm_([a, b], max_norm=1.0)
    after_norm = (a.grad.clone(), b.grad.clone())
    inf_total = M.nn.utils.clip_grad_norm_([a, b], max_norm=0.1, norm_type=float("inf"))
    M.nn.utils.clip_grad_value_([a, b], clip_value=0.05)
    return total, after_norm, inf_total, a.grad, b.grad


def test_9_clip_grad():
    agree(clipping, rtol=1e-6)


def init_names(M):
    w = M.empty(2, 3)
    M.nn.init.constant_(w, 0.3)
    o = M.nn.init.ones_(M.empty(2))
    z = M.nn.init.zeros_(M.empty(1, 2))
    return w, o, z


def test_9_init_constant_ones_zeros():
    agree(init_names)


def hooks(M):
    nn = M.nn
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    model.load_state_dict({"0.weight": M.tensor([[0.5, -1.0], [0.25, 0.75], [1.0, 1.0]]),
                           "0.bias": M.tensor([0.1, 0.0, -0.2]),
                           "2.weight": M.tensor([[1.0, -2.0, 0.5]]), "2.bias": M.tensor([0.3])})
    seen = []
    handle = model[1].register_forward_hook(lambda m, inp, out: seen.append(out.detach().clone()))
    model[2].register_forward_hook(lambda m, inp, out: out * 2)
    grads = []
    model[0].register_full_backward_hook(
        lambda m, gin, gout: grads.append((gin[0].clone(), gout[0].clone())))
    x = M.tensor([[1.0, 2.0], [-1.0, 0.5]], requires_grad=True)
    y = model(x)
    y.sum().backward()
    handle.remove()
    model(x)
    return y, seen, grads, x.grad


def test_9_forward_and_full_backward_hooks():
    agree(hooks)


def inplace_relu(M):
    x = M.tensor([-1.0, 0.5, 2.0, -0.0], requires_grad=True)
    h = x * 3
    r = M.nn.ReLU(inplace=True)(h)
    r.sum().backward()
    return r is h, h, x.grad, repr(M.nn.ReLU(inplace=True))


def test_9_relu_inplace():
    agree(inplace_relu)


def schedulers(M):
    p = M.nn.Parameter(M.zeros(1))
    opt = M.optim.SGD([p], lr=1.0)
    lam = M.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 0.5 ** epoch)
    lrs = []
    for _ in range(4):
        opt.step()
        lam.step()
        lrs.append(opt.param_groups[0]["lr"])
    opt2 = M.optim.SGD([p], lr=1.0)
    plateau = M.optim.lr_scheduler.ReduceLROnPlateau(opt2, factor=0.5, patience=1)
    for loss in [3.0, 2.0, 2.0, 2.0, 2.5, 1.0, 1.0, 1.0, 1.0]:
        plateau.step(loss)
        lrs.append(opt2.param_groups[0]["lr"])
    return lrs, lam.get_last_lr()


def test_9_lambda_lr_and_reduce_lr_on_plateau():
    agree(schedulers)


def zero_grad_modes(M):
    m = M.nn.Linear(2, 1)
    m(M.ones(1, 2)).sum().backward()
    m.zero_grad(set_to_none=False)
    kept = m.weight.grad
    m(M.ones(1, 2)).sum().backward()
    opt = M.optim.SGD(m.parameters(), lr=0.1)
    opt.zero_grad(set_to_none=True)
    return kept, m.weight.grad is None


def test_9_zero_grad_set_to_none():
    agree(zero_grad_modes)


def generator_draws(M):
    g = M.Generator().manual_seed(0)
    perm = M.randperm(10, generator=g)
    probs = M.tensor([[0.1, 0.0, 0.6, 0.3], [0.25, 0.25, 0.25, 0.25]])
    picks = M.multinomial(probs, 3, replacement=False, generator=g)
    many = probs.multinomial(50, replacement=True, generator=g)
    distinct = all(len(set(row.tolist())) == 3 for row in picks)
    return (isinstance(g, M.Generator), g.initial_seed(), perm.dtype, perm.sort().values,
            picks.shape, picks.dtype, distinct, bool((picks[0] != 1).all()),
            bool((many[0] != 1).all()), many.shape, int(many.min()) >= 0, int(many.max()) <= 3)


def test_9_generator_randperm_multinomial():
    agree(generator_draws)


def pooling_and_unpooling(M):
    x = M.tensor(np.random.default_rng(3).normal(size=(1, 2, 5, 7)), requires_grad=True)
    ceil = F(M).max_pool2d(x, 2, stride=2, ceil_mode=True)
    avg = F(M).avg_pool2d(x, 3, stride=2, ceil_mode=True, padding=1)
    out, idx = F(M).max_pool2d(x, 2, return_indices=True)
    up = F(M).max_unpool2d(out, idx, 2, output_size=x.shape[-2:])
    (ceil.sum() + (avg * avg).sum() + (up * up).sum()).backward()
    return ceil, avg, out, idx, up, x.grad


def test_9_ceil_mode_return_indices_and_max_unpool2d():
    agree(pooling_and_unpooling)


def _resize(shape, **options):
    def case(M):
        x = M.tensor(np.random.default_rng(4).normal(size=shape), requires_grad=True)
        y = F(M).interpolate(x, **options)
        (y * y).sum().backward()
        return y, x.grad
    return case


RESIZE = {
    "3d-linear": _resize((1, 2, 5), size=8, mode="linear"),
    "3d-linear-corners": _resize((2, 1, 4), scale_factor=1.5, mode="linear", align_corners=True),
    "3d-nearest-exact": _resize((1, 2, 5), size=7, mode="nearest-exact"),
    "5d-trilinear": _resize((1, 1, 3, 4, 2), size=(5, 3, 4), mode="trilinear"),
    "5d-nearest-exact": _resize((1, 2, 2, 3, 3), scale_factor=2, mode="nearest-exact"),
    "5d-nearest": _resize((1, 1, 3, 2, 4), size=(4, 4, 3), mode="nearest"),
}


@pytest.mark.parametrize("name", cases(RESIZE))
def test_9_interpolate_on_3d_and_5d(name):
    agree(RESIZE[name])


def conv_transpose_3d(M):
    rng = np.random.default_rng(5)
    x = M.tensor(rng.normal(size=(1, 4, 2, 3, 3)), requires_grad=True)
    w = M.tensor(rng.normal(size=(4, 3, 2, 2, 3)), requires_grad=True)
    b = M.tensor(rng.normal(size=6), requires_grad=True)
    y = F(M).conv_transpose3d(x, w, b, stride=(2, 1, 2), padding=(0, 1, 1),
                              output_padding=(1, 0, 1), groups=2, dilation=(1, 2, 1))
    (y * y).sum().backward()
    return y, x.grad, w.grad, b.grad


def test_9_conv_transpose3d():
    agree(conv_transpose_3d)


def test_9_lr_scheduler_is_importable_by_pytorchs_path():
    from chainrule.optim import lr_scheduler
    from torch.optim import lr_scheduler as theirs
    for name in ("LambdaLR", "ReduceLROnPlateau", "StepLR", "ExponentialLR", "MultiStepLR"):
        assert hasattr(theirs, name) and hasattr(lr_scheduler, name), name


# -- 10. Smaller: refusals, the command line, check_backward ------------------------------------

SMALL_REFUSALS = {
    "flip((0, 0))": (lambda M: M.ones(2, 2).flip((0, 0)), r"flip.*0"),
    "flip-dim-out-of-range": (lambda M: M.ones(2, 2).flip(2), r"flip|dim"),
    "linspace-bool": (lambda M: M.linspace(0, 1, 3, dtype=M.bool), r"linspace"),
    "arange-bool": (lambda M: M.arange(3, dtype=M.bool), r"arange"),
    "clip(None, None)": (lambda M: M.ones(2).clip(None, None), r"clip|clamp"),
    "clamp(None, None)": (lambda M: M.clamp(M.ones(2), None, None), r"clamp"),
}


@pytest.mark.parametrize("name", cases(SMALL_REFUSALS))
def test_10_small_refusals(name):
    case, says = SMALL_REFUSALS[name]
    refuse_alike(case, says)


@pytest.mark.parametrize("options, named", [(["--activation", "tanh"], "--activation"),
                                            (["--hidden", "16"], "--hidden")])
def test_10_lenet_refuses_mlp_options(options, named, tmp_path, capsys):
    from chainrule.cli import main
    assert main(["train", "--model", "lenet", "--out", str(tmp_path / "r"), *options]) != 0
    err = capsys.readouterr().err
    assert named in err and "lenet" in err
    assert not (tmp_path / "r").exists()


def test_10_out_holding_a_run_is_not_overwritten_silently(tmp_path, capsys):
    from chainrule.cli import main
    out = tmp_path / "run"
    out.mkdir()
    (out / "history.json").write_text("[]")
    assert main(["train", "--epochs", "1", "--hidden", "8", "--no-progress",
                 "--out", str(out)]) != 0
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "history.json").read_text() == "[]"


def test_10_interrupt_and_sigterm_while_starting_are_one_line(monkeypatch, capsys):
    from chainrule import cli

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_build", interrupted)
    assert cli.main(["train"]) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1

    def terminated():
        signal.raise_signal(signal.SIGTERM)

    monkeypatch.setattr(cli, "_build", terminated)
    assert cli.main(["train"]) == 143
    err = capsys.readouterr().err
    assert "SIGTERM" in err and len(err.strip().splitlines()) == 1


def test_10_a_size_error_names_the_option(tmp_path, capsys):
    from chainrule.cli import main
    assert main(["train", "--batch-size", "1000000000000", "--out", str(tmp_path / "r")]) != 0
    err = capsys.readouterr().err
    assert "--batch-size" in err and "Traceback" not in err


def test_10_a_full_disk_names_the_option_and_the_file(tmp_path, capsys, monkeypatch):
    import errno
    from chainrule.cli import main
    from chainrule.serialize import atomic

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic, "_write_and_sync", full)
    target = tmp_path / "m.json"
    assert main(["memory", "--batch-size", "4", "--out", str(target)]) != 0
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err
    assert "--out" in err and str(target) in err


def test_10_check_backward_fails_a_backward_that_writes_into_dout():
    from chainrule.check_backward import check_backward

    def forward(x):
        return x * 2.0

    def backward(dout, cache):
        dout *= 2.0
        return dout

    def forward_with_cache(x):
        return forward(x), x

    report = check_backward(forward_with_cache, backward, [np.array([0.5, -1.0, 2.0])])
    assert not report.passed
    assert check_backward(forward_with_cache, lambda dout, cache: dout * 2.0,
                          [np.array([0.5, -1.0, 2.0])]).passed  # the same gradient, not written


def test_10_check_backward_passes_a_correct_relu_at_its_kink():
    from chainrule.check_backward import check_backward

    def forward(x):
        return np.maximum(x, 0), x

    def backward(dout, cache):
        return dout * (cache > 0)

    report = check_backward(forward, backward, [np.array([0.0, -1.0, 2.0, 0.0])])
    assert report.passed, report
    wrong = check_backward(forward, lambda dout, cache: dout * (cache >= -1),
                           [np.array([0.0, -1.0, 2.0, 0.0])])
    assert not wrong.passed  # a slope of 1 left of the kink is still caught
