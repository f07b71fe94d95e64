"""Memory: a graph dies as soon as nothing references it, training keeps no graph between steps,
and accumulating a loss tensor across steps is warned about.

The graph tests run with the garbage collector disabled: the design promises no reference
cycles between nodes and their outputs, so plain reference counting must free everything.
The soak tests train for thousands of steps and measure growth (tracemalloc in the fast one,
the resident set size in the slow one: ``python -m pytest -m slow tests/test_leaks.py``).
"""
import contextlib
import gc
import os
import tracemalloc
import warnings
import weakref

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.autograd import Node
from chainrule.nn import functional as F
from chainrule.random import manual_seed


@contextlib.contextmanager
def gc_disabled():
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def recorded_nodes(tensor):
    """Every op node (leaves excluded: their tensors own them) reachable from ``tensor``."""
    found, stack, seen = [], [tensor.node], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if node.op is not None:
            found.append(node)
        stack.extend(node.parents)
    return found


def alive(refs):
    return [ref() for ref in refs if ref() is not None]


def small_model():
    manual_seed(0)
    return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 4))


def batch(step, size=16):
    rng = np.random.default_rng(step)
    return rng.standard_normal((size, 20)).astype(np.float32), rng.integers(0, 4, size)


def objective(model, x, y):
    return F.cross_entropy(model(x), y) + nn.l2_penalty(model.parameters(), 1e-4)


# -- one graph ----------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["backward", "retain_graph", "no_backward", "create_graph",
                                 "anomaly_mode"])
def test_every_node_dies_when_the_output_is_dropped(how):
    model = small_model()
    x, y = batch(0)
    with gc_disabled():
        with cr.detect_anomaly() if how == "anomaly_mode" else contextlib.nullcontext():
            loss = objective(model, x, y)
            refs = [weakref.ref(node) for node in recorded_nodes(loss)]
            assert len(refs) > 10
            if how == "create_graph":
                grads = cr.grad(loss, list(model.parameters()), create_graph=True)
                refs += [weakref.ref(n) for g in grads for n in recorded_nodes(g)]
                del grads
            elif how != "no_backward":
                loss.backward(retain_graph=how == "retain_graph")
        assert alive(refs), "the output still holds its graph"
        del loss
        assert alive(refs) == []


def test_after_backward_the_saved_arrays_are_released_even_while_the_output_lives():
    model = small_model()
    loss = objective(model, *batch(0))
    nodes = recorded_nodes(loss)
    assert any(node.saved for node in nodes)
    loss.backward()
    assert all(node.saved is None for node in nodes)


def test_intermediate_tensors_kept_by_the_user_keep_only_their_own_subgraph():
    model = small_model()
    x, y = batch(0)
    with gc_disabled():
        hidden = model[1](model[0](x))
        loss = F.cross_entropy(model[3](model[2](hidden)), y)
        above = [weakref.ref(n) for n in recorded_nodes(loss) if n not in recorded_nodes(hidden)]
        loss.backward()
        del loss
        assert alive(above) == []
        assert hidden.node is not None and hidden.node.op.name == "relu"


# -- training loops ---------------------------------------------------------------------------

def train(model, steps, on_step=None, accumulate=None):
    """A plain training loop; ``accumulate(total, loss)`` is what the user does with the loss."""
    opt = optim.Adam(model.parameters(), lr=1e-3)
    total = 0.0
    for step in range(1, steps + 1):
        x, y = batch(step % 50)
        loss = objective(model, x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if accumulate is not None:
            total = accumulate(total, loss)
        if on_step is not None:
            on_step(step, loss)
    return total


def live_op_nodes():
    return sum(1 for o in gc.get_objects() if type(o) is Node and o.op is not None)


def test_a_training_loop_keeps_no_graph_between_steps():
    model = small_model()
    previous, counts = [], []

    def check(step, loss):
        nonlocal previous
        # The loop rebound `loss` to this step's: the last step's graph must be gone.
        assert alive(previous) == [], f"step {step - 1}'s graph survived into step {step}"
        previous = [weakref.ref(node) for node in recorded_nodes(loss)]
        counts.append(live_op_nodes())

    with gc_disabled():
        train(model, 30, on_step=check)
    assert len(set(counts)) == 1, f"live op nodes per step: {counts}"


def test_accumulating_a_loss_tensor_warns_to_use_item():
    model = small_model()
    with pytest.warns(RuntimeWarning, match=r"total \+= loss.*loss\.item\(\)"):
        train(model, 3, accumulate=lambda total, loss: total + loss)
    with pytest.warns(RuntimeWarning, match=r"loss\.item\(\)"):
        total = cr.tensor(0.0)
        for step in range(3):
            loss = objective(model, *batch(step))
            loss.backward()
            total += loss


def test_accumulating_loss_item_gives_no_warning():
    model = small_model()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        total = train(model, 5, accumulate=lambda total, loss: total + loss.item())
    assert isinstance(total, float)


def test_accumulating_a_loss_tensor_keeps_every_graph_alive():
    # What the warning is about: with `total += loss`, step 1's graph is still reachable.
    model = small_model()
    first = []
    with gc_disabled(), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)

        def remember(step, loss):
            if step == 1:
                first.extend(weakref.ref(node) for node in recorded_nodes(loss))

        total = train(model, 5, on_step=remember, accumulate=lambda total, loss: total + loss)
        assert alive(first)
        del total
        assert alive(first) == []


# -- soak ---------------------------------------------------------------------------------------

def test_fast_soak_no_growth_after_warm_up():
    # Tracing starts after 500 warm-up steps, so at step 1,500 tracemalloc counts exactly what
    # was allocated since then and is still alive: a leak of even 64 bytes a step shows.
    model = small_model()
    marks = {}

    def measure(step, loss):
        if step == 500:
            gc.collect()
            tracemalloc.start()
        elif step == 1_500:
            gc.collect()
            marks["alive"], marks["peak"] = tracemalloc.get_traced_memory()
            tracemalloc.stop()

    try:
        train(model, 1_500, on_step=measure, accumulate=lambda total, loss: total + loss.item())
    finally:
        tracemalloc.stop()
    assert marks["alive"] < 64 * 1024, (
        f"{marks['alive']} bytes allocated between steps 500 and 1,500 are still alive")


def resident_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux's /proc")
def test_soak_10000_steps_rss_stays_flat():
    model = small_model()
    marks = {}

    def measure(step, loss):
        if step in (1_000, 10_000):
            gc.collect()
            marks[step] = resident_bytes()

    train(model, 10_000, on_step=measure, accumulate=lambda total, loss: total + loss.item())
    growth = marks[10_000] - marks[1_000]
    print(f"\nRSS at step 1,000: {marks[1_000] / 2**20:.1f} MiB; at step 10,000: "
          f"{marks[10_000] / 2**20:.1f} MiB; growth {growth / 2**10:+.0f} KiB")
    assert growth <= 10 * 2**20
