"""NumPy's spellings with PyTorch's meanings: ``axis=``/``keepdims=`` are PyTorch's own aliases
of ``dim=``/``keepdim=`` on every tensor method and ``cr.`` function (``x.max(axis=1)`` is
``(values, indices)``), run in both libraries and compared: values, dtypes and gradients.
NumPy's meanings stay in NumPy's functions (tests/test_public_declarations.py)."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

X = np.array([[1.5, -2.0, 0.5, 4.0], [3.0, 3.0, -1.0, 0.25], [0.0, 2.0, 2.5, -3.0]])

CALLS = {
    "max-method": lambda M, x: x.max(axis=1),
    "max-keepdims": lambda M, x: x.max(axis=0, keepdims=True),
    "min-method": lambda M, x: x.min(axis=1),
    "max-function": lambda M, x: M.max(x, axis=1),
    "min-function": lambda M, x: M.min(x, axis=0, keepdims=True),
    "max-indices": lambda M, x: x.max(axis=1)[1],
    "amax": lambda M, x: x.amax(axis=0),
    "amin": lambda M, x: M.amin(x, axis=1, keepdims=True),
    "sum": lambda M, x: x.sum(axis=1, keepdims=True),
    "mean": lambda M, x: M.mean(x, axis=0),
    "var": lambda M, x: x.var(axis=1),
    "std": lambda M, x: M.std(x, axis=0, keepdims=True),
    "argmax": lambda M, x: x.argmax(axis=1),
    "argmin": lambda M, x: M.argmin(x, axis=0, keepdims=True),
    "cumsum": lambda M, x: x.cumsum(axis=1),
    "cumsum-function": lambda M, x: M.cumsum(x, axis=0),
    "cumprod": lambda M, x: M.cumprod(x, axis=1),
    "any": lambda M, x: (x > 2).any(axis=1),
    "all": lambda M, x: M.all(x > -2.5, axis=0),
    "sort": lambda M, x: x.sort(axis=1),
    "sort-function": lambda M, x: M.sort(x, axis=0, descending=True),
    "argsort": lambda M, x: x.argsort(axis=1, stable=True),
    "std_mean": lambda M, x: M.std_mean(x, axis=1),
    "var_mean": lambda M, x: M.var_mean(x, axis=0, keepdims=True),
    "logsumexp": lambda M, x: x.logsumexp(axis=1),
    "prod": lambda M, x: x.prod(axis=0),
    "softmax": lambda M, x: M.softmax(x, axis=1),
    "log_softmax": lambda M, x: x.log_softmax(axis=0),
    "cummax": lambda M, x: M.cummax(x, axis=1),
    "cummin": lambda M, x: x.cummin(axis=0),
    "count_nonzero": lambda M, x: M.count_nonzero(x, axis=1),
    "logcumsumexp": lambda M, x: x.logcumsumexp(axis=1),
    "topk": lambda M, x: x[[0, 2]].topk(2, axis=1),  # rows without ties (their order is free)
    "gather": lambda M, x: x.gather(axis=1, index=M.tensor([[0], [3], [1]])),
    "unbind": lambda M, x: M.unbind(x, axis=1),
    "squeeze": lambda M, x: x[:1].squeeze(axis=0),
    "index_select": lambda M, x: x.index_select(axis=1, index=M.tensor([0, 2])),
    "median": lambda M, x: x.median(axis=1),
    "nansum-like-sum-dtype": lambda M, x: (x > 0).sum(axis=0),
    "unsqueeze": lambda M, x: x.unsqueeze(axis=1) * 2,
    "size": lambda M, x: M.tensor(x.size(axis=1)),
    "scatter_add_": lambda M, x: x.clone().scatter_add_(axis=1, index=M.tensor([[0], [1], [2]]),
                                                        src=x[:, :1]),
}


def _plain(result):
    if isinstance(result, (tuple, list)):
        return [_plain(r) for r in result]
    if isinstance(result, cr.Tensor):
        return result.detach().numpy()
    return result.detach().numpy()


def _float_parts(result):
    parts = result if isinstance(result, (tuple, list)) else [result]
    return [p for p in parts if p.dtype in (cr.float64, torch.float64) and p.requires_grad]


@pytest.mark.parametrize("name", sorted(CALLS))
def test_numpy_spelling_means_what_pytorch_means(name):
    call = CALLS[name]
    ours_x = cr.tensor(X, requires_grad=True)
    theirs_x = torch.tensor(X, requires_grad=True)
    ours, theirs = call(cr, ours_x), call(torch, theirs_x)
    mine, reference = _plain(ours), _plain(theirs)
    if isinstance(reference, list):
        assert isinstance(mine, list) and len(mine) == len(reference), name
        pairs = zip(mine, reference)
    else:
        pairs = [(mine, reference)]
    for a, b in pairs:
        assert a.shape == b.shape and a.dtype == b.dtype, (name, a, b)
        np.testing.assert_allclose(a, b, rtol=1e-12)
    weights = np.random.default_rng(0)
    for mine_part, their_part in zip(_float_parts(ours), _float_parts(theirs)):
        w = weights.standard_normal(tuple(their_part.shape))
        (mine_part * cr.tensor(w)).sum().backward(retain_graph=True)
        (their_part * torch.tensor(w)).sum().backward(retain_graph=True)
    if theirs_x.grad is not None:
        np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-12)


def test_dim_and_axis_together_are_refused():
    x = cr.ones(2, 3)
    for call in (lambda: x.sum(1, axis=1), lambda: cr.cumsum(x, dim=1, axis=1),
                 lambda: x.max(dim=1, axis=0)):
        with pytest.raises(TypeError, match="not both"):
            call()


# -- type promotion: every pair of dtypes, as torch.result_type -------------------------------

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
BINARY = {
    "add": lambda M, a, b: a + b, "sub": lambda M, a, b: M.sub(a, b), "mul": lambda M, a, b: a * b,
    "div": lambda M, a, b: a / b, "maximum": lambda M, a, b: M.maximum(a, b),
    "minimum": lambda M, a, b: M.minimum(a, b), "eq": lambda M, a, b: a == b,
    "cat": lambda M, a, b: M.cat([a, b]), "stack": lambda M, a, b: M.stack([a, b], 1),
    "where": lambda M, a, b: M.where(M.tensor([True, False]), a, b),
    "atan2": lambda M, a, b: M.atan2(a, b), "remainder": lambda M, a, b: M.remainder(a, b),
    "fmod": lambda M, a, b: M.fmod(a, b), "floor_divide": lambda M, a, b: a // b,
    "copysign": lambda M, a, b: M.copysign(a, b), "pow": lambda M, a, b: a ** b,
    "hstack": lambda M, a, b: M.hstack([a, b]), "vstack": lambda M, a, b: M.vstack([a, b]),
}


def _pair(M, dtype):
    return M.tensor([1, 2]).to(getattr(M, dtype))


def _dtype_or_error(call):
    try:
        return str(call().dtype).replace("torch.", "")
    except Exception as error:  # noqa: BLE001  (whether both refuse is what is compared)
        return type(error).__mro__[1:3] and "error"


@pytest.mark.parametrize("op", sorted(BINARY))
def test_promotion_of_every_dtype_pair_is_pytorchs(op):
    differences = []
    for first in DTYPES:
        for second in DTYPES:
            call = BINARY[op]
            ours = _dtype_or_error(lambda: call(cr, _pair(cr, first), _pair(cr, second)))
            theirs = _dtype_or_error(lambda: call(torch, _pair(torch, first), _pair(torch, second)))
            if ours != theirs:
                differences.append(f"{first} {op} {second}: {ours}, torch {theirs}")
    assert not differences, "\n".join(differences)


@pytest.mark.parametrize("scalar", [True, 2, 2.5])
@pytest.mark.parametrize("dtype", DTYPES)
def test_python_scalars_and_0d_tensors_are_weak_as_in_pytorch(dtype, scalar):
    for make in (lambda M: scalar, lambda M: M.tensor(scalar)):
        ours = (_pair(cr, dtype) * make(cr)).dtype
        theirs = (_pair(torch, dtype) * make(torch)).dtype
        assert str(ours) == str(theirs).replace("torch.", ""), (dtype, scalar)
