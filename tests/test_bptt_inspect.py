"""Backprop through time, seen: explain's per-step contributions, the per-step gradient norms and
the time-step clusters agree with the BPTT written out by hand (chainrule.manual.rnn), in
float64, and memory grows linearly with the sequence length unless the backward is truncated."""
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import inspect
from chainrule.inspect.graph import GraphView
from chainrule.manual.rnn import rnn_step_backward, rnn_step_forward
from chainrule.nn import functional as F

N, T, D, H, V = 3, 6, 4, 5, 7


class Model(cr.nn.Module):
    def __init__(self, nonlinearity="tanh"):
        self.rnn = cr.nn.RNN(D, H, nonlinearity=nonlinearity, batch_first=True,
                             dtype="float64")
        self.head = cr.nn.Linear(H, V).to(cr.float64)

    def forward(self, x):
        return self.head(self.rnn(x)[0])


def _data(seed=0, steps=T):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(N, steps, D)), rng.integers(0, V, (N, steps))


def _loss(model, x, y):
    scores = model(cr.tensor(x))
    return F.cross_entropy(scores.reshape(-1, V), cr.tensor(y).reshape(-1))


def _by_hand(model, x, y):
    """Per step: dWh_t, dWx_t (in nn.RNN's layout) and ||dL/dh_t||, from manual.rnn."""
    rnn, head = model.rnn, model.head
    Wx, Wh = rnn.weight_ih_l0.detach().numpy().T, rnn.weight_hh_l0.detach().numpy().T
    b = rnn.bias_ih_l0.detach().numpy() + rnn.bias_hh_l0.detach().numpy()
    Wq, bq = head.weight.detach().numpy().T, head.bias.detach().numpy()
    prev, caches, hs = np.zeros((N, H)), [], []
    for t in range(x.shape[1]):
        prev, cache = rnn_step_forward(x[:, t], prev, Wx, Wh, b)
        caches.append(cache)
        hs.append(prev)
    scores = np.stack(hs, axis=1) @ Wq + bq
    shifted = np.exp(scores - scores.max(-1, keepdims=True))
    probs = shifted / shifted.sum(-1, keepdims=True)
    dscores = probs.copy()  # the mean cross-entropy's gradient: (softmax - onehot) / (N T)
    dscores[np.arange(N)[:, None], np.arange(x.shape[1]), y] -= 1
    dscores /= N * x.shape[1]
    dh_out = dscores @ Wq.T
    dWh, dWx, norms, dprev = {}, {}, {}, np.zeros((N, H))
    for t in reversed(range(x.shape[1])):
        total = dh_out[:, t] + dprev  # h_t's two paths: o_t and h_(t+1)
        norms[t] = float(np.linalg.norm(total))
        _, dprev, dWx_t, dWh_t, _ = rnn_step_backward(total, caches[t])
        dWh[t], dWx[t] = dWh_t.T, dWx_t.T
    return dWh, dWx, norms


@pytest.fixture
def setting():
    cr.manual_seed(0)
    model = Model()
    x, y = _data()
    return model, x, y


def test_each_steps_contribution_is_the_hand_written_steps_and_they_sum_to_the_grad(setting):
    model, x, y = setting
    loss = _loss(model, x, y)
    view = GraphView(loss, model)
    split = inspect.split_by_time_step(view)
    by_name = {view.name(node): parts for node, parts in split.items()}
    dWh, dWx, _ = _by_hand(model, x, y)
    for name, hand in (("rnn.weight_hh_l0", dWh), ("rnn.weight_ih_l0", dWx)):
        parts = by_name[name]
        assert [scope.time_step for scope in parts] == list(range(T))
        for scope, value in parts.items():
            np.testing.assert_allclose(value, hand[scope.time_step], rtol=0, atol=1e-12)
    loss.backward()
    for name, parameter in model.named_parameters():
        total = sum(by_name[name].values())
        np.testing.assert_allclose(total, parameter.grad.numpy(), rtol=0, atol=1e-10)


def test_explain_lists_the_steps_contributions_and_their_sum_with_shapes(setting):
    model, x, y = setting
    dWh, _, _ = _by_hand(model, x, y)
    report = inspect.backward_steps(_loss(model, x, y), model)
    step = next(s for s in report if s.name == "rnn.weight_hh_l0")
    assert [label for label, _, _ in step.time_steps] == [f"t{t}" for t in range(T)]
    assert all(shape == f"({H}x{H})" for _, shape, _ in step.time_steps)
    for t, (_, _, norm) in enumerate(step.time_steps):
        assert norm == pytest.approx(np.linalg.norm(dWh[t]), rel=1e-10, abs=1e-15)
    text = str(step)
    assert "over time" in text and f"reaches the loss through each of {T} time steps" in text
    rows = re.findall(r"^\s+(t\d+|sum)\s+\((\d+)x(\d+)\)\s+\|\.\| = (\S+)$", text, re.M)
    assert [r[0] for r in rows] == [f"t{t}" for t in range(T)] + ["sum"]
    assert float(rows[-1][3]) == pytest.approx(np.linalg.norm(sum(dWh.values())), rel=1e-5)
    # The hidden state's two paths are marked with the step that took them.
    assert re.search(r"fed 2 ops; .*\(stack, .*\(matmul, at t\d", report.text)
    assert "unrolls a recurrence over 6 time steps" in report.text


def test_gradient_norms_per_step_are_the_hand_written_ones(setting):
    model, x, y = setting
    _, _, norms = _by_hand(model, x, y)
    report = inspect.time_step_gradients(_loss(model, x, y), model)
    assert [row.time_step for row in report] == list(range(T))
    assert all(row.shape == (N, H) for row in report)
    np.testing.assert_allclose(report.norms, [norms[t] for t in range(T)], rtol=1e-10)
    assert report.ratio() == pytest.approx(norms[0] / norms[T - 1])
    assert "first/last" in str(report) and "per time step" in report._repr_html_()


def test_the_declared_state_is_h_not_c_for_an_lstm():
    cr.manual_seed(1)
    lstm = cr.nn.LSTM(D, H, dtype="float64")
    x, _ = _data()
    output, _ = lstm(cr.tensor(x.transpose(1, 0, 2)))
    loss = (output * output).sum()
    report = inspect.time_step_gradients(loss)
    stack = loss.node.parents[0].parents[0]  # output = stack(h_0, ..., h_T-1)
    view = GraphView(loss)
    assert [row.variable for row in report] == [view.name(p) for p in stack.parents]


def test_a_hand_written_loop_declares_its_steps_with_time_step():
    cr.manual_seed(2)
    cell = cr.nn.RNNCell(D, H, dtype="float64")
    x, _ = _data()
    h, states = cr.zeros(N, H, dtype=cr.float64), []
    for t in range(T):
        with inspect.time_step(t):
            h = cell(cr.tensor(x[:, t]), h)
        states.append(h)
    loss = (h * h).sum()
    declared = inspect.time_step_gradients(loss)
    named = inspect.time_step_gradients(loss, hidden=states)
    np.testing.assert_allclose(declared.norms, named.norms, rtol=0)
    assert declared[-1].norm == pytest.approx(2 * np.linalg.norm(h.detach().numpy()))


def _last_step_loss(model, x, y):
    """A loss on the last step only: h_t reaches it through the later steps alone."""
    scores = model(cr.tensor(x))[:, -1]
    return F.cross_entropy(scores, cr.tensor(y[:, -1]))


def test_vanishing_and_exploding_gradients_show_in_the_ratio():
    x, y = _data(steps=20)
    cr.manual_seed(3)
    small = Model()
    small.rnn.weight_hh_l0.data[...] = 0.3 * np.eye(H)
    assert inspect.time_step_gradients(_last_step_loss(small, x, y)).ratio() < 0.3 ** 19
    big = Model("relu")
    big.rnn.weight_hh_l0.data[...] = 1.5 * np.eye(H)
    big.rnn.weight_ih_l0.data[...] = np.abs(big.rnn.weight_ih_l0.detach().numpy())
    big.rnn.bias_ih_l0.data[...] = 1.0
    assert inspect.time_step_gradients(_last_step_loss(big, np.abs(x), y)).ratio() \
        == pytest.approx(1.5 ** 19, rel=1e-9)


def test_a_graph_without_time_steps_is_refused():
    w = cr.ones(3, requires_grad=True)
    with pytest.raises(ValueError, match="declares no time steps"):
        inspect.time_step_gradients((w * w).sum())


def test_the_graph_groups_each_time_step_in_a_cluster(setting):
    model, x, y = setting
    loss = _loss(model, x, y)
    dot = inspect.to_dot(loss, model)
    labels = re.findall(r'label="time step (t\d+)"', dot)
    assert labels == [f"t{t}" for t in range(T)]
    clusters = re.findall(r"subgraph cluster_\d+ \{(.*?)\n  \}", dot, re.S)
    assert len(clusters) == T and all('label="rnn.weight_hh_l0' not in c for c in clusters)
    assert all(c.count('label="tanh"') == 1 for c in clusters)
    assert "time step" not in inspect.to_dot(loss, model, group_by="none")
    assert "module rnn.t0 (RNN)" in inspect.to_dot(loss, model, group_by="module")


def test_the_page_and_the_notebook_show_the_norms(setting, tmp_path):
    model, x, y = setting
    loss = _loss(model, x, y)
    page = inspect.to_html(loss, tmp_path / "rnn.html", model).read_text()
    report = inspect.backward_steps(loss, model)
    for html in (page, report._repr_html_()):
        assert "per time step" in html
        assert html.count('class="bar"') >= T
    assert "over time: the sum of 6 time steps' contributions" in page


def _loss_of(model, x, y):
    def loss_of(start, stop, state):
        output, state = model.rnn(cr.tensor(x[:, start:stop]), state)
        scores = model.head(output)
        return F.cross_entropy(scores.reshape(-1, V), cr.tensor(y[:, start:stop]).reshape(-1)), \
            state
    return loss_of


def test_memory_grows_linearly_with_length_and_truncation_caps_it(setting):
    model, _, _ = setting
    x, y = _data(steps=32)
    report = inspect.sequence_memory(_loss_of(model, x, y), [4, 8, 16, 32], truncate=4)
    full = report.full_bytes
    slopes = {(b - a) / (t2 - t1) for a, b, t1, t2 in zip(full, full[1:], report.lengths,
                                                         report.lengths[1:])}
    assert len(slopes) == 1 and slopes.pop() == report.bytes_per_step() > 0
    # The most any chunk of 4 steps keeps: what the whole sequence of 4 keeps.
    assert report.truncated_bytes == [full[0]] * 4
    assert report.truncated_bytes[-1] < full[-1] / 4
    assert "backward every 4" in str(report) and "backward every 4" in report._repr_html_()


def test_detaching_inside_one_graph_saves_no_memory(setting):
    model, _, _ = setting
    x, y = _data(steps=16)
    whole = _loss_of(model, x, y)(0, 16, None)[0]
    loss_of = _loss_of(model, x, y)
    total, state = 0, None
    for start in range(0, 16, 4):
        loss, state = loss_of(start, start + 4, state)
        total = total + loss
        state = state.detach()
    kept = inspect.memory_report(total).saved_bytes
    assert kept >= inspect.memory_report(whole).saved_bytes


def test_sequence_memory_refuses_bad_lengths():
    with pytest.raises(ValueError, match="lengths"):
        inspect.sequence_memory(lambda *a: None, [0])
    with pytest.raises(ValueError, match="truncate"):
        inspect.sequence_memory(lambda *a: None, [4], truncate=0)


def test_the_drawing_without_graphviz_puts_each_step_in_its_own_band(setting):
    from chainrule.inspect.layout import fallback_svg
    model, x, y = setting
    svg = fallback_svg(GraphView(_loss(model, x, y), model))
    bands = [(int(a), int(a) + int(w)) for a, w in
             re.findall(r'<rect x="(-?\d+)" y="4" width="(\d+)"', svg)]
    assert re.findall(r"time step (t\d+)</text>", svg) == [f"t{t}" for t in range(T)]
    assert all(right < left for (_, right), (left, _) in zip(bands, bands[1:]))


def test_layers_and_directions_are_steps_of_their_own_chains():
    cr.manual_seed(4)
    gru = cr.nn.GRU(D, H, num_layers=2, bidirectional=True, dtype="float64")
    output, _ = gru(cr.randn(T, N, D, dtype=cr.float64))
    loss = (output * output).sum()
    report = inspect.time_step_gradients(loss, gru)
    chains = ["", "l0_reverse.", "l1.", "l1_reverse."]
    assert [row.label for row in report] == [f"{c}t{t}" for c in chains for t in range(T)]
    view = GraphView(loss, gru)
    split = inspect.split_by_time_step(view)
    loss.backward()
    for node, parts in split.items():
        name = view.name(node)
        layer, reverse = name.split("_l")[1][0], name.endswith("_reverse")
        assert {(s.layer, s.direction) for s in parts} == {(int(layer), int(reverse))}, name
        np.testing.assert_allclose(sum(parts.values()), node.tensor_ref().grad.numpy(),
                                   rtol=0, atol=1e-10)


def test_parts_too_large_to_keep_split_are_summed_not_lost(setting):
    model, x, y = setting
    view = GraphView(_loss(model, x, y), model)
    split = inspect.split_by_time_step(view, budget=0)
    by_name = {view.name(node): parts for node, parts in split.items()}
    from chainrule.inspect.timesteps import UNSPLIT
    assert list(by_name["rnn.weight_ih_l0"]) == [UNSPLIT]  # crossed the whole-sequence product
    assert len(by_name["rnn.weight_hh_l0"]) == T           # used inside each step: still split
    full = inspect.split_by_time_step(view)
    for node, parts in split.items():
        np.testing.assert_allclose(sum(parts.values()), sum(full[node].values()), atol=1e-12)
