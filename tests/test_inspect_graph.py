"""inspect.graph: one box per variable, one circle per op, forward edges, clusters, rendering,
and the `chainrule graph` command."""
import re
import shutil
import subprocess

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.cli import main
from chainrule.random import manual_seed
from chainrule.inspect import GraphView, backward_steps, render, to_dot
from chainrule.inspect import graph as graph_module

HAS_DOT = shutil.which("dot") is not None


def textbook(n=5, d=12, hidden=7, q=3, lam=0.01, seed=0):
    """The d2l 4.7 network: Linear-ReLU-Linear, cross-entropy, plus the L2 term s."""
    manual_seed(seed)
    model = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, q))
    rng = np.random.default_rng(seed)
    x = rng.random((n, d), dtype=np.float32)
    y = rng.integers(0, q, n)
    loss = nn.functional.cross_entropy(model(x), y)
    if lam:
        loss = loss + nn.l2_penalty([model[0].weight, model[2].weight], lam)
    return model, loss


def graph_nodes(tensor):
    """The graph's nodes, found here independently of inspect."""
    seen, stack = {tensor.node}, [tensor.node]
    while stack:
        for parent in stack.pop().parents:
            if parent is not None and parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


def dot_shapes(text):
    boxes = re.findall(r'^\s*(v\d+) \[.*shape=box', text, flags=re.M)
    circles = re.findall(r'^\s*(op\d+) \[.*shape=circle', text, flags=re.M)
    return boxes, circles


def test_one_box_per_variable_and_one_circle_per_op():
    model, loss = textbook()
    nodes = graph_nodes(loss)
    ops = [n for n in nodes if n.op is not None]
    boxes, circles = dot_shapes(to_dot(loss, params=model))
    assert sorted(boxes) == sorted(f"v{n.seq}" for n in nodes)
    assert sorted(circles) == sorted(f"op{n.seq}" for n in ops)
    # 4 parameters + 15 ops: transpose, matmul, add (x2 layers), relu, cross-entropy,
    # W*W, sum (x2), add, mul by lambda/2, and J = L + s.
    assert (len(boxes), len(circles)) == (19, 15)


@pytest.mark.skipif(not HAS_DOT, reason="missing tool: Graphviz's dot is not installed")
def test_dot_output_parses_and_svg_has_the_same_nodes():
    model, loss = textbook()
    text = to_dot(loss, params=model)
    svg = subprocess.run(["dot", "-Tsvg"], input=text.encode(), capture_output=True,
                         timeout=60, check=True).stdout.decode()
    ids = re.findall(r'<g id="((?:v|op)\d+)" class="node"', svg)
    nodes = graph_nodes(loss)
    assert len([i for i in ids if i.startswith("v")]) == len(nodes)
    assert len([i for i in ids if i.startswith("op")]) == sum(n.op is not None for n in nodes)


def test_edges_run_forward_from_inputs_through_ops_to_outputs():
    model, loss = textbook()
    text = to_dot(loss, params=model)
    for node in graph_nodes(loss):
        if node.op is None:
            continue
        assert f"op{node.seq} -> v{node.seq};" in text
        for parent in node.parents:
            if parent is not None:
                assert f"v{parent.seq} -> op{node.seq};" in text
    assert re.search(r"c\d+ -> op\d+ \[style=dashed\]", text)  # the batch x, no gradient


def test_labels_use_parameter_and_textbook_names_with_shape_and_dtype():
    model, loss = textbook()
    text = to_dot(loss, params=model)
    for label in ("W1 (0.weight)\\n(7x12) float32", "b2 (2.bias)\\n(3) float32",
                  "z\\n(5x7) float32", "h\\n(5x7) float32", "o\\n(5x3) float32",
                  "L\\nscalar float32", "s\\nscalar", "J\\nscalar", "x\\n(5x12)\\nno grad"):
        assert label in text, label


def test_params_as_a_dict_name_the_leaves():
    a = cr.tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    b = cr.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    out = (a * b).relu().sum()
    text = to_dot(out, params={"alpha": a, "beta": b})
    assert 'label="alpha\\n(2x3) float32"' in text and 'label="beta\\n(3) float32"' in text
    assert 'label="relu"' in text


def test_after_backward_shows_gradient_norms_and_still_draws_every_node():
    model, loss = textbook()
    loss.backward()
    assert all(n.saved is None for n in graph_nodes(loss) if n.op is not None)
    text = to_dot(loss, params=model)
    boxes, circles = dot_shapes(text)
    assert (len(boxes), len(circles)) == (19, 15)
    norm = np.linalg.norm(model[2].weight.grad.detach().numpy())
    assert f"grad (3x7) |g|={norm:.4g}" in text
    assert "|g|=" not in to_dot(loss, params=model, show_grad=False)


def test_group_by_module_makes_one_cluster_per_scope():
    model, loss = textbook()
    text = to_dot(loss, params=model, group_by="module")
    scopes = {n.scope for n in graph_nodes(loss)} - {None}
    assert scopes == {"0", "1", "2"}
    # Each scope says which module made its nodes, so inspect need not guess from the ops.
    assert {scope: scope.module_type for scope in scopes} == {
        "0": nn.Linear, "1": nn.ReLU, "2": nn.Linear}
    assert 'label="module 1 (ReLU)"' in to_dot(loss, group_by="module")  # without params
    assert text.count("subgraph cluster_") == 3
    assert 'label="module 1 (ReLU)"' in text
    boxes, circles = dot_shapes(text)
    assert (len(boxes), len(circles)) == (19, 15)
    with pytest.raises(ValueError, match="group_by"):
        to_dot(loss, group_by="layer")


def test_reading_the_graph_changes_nothing():
    model, loss = textbook()
    nodes = graph_nodes(loss)
    before = {n: (n.saved and dict(n.saved), n.extras) for n in nodes}
    GraphView(loss, model)
    to_dot(loss, params=model, group_by="module")
    backward_steps(loss, params=model)  # runs the engine's backward pass, retaining the graph
    assert {n: (n.saved and dict(n.saved), n.extras) for n in nodes} == before
    assert all(p.grad is None for p in model.parameters())


def test_the_view_finds_the_values_the_graph_keeps():
    model, loss = textbook()
    view = GraphView(loss, model)
    values = {view.name(n): view.value(n) for n in view.nodes}
    # h is kept as the next matmul's input and o as the loss's logits; no VJP needed z.
    assert values["h"].shape == (5, 7) and values["o"].shape == (5, 3)
    assert values["z"] is None
    np.testing.assert_array_equal(values["h"], np.maximum(values["h"], 0))


def test_a_tensor_without_graph_is_refused_clearly():
    with pytest.raises(cr.GradientError, match="no graph"):
        to_dot(cr.tensor([1.0, 2.0]))


@pytest.mark.skipif(not HAS_DOT, reason="missing tool: Graphviz's dot is not installed")
@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".png", b"\x89PNG")])
def test_render_writes_svg_and_png(tmp_path, suffix, magic):
    model, loss = textbook()
    path = render(loss, tmp_path / f"g{suffix}", params=model)
    assert path == tmp_path / f"g{suffix}"
    assert path.read_bytes().startswith(magic)


def test_render_without_dot_writes_the_dot_file_and_says_how(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    model, loss = textbook()
    path = render(loss, tmp_path / "g.svg", params=model)
    assert path == tmp_path / "g.dot" and path.read_text().startswith("digraph")
    assert f"dot -Tsvg {tmp_path / 'g.dot'} -o {tmp_path / 'g.svg'}" in capsys.readouterr().err


def test_render_refuses_unknown_suffixes(tmp_path):
    _, loss = textbook()
    with pytest.raises(ValueError, match=".svg, .png or .dot"):
        render(loss, tmp_path / "g.jpg")


def test_graph_command_writes_a_file(tmp_path, capsys):
    out = tmp_path / "g.dot"
    code = main(["graph", "--input-size", "6", "--hidden", "4", "--classes", "3",
                 "--batch-size", "2", "--weight-decay", "0.1", "--group-by", "module",
                 "--out", str(out)])
    assert code == 0
    assert "RANDOM" in capsys.readouterr().out
    boxes, circles = dot_shapes(out.read_text())
    assert (len(boxes), len(circles)) == (19, 15)


def test_graph_command_prints_dot_without_out(capsys):
    assert main(["graph", "--input-size", "6", "--hidden", "4", "3", "--classes", "3",
                 "--batch-size", "2"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("digraph") and "RANDOM" in captured.err


@pytest.mark.parametrize("argv", [["graph", "--out", "g.txt"], ["graph", "--hidden", "0"],
                                  ["graph", "--batch-size", "x"], ["graph", "--bogus"],
                                  ["graph", "--weight-decay", "-1"]])
def test_graph_command_rejects_bad_options_with_exit_code_2(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert "usage: chainrule" in capsys.readouterr().err
