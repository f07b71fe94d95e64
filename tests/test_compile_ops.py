"""Every case of the op table, compiled: the replayed forward and the gradients it hands to its
inputs equal eager's, bit for bit (the plan calls the op's own forward and VJPs, or the NumPy
call they make, in the engine's order)."""
import inspect

import numpy as np
import pytest

import chainrule as cr
from chainrule.compile import CaptureError
from op_cases import OP_CASES

IDS = [f"{c.name}-{'x'.join(map(str, c.shapes))}" for c in OP_CASES]
# Cases that compute from the data outside chainrule's ops (a mask made with .numpy()):
# compile refuses them, by name. (max/min along a dim pick their indices in the plan.)
REFUSED = {"getitem-(3, 4)": (".numpy() > 0",)}


def _step(case):
    def step(*inputs):
        out = case.fn(*inputs)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        total = None
        for k, o in enumerate(outs):
            if isinstance(o, cr.Tensor) and o.requires_grad:
                term = (o * (1.0 + 0.25 * k)).sum()
                total = term if total is None else total + term
        if total is not None:
            total.backward()
        return tuple(o.detach() if isinstance(o, cr.Tensor) else o for o in outs)
    return step


def _numbers(outs, inputs):
    values = [np.asarray(o.numpy() if isinstance(o, cr.Tensor) else o) for o in outs]
    grads = [None if x.grad is None else x.grad.numpy() for x in inputs]
    return values, grads


def _refused(case):
    source = inspect.getsource(case.fn) if case.fn.__name__ == "<lambda>" else ""
    key = f"{case.name}-{'x'.join(map(str, case.shapes))}"
    return any(text in source for text in REFUSED.get(key, ()))


@pytest.mark.parametrize("case", OP_CASES, ids=IDS)
def test_op_case_replays_as_eager(case):
    step = _step(case)
    compiled = cr.compile(step)
    if _refused(case):
        with pytest.raises(CaptureError, match="changed between two calls|reads a tensor's"):
            for seed in range(2):
                compiled(*case.inputs(seed))
        return
    for seed in range(4):
        eager_inputs, inputs = case.inputs(seed), case.inputs(seed)
        expected = _numbers(step(*eager_inputs), eager_inputs)
        got = _numbers(compiled(*inputs), inputs)
        for a, b in zip(got[0], expected[0]):
            np.testing.assert_array_equal(a, b)
        for a, b in zip(got[1], expected[1]):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_array_equal(a, b)
    assert compiled.plans and compiled.plans[0].calls == 2
