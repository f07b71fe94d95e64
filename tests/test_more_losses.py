"""MarginRankingLoss, SoftMarginLoss, HingeEmbeddingLoss, CosineEmbeddingLoss, PoissonNLLLoss,
GaussianNLLLoss, TripletMarginLoss, MultiLabelSoftMarginLoss and their F. functions against
PyTorch: values and gradients for every differentiable argument in float32 and float64, every
reduction, batched and unbatched, broadcast, strided and fanned-out inputs, edge values, the
errors PyTorch raises, state dicts; float64 first- and second-order gradient checks."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

torch = pytest.importorskip("torch")

REDUCTIONS = ["mean", "sum", "none"]
TOL = {np.float32: dict(rtol=3e-5, atol=3e-5), np.float64: dict(rtol=1e-10, atol=1e-11)}


def normal(*shape):
    return lambda rng: rng.normal(size=shape)


def signs(*shape):
    return lambda rng: rng.choice([-1.0, 1.0], size=shape)


def bits(*shape):
    return lambda rng: rng.integers(0, 2, size=shape).astype(float)


def counts(*shape, low=0):
    return lambda rng: rng.integers(low, 6, size=shape).astype(float)


def positive(*shape):
    return lambda rng: abs(rng.normal(size=shape)) + 0.1


# (loss, constructor kwargs, [argument makers per call], the arguments PyTorch differentiates)
CASES = [
    ("MarginRankingLoss", {"margin": 0.3}, [normal(6), normal(6), signs(6)], (0, 1, 2)),
    ("MarginRankingLoss", {}, [normal(), normal(), signs()], (0, 1, 2)),
    ("MarginRankingLoss", {"margin": -0.2}, [normal(6), normal(1), signs(6)], (0, 1, 2)),
    ("SoftMarginLoss", {}, [normal(3, 4), signs(3, 4)], (0,)),
    ("SoftMarginLoss", {}, [normal(3, 4), signs(4)], (0,)),
    ("HingeEmbeddingLoss", {"margin": 0.7}, [normal(3, 4), signs(3, 4)], (0,)),
    ("HingeEmbeddingLoss", {}, [normal(5), signs(5)], (0,)),
    ("CosineEmbeddingLoss", {"margin": 0.2}, [normal(4, 5), normal(4, 5), signs(4)], (0, 1)),
    ("CosineEmbeddingLoss", {"margin": -0.5}, [normal(4, 5), normal(1, 5), signs(4)], (0, 1)),
    ("CosineEmbeddingLoss", {}, [normal(5), normal(5), signs()], (0, 1)),
    ("PoissonNLLLoss", {}, [normal(3, 4), counts(3, 4)], (0, 1)),
    ("PoissonNLLLoss", {"full": True}, [normal(3, 4), counts(3, 4, low=1)], (0, 1)),
    ("PoissonNLLLoss", {"log_input": False, "eps": 1e-3}, [positive(3, 4), counts(3, 4)],
     (0, 1)),
    ("PoissonNLLLoss", {"log_input": False, "full": True}, [positive(7), counts(7, low=1)],
     (0, 1)),
    ("GaussianNLLLoss", {}, [normal(4, 3), normal(4, 3), positive(4, 3)], (0, 1, 2)),
    ("GaussianNLLLoss", {"full": True}, [normal(4, 3), normal(4, 3), positive(4, 1)],
     (0, 1, 2)),
    ("GaussianNLLLoss", {"eps": 0.5}, [normal(4, 3), normal(4, 3), positive(4)], (0, 1, 2)),
    ("GaussianNLLLoss", {}, [normal(2, 3, 4), normal(3, 4), positive(2, 1, 4)], (0, 1, 2)),
    ("TripletMarginLoss", {}, [normal(4, 5), normal(4, 5), normal(4, 5)], (0, 1, 2)),
    ("TripletMarginLoss", {"margin": 2.0, "p": 1, "swap": True},
     [normal(4, 5), normal(4, 5), normal(4, 5)], (0, 1, 2)),
    ("TripletMarginLoss", {"p": 3.0, "eps": 1e-3}, [normal(5), normal(5), normal(5)],
     (0, 1, 2)),
    ("TripletMarginLoss", {"swap": True}, [normal(2, 3, 4), normal(2, 3, 4), normal(2, 3, 4)],
     (0, 1, 2)),
    ("MultiLabelSoftMarginLoss", {}, [normal(3, 4), bits(3, 4)], (0, 1)),
    ("MultiLabelSoftMarginLoss", {"weight": [0.5, 2.0, 1.0, 0.0]}, [normal(3, 4), bits(3, 4)],
     (0, 1)),
    ("MultiLabelSoftMarginLoss", {}, [normal(4), bits(4)], (0, 1)),
]
IDS = [f"{name}{kwargs}{k}" for k, (name, kwargs, _, _) in enumerate(CASES)]


def modules(name, kwargs, reduction, dtype):
    theirs_kwargs, ours_kwargs = dict(kwargs), dict(kwargs)
    if "weight" in kwargs:
        theirs_kwargs["weight"] = torch.tensor(kwargs["weight"], dtype=torch.float64).to(
            getattr(torch, np.dtype(dtype).name))
        ours_kwargs["weight"] = cr.tensor(np.array(kwargs["weight"], dtype=dtype))
    return (getattr(nn, name)(reduction=reduction, **ours_kwargs),
            getattr(torch.nn, name)(reduction=reduction, **theirs_kwargs))


def arguments(makers, dtype, seed=0, strided=False, transform=None, differentiated=None):
    """The arrays, and leaves in both libraries (requiring grad where PyTorch differentiates,
    every one by default); ``strided`` gives each argument as every other element of a leaf
    twice as long."""
    rng = np.random.default_rng(seed)
    arrays = [make(rng).astype(dtype) for make in makers]
    if transform is not None:
        arrays = transform(arrays)
    ours, theirs, ours_in, theirs_in = [], [], [], []
    for k, a in enumerate(arrays):
        wide = np.repeat(a, 2, axis=-1) if strided and a.ndim else a
        grad = differentiated is None or k in differentiated
        o, t = cr.tensor(wide, requires_grad=grad), torch.tensor(wide, requires_grad=grad)
        ours.append(o), theirs.append(t)
        view = (slice(None),) * (a.ndim - 1) + (slice(None, None, 2),)
        ours_in.append(o[view] if strided and a.ndim else o)
        theirs_in.append(t[view] if strided and a.ndim else t)
    return ours, theirs, ours_in, theirs_in


def check(out, out_t, leaves, leaves_t, differentiated, dtype, seed=1):
    np.testing.assert_allclose(out.detach().numpy(), out_t.detach().numpy(), **TOL[dtype])
    assert tuple(out.shape) == tuple(out_t.shape)
    g = np.random.default_rng(seed).normal(size=tuple(out_t.shape)).astype(dtype)
    (out * cr.tensor(g)).sum().backward()
    (out_t * torch.tensor(g)).sum().backward()
    for k in differentiated:
        np.testing.assert_allclose(leaves[k].grad.numpy(), leaves_t[k].grad.numpy(),
                                   err_msg=f"argument {k}", **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, kwargs, makers, differentiated", CASES, ids=IDS)
def test_losses_match_pytorch(name, kwargs, makers, differentiated, reduction, dtype):
    ours, theirs = modules(name, kwargs, reduction, dtype)
    for seed, strided in ((0, False), (1, True)):
        leaves, leaves_t, args, args_t = arguments(makers, dtype, seed, strided,
                                                   differentiated=differentiated)
        check(ours(*args), theirs(*args_t), leaves, leaves_t, differentiated, dtype, seed)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, kwargs, makers, differentiated", CASES, ids=IDS)
def test_functions_are_the_modules(name, kwargs, makers, differentiated, reduction):
    function = {"MarginRankingLoss": F.margin_ranking_loss, "SoftMarginLoss": F.soft_margin_loss,
                "HingeEmbeddingLoss": F.hinge_embedding_loss,
                "CosineEmbeddingLoss": F.cosine_embedding_loss,
                "PoissonNLLLoss": F.poisson_nll_loss, "GaussianNLLLoss": F.gaussian_nll_loss,
                "TripletMarginLoss": F.triplet_margin_loss,
                "MultiLabelSoftMarginLoss": F.multilabel_soft_margin_loss}[name]
    theirs_function = getattr(torch.nn.functional, function.__name__)
    _, _, args, args_t = arguments(makers, np.float64, differentiated=differentiated)
    options = dict(kwargs)
    options_t = dict(kwargs)
    if "weight" in kwargs:
        options["weight"] = cr.tensor(kwargs["weight"], dtype="float64")
        options_t["weight"] = torch.tensor(kwargs["weight"], dtype=torch.float64)
    np.testing.assert_allclose(
        function(*args, reduction=reduction, **options).detach().numpy(),
        theirs_function(*args_t, reduction=reduction, **options_t).detach().numpy(),
        **TOL[np.float64])


FAN_OUT = [  # the same tensor in two places
    ("margin_ranking_loss", lambda lib, x, y: lib.nn.functional.margin_ranking_loss(
        x, x * 2, y)),
    ("cosine_embedding_loss", lambda lib, x, y: lib.nn.functional.cosine_embedding_loss(
        x, x.flip(0), y[:, 0], margin=-1.0)),
    ("triplet_margin_loss", lambda lib, x, y: lib.nn.functional.triplet_margin_loss(
        x, x.flip(0), x * 0.5, swap=True)),
    ("gaussian_nll_loss", lambda lib, x, y: lib.nn.functional.gaussian_nll_loss(
        x, x.flip(0), x * x + 0.1)),
    ("poisson_nll_loss", lambda lib, x, y: lib.nn.functional.poisson_nll_loss(x, x.exp())),
    ("soft_margin_loss", lambda lib, x, y: lib.nn.functional.soft_margin_loss(x, y) +
     lib.nn.functional.soft_margin_loss(x, -y)),
    ("multilabel_soft_margin_loss", lambda lib, x, y: lib.nn.functional.
     multilabel_soft_margin_loss(x, x.sigmoid())),
    ("hinge_embedding_loss", lambda lib, x, y: lib.nn.functional.hinge_embedding_loss(
        x * x, y, margin=2.0) + x.sum()),
]


@pytest.mark.parametrize("name, call", FAN_OUT, ids=[f[0] for f in FAN_OUT])
def test_fan_out_sums_every_path(name, call):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(4, 3)), rng.choice([-1.0, 1.0], size=(4, 3))
    ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, out_t = call(cr, ours, cr.tensor(y)), call(torch, theirs, torch.tensor(y))
    check(out, out_t, [ours], [theirs], (0,), np.float64)


EDGES = {"zeros": lambda a: 0 * a, "negative": lambda a: -abs(a) - 1,
         "large": lambda a: a * 1e3, "empty": lambda a: a[:0] if a.ndim else a}


@pytest.mark.parametrize("edge", sorted(EDGES))
@pytest.mark.parametrize("name, kwargs, makers, differentiated", CASES, ids=IDS)
def test_edge_values_match_or_raise_as_pytorch(name, kwargs, makers, differentiated, edge):
    if edge == "empty" and not all(make(np.random.default_rng(0)).ndim for make in makers):
        return  # an unbatched case has no batch to empty
    for reduction in REDUCTIONS:
        ours, theirs = modules(name, kwargs, reduction, np.float64)
        # The predictions take the edge value; labels stay labels (an empty batch empties all).
        labels = {"MarginRankingLoss": (2,), "SoftMarginLoss": (1,), "HingeEmbeddingLoss": (1,),
                  "CosineEmbeddingLoss": (2,), "PoissonNLLLoss": (1,),
                  "MultiLabelSoftMarginLoss": (1,)}.get(name, ())
        if name == "GaussianNLLLoss" and edge in ("zeros", "negative"):
            labels = (2,)  # a negative variance is refused (tested below), a zero one clamped

        def transform(arrays):
            return [a if k in labels and edge != "empty" else EDGES[edge](a)
                    for k, a in enumerate(arrays)]
        leaves, leaves_t, args, args_t = arguments(makers, np.float64, transform=transform,
                                                   differentiated=differentiated)
        try:
            out_t = theirs(*args_t)
        except Exception:  # noqa: BLE001 - whichever PyTorch raises
            with pytest.raises(Exception):
                ours(*args)
            continue
        if name == "SoftMarginLoss" and edge == "large":
            # PyTorch's log1p(exp(-y x)) overflows to inf (see the test below); the reference
            # is the stable logaddexp.
            x, y = (a.detach().numpy() for a in args)
            expected = np.logaddexp(0, -y * x)
            expected = {"mean": expected.mean(), "sum": expected.sum()}.get(reduction, expected)
            np.testing.assert_allclose(ours(*args).detach().numpy(), expected, rtol=1e-12)
            assert torch.isinf(out_t).any()
            continue
        with np.errstate(all="ignore"):
            out = ours(*args)
            np.testing.assert_allclose(out.detach().numpy(), out_t.detach().numpy(),
                                       rtol=1e-9, atol=1e-9)
            out.sum().backward()
        out_t.sum().backward()
        for k in differentiated:
            np.testing.assert_allclose(leaves[k].grad.numpy(), leaves_t[k].grad.numpy(),
                                       rtol=1e-9, atol=1e-9, err_msg=f"argument {k}")


def test_kinks_take_pytorchs_subgradient():
    # clamp_min(0) passes the gradient at exactly 0; hinge labels other than 1 and -1 count
    # both terms.
    x1 = np.array([1.0, 2.0, 0.5])
    x2 = np.array([1.0, 1.5, 0.5])
    y = np.array([1.0, -1.0, -1.0])
    for lib, tensor in ((cr, cr.tensor), (torch, torch.tensor)):
        a = tensor(x1, requires_grad=True)
        lib.nn.functional.margin_ranking_loss(a, tensor(x2), tensor(y), margin=0.0,
                                              reduction="sum").backward()
        lib.grad_ = a.grad
    np.testing.assert_array_equal(cr.grad_.numpy(), torch.grad_.numpy())
    x = np.array([1.0, 0.5, -2.0, 3.0])
    labels = np.array([1.0, 0.0, 2.0, -1.0])
    ours = F.hinge_embedding_loss(cr.tensor(x), cr.tensor(labels), margin=1.0, reduction="none")
    theirs = torch.nn.functional.hinge_embedding_loss(torch.tensor(x), torch.tensor(labels),
                                                      margin=1.0, reduction="none")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_poisson_full_gradient_for_a_zero_count_is_finite_where_pytorchs_is_nan():
    # Stirling's term is 0 for counts <= 1, so there the target's gradient is -input alone;
    # PyTorch masks the term's value but not the -inf of log(0) in its gradient.
    x, y = np.array([0.3, -0.2]), np.array([0.0, 3.0])
    ours, theirs = cr.tensor(y, requires_grad=True), torch.tensor(y, requires_grad=True)
    F.poisson_nll_loss(cr.tensor(x), ours, full=True, reduction="sum").backward()
    torch.nn.functional.poisson_nll_loss(torch.tensor(x), theirs, full=True,
                                         reduction="sum").backward()
    assert np.isnan(theirs.grad[0].item())
    assert ours.grad.numpy()[0] == -0.3
    assert ours.grad.numpy()[1] == pytest.approx(theirs.grad[1].item(), rel=1e-12)


def test_soft_margin_loss_stays_finite_where_pytorchs_float32_overflows():
    x, y = np.array([-100.0, 100.0], dtype=np.float32), np.array([1.0, -1.0], dtype=np.float32)
    theirs = torch.nn.functional.soft_margin_loss(torch.tensor(x), torch.tensor(y),
                                                  reduction="none")
    assert torch.isinf(theirs).all()  # log1p(exp(100)) overflows in PyTorch's float32
    ours = F.soft_margin_loss(cr.tensor(x, requires_grad=True), cr.tensor(y), reduction="none")
    np.testing.assert_allclose(ours.detach().numpy(), [100.0, 100.0])
    in64 = torch.nn.functional.soft_margin_loss(torch.tensor(x, dtype=torch.float64),
                                                torch.tensor(y, dtype=torch.float64),
                                                reduction="none")
    np.testing.assert_allclose(ours.detach().numpy(), in64.numpy())


def test_gaussian_nll_loss_clamps_the_variance_but_keeps_its_gradient():
    x, t, v = np.array([0.5, 1.0]), np.array([0.0, 0.0]), np.array([0.0, 1e-9])
    grads = []
    for lib in (cr, torch):
        var = lib.tensor(v, requires_grad=True)
        loss = lib.nn.functional.gaussian_nll_loss(lib.tensor(x), lib.tensor(t), var, eps=1e-3,
                                                   reduction="sum")
        loss.backward()
        grads.append((float(loss), var.grad.numpy()))
    assert grads[0][0] == pytest.approx(grads[1][0], rel=1e-12)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-12)
    assert np.all(grads[0][1] != 0)
    ours = F.gaussian_nll_loss(cr.tensor(x), cr.tensor(t), 2.0)
    theirs = torch.nn.functional.gaussian_nll_loss(torch.tensor(x), torch.tensor(t), 2.0)
    assert float(ours) == pytest.approx(float(theirs), rel=1e-12)


ERRORS = [  # PyTorch raises on each; ours names the function and the shapes
    (lambda lib, z: lib.nn.functional.margin_ranking_loss(z(3), z(3, 1), z(3)),
     r"margin_ranking_loss: input1 \(3,\), input2 \(3, 1\) and target \(3,\)"),
    (lambda lib, z: lib.nn.functional.cosine_embedding_loss(z(3, 2), z(3, 2), z(3, 2)),
     r"cosine_embedding_loss: expected a 0-D or 1-D target, got shape \(3, 2\)"),
    (lambda lib, z: lib.nn.functional.cosine_embedding_loss(z(3, 2, 2), z(3, 2, 2), z(3)),
     r"cosine_embedding_loss: a 1-D target expects 2-D inputs.*\(3, 2, 2\)"),
    (lambda lib, z: lib.nn.functional.cosine_embedding_loss(z(3, 2), z(3, 2), z(2)),
     r"broadcast|shape"),
    (lambda lib, z: lib.nn.functional.triplet_margin_loss(z(3, 2), z(3, 2), z(2)),
     r"triplet_margin_loss: anchor \(3, 2\), positive \(3, 2\) and negative \(2,\)"),
    (lambda lib, z: lib.nn.functional.triplet_margin_loss(z(3, 2), z(3, 2), z(3, 2), margin=0),
     r"triplet_margin_loss: margin must be greater than 0, got 0"),
    (lambda lib, z: lib.nn.TripletMarginLoss(margin=-1.0),
     r"TripletMarginLoss: margin must be greater than 0"),
    (lambda lib, z: lib.nn.functional.gaussian_nll_loss(z(3, 2), z(3, 2), z(2, 2)),
     r"gaussian_nll_loss: var of shape \(2, 2\) does not fit the input of shape \(3, 2\)"),
    (lambda lib, z: lib.nn.functional.gaussian_nll_loss(z(3, 2), z(3, 2), z(3, 2) - 2),
     r"gaussian_nll_loss: var has negative entries"),
    (lambda lib, z: lib.nn.functional.gaussian_nll_loss(z(3, 2), z(3, 2), -1.0),
     r"gaussian_nll_loss: var must be non-negative"),
    (lambda lib, z: lib.nn.functional.soft_margin_loss(z(3, 2), z(3, 3)), r"broadcast|shape"),
    (lambda lib, z: lib.nn.functional.poisson_nll_loss(z(3), z(2)), r"broadcast|shape"),
]
for loss in ("margin_ranking_loss", "soft_margin_loss", "hinge_embedding_loss",
             "cosine_embedding_loss", "poisson_nll_loss", "gaussian_nll_loss",
             "triplet_margin_loss", "multilabel_soft_margin_loss"):
    arity = 3 if loss in ("margin_ranking_loss", "cosine_embedding_loss", "gaussian_nll_loss",
                          "triplet_margin_loss") else 2
    ERRORS.append((lambda lib, z, loss=loss, arity=arity: getattr(lib.nn.functional, loss)(
        *[z(3, 2)] * arity, reduction="avg"), rf"{loss}: reduction must be one of"))


@pytest.mark.parametrize("call, pattern", ERRORS)
def test_errors_where_pytorch_raises(call, pattern):
    with pytest.raises(Exception):
        call(torch, lambda *s: torch.ones(s))
    with pytest.raises(Exception, match=pattern):
        call(cr, lambda *s: cr.ones(*s))


def test_deprecated_size_average_and_reduce_are_refused_by_name():
    with pytest.raises(cr.errors.ArgumentError, match="MarginRankingLoss: size_average and "
                                                      "reduce are PyTorch's deprecated"):
        nn.MarginRankingLoss(0.1, False)
    with pytest.raises(cr.errors.ArgumentError, match="soft_margin_loss: size_average"):
        F.soft_margin_loss(cr.zeros(2), cr.ones(2), reduce=False)


def test_state_dicts_and_options_are_pytorchs():
    for name, kwargs, _, _ in CASES:
        ours, theirs = modules(name, kwargs, "mean", np.float32)
        assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
            [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
        for option in ("margin", "p", "eps", "swap", "full", "log_input", "reduction"):
            if hasattr(theirs, option):
                assert getattr(ours, option) == getattr(theirs, option), (name, option)


def f64(*shape, seed=0, low=None):
    x = np.random.default_rng(seed).normal(size=shape)
    return cr.tensor(abs(x) + low if low is not None else x, requires_grad=True)


def labels(*shape, seed=0):
    return cr.tensor(np.random.default_rng(seed).choice([-1.0, 1.0], size=shape))


GRADCHECKS = [
    ("margin_ranking_loss", lambda a, b: F.margin_ranking_loss(a, b, labels(5), margin=3.0),
     lambda: [f64(5), f64(5, seed=1)]),
    ("soft_margin_loss", lambda x: F.soft_margin_loss(x, labels(3, 4)), lambda: [f64(3, 4)]),
    ("hinge_embedding_loss", lambda x: F.hinge_embedding_loss(x, labels(6), margin=5.0),
     lambda: [f64(6)]),
    ("cosine_embedding_loss", lambda a, b: F.cosine_embedding_loss(a, b, labels(4),
                                                                   margin=-1.5),
     lambda: [f64(4, 3), f64(4, 3, seed=1)]),
    ("poisson_nll_loss", lambda x, y: F.poisson_nll_loss(x, y, full=True),
     lambda: [f64(3, 4), f64(3, 4, seed=1, low=0.5)]),
    ("poisson_nll_loss rates", lambda x: F.poisson_nll_loss(x, labels(5) + 2, log_input=False),
     lambda: [f64(5, low=0.5)]),
    ("gaussian_nll_loss", lambda x, y, v: F.gaussian_nll_loss(x, y, v, full=True),
     lambda: [f64(4, 3), f64(4, 3, seed=1), f64(4, 1, seed=2, low=0.5)]),
    ("triplet_margin_loss", lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=10.0,
                                                                  swap=True),
     lambda: [f64(4, 3), f64(4, 3, seed=1), f64(4, 3, seed=2)]),
    ("multilabel_soft_margin_loss", lambda x, y: F.multilabel_soft_margin_loss(
        x, y, weight=cr.tensor([1.0, 2.0, 0.5], dtype="float64")),
     lambda: [f64(2, 3), f64(2, 3, seed=1)]),
]


@pytest.mark.parametrize("name, fn, make", GRADCHECKS, ids=[g[0] for g in GRADCHECKS])
def test_functions_pass_first_and_second_order_gradient_checks(name, fn, make):
    assert cr.gradcheck(fn, make())
    assert cr.gradgradcheck(fn, make())
