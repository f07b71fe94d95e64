"""Tensor's random in-place fills (exponential_, geometric_, cauchy_, log_normal_, random_)
against PyTorch's: the same distributions (seeded draws compared by their moments and
quantiles, since chainrule's PCG64 gives other bits than PyTorch's generator), dtypes, ranges
and refusals; writes through views; version bumps; a zero gradient for the old values."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
N = 40000


def draws(method, *args, dtype="float64"):
    ours = getattr(cr.empty(N, dtype=dtype), method)(
        *args, generator=cr.Generator().manual_seed(1)).numpy().astype(np.float64)
    theirs = getattr(torch.empty(N, dtype=getattr(torch, dtype)), method)(
        *args, generator=torch.Generator().manual_seed(1)).numpy().astype(np.float64)
    return ours, theirs


def same_mean_and_spread(ours, theirs):
    """The two samples' means and variances differ by less than 5 standard errors."""
    for a, b in [(ours, theirs), (ours ** 2, theirs ** 2)]:
        error = np.sqrt(a.var() / N + b.var() / N)
        assert abs(a.mean() - b.mean()) < 5 * error, (a.mean(), b.mean())


@pytest.mark.parametrize("lambd", [0.5, 1.0, 4.0])
def test_exponential_as_pytorchs(lambd):
    ours, theirs = draws("exponential_", lambd)
    same_mean_and_spread(ours, theirs)
    assert abs(ours.mean() - 1 / lambd) < 5 / lambd / np.sqrt(N)
    assert ours.min() >= 0


@pytest.mark.parametrize("p,dtype", [(0.2, "float64"), (0.7, "int32"), (0.5, "int64")])
def test_geometric_as_pytorchs(p, dtype):
    ours, theirs = draws("geometric_", p, dtype=dtype)
    same_mean_and_spread(ours, theirs)
    assert ours.min() == theirs.min() == 1
    assert abs(ours.mean() - 1 / p) < 5 * np.sqrt((1 - p) / p ** 2 / N)
    assert np.all(ours == np.round(ours))


def test_cauchy_as_pytorchs():
    # no mean: compare the quartiles (median +- sigma)
    ours, theirs = draws("cauchy_", 1.5, 2.0)
    for q, expected in [(0.25, -0.5), (0.5, 1.5), (0.75, 3.5)]:
        assert abs(np.quantile(ours, q) - expected) < 0.1
        assert abs(np.quantile(ours, q) - np.quantile(theirs, q)) < 0.15


def test_log_normal_as_pytorchs():
    ours, theirs = draws("log_normal_", 0.5, 0.75)
    assert ours.min() > 0
    same_mean_and_spread(np.log(ours), np.log(theirs))
    assert abs(np.log(ours).mean() - 0.5) < 5 * 0.75 / np.sqrt(N)
    assert abs(np.log(ours).std() - 0.75) < 0.02


@pytest.mark.parametrize("args", [(), (7,), (-4, 4), (3, None)])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int8", "uint8", "int16",
                                   "int32", "int64", "bool"])
def test_random_ranges_and_errors_as_pytorchs(args, dtype):
    def run(library):
        t = library.empty(N, dtype=getattr(library, dtype))
        try:
            return t.random_(*args)
        except Exception as error:  # noqa: BLE001  (whether both refuse is compared)
            return error
    ours, theirs = run(cr), run(torch)
    if isinstance(theirs, Exception):
        assert isinstance(ours, RuntimeError), (ours, theirs)
        return
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    a, b = ours.numpy().astype(np.float64), theirs.numpy().astype(np.float64)
    # the bounds are the same; where the range is small both samples reach them
    low = args[0] if len(args) == 2 else 0
    assert a.min() >= low and b.min() >= low
    top = max(a.max(), b.max())
    if top - low < 1000:
        assert a.min() == b.min() and a.max() == b.max()
    else:
        assert a.max() <= top * (1 + 1e-3) and b.max() > a.max() / 2 and a.max() > b.max() / 2
    same_mean_and_spread(a / max(top, 1), b / max(top, 1))


def test_random_default_tops():
    g = cr.Generator().manual_seed(0)
    assert cr.empty(100000, dtype=cr.float16).random_(generator=g).max() == 2048
    assert 2 ** 24 * 0.99 < float(cr.empty(1000).random_().max()) <= 2 ** 24
    assert float(cr.empty(1000, dtype=cr.int64).random_().max()) > 2 ** 62
    assert cr.empty(10, dtype=cr.bool).random_(**{"from": 1, "to": None}).all()
    with pytest.raises(TypeError):
        cr.empty(10).random_(**{"from": 1})
    assert cr.empty(10, dtype=cr.int64).random_(5, to=6).eq(5).all()


@pytest.mark.parametrize("call", [
    lambda t: t.exponential_(0), lambda t: t.exponential_(-1),
    lambda t: t.geometric_(0), lambda t: t.geometric_(1), lambda t: t.geometric_(1.5),
    lambda t: t.cauchy_(0, 0), lambda t: t.cauchy_(0, -1),
    lambda t: t.log_normal_(1, 0), lambda t: t.log_normal_(1, -2),
    lambda t: t.random_(3, 3), lambda t: t.random_(0), lambda t: t.random_(-3),
])
def test_bad_parameters_are_refused_as_pytorch(call):
    with pytest.raises(RuntimeError):
        call(torch.empty(3))
    with pytest.raises(RuntimeError):
        call(cr.empty(3))


@pytest.mark.parametrize("call", [lambda t: t.exponential_(), lambda t: t.cauchy_(),
                                  lambda t: t.log_normal_()])
def test_continuous_fills_refuse_integer_tensors_as_pytorch(call):
    with pytest.raises((RuntimeError, NotImplementedError)):
        call(torch.empty(3, dtype=torch.int64))
    with pytest.raises(cr.errors.DtypeError):
        call(cr.empty(3, dtype=cr.int64))
    with pytest.raises(cr.errors.DtypeError):
        cr.empty(3, dtype=cr.bool).geometric_(0.5)


FILLS = [lambda t, g=None: t.exponential_(generator=g), lambda t, g=None: t.geometric_(0.3, generator=g),
         lambda t, g=None: t.cauchy_(generator=g), lambda t, g=None: t.log_normal_(generator=g),
         lambda t, g=None: t.random_(1, 9, generator=g)]


@pytest.mark.parametrize("fill", FILLS)
@pytest.mark.parametrize("dtype", [cr.float32, cr.float64])
def test_fills_keep_dtype_write_views_and_follow_the_generator(fill, dtype):
    base = cr.zeros(4, 6, dtype=dtype)
    view = base[1:3, ::2]
    assert fill(view) is view and view.dtype == dtype
    values = base.numpy()
    assert np.all(values[1:3, ::2] != 0) and np.all(values[0] == 0) and np.all(values[1:3, 1::2] == 0)
    a = fill(cr.empty(50, dtype=dtype), cr.Generator().manual_seed(3))
    b = fill(cr.empty(50, dtype=dtype), cr.Generator().manual_seed(3))
    assert bool((a == b).all())
    cr.manual_seed(7)
    c = fill(cr.empty(50, dtype=dtype))
    cr.manual_seed(7)
    assert bool((c == fill(cr.empty(50, dtype=dtype))).all())
    assert fill(cr.empty(0, 3, dtype=dtype)).shape == (0, 3)


@pytest.mark.parametrize("fill", FILLS)
def test_a_refilled_saved_tensor_makes_backward_raise(fill):
    x = cr.ones(5, dtype=cr.float64, requires_grad=True)
    y = x * 2
    z = (y * y).sum()  # saves y
    fill(y[1:])
    with pytest.raises(cr.errors.GradientError, match="modified in place"):
        z.backward()
    with pytest.raises(cr.errors.GradientError):
        fill(cr.ones(2, requires_grad=True))
    with cr.no_grad():
        fill(cr.ones(2, requires_grad=True))


@pytest.mark.parametrize("method", ["uniform_", "normal_", "exponential_", "cauchy_",
                                    "log_normal_", "random_"])
def test_the_old_values_get_a_zero_gradient_as_pytorch(method):
    grads = []
    for library in (cr, torch):
        x = library.ones(3, dtype=library.float64, requires_grad=True)
        y = x * 1
        getattr(y, method)()
        (y * 2 + x).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
    np.testing.assert_array_equal(grads[0], np.ones(3))
