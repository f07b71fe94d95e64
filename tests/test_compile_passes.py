"""The program passes of cr.compile, each on its own: none changes a number."""
import functools
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import models, nn, optim

ALL = ("dce", "del", "lower")


def _run(passes, make_optimizer=lambda p: optim.SGD(p, lr=0.1), extra=None, steps=4):
    cr.manual_seed(0)
    model = models.mlp(784, [256], 10)
    optimizer = make_optimizer(model.parameters())

    def step(x, y):
        loss = nn.functional.cross_entropy(model(x), y)
        if extra is not None:
            extra(x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss
    compiled = cr.compile(step, passes=passes)
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(steps):
        x = cr.tensor(rng.random((16, 784), dtype=np.float32))
        losses.append(compiled(x, rng.integers(0, 10, 16)).item())
    return compiled, losses, [p.detach().numpy().copy() for p in model.parameters()]


@functools.lru_cache(maxsize=1)
def _reference():
    return _run(ALL)


@pytest.mark.parametrize("passes", [(), ("dce",), ("dce", "del"), ("lower",)])
def test_no_pass_changes_a_number(passes):
    _, losses, params = _run(passes)
    _, expected_losses, expected = _reference()
    assert losses == expected_losses
    for a, b in zip(params, expected):
        np.testing.assert_array_equal(a, b)


def test_dead_code_elimination_drops_what_nothing_reads():
    def unused(x):
        (x * 3.0).exp().sum()  # computed and dropped by the step
    kept = _run((), extra=unused, steps=3)[0].code
    dropped = _run(("dce",), extra=unused, steps=3)[0].code
    assert "_exp(" in kept and "_exp(" not in dropped
    assert "zero_grad" in kept and "zero_grad" not in dropped  # .grad = None, then overwritten


def test_del_at_last_use():
    assert re.search(r"^\s+del ", _reference()[0].code, re.M)
    assert not re.search(r"^\s+del ", _run(("dce", "lower"), steps=3)[0].code, re.M)


def test_buffers_are_planned_and_reused():
    compiled = _reference()[0]
    code = compiled.code
    # z = x W1^T + b1 and h = relu(z) overwrite the product's buffer, which nothing reads after
    assert re.search(r"^\s+z = np\.add\(xW1T, b1, out=(_buf_xW1T)\)", code, re.M)
    assert re.search(r"^\s+h = np\.maximum\(0, z, out=_buf_xW1T\)", code, re.M)
    assert 0 < compiled.buffer_bytes() < 4 * 784 * 256 * 3
    assert _run(("dce", "del"), steps=3)[0].buffer_bytes() == 0


def test_sgd_and_adam_update_in_place_and_other_optimizers_run_their_own_update():
    sgd = _reference()[0].code
    assert re.search(r"np\.subtract\(W1, _scratch\d*, out=W1\)", sgd)
    assert "_opt.update(" not in sgd
    momentum = _run(ALL, lambda p: optim.SGD(p, lr=0.1, momentum=0.9))[0]
    assert "momentum_buffer" in momentum.code and "_opt.update(" not in momentum.code
    adam = _run(ALL, lambda p: optim.Adam(p, lr=1e-3))[0].code
    assert "np.subtract(W1, _scratch" in adam and "_opt.update(" not in adam
    amsgrad = _run(ALL, lambda p: optim.Adam(p, lr=1e-3, amsgrad=True))[0].code
    assert "_opt.update(" in amsgrad  # no lowering: Adam.update itself runs


def test_transposes_fold():
    code = _reference()[0].code
    assert ".T.T" not in code and "W2T.T" not in code
    assert re.search(r"^\s+dh = np\.matmul\(do, W2,", code, re.M)  # (W2^T)^T is W2
    assert re.search(r"^\s+dW1 = np\.matmul\(dz\.T, x,", code, re.M)  # in W1's own layout
    assert "_transpose" not in code
