"""``optimizer.state`` as PyTorch shows it, against PyTorch: each buffer a tensor (dtype and
values as PyTorch's), a change through that tensor or a tensor assigned in its place used by
the next step, defaultdict's behaviour for parameters without state, and ``state = {}``
forgetting every buffer; also through a compiled step."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

OPTIMIZERS = {
    "SGD": dict(lr=0.1, momentum=0.9),
    "Adam": dict(lr=0.1),
    "AdamW": dict(lr=0.1, amsgrad=True),
    "RMSprop": dict(lr=0.01, momentum=0.5, centered=True),
    "Adagrad": dict(lr=0.1),
    "Adadelta": dict(lr=0.5),
    "Adamax": dict(lr=0.1),
    "NAdam": dict(lr=0.1),
    "RAdam": dict(lr=0.1),
    "ASGD": dict(lr=0.1),
    "Rprop": dict(lr=0.1),
}
START = np.array([1.0, -2.0, 0.5])


def twins(name, dtype="float64"):
    w = cr.tensor(START.astype(dtype), requires_grad=True)
    tw = torch.tensor(START.astype(dtype), requires_grad=True)
    kwargs = OPTIMIZERS[name]
    return (w, getattr(cr.optim, name)([w], **kwargs)), (tw, getattr(torch.optim, name)([tw],
                                                                                     **kwargs))


def step(lib, w, opt):
    opt.zero_grad()
    (w * w * w).sum().backward()
    opt.step()


def step_both(ours, theirs, times=1):
    """``times`` steps of each twin ((w, opt) pairs)."""
    for _ in range(times):
        step(cr, *ours)
        step(torch, *theirs)


def assert_same_after_two_steps(ours, theirs):
    step_both(ours, theirs, 2)
    np.testing.assert_allclose(ours[0].detach().numpy(), theirs[0].detach().numpy(), rtol=1e-12)
    assert_same_state(ours[1].state[ours[0]], theirs[1].state[theirs[0]])


def assert_same_state(ours, theirs):
    assert set(ours) == set(theirs)
    for key, value in theirs.items():
        mine = ours[key]
        assert isinstance(mine, cr.Tensor), (key, type(mine))
        assert str(mine.dtype) == str(value.dtype).replace("torch.", ""), key
        np.testing.assert_allclose(mine.numpy(), value.numpy(), rtol=1e-12, atol=1e-14,
                                   err_msg=key)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_each_buffer_is_a_tensor_with_pytorchs_dtype_and_values(name, dtype):
    (w, opt), (tw, topt) = twins(name, dtype)
    step_both((w, opt), (tw, topt), 2)
    if dtype == "float32":
        ours, theirs = opt.state[w], topt.state[tw]
        assert set(ours) == set(theirs)
        for key, value in theirs.items():
            assert isinstance(ours[key], cr.Tensor)
            assert str(ours[key].dtype) == str(value.dtype).replace("torch.", ""), key
            np.testing.assert_allclose(ours[key].numpy(), value.numpy(), rtol=1e-5, atol=1e-6)
    else:
        assert_same_state(opt.state[w], topt.state[tw])
    assert len(opt.state) == len(topt.state) == 1


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_a_change_through_the_buffer_tensor_is_used_by_the_next_step(name):
    (w, opt), (tw, topt) = twins(name)
    step_both((w, opt), (tw, topt))
    for key, value in topt.state[tw].items():
        if key != "step":
            opt.state[w][key].mul_(0.5)
            value.mul_(0.5)
    assert_same_after_two_steps((w, opt), (tw, topt))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_a_tensor_assigned_to_a_buffer_takes_its_place(name):
    (w, opt), (tw, topt) = twins(name)
    step_both((w, opt), (tw, topt))
    for key, value in list(topt.state[tw].items()):
        if key != "step":
            replacement = np.linspace(0.1, 0.3, value.numel()).reshape(tuple(value.shape))
            opt.state[w][key] = cr.tensor(replacement)
            topt.state[tw][key] = torch.tensor(replacement)
    assert_same_after_two_steps((w, opt), (tw, topt))


def test_a_parameter_without_state_is_an_empty_mapping_as_in_a_defaultdict():
    (w, opt), (tw, topt) = twins("Adam")
    assert opt.state.get(w) is None and topt.state.get(tw) is None
    assert len(opt.state) == len(topt.state) == 0
    assert dict(opt.state[w]) == dict(topt.state[tw]) == {}
    assert len(opt.state) == len(topt.state) == 1  # the access added it, as defaultdict does
    assert w in opt.state and tw in topt.state


def test_assigning_an_empty_state_forgets_every_buffer_as_in_pytorch():
    from collections import defaultdict
    (w, opt), (tw, topt) = twins("SGD")
    step_both((w, opt), (tw, topt), 2)
    opt.state = {}
    topt.state = defaultdict(dict)
    assert_same_after_two_steps((w, opt), (tw, topt))


def test_the_state_dict_still_shares_the_optimizers_memory():
    (w, opt), (tw, topt) = twins("Adam")
    step_both((w, opt), (tw, topt))
    saved, theirs = opt.state_dict(), topt.state_dict()
    step_both((w, opt), (tw, topt))
    assert_same_state(saved["state"][0], theirs["state"][0])


def test_a_compiled_step_reads_a_buffer_changed_through_the_state():
    def make():
        model = cr.nn.Linear(3, 2, dtype="float64")
        with cr.no_grad():
            model.weight.copy_(cr.tensor(np.arange(6.0).reshape(2, 3) / 10))
            model.bias.copy_(cr.tensor([0.1, -0.2]))
        return model, cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    x = cr.tensor(np.linspace(-1, 1, 12).reshape(4, 3))

    def train(model, opt):
        def run(x):
            opt.zero_grad()
            loss = (model(x) ** 2).mean()
            loss.backward()
            opt.step()
            return loss
        return run

    (eager_model, eager_opt), (model, opt) = make(), make()
    eager, compiled = train(eager_model, eager_opt), cr.compile(train(model, opt))
    for i in range(4):
        if i == 2:
            for o, m in ((eager_opt, eager_model), (opt, model)):
                o.state[m.weight]["momentum_buffer"].zero_()
                o.state[m.bias]["momentum_buffer"] = cr.ones(2, dtype="float64")
        assert float(compiled(x)) == float(eager(x))
    for p, q in zip(model.parameters(), eager_model.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
