"""cr.compile replayed against eager, bit for bit, on edge values.

Each case builds two identical copies of a small step (same seed): one runs eagerly, one
through ``cr.compile``. Both are called 4 times with different values of the same shapes (the
first calls trace, the later ones replay), and the outputs, every parameter's ``.grad`` and
every parameter after the optimizer's step are compared with ``np.array_equal(...,
equal_nan=True)``, dtypes and shapes too. The inputs hold 0, -0.0, negatives, inf, -inf, nan,
huge and tiny values; float64, float32 and float16; empty batches where the op allows them.
Where a plan cannot give eager's numbers, capture must refuse with a CaptureError instead.
"""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.compile import CaptureError

EDGE = np.array([0.0, -0.0, -1.5, np.inf, -np.inf, np.nan, 1e30, -1e-30, 3.0, 1e-45, -7.25,
                 0.5])


def _values(seed, shape, dtype="float64", edge=True, scale=1.0):
    """Random values of ``shape``, with the edge values mixed in when ``edge``."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * scale).astype(dtype)
    if edge and x.size:
        flat = x.reshape(-1)
        picks = rng.choice(flat.size, size=min(flat.size, 4), replace=False)
        flat[picks] = rng.choice(EDGE, size=picks.size).astype(dtype)
    return x


def _plain(obj):
    if isinstance(obj, cr.Tensor):
        return obj.detach().numpy()
    return obj


def _same(a, b, what):
    a, b = _plain(a), _plain(b)
    if a is None or b is None:
        assert a is None and b is None, what
        return
    if isinstance(a, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b), what
        for k, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{what}[{k}]")
        return
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} != {b.dtype}"
        assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
        nan = a.dtype.kind in "fc"
        assert np.array_equal(a, b, equal_nan=nan), f"{what}: eager {a!r}\ncompiled {b!r}"
        if nan:  # the sign of zero too
            assert np.array_equal(np.signbit(a), np.signbit(b)), f"{what}: signs of zero"
        return
    assert a == b or (a != a and b != b), f"{what}: {a!r} != {b!r}"


def twin(make, args, calls=4, between=None, replayed=1):
    """Run ``make()``'s step eagerly and compiled (two copies from the same seed) with
    ``args(k)`` at call k; compare outputs, parameters and gradients bit for bit after every
    call. ``make()`` returns (parameters, optimizer or None, step, module or None);
    ``between(k, optimizer, module)`` runs before call k on each copy."""
    cr.manual_seed(0)
    params_e, opt_e, eager, mod_e = make()
    cr.manual_seed(0)
    params_c, opt_c, fn, mod_c = make()
    compiled = cr.compile(fn)
    for k in range(calls):
        if between is not None:
            between(k, opt_e, mod_e)
            between(k, opt_c, mod_c)
        cr.manual_seed(1000 + k)  # the same random draws (dropout) in both runs
        expected = eager(*_fresh(args(k)))
        cr.manual_seed(1000 + k)
        got = compiled(*_fresh(args(k)))
        _same(expected, got, f"call {k}: output")
        for i, (p, q) in enumerate(zip(params_e, params_c)):
            _same(p, q, f"call {k}: parameter {i}")
            _same(p.grad, q.grad, f"call {k}: parameter {i}'s grad")
    # Not a vacuous comparison: some calls ran a plan, not the eager function.
    assert sum(plan.calls for plan in compiled.plans) >= replayed, compiled
    return compiled


def _fresh(args):
    """A copy of the arguments for each run (a step may change them in place)."""
    return [a.detach().clone().requires_grad_(a.requires_grad) if isinstance(a, cr.Tensor)
            else (a.copy() if isinstance(a, np.ndarray) else a) for a in args]


def _param(shape, dtype="float64", seed=0):
    return cr.tensor(_values(seed, shape, dtype, edge=False), requires_grad=True)


def body_step(body, w_shape, dtype="float64", make_opt=None):
    """A step with one parameter w: out = body(w, *args), backward of out.sum() (or of out when
    it is a scalar), then the optimizer's step when there is one."""
    def make():
        w = _param(w_shape, dtype)
        opt = make_opt([w]) if make_opt else None

        def step(*args):
            w.grad = None
            out = body(w, *args)
            loss = out if out.ndim == 0 else out.sum()
            loss.backward()
            if opt is not None:
                opt.step()
            return out
        return [w], opt, step, None
    return make


def data(shape, dtype="float64", edge=True):
    """args(k): one tensor of ``shape`` with call k's values."""
    return lambda k: [cr.tensor(_values(100 + k, shape, dtype, edge))]


def _idx():
    return cr.tensor(np.array([2, 0, 2]))


BODIES = {
    # views
    "slice": (lambda w, x: w[1:, ::2] * x[:, 1:3], (3, 4), (2, 2)),
    "transpose": (lambda w, x: w.T @ x, (3, 4), (3, 2)),
    "reshape": (lambda w, x: (w.reshape(2, 6) * x.reshape(2, 6)).reshape(-1), (3, 4), (4, 3)),
    "expand": (lambda w, x: w.expand(3, 4) * x, (1, 4), (3, 4)),
    "int_index": (lambda w, x: w[1] * x[2], (3, 4), (3, 4)),
    "bool_const_index": (lambda w, x: w[cr.tensor([True, False, True])] * x[:2], (3, 4), (3, 4)),
    "array_index": (lambda w, x: w[_idx()] * x, (3, 4), (3, 4)),
    "array_index_2d": (lambda w, x: w[_idx(), cr.tensor([1, 1, 3])] * x[0, :3], (3, 4), (3, 4)),
    # in-place on non-leaf tensors
    "add_": (lambda w, x: (w * x).add_(1.5), (3, 4), (3, 4)),
    "mul_": (lambda w, x: (w * 2).mul_(x), (3, 4), (3, 4)),
    "clamp_": (lambda w, x: (w * x).clamp_(-1.0, 2.0), (3, 4), (3, 4)),
    "masked_fill_": (lambda w, x: (w * x).masked_fill_(x > 0, 0.0), (3, 4), (3, 4)),
    "setitem": (lambda w, x: _setitem(w * x, w), (3, 4), (3, 4)),
    "index_put_": (lambda w, x: (w * x).index_put_((_idx(),), w[0] * 3), (3, 4), (3, 4)),
    "view_inplace": (lambda w, x: _view_inplace(w, x), (3, 4), (3, 4)),
    # fan-out and broadcasting
    "fan_out": (lambda w, x: (w * x) * (w * x) + (w * x).tanh() - w, (3, 4), (3, 4)),
    "broadcast_row": (lambda w, x: (w + x).sum(0), (4,), (2, 3, 4)),
    "broadcast_col": (lambda w, x: (w * x).mean((0, 2)), (3, 1), (2, 3, 4)),
    "broadcast_scalar": (lambda w, x: (x / w).max(1).values, (), (3, 4)),
    # data-dependent choices
    "argmax_gather": (lambda w, x: (w * x).gather(1, x.argmax(1, keepdim=True)), (3, 4), (3, 4)),
    "max_dim": (lambda w, x: (w * x).max(1).values, (3, 4), (3, 4)),
    "topk": (lambda w, x: (w * x).topk(2, dim=1).values, (3, 4), (3, 4)),
    "sort": (lambda w, x: (w * x).sort(1).values * cr.arange(4.0, dtype="float64"),
             (3, 4), (3, 4)),
    "where": (lambda w, x: cr.where(x > 0, w * x, w * 2), (3, 4), (3, 4)),
    "where_nan_safe": (lambda w, x: cr.where(x.isnan(), w, w * x), (3, 4), (3, 4)),
    "relu_maximum": (lambda w, x: (w * x).relu() + cr.maximum(w, x), (3, 4), (3, 4)),
    "abs_sign": (lambda w, x: (w * x).abs() + x.sign() * w, (3, 4), (3, 4)),
    "clamp_minmax": (lambda w, x: (w * x).clamp(min=-1.0) + (w + x).clamp(max=0.5), (3, 4),
                     (3, 4)),
    "amax": (lambda w, x: (w * x).amax(1), (3, 4), (3, 4)),
    "norm": (lambda w, x: (w * x).norm(dim=1), (3, 4), (3, 4)),
    "logsumexp": (lambda w, x: (w * x).logsumexp(1), (3, 4), (3, 4)),
    "softmax": (lambda w, x: (w * x).softmax(1) * x, (3, 4), (3, 4)),
    "pow_sqrt": (lambda w, x: (w * w).sqrt() * x ** 2, (3, 4), (3, 4)),
    "cumsum": (lambda w, x: (w * x).cumsum(1), (3, 4), (3, 4)),
    "prod": (lambda w, x: (w * x).prod(1), (3, 4), (3, 4)),
}


INPLACE = "changed in place inside the step"
# In-place changes of tensors inside the step are refused by capture (docs/compile.md).
REFUSED = {name: INPLACE for name in ("add_", "mul_", "clamp_", "masked_fill_", "setitem",
                                      "index_put_", "view_inplace")}
# gather reads argmax's indices along dim as a line of the plan (argmax_gather replays).


def _setitem(y, w):
    y[0] = w[1] * 2
    y[:, 1] = 0.0
    return y


def _view_inplace(w, x):
    y = w * x
    v = y[1:]
    v.mul_(3.0)
    return y


@pytest.mark.parametrize("name", list(BODIES))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_body_replays_eager_bits(name, dtype):
    body, w_shape, x_shape = BODIES[name]
    if name in REFUSED:
        with pytest.raises(CaptureError, match=REFUSED[name]):
            twin(body_step(body, w_shape, dtype), data(x_shape, dtype))
    else:
        twin(body_step(body, w_shape, dtype), data(x_shape, dtype))


# -- float16, empty batches, integer inputs ----------------------------------------------------
HALF = ["slice", "transpose", "expand", "fan_out", "broadcast_col", "where", "relu_maximum",
        "max_dim", "softmax", "topk", "sort"]


@pytest.mark.parametrize("name", HALF)
def test_float16_body_replays_eager_bits(name):
    body, w_shape, x_shape = BODIES[name]
    twin(body_step(body, w_shape, "float16"), data(x_shape, "float16"))


EMPTY = {
    "mul_sum": (lambda w, x: (w * x).sum(0), (4,), (0, 4)),
    "matmul": (lambda w, x: x @ w, (4, 3), (0, 4)),
    "mean_rows": (lambda w, x: (w + x).mean(1), (4,), (0, 4)),
    "slice": (lambda w, x: w[:, 1:] * x[:, 1:], (1, 4), (0, 4)),
    "softmax": (lambda w, x: (w * x).softmax(1), (4,), (0, 4)),
    "mean_all": (lambda w, x: (w * x).mean(), (4,), (0, 4)),  # nan, as PyTorch's
}


@pytest.mark.parametrize("name", list(EMPTY))
def test_empty_batch_replays_eager_bits(name):
    body, w_shape, x_shape = EMPTY[name]
    twin(body_step(body, w_shape), data(x_shape))


def test_integer_inputs_replay_eager_bits():
    def args(k):
        rng = np.random.default_rng(k)
        return [cr.tensor(rng.integers(-5, 5, (3, 4))), cr.tensor(rng.integers(0, 3, (3,)))]
    body = (lambda w, n, i: (w * n + n // 2).sum(1) * (i + 1) + w[i].sum(1))
    twin(body_step(body, (3, 4)), args)


# -- data-dependent sizes: replayed with the same count, or refused ------------------------
def test_masked_select_with_the_same_count_replays():
    def args(k):
        x = _values(200 + k, (3, 4), edge=False)
        mask = np.zeros(12, bool)
        mask[np.random.default_rng(k).choice(12, 5, replace=False)] = True
        return [cr.tensor(x), cr.tensor(mask.reshape(3, 4))]
    twin(body_step(lambda w, x, m: (w * x).masked_select(m) * 2, (3, 4)), args)
    twin(body_step(lambda w, x, m: (w * x)[m > 0.5] * 2, (3, 4)), args)


def test_a_mask_with_another_count_is_refused():
    counts = [5, 5, 5, 7]

    def args(k):
        mask = np.zeros(12, bool)
        mask[np.random.default_rng(k).choice(12, counts[k], replace=False)] = True
        return [cr.tensor(_values(k, (3, 4))), cr.tensor(mask.reshape(3, 4))]
    with pytest.raises(CaptureError, match="shape"):
        twin(body_step(lambda w, x, m: (w * x)[m], (3, 4)), args)


def test_nonzero_replays_or_refuses():
    def args(k):
        x = _values(300 + k, (3, 4), edge=False)
        return [cr.tensor(x)]
    body = lambda w, x: w[(x > 0).nonzero(as_tuple=True)] * 2  # noqa: E731
    try:
        twin(body_step(body, (3, 4)), args)
    except CaptureError as error:
        assert "shape" in str(error) or "nonzero" in str(error)


def test_a_data_mask_from_the_input_replays():
    # x > 0 computed in the step selects new places at each call (same count).
    rows = [[1.0, -1, 2, -3], [-1.0, 2, 3, -4], [-2.0, -1, 5, 6], [7.0, -8, -9, 1]]
    twin(body_step(lambda w, x: (w * x)[x > 0], (4,)),
         lambda k: [cr.tensor(np.array(rows[k]))])


# -- a model, losses and optimizers ------------------------------------------------------------
def model_step(loss_fn, make_opt, n_in=5, n_out=4, dtype="float32", clip=None, dropout=None,
               no_grad_part=False):
    """A two-layer network trained by ``loss_fn(logits, *targets)`` with ``make_opt``."""
    def make():
        layers = [nn.Linear(n_in, 6), nn.Tanh()]
        if dropout is not None:
            layers.append(nn.Dropout(dropout))
        model = nn.Sequential(*layers, nn.Linear(6, n_out))
        if dtype == "float64":
            model = model.double()
        opt = make_opt(model.parameters())

        def step(x, *targets):
            opt.zero_grad()
            logits = model(x)
            if no_grad_part:
                with cr.no_grad():
                    scale = logits.abs().mean() + 1
                logits = logits / scale
            loss = loss_fn(logits, *targets)
            loss.backward()
            norm = None
            if clip is not None:
                norm = nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            return loss, norm, logits
        return list(model.parameters()), opt, step, model
    return make


def classes(n_in=5, n_out=4, batch=6, dtype="float32", edge=False, labels=None):
    def args(k):
        rng = np.random.default_rng(500 + k)
        y = rng.integers(0, n_out, batch) if labels is None else np.array(labels[k])
        return [cr.tensor(_values(400 + k, (batch, n_in), dtype, edge)), cr.tensor(y)]
    return args


def regression(n_in=5, n_out=4, batch=6, dtype="float32", edge=False, binary=False):
    def args(k):
        t = _values(600 + k, (batch, n_out), dtype, edge=False)
        if binary:
            t = (t > 0).astype(dtype)
        return [cr.tensor(_values(400 + k, (batch, n_in), dtype, edge)), cr.tensor(t)]
    return args


F = nn.functional
LOSSES = {
    "cross_entropy": (lambda o, y: F.cross_entropy(o, y), classes()),
    "cross_entropy_smoothing": (lambda o, y: F.cross_entropy(o, y, label_smoothing=0.1),
                                classes()),
    "cross_entropy_weight": (lambda o, y: F.cross_entropy(
        o, y, weight=cr.tensor([1.0, 2.0, 0.5, 0.0])), classes()),
    "cross_entropy_ignore": (lambda o, y: F.cross_entropy(o, y, ignore_index=1), classes(
        labels=[[1, 0, 2, 3, 1, 0], [1, 3, 3, 2, 1, 0], [1, 2, 0, 0, 1, 3], [1, 0, 0, 2, 1, 2]])),
    "cross_entropy_all": (lambda o, y: F.cross_entropy(
        o, y, ignore_index=2, label_smoothing=0.2, weight=cr.tensor([0.3, 1.0, 2.0, 1.5])),
        classes(labels=[[2, 0, 1, 3, 0, 1], [2, 3, 3, 1, 0, 1], [2, 1, 0, 0, 3, 3],
                        [2, 0, 0, 1, 1, 1]])),
    "cross_entropy_sum": (lambda o, y: F.cross_entropy(o, y, reduction="sum"), classes()),
    "nll_loss": (lambda o, y: F.nll_loss(F.log_softmax(o, 1), y), classes()),
    "nll_loss_weight": (lambda o, y: F.nll_loss(F.log_softmax(o, 1), y,
                                                weight=cr.tensor([1.0, 2.0, 0.5, 3.0])),
                        classes()),
    "mse": (lambda o, t: F.mse_loss(o, t), regression()),
    "mse_sum": (lambda o, t: F.mse_loss(o, t, reduction="sum"), regression()),
    "bce_logits": (lambda o, t: F.binary_cross_entropy_with_logits(o, t),
                   regression(binary=True)),
    "bce_logits_pos_weight": (lambda o, t: F.binary_cross_entropy_with_logits(
        o, t, pos_weight=cr.tensor([1.0, 2.0, 3.0, 0.5])), regression(binary=True)),
    "l1": (lambda o, t: F.l1_loss(o, t), regression()),
    "smooth_l1": (lambda o, t: F.smooth_l1_loss(o, t), regression()),
    "huber": (lambda o, t: F.huber_loss(o, t, delta=0.5), regression()),
}


def sgd(p):
    return optim.SGD(p, lr=0.1)


# The class-index losses pick with the labels through ops (gather's index along the class
# dim is a line of the plan), so weights, label smoothing, ignore_index and nll_loss replay
# with each call's labels.
@pytest.mark.parametrize("name", list(LOSSES))
def test_losses_replay_eager_bits(name):
    loss_fn, args = LOSSES[name]
    twin(model_step(loss_fn, sgd), args)


@pytest.mark.parametrize("name", ["cross_entropy", "mse", "bce_logits"])
def test_losses_on_edge_inputs_in_float64(name):
    loss_fn, _ = LOSSES[name]
    binary = name == "bce_logits"
    args = classes(dtype="float64", edge=True) if name in ("cross_entropy", "nll_loss") \
        else regression(dtype="float64", edge=True, binary=binary)
    twin(model_step(loss_fn, sgd, dtype="float64"), args)


OPTIMIZERS = {
    "sgd_momentum": lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
    "sgd_nesterov_decay": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True,
                                              weight_decay=0.01),
    "sgd_dampening": lambda p: optim.SGD(p, lr=0.1, momentum=0.5, dampening=0.3),
    "adam": lambda p: optim.Adam(p, lr=0.01),
    "adam_decay": lambda p: optim.Adam(p, lr=0.01, weight_decay=0.1),
    "adam_amsgrad": lambda p: optim.Adam(p, lr=0.01, amsgrad=True),
    "adamw": lambda p: optim.AdamW(p, lr=0.01, weight_decay=0.05),
}


def _change_lr(k, opt, module):
    for group in opt.param_groups:
        group["lr"] = [0.1, 0.05, 0.2, 0.01][k]


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_optimizers_with_lr_changed_between_calls(name, dtype):
    twin(model_step(LOSSES["cross_entropy"][0], OPTIMIZERS[name], dtype=dtype, clip=None),
         classes(dtype=dtype), calls=5, between=lambda k, o, m: _change_lr(k % 4, o, m))


@pytest.mark.parametrize("max_norm", [0.05, 1e3])
def test_clip_grad_norm(max_norm):
    twin(model_step(LOSSES["cross_entropy"][0], OPTIMIZERS["adam"], clip=max_norm), classes())


def test_clip_grad_norm_of_nan_gradients():
    twin(model_step(LOSSES["mse"][0], OPTIMIZERS["sgd_momentum"], clip=1.0, dtype="float64"),
         regression(dtype="float64", edge=True))


def test_dropout_in_training_with_a_seeded_generator():
    twin(model_step(LOSSES["cross_entropy"][0], OPTIMIZERS["adamw"], dropout=0.4), classes())


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_rrelu_in_training_draws_new_slopes_at_every_call(dtype):
    # rrelu's slopes were a constant of the plan, refused at the second call: now a plan line
    # draws them where this call's input is <= 0, from the same generator in eager's order.
    compiled = twin(body_step(lambda w, x: F.rrelu(w * x, 0.1, 0.4, training=True), (3, 4),
                              dtype, make_opt=sgd), data((3, 4), dtype), calls=5)
    assert "_rrelu_slopes(" in compiled.code and compiled.plans[0].calls >= 2


def test_rrelu_with_its_own_generator():
    def make():
        g = cr.Generator().manual_seed(7)
        w = _param((5, 4))

        def step(x):
            w.grad = None
            out = F.rrelu(x @ w, training=True, generator=g).sum()
            out.backward()
            return out
        return [w], None, step, None
    twin(make, data((6, 5)), calls=5)


def _eval_on_odd_calls(k, opt, model):
    model.train(k % 2 == 0)


def test_eval_and_train_alternating():
    twin(model_step(LOSSES["cross_entropy"][0], OPTIMIZERS["sgd_momentum"], dropout=0.5),
         classes(), calls=6, between=_eval_on_odd_calls)


def test_no_grad_inside_the_step():
    twin(model_step(LOSSES["mse"][0], OPTIMIZERS["adam"], no_grad_part=True), regression())


def test_shape_and_dtype_changes_retrace():
    shapes = [(6, 5), (6, 5), (6, 5), (3, 5), (3, 5), (1, 5), (6, 5), (3, 5)]
    def args(k):
        batch = shapes[k][0]
        rng = np.random.default_rng(k)
        return [cr.tensor(_values(k, shapes[k], edge=False)), cr.tensor(
            rng.integers(0, 4, batch))]
    loss = lambda o, y: F.cross_entropy(o, y, reduction="sum")  # noqa: E731 (0 rows: 0)
    compiled = twin(model_step(loss, OPTIMIZERS["sgd_momentum"], dtype="float64"), args,
                    calls=len(shapes))
    assert len(compiled.plans) >= 2


def test_input_dtype_changes_retrace():
    dtypes = ["float64", "float64", "float64", "float32", "float32", "float32", "float64",
              "float16"]
    body = lambda w, x: (w * x).tanh() + w.exp() * x  # noqa: E731
    compiled = twin(body_step(body, (3, 4)), lambda k: [cr.tensor(_values(k, (3, 4),
                                                                          dtypes[k]))],
                    calls=len(dtypes))
    assert len(compiled.plans) >= 2


def test_requires_grad_of_an_argument_changes_retrace():
    flags = [False, False, False, True, True, True, False]

    def make():
        w = _param((3, 4))

        def step(x):
            w.grad = None
            loss = (w * x).tanh().sum()
            loss.backward()
            return loss, x.grad
        return [w], None, step, None

    def args(k):
        return [cr.tensor(_values(k, (3, 4)), requires_grad=flags[k])]
    twin(make, args, calls=len(flags))


# -- Python numbers: -0.0 is not 0.0 -----------------------------------------------------------
# -0.0 == 0.0 in Python, so a guard `s == -0.0` let a plan traced with s = -0.0 serve s = 0.0:
# w * s kept the traced sign of zero, and 1 / (w * s) gave -inf where eager gave inf.
ZERO_SIGNS = [-0.0, -0.0, -0.0, 0.0, 0.0, -0.0]


def _signed_zero_step(get_scale):
    def make():
        w = cr.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)

        def step(x, *scale):
            w.grad = None
            out = 1 / (w * get_scale(*scale) * x)
            out.sum().backward()
            return out
        return [w], None, step, None
    return make


@pytest.mark.parametrize("kind", [float, np.float64, np.float32, tuple])
def test_a_zero_argument_of_the_other_sign_retraces(kind):
    def args(k):
        scale = (ZERO_SIGNS[k], 1.0) if kind is tuple else kind(ZERO_SIGNS[k])
        return [cr.tensor(np.ones(3)), scale]
    get = (lambda s: s[0]) if kind is tuple else (lambda s: s)
    compiled = twin(_signed_zero_step(get), args, calls=len(ZERO_SIGNS))
    assert len(compiled.plans) == 2


def test_a_zero_in_a_config_of_the_other_sign_retraces():
    cfg = {"scale": -0.0}
    compiled = twin(_signed_zero_step(lambda: cfg["scale"]), lambda k: [cr.tensor(np.ones(3))],
                    calls=len(ZERO_SIGNS),
                    between=lambda k, o, m: cfg.__setitem__("scale", ZERO_SIGNS[k]))
    assert len(compiled.plans) == 2


def test_a_module_option_zero_of_the_other_sign_retraces():
    def make():
        layer = nn.LeakyReLU(-0.0)
        w = cr.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)

        def step(x):
            w.grad = None
            out = 1 / layer(w * x)
            out.sum().backward()
            return out
        return [w], None, step, layer

    def slope(k, opt, layer):
        layer.negative_slope = ZERO_SIGNS[k]
    compiled = twin(make, lambda k: [cr.tensor(np.ones(3))], calls=len(ZERO_SIGNS),
                    between=slope)
    assert len(compiled.plans) == 2


# -- checks eager makes on the data, made at every replay --------------------------------------
@pytest.mark.parametrize("bad", [-1, 5])
def test_embedding_indices_out_of_range_raise_as_eager(bad):
    # Eager's embedding checks the indices' range with NumPy before the lookup; the plan read
    # them live without the check, and a -1 silently picked the last row.
    def make():
        table = nn.Embedding(5, 2)
        opt = optim.SGD(table.parameters(), lr=0.1)

        def step(i):
            opt.zero_grad()
            out = table(i)
            (out * out).sum().backward()
            opt.step()
            return out
        return list(table.parameters()), opt, step, table
    calls = [[0, 1, 2], [3, 1, 2], [4, 0, 2], [2, 2, 1]]
    twin(make, lambda k: [cr.tensor(np.array(calls[k]))])
    cr.manual_seed(0)
    step = cr.compile(make()[2])
    for indices in calls[:3]:
        step(cr.tensor(np.array(indices)))
    assert step.plans
    with pytest.raises(IndexError, match="embedding: index out of range"):
        step(cr.tensor(np.array([bad, 0, 2])))


# -- integer values computed from the data that chainrule's NumPy code reads -------------------
# Labels made in the step (y = x.argmax(1)) that were the same in both traced calls: nll_loss,
# gather, label smoothing, index_select, take, scatter and index_add build index arrays from
# them with NumPy, which the plan held as constants, so later calls silently used the traced
# labels (nll_loss gave 2.667 where eager gave 0.167). Now the plan checks such a value at
# every call; where it first differs, the call is traced again and compared with the plan:
# the same numbers as eager, or a CaptureError where a constant would have been frozen.
DERIVED_CALLS = [[[1, 0, 0], [0, 1, 0]], [[2, 0, 0], [0, 3, 0]], [[3, 0, 0], [0, 2, 0]],
                 [[0, 2, 0], [3, 0, 0]], [[0, 0, 1], [0, 0, 5]]]
DERIVED = {
    "index_add": (lambda o, y: cr.zeros(2, 3, dtype="float64").index_add(1, y, o[:, :2])
                  .pow(2).sum(), False),
    # These read the labels with ops (gather's and scatter's index along dim is a line of the
    # plan; index_select's and take's index too): replayed, equal to eager.
    "nll_loss": (lambda o, y: F.nll_loss(F.log_softmax(o, 1), y), True),
    "gather": (lambda o, y: o.gather(1, y[:, None]).sum(), True),
    "label_smoothing": (lambda o, y: F.cross_entropy(o, y, label_smoothing=0.1), True),
    "scatter": (lambda o, y: o.scatter(1, y[:, None], 0.0).sum() + (o * o).sum(), True),
    "index_select": (lambda o, y: o.index_select(1, y).sum(), True),
    "take": (lambda o, y: o.take(y).sum(), True),
    "cross_entropy": (lambda o, y: F.cross_entropy(o, y), True),
    "getitem": (lambda o, y: o[cr.arange(2), y].sum(), True),
    "one_hot": (lambda o, y: (o * F.one_hot(y, 3)).sum(), True),
}


def _derived_step(loss_fn, dropout=False):
    def make():
        w = cr.tensor(np.eye(3) + 0.1, requires_grad=True)
        opt = optim.SGD([w], lr=0.1, momentum=0.5)

        def step(x):
            opt.zero_grad()
            o = x @ w
            if dropout:
                o = F.dropout(o, 0.3, training=True)
            loss = loss_fn(o, x.argmax(1))
            loss.backward()
            opt.step()
            return loss
        return [w], opt, step, None
    return make


@pytest.mark.parametrize("name", list(DERIVED))
def test_labels_made_from_the_data_are_not_frozen(name):
    loss_fn, replays = DERIVED[name]
    args = lambda k: [cr.tensor(np.array(DERIVED_CALLS[k], dtype=np.float64))]  # noqa: E731
    if replays:
        compiled = twin(_derived_step(loss_fn), args, calls=len(DERIVED_CALLS))
        assert compiled.plans[0].calls >= 2
    else:
        with pytest.raises(CaptureError, match="changed between two calls|freeze"):
            twin(_derived_step(loss_fn), args, calls=len(DERIVED_CALLS))


def test_a_replay_stopped_by_a_changed_value_draws_dropout_again_as_eager():
    # The check stops the replay after dropout drew its mask; the traced call that follows
    # must draw the same mask as eager (the generator's state is restored).
    args = lambda k: [cr.tensor(np.array(DERIVED_CALLS[k], dtype=np.float64))]  # noqa: E731
    twin(_derived_step(DERIVED["cross_entropy"][0], dropout=True), args,
         calls=len(DERIVED_CALLS))


def test_an_accuracy_after_the_update_replays():
    # argmax's predictions, the same in the two traced calls, read by the plan's own ops
    # after the update: replayed at every call, not refused.
    def make():
        model = nn.Linear(3, 3).double()
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            opt.zero_grad()
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            opt.step()
            accuracy = (logits.argmax(1) == y).double().mean()
            return loss, accuracy
        return list(model.parameters()), opt, step, model
    labels = [[0, 1], [0, 1], [2, 1], [0, 2], [1, 1]]
    compiled = twin(make, lambda k: [cr.tensor(np.array(DERIVED_CALLS[k], dtype=np.float64)),
                                     cr.tensor(np.array(labels[k]))], calls=5)
    assert compiled.plans[0].calls >= 2


def test_labels_made_after_the_update_that_change_are_refused():
    # After the optimizer's update a replay cannot stop and trace the call again: a value
    # that fed chainrule's NumPy code (index_add's indices) and changes is refused, by name.
    def make():
        w = cr.tensor(np.eye(3) + 0.1, requires_grad=True)
        opt = optim.SGD([w], lr=0.1)

        def step(x):
            opt.zero_grad()
            o = x @ w
            (o * o).sum().backward()
            opt.step()
            return cr.zeros(3, 3, dtype="float64").index_add(0, x.argmax(1), o.detach()).sum()
        return [w], opt, step, None
    args = lambda k: [cr.tensor(np.array(DERIVED_CALLS[k], dtype=np.float64))]  # noqa: E731
    with pytest.raises(CaptureError, match="argmax.*same values in the two traced calls"):
        twin(make, args, calls=len(DERIVED_CALLS))


# -- optimizer options and argument layouts changed between calls ----------------------------
OPTION_CHANGES = {
    "adam_eps": (lambda p: optim.Adam(p, lr=0.1), "eps", 0.5),
    "adam_betas": (lambda p: optim.Adam(p, lr=0.1), "betas", (0.5, 0.6)),
    "adam_maximize": (lambda p: optim.Adam(p, lr=0.1), "maximize", True),
    "adamw_weight_decay": (lambda p: optim.AdamW(p, lr=0.1), "weight_decay", 0.5),
    "sgd_momentum": (lambda p: optim.SGD(p, lr=0.1, momentum=0.9), "momentum", 0.1),
    "sgd_nesterov": (lambda p: optim.SGD(p, lr=0.1, momentum=0.9), "nesterov", True),
    "sgd_weight_decay": (lambda p: optim.SGD(p, lr=0.1), "weight_decay", 0.5),
    "sgd_dampening": (lambda p: optim.SGD(p, lr=0.1, momentum=0.9), "dampening", 0.5),
}


@pytest.mark.parametrize("name", list(OPTION_CHANGES))
def test_optimizer_options_changed_between_calls(name):
    make_opt, key, value = OPTION_CHANGES[name]

    def change(k, opt, module):
        if k == 3:
            opt.param_groups[0][key] = value
    twin(model_step(LOSSES["mse"][0], make_opt, dtype="float64"), regression(dtype="float64"),
         calls=5, between=change)


def test_arguments_in_other_memory_layouts():
    layouts = [lambda a: a, lambda a: a, np.asfortranarray, lambda a: a.T.copy().T,
               lambda a: np.repeat(a, 2, axis=1)[:, ::2]]
    body = lambda w, x: ((x @ w).tanh() @ w.T)  # noqa: E731
    twin(body_step(body, (5, 4)), lambda k: [cr.from_numpy(layouts[k](_values(k, (6, 5))))],
         calls=len(layouts))
