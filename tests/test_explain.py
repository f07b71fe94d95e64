"""inspect.explain: the backward pass in the engine's order, in d2l's names for the textbook's
network, with norms equal to the engine's; explain_manual; `chainrule explain`."""
import html
import importlib.util
import io
import re
import sys
from dataclasses import fields

import numpy as np
import pytest

import chainrule as cr
from chainrule import models, nn
from chainrule.cli import main
from chainrule.autograd import sum_to_shape
from chainrule.inspect import (ExplainReport, GraphView, Step, backward_steps, explain,
                               explain_manual)
from chainrule.inspect.gradients import engine_gradients
from chainrule.ops.primitive import primitive
from chainrule.manual import TwoLayerMLP
from chainrule.random import manual_seed

D2L_ORDER = ["J", "s", "L", "o", "b2", "W2", "h", "z", "b1", "W1"]


def batch(n, d, q, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, d), dtype=np.float32), rng.integers(0, q, n)


def textbook_network(lam=1e-3, activation=nn.ReLU, n=16, seed=0):
    """Linear(784, 256) - activation - Linear(256, 10), cross-entropy, and s when lam > 0."""
    manual_seed(seed)
    model = nn.Sequential(nn.Linear(784, 256), activation(), nn.Linear(256, 10))
    x, y = batch(n, 784, 10, seed)
    loss = nn.functional.cross_entropy(model(x), y)
    if lam:
        loss = loss + nn.l2_penalty([model[0].weight, model[2].weight], lam)
    return model, loss


def test_textbook_network_reads_as_d2l_in_the_engine_order():
    model, loss = textbook_network()
    out = io.StringIO()
    steps = explain(loss, params=model, file=out)
    assert [s.name for s in steps] == D2L_ORDER
    # The textbook's own sequence (dJ/do, dJ/dW2, dJ/dh, dJ/dz, dJ/dW1) in that order:
    names = [s.name for s in steps]
    assert [names.index(v) for v in ("o", "W2", "h", "z", "W1")] == sorted(
        names.index(v) for v in ("o", "W2", "h", "z", "W1"))
    by_name = {s.name: s for s in steps}
    assert by_name["J"].formula == "dJ/dJ = 1"
    assert by_name["s"].formula == "dJ/ds = 1" and by_name["L"].formula == "dJ/dL = 1"
    assert by_name["o"].formula == "dJ/do = dJ/dL * (softmax(o) - onehot(y)) / N"
    assert by_name["o"].shapes == "(16x10) = (softmax((16x10)) - onehot((16))) / 16"
    assert by_name["W2"].formula == "dJ/dW2 = (dJ/do)^T . h + lambda W2"
    assert by_name["W2"].shapes == "(10x256) = (10x16) . (16x256) + (10x256)"
    assert by_name["h"].formula == "dJ/dh = dJ/do . W2"
    assert by_name["h"].shapes == "(16x256) = (16x10) . (10x256)"
    assert by_name["z"].formula == "dJ/dz = dJ/dh * phi'(z), with phi'(z) = 1[h > 0]"
    assert by_name["W1"].formula == "dJ/dW1 = (dJ/dz)^T . x + lambda W1"
    assert by_name["W1"].shapes == "(256x784) = (256x16) . (16x784) + (256x784)"
    assert by_name["b1"].formula == "dJ/db1 = sum over the batch of dJ/dz"
    assert by_name["b2"].shapes == "(10) = sum over 16 rows of (16x10)"
    text = out.getvalue()
    assert "N = 16" in text and "dJ/dW2 = (dJ/do)^T . h + lambda W2" in text
    assert f"|dJ/dW2| = {by_name['W2'].grad_norm:.6g}" in text


def test_flags_fan_in_and_broadcast_where_they_happen():
    model, loss = textbook_network()
    by_name = {s.name: s for s in backward_steps(loss, params=model)}
    assert by_name["W1"].fan_in_summed and by_name["W2"].fan_in_summed  # data path and s
    assert not by_name["h"].fan_in_summed
    assert by_name["b1"].broadcast_reduced and by_name["b2"].broadcast_reduced
    assert not by_name["W2"].broadcast_reduced
    assert any("lambda = 0.001" in note for note in by_name["W2"].notes)
    assert by_name["z"].scope == "0" and by_name["h"].scope == "1"


def test_norms_equal_the_grads_of_a_separate_backward_and_grad_is_untouched():
    model, loss = textbook_network()
    steps = backward_steps(loss, params=model)
    assert all(p.grad is None for p in model.parameters())
    loss.backward()
    by_name = {s.name: s for s in steps}
    for symbol, param in (("W1", model[0].weight), ("b1", model[0].bias),
                          ("W2", model[2].weight), ("b2", model[2].bias)):
        assert by_name[symbol].grad_norm == pytest.approx(
            np.linalg.norm(param.grad.numpy().astype(np.float64)), rel=1e-5)
        assert by_name[symbol].grad_shape == param.shape


def test_intermediate_norms_equal_retained_grads():
    manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    x, y = batch(16, 784, 10)
    z = model[0](x)
    h = model[1](z)
    o = model[2](h)
    for t in (z, h, o):
        t.retain_grad()
    loss = nn.functional.cross_entropy(o, y) + nn.l2_penalty(
        [model[0].weight, model[2].weight], 1e-3)
    by_name = {s.name: s for s in backward_steps(loss, params=model)}
    loss.backward()
    for name, t in (("z", z), ("h", h), ("o", o)):
        assert by_name[name].grad_norm == pytest.approx(np.linalg.norm(t.grad.numpy()), rel=1e-5)


def test_a_second_forward_pass_reaches_the_parameters_last_and_says_why():
    model, loss = textbook_network(n=4)
    out = io.StringIO()
    explain(loss, params=model, file=out)
    assert "earlier forward pass" not in out.getvalue()
    loss.backward()
    x, y = batch(4, 784, 10)
    loss = nn.functional.cross_entropy(model(x), y) + nn.l2_penalty(
        [model[0].weight, model[2].weight], 1e-3)
    steps = explain(loss, params=model, file=out)
    assert [s.name for s in steps] == ["J", "s", "L", "o", "h", "z", "b2", "W2", "b1", "W1"]
    assert "earlier forward pass" in out.getvalue()


def test_without_the_penalty_the_objective_is_L():
    model, loss = textbook_network(lam=0)
    steps = backward_steps(loss, params=model)
    assert [s.name for s in steps] == ["L", "o", "b2", "W2", "h", "z", "b1", "W1"]
    assert steps[0].formula == "dL/dL = 1"
    assert steps[3].formula == "dL/dW2 = (dL/do)^T . h"
    assert not steps[3].fan_in_summed


@pytest.mark.parametrize("activation, derivative", [
    ("tanh", "1 - h^2"), ("sigmoid", "h * (1 - h)"),
    ("leaky_relu", "where(z > 0, 1, negative_slope)")])
def test_models_mlp_with_other_activations_is_recognised(activation, derivative):
    manual_seed(0)
    model = models.mlp(20, [8], 4, activation=activation)
    x, y = batch(6, 20, 4)
    loss = nn.functional.cross_entropy(model(x), y)
    steps = backward_steps(loss, params=model)
    assert [s.name for s in steps] == ["L", "o", "b2", "W2", "h", "z", "b1", "W1"]
    z_step = steps[5]
    assert z_step.formula.endswith(derivative)
    loss.backward()
    assert steps[-1].grad_norm == pytest.approx(np.linalg.norm(model[0].weight.grad.numpy()),
                                                rel=1e-5)


class Swish(nn.Module):
    def forward(self, x):
        return x * x.sigmoid()


class TwoLayers(nn.Module):
    def __init__(self, activation):
        self.fc1 = nn.Linear(20, 8)
        self.act = activation
        self.fc2 = nn.Linear(8, 4)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


@pytest.mark.parametrize("activation, kind", [(nn.Tanh(), "tanh"), (Swish(), "phi")])
def test_the_layers_are_read_from_the_modules_the_model_declares(activation, kind):
    manual_seed(0)
    model = TwoLayers(activation)
    x, y = batch(6, 20, 4)
    steps = backward_steps(nn.functional.cross_entropy(model(x), y), params=model)
    by_name = {s.name: s for s in steps}
    assert [s.name for s in steps] == ["L", "o", "b2", "W2", "h", "z", "b1", "W1"]
    assert by_name["h"].definition == f"h = {kind}(z)"
    assert (by_name["h"].module, by_name["z"].module) == (
        f"act ({type(activation).__name__})", "fc1 (Linear)")
    # The same arithmetic written without modules declares no layers: generic names.
    w1, b1, w2, b2 = model.fc1.weight, model.fc1.bias, model.fc2.weight, model.fc2.bias
    o = cr.tanh(cr.tensor(x) @ w1.T + b1) @ w2.T + b2
    names = [s.name for s in backward_steps(nn.functional.cross_entropy(o, y), params=model)]
    assert "z" not in names and "fc1.weight" in names


def test_other_graphs_get_generic_names_and_correct_norms():
    manual_seed(1)
    model = models.mlp(10, [6, 5], 3)
    x, y = batch(4, 10, 3)
    loss = nn.functional.cross_entropy(model(x), y)
    out = io.StringIO()
    steps = explain(loss, params=model, file=out)
    names = [s.name for s in steps]
    assert names[0] == "J" and "v3" in names and "0.weight" in names
    relu_steps = [s for s in steps if s.op == "relu"]
    assert len(relu_steps) == 2
    assert relu_steps[0].definition.startswith(f"{relu_steps[0].name} = relu(v")
    bias = next(s for s in steps if s.name == "4.bias")
    assert bias.broadcast_reduced and bias.formula.startswith("dJ/d4.bias = sum over the batch")
    loss.backward()
    for name, p in model.named_parameters():
        step = next(s for s in steps if s.name == name)
        assert step.grad_norm == pytest.approx(np.linalg.norm(p.grad.numpy()), rel=1e-5)
    assert "v1 = transpose(0.weight)" in out.getvalue()


def test_fan_out_is_summed_and_said():
    a = cr.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    b = a * a
    c = (b + b.exp()).sum()
    steps = backward_steps(c, params={"a": a})
    b_step = next(s for s in steps if s.name == "v1")
    assert b_step.fan_in_summed
    assert b_step.formula == "dJ/dv1 = dJ/dv3 + dJ/dv2 * v2"  # newest consumer first
    assert "fed 2 ops" in b_step.notes[0]
    a_step = next(s for s in steps if s.name == "a")
    assert a_step.formula == "dJ/da = dJ/dv1 * a + dJ/dv1 * a"
    c.backward()
    assert a_step.grad_norm == pytest.approx(np.linalg.norm(a.grad.numpy()))


def test_a_freed_graph_raises_a_clear_error_and_retain_graph_works():
    model, loss = textbook_network(n=4)
    loss.backward()
    with pytest.raises(cr.GradientError, match="retain_graph=True"):
        backward_steps(loss, params=model)
    model, loss = textbook_network(n=4)
    loss.backward(retain_graph=True)
    grads = {n: p.grad.numpy().copy() for n, p in model.named_parameters()}
    steps = backward_steps(loss, params=model)
    assert steps[-1].grad_norm == pytest.approx(np.linalg.norm(grads["0.weight"]), rel=1e-5)
    for name, p in model.named_parameters():
        assert np.array_equal(p.grad.numpy(), grads[name])  # explain wrote no .grad


def test_a_non_scalar_output_is_refused():
    a = cr.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(cr.GradientError, match="scalar"):
        backward_steps(a * 2)


def test_steps_are_records_with_the_promised_fields():
    names = {f.name for f in fields(Step)}
    assert {"index", "op", "name", "formula", "shapes", "grad_norm", "fan_in_summed",
            "broadcast_reduced", "scope"} <= names


def test_every_differentiable_primitive_declares_a_formula_beside_each_vjp():
    import chainrule.nn  # noqa: F401  (loads the conv, pool and norm primitives)
    library = {name: p for name, p in cr.REGISTRY.items()
               if p.forward.__module__.startswith("chainrule.")}  # not the tests' own ops
    missing = [f"{name}[{p.input_name(position)}]" for name, p in library.items()
               if p.differentiable for position in p.vjps if not p.formula_for(position)]
    assert missing == []


def many_kinds_of_ops():
    rng = np.random.default_rng(0)
    a = cr.tensor(rng.random((3, 4)) + 0.5, requires_grad=True)
    b = cr.tensor(rng.random(4) + 0.5, requires_grad=True)
    c = cr.concatenate([a, b.reshape(1, 4)], axis=0)            # (4, 4), variadic
    d = cr.where(c > 1.0, c ** 2, c / b) + c.max(dim=1, keepdim=True).values
    e = ((d[1:, ::2].exp().mean() + cr.stack([a.sum(), b.sqrt().sum()]).log().sum()) / 20).tanh()
    return a, b, e


def oracle_gradients(view):
    """An independent reverse pass over the view, the plain textbook loop (no borrowing, no
    in-place sums): dJ/dv per node and each (consumer seq, position, raw shape, value)."""
    grads = {view.root: np.ones(view.root.shape, dtype=view.root.dtype)}
    parts = {node: [] for node in view.nodes}
    for node in sorted(view.nodes, key=lambda n: -n.seq):
        if node.op is None:
            continue
        for position, parent in enumerate(node.parents):
            if parent is None:
                continue
            vjp, names = node.op.vjp_for(position)
            raw = np.asarray(vjp(grads[node], *[position if name == "position" else
                                                node.saved[name] for name in names]))
            value = sum_to_shape(raw, parent.shape).astype(parent.dtype)
            parts[parent].append((node.seq, position, raw.shape, value))
            grads[parent] = grads[parent] + value if parent in grads else value
    return grads, parts


def broadcast_then_fan_in():
    """b's first gradient is one the engine reduced (so owns); the next is added into it."""
    rng = np.random.default_rng(1)
    a = cr.tensor(rng.random((3, 4)), requires_grad=True)
    b = cr.tensor(rng.random(4), requires_grad=True)
    return b.exp().sum() + (a * b).sum()


@pytest.mark.parametrize("build", ["ops", "textbook", "broadcast"])
def test_the_engines_numbers_match_an_independent_reverse_pass(build):
    loss = {"ops": lambda: many_kinds_of_ops()[2], "textbook": lambda: textbook_network(n=4)[1],
            "broadcast": broadcast_then_fan_in}[build]()
    view = GraphView(loss)
    grads, contributions = engine_gradients(view)
    expected_grads, expected_parts = oracle_gradients(view)
    assert set(grads) == set(view.nodes)
    for node in view.nodes:
        np.testing.assert_allclose(grads[node], expected_grads[node], rtol=1e-6, atol=1e-12)
        parts = sorted((p.consumer.seq, p.position, p.raw_shape, p.value)
                       for p in contributions[node])
        expected = sorted(expected_parts[node], key=lambda part: part[:3])
        assert [part[:3] for part in parts] == [part[:3] for part in expected]
        for (*_, value), (*_, wanted) in zip(parts, expected):
            np.testing.assert_allclose(value, wanted, rtol=1e-6, atol=1e-12)


def test_a_hook_runs_as_in_backward_and_the_numbers_include_it():
    model, _ = textbook_network(lam=0, n=4)
    x, y = batch(4, 784, 10)
    h = model[1](model[0](x))
    calls = []
    h.register_hook(lambda g: calls.append(1) or g * 2)
    loss = nn.functional.cross_entropy(model[2](h), y)
    steps = {s.name: s for s in backward_steps(loss, params=model)}
    assert len(calls) == 1
    loss.backward()
    assert steps["W1"].grad_norm == pytest.approx(np.linalg.norm(model[0].weight.grad.numpy()),
                                                  rel=1e-5)


@pytest.fixture
def cube():
    """A user's primitive declared without a formula (unregistered afterwards)."""
    @primitive
    def cube(x):
        return x ** 3

    @cube.vjp
    def _(grad, x):
        return grad * 3 * x * x

    yield cube
    del cr.REGISTRY["cube"]


def test_a_primitive_without_a_formula_is_shown_by_its_vjp(cube):
    a = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
    steps = backward_steps(cube(a).sum(), params={"a": a})
    assert steps[-1].formula == "dJ/da = vjp_cube[x](dJ/dv1)"
    assert steps[-1].grad_norm == pytest.approx(np.linalg.norm([3.0, 12.0]))


@pytest.mark.parametrize("reduction, formula, shapes", [
    ("mean", "dJ/dlogits = dJ/dJ * (softmax(logits) - onehot(y)) / N",
     "(5x3) = scalar * (softmax((5x3)) - onehot((5))) / 5"),
    ("sum", "dJ/dlogits = dJ/dJ * (softmax(logits) - onehot(y))",
     "(5x3) = scalar * (softmax((5x3)) - onehot((5)))"),
    ("none", "dJ/dlogits = dJ/dv1[:, None] * (softmax(logits) - onehot(y))",
     "(5x3) = (5)[:, None] * (softmax((5x3)) - onehot((5)))")])
def test_the_cross_entropy_formula_follows_its_reduction(reduction, formula, shapes):
    logits = cr.tensor(np.random.default_rng(0).random((5, 3)), requires_grad=True)
    loss = nn.functional.cross_entropy(logits, [0, 1, 2, 0, 1], reduction=reduction)
    if reduction == "none":
        loss = loss.sum()
    step = backward_steps(loss, params={"logits": logits})[-1]
    assert (step.formula, step.shapes) == (formula, shapes)


def test_manual_two_layer_mlp_explained_with_the_same_numbers():
    rng = np.random.default_rng(0)
    d, hidden, q, n, lam = 12, 7, 4, 5, 0.1
    manual_model = TwoLayerMLP.init(d, hidden, q, seed=3, sigma=0.5, lam=lam)
    x = rng.random((n, d))
    y = rng.integers(0, q, n)
    out = io.StringIO()
    hand = explain_manual(manual_model, x.T, y, file=out)
    assert explain_manual(manual_model, x.T, y, quiet=True) == hand
    assert [s.name for s in hand] == ["J", "L", "s", "o", "W2", "b2", "h", "z", "W1", "b1"]
    assert hand[4].formula == "dJ/dW2 = dJ/do . h^T + lambda W2"
    assert hand[4].shapes == f"({q}x{hidden}) = ({q}x{n}) . ({n}x{hidden}) + ({q}x{hidden})"
    assert "COLUMN" in out.getvalue()

    # The same network in autograd (rows instead of columns) gives the same norms.
    model = nn.Sequential(nn.Linear(d, hidden, dtype="float64"), nn.ReLU(),
                          nn.Linear(hidden, q, dtype="float64"))
    for layer, w, b in ((model[0], manual_model.W1, manual_model.b1),
                        (model[2], manual_model.W2, manual_model.b2)):
        with cr.no_grad():
            layer.weight.copy_(w)
            layer.bias.copy_(b)
    loss = nn.functional.cross_entropy(model(x), y) + nn.l2_penalty(
        [model[0].weight, model[2].weight], lam)
    auto = {s.name: s for s in backward_steps(loss, params=model)}
    for step in hand:
        assert step.grad_norm == pytest.approx(auto[step.name].grad_norm, rel=1e-9), step.name


def test_explain_command_prints_the_steps(capsys):
    assert main(["explain", "--input-size", "20", "--hidden", "8", "--classes", "4",
                 "--batch-size", "3", "--weight-decay", "0.01"]) == 0
    out = capsys.readouterr().out
    assert "RANDOM" in out and "N = 3" in out
    for line in ("dJ/do = dJ/dL * (softmax(o) - onehot(y)) / N",
                 "dJ/dW2 = (dJ/do)^T . h + lambda W2", "dJ/dh = dJ/do . W2",
                 "dJ/dW1 = (dJ/dz)^T . x + lambda W1"):
        assert line in out


def test_explain_command_writes_html(tmp_path, capsys):
    page = tmp_path / "report.html"
    assert main(["explain", "--input-size", "20", "--hidden", "8", "--classes", "4",
                 "--batch-size", "3", "--html", str(page)]) == 0
    assert f"wrote {page}" in capsys.readouterr().out
    assert "dL/dW2 = (dL/do)^T . h" in page.read_text()


def test_explain_command_rejects_bad_options(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["explain", "--activation", "softsign"])
    assert stop.value.code == 2


def test_many_kinds_of_ops_explain_with_the_engines_numbers(tmp_path):
    from chainrule.inspect import memory_report, to_dot, to_html
    a, b, e = many_kinds_of_ops()
    steps = backward_steps(e, params={"a": a, "b": b})
    assert not any("vjp_" in s.formula for s in steps)
    assert to_dot(e).startswith("digraph") and memory_report(e).saved_bytes > 0
    to_html(e, tmp_path / "ops.html", params={"a": a, "b": b})
    e.backward()
    by_name = {s.name: s for s in steps}
    assert by_name["a"].grad_norm > 1e-3
    assert by_name["a"].grad_norm == pytest.approx(np.linalg.norm(a.grad.numpy()), rel=1e-10)
    assert by_name["b"].grad_norm == pytest.approx(np.linalg.norm(b.grad.numpy()), rel=1e-10)


def test_commands_read_a_checkpoint_and_the_digits(tmp_path, capsys):
    from chainrule.serialize import save_tree
    manual_seed(3)
    model = models.mlp(64, [12], 10, activation="tanh")
    path = tmp_path / "checkpoint.crt"
    save_tree(path, {"config": models.mlp_config(64, [12], 10, "tanh"),
                     "model": model.state_dict()})
    argv = ["explain", "--checkpoint", str(path), "--batch-size", "5"]
    if importlib.util.find_spec("sklearn") is not None:
        argv += ["--dataset", "digits"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "network 64-12-10 from the checkpoint" in out
    assert "h = tanh(z)" in out and "phi'(z) = 1 - h^2" in out
    assert main(["memory", "--checkpoint", str(tmp_path / "missing.crt")]) == 1
    assert "error" in capsys.readouterr().err


# -- the report: text where text is read, HTML with a step-through in a notebook ------------------

RAW_DUMPS = ("Step(", "ForwardStep(", "ExplainReport", "<chainrule.", "object at 0x")


def test_the_report_is_the_list_of_steps_and_prints_as_the_text():
    model, loss = textbook_network(n=4)
    out = io.StringIO()
    report = explain(loss, params=model, file=out)
    assert isinstance(report, ExplainReport) and isinstance(report, list)
    assert all(isinstance(step, Step) for step in report) and len(report) == 10
    assert report == backward_steps(loss, params=model)  # the same steps, compared as a list
    assert str(report) + "\n" == out.getvalue() and repr(report) == str(report)
    assert report.text.startswith("Backward pass of J: 10 steps")
    printed = io.StringIO()
    print(report, file=printed)
    assert printed.getvalue() == out.getvalue()
    assert [f.node_ids[0] for f in report.forward] == sorted(f.node_ids[0] for f in report.forward)
    assert report.forward[-1].definition == "J = add(L, s)"


def test_the_reports_html_lists_every_step_and_dumps_no_record():
    model, loss = textbook_network(n=4)
    report = explain(loss, params=model, file=io.StringIO())
    page = report._repr_html_()
    assert '<ol class="cr-steps" data-mode="backward">' in page
    listed = re.findall(r'<li data-index="(\d+)"><span class="cr-li-title">([^<]*)</span>'
                        r'<code>([^<]*)</code><code class="cr-muted">shapes: ([^<]*)</code>'
                        r'<span class="cr-norm">norm \|([^|]*)\| = ([^<]*)</span>', page)
    assert listed == [(str(s.index), html.escape(s.definition), html.escape(s.formula),
                       html.escape(s.shapes), html.escape(s.formula.split(" = ")[0]),
                       f"{s.grad_norm:.6g}") for s in report]
    assert html.escape(report.header.splitlines()[0]) in page
    assert "<svg" in page and "Previous" in page and "Next" in page
    for dump in RAW_DUMPS:
        assert dump not in page, dump
    # Offline: nothing is fetched; every id is this render's own.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    again = report._repr_html_()
    ids, ids_again = (set(re.findall(r'\sid="([^"]+)"', p)) for p in (page, again))
    assert len(ids) > 30 and not ids & ids_again


def test_the_report_shows_in_a_notebook_as_html_and_text():
    formatters = pytest.importorskip("IPython.core.formatters")
    model, loss = textbook_network(n=4)
    report = explain(loss, params=model, file=io.StringIO())
    shown, _ = formatters.DisplayFormatter().format(report)
    assert shown["text/plain"] == report.text
    assert "cr-stepper" in shown["text/html"]
    step_shown, _ = formatters.DisplayFormatter().format(report[5])
    assert "dJ/dW2 = (dJ/do)^T . h + lambda W2" in step_shown["text/html"]
    assert not any(dump in step_shown["text/html"] for dump in RAW_DUMPS)


def test_at_a_prompt_explain_leaves_the_showing_to_the_report(monkeypatch, capsys):
    model, loss = textbook_network(n=4)
    explain(loss, params=model)
    printed = capsys.readouterr().out
    assert printed.startswith("Backward pass of J")
    monkeypatch.setattr(sys, "ps1", ">>> ", raising=False)  # the Python prompt shows results
    report = explain(loss, params=model)
    assert capsys.readouterr().out == ""  # shown once, by the prompt, not twice
    assert report.text + "\n" == printed
    explain(loss, params=model, file=sys.stdout)  # asked for: printed
    assert capsys.readouterr().out == printed


def test_a_report_made_before_backward_still_shows_after_it(tmp_path):
    model, loss = textbook_network(n=4)
    report = backward_steps(loss, params=model)
    loss.backward()  # frees the graph's arrays; the report holds text only
    page = report._repr_html_()
    assert "dJ/dW1 = (dJ/dz)^T . x + lambda W1" in page and "<svg" in page


def test_explain_manual_returns_a_report_without_a_graph():
    model = TwoLayerMLP.init(20, 8, 4, seed=0, lam=1e-3)
    rng = np.random.default_rng(0)
    out = io.StringIO()
    report = explain_manual(model, rng.random((20, 5)), rng.integers(0, 4, 5), file=out)
    assert isinstance(report, ExplainReport) and str(report) + "\n" == out.getvalue()
    page = report._repr_html_()
    assert "cr-nograph" in page and "<svg" not in page
    assert html.escape("dJ/dW2 = dJ/do . h^T + lambda W2") in page
    assert not any(dump in page for dump in RAW_DUMPS)
