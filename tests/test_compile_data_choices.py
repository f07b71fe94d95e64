"""cr.compile and the ops that choose from the data's values with NumPy: sort, argsort and
topk find their order in the plan at every call; a boolean mask (x[mask], masked_select) is
read at every call and its count checked; median, kthvalue, mode, cummax, unique and the like
are refused on the step's data. Before, each kept the traced calls' choice: two traced calls
whose different data sorted the same way (or selected the same places) made a plan that used
that order for every later call, silently (losses and gradients of other elements)."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.compile import CaptureError

# The first two calls order (and mask) their values the same way; the later ones do not.
CALLS = [[0.9, 0.8, 0.7, 0.1], [0.95, 0.85, 0.75, 0.15], [0.1, 0.2, 0.9, 0.3],
         [0.9, 0.1, 0.92, 0.95], [0.3, 0.9, 0.1, 0.8]]


def _compare(body, calls=CALLS):
    """The loss body(w * x) and w's gradient, compiled and eager, at every call."""
    def twin():
        w = cr.tensor(np.linspace(1.0, 1.3, 4), requires_grad=True)

        def step(x):
            w.grad = None
            loss = body(w * x)
            loss.backward()
            return loss, w.grad
        return step

    compiled, eager = cr.compile(twin()), twin()
    # A warm-up call first: w.grad is None only then, so the plan is made from the next two
    # calls (calls[0] and calls[1], whose orders agree) and replayed from calls[2] on.
    for k, values in enumerate([calls[0], *calls]):
        x = cr.tensor(np.array(values))
        (loss, grad), (expected, expected_grad) = compiled(x), eager(x)
        np.testing.assert_allclose(loss.detach().numpy(), expected.detach().numpy(),
                                   rtol=1e-12, err_msg=f"loss at call {k}")
        np.testing.assert_allclose(grad.numpy(), expected_grad.numpy(), rtol=1e-12,
                                   err_msg=f"gradient at call {k}")
    return compiled


@pytest.mark.parametrize("name, body", [
    ("topk", lambda z: (z.topk(2).values * cr.tensor([1.0, 3.0], dtype="float64")).sum()),
    ("topk smallest", lambda z: z.topk(1, largest=False).values.sum() * 5),
    ("sort", lambda z: (z.sort().values * cr.arange(4, dtype="float64")).sum()),
    ("sort descending", lambda z: (cr.sort(z, descending=True)[0] ** 2 *
                                   cr.arange(4, dtype="float64")).sum()),
    ("argsort", lambda z: z.gather(0, z.argsort()[:2]).sum()),
    ("msort", lambda z: (cr.msort(z.reshape(2, 2)) * cr.tensor([[1.0], [3.0]],
                                                               dtype="float64")).sum()),
])
def test_orders_found_in_every_call(name, body):
    compiled = _compare(body)
    assert compiled.plans and compiled.plans[0].calls >= 2  # replayed, not run eagerly


def test_a_mask_with_the_same_count_in_other_places():
    calls = [[0.9, 0.8, 0.1, 0.2], [0.95, 0.85, 0.15, 0.25], [0.1, 0.9, 0.9, 0.2],
             [0.2, 0.1, 0.9, 0.95]]
    for body in (lambda z: cr.masked_select(z, z > 0.6).sum(),
                 lambda z: (z[z > 0.6] ** 2).sum()):
        compiled = _compare(body, calls)
        assert compiled.plans[0].calls >= 2


@pytest.mark.parametrize("body", [lambda z: z[z > 0.6].sum(),
                                  lambda z: cr.masked_select(z, z > 0.6).mean(),
                                  lambda z: z[cr.nonzero(z > 0.6)[:, 0]].sum()],
                         ids=["x[mask]", "masked_select", "nonzero"])
def test_a_count_that_changes_is_refused_by_name(body):
    # The first two calls select three elements, the third one: the plan's later lines are
    # sized for three (before: a NumPy error from deep in the replay, or a wrong number).
    calls = [[0.9, 0.8, 0.7, 0.1], [0.7, 0.9, 0.95, 0.2], [0.1, 0.2, 0.9, 0.3]]
    with pytest.raises(CaptureError, match="count|mask"):
        _compare(body, calls)


@pytest.mark.parametrize("name, body", [
    ("median", lambda z: z.median() * 1),
    ("median", lambda z: z.reshape(2, 2).median(1).values.sum()),
    ("nanmedian", lambda z: z.nanmedian() * 1),
    ("kthvalue", lambda z: z.kthvalue(2).values * 1),
    ("mode", lambda z: cr.mode(z).values * 1),
    ("quantile", lambda z: cr.quantile(z, 0.25) * 1),
    ("cummax", lambda z: z.cummax(0).values.sum()),
    ("cummin", lambda z: cr.cummin(z, 0).values.sum()),
    ("repeat_interleave with a tensor of repeats",
     lambda z: cr.repeat_interleave(z, (z > 0.8).long() + 1).sum()),
])
def test_choices_made_in_numpy_are_refused(name, body):
    with pytest.raises(CaptureError, match=f"{name} chooses its result"):
        _compare(body)


def test_the_same_functions_on_constants_are_not_refused():
    # A tensor the step does not compute (a closure constant) may be sorted or summarised, and
    # repeat_interleave with a number of repeats depends on no values.
    table = cr.tensor([3.0, 1.0, 2.0, 5.0], dtype="float64")
    counts = cr.tensor([1, 3, 2, 1])
    _compare(lambda z: (z * table.median()).sum() + (z * table.sort().values).sum() +
             cr.repeat_interleave(z, 2).sum() + z.repeat_interleave(counts, dim=0).sum())
