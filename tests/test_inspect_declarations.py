"""inspect reads what ops declare, never their names: a fused loss declared here alone is
explained, ledgered and drawn like the built-in one, and inspect's code names no op."""
import ast
import io
import re
import tokenize
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import inspect, nn
from chainrule.backend import xp
from chainrule.ops.primitive import REGISTRY, primitive

INSPECT_DIR = Path(cr.__file__).parent / "inspect"


@pytest.fixture
def onehot_squared_error():
    """A fused loss unknown to inspect: mean over rows of ||scores - onehot(targets)||^2."""
    @primitive
    def onehot_squared_error(scores, targets, *, reduction="mean"):
        onehot = xp.arange(scores.shape[1]) == targets[:, None]
        losses = ((scores - onehot) ** 2).sum(axis=1)
        return losses.mean() if reduction == "mean" else losses.sum()

    @onehot_squared_error.vjp("scores", formula="{grad} * 2 ({scores} - onehot({targets})) / N")
    def _(grad, scores, targets, reduction):
        delta = 2 * (scores - (xp.arange(scores.shape[1]) == targets[:, None]))
        return delta * (grad / scores.shape[0] if reduction == "mean" else grad)

    onehot_squared_error.declare(loss=True, title="squared error to the one-hot labels",
                                 labels=("targets",))
    yield onehot_squared_error
    REGISTRY.pop("onehot_squared_error")


def network_and_loss(loss_op, lam=0.01, n=5):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 4), nn.Tanh(), nn.Linear(4, 3))
    rng = np.random.default_rng(1)
    x = cr.tensor(rng.normal(size=(n, 6)).astype(np.float32))
    y = rng.integers(0, 3, n)
    scores = model(x)
    loss = loss_op(scores, y) + nn.functional.l2_penalty(
        [model[0].weight, model[2].weight], lam)
    return model, x, y, loss


def test_explain_reads_a_new_fused_loss_from_its_declaration(onehot_squared_error):
    model, x, y, loss = network_and_loss(onehot_squared_error)
    steps = inspect.backward_steps(loss, params=model)
    assert [s.name for s in steps] == ["J", "s", "L", "o", "b2", "W2", "h", "z", "b1", "W1"]
    by_name = {s.name: s for s in steps}
    assert by_name["L"].definition == ("L = l(o, y): squared error to the one-hot labels, mean "
                                       "over the batch")
    assert by_name["o"].formula == "dJ/do = dJ/dL * 2 (o - onehot(y)) / N"
    assert by_name["o"].shapes == "(5x3) = 2 ((5x3) - onehot((5))) / 5"
    assert "onehot_squared_error" in by_name["o"].notes[0]
    # The derivative of tanh comes from tanh's own declared formula.
    assert by_name["z"].formula.endswith("phi'(z) = 1 - h^2")
    # The numbers are the engine's: dJ/do computed here by hand, dJ/dW1 read after backward.
    with cr.no_grad():
        o = model(x).numpy().astype(np.float64)
    onehot = np.eye(3)[y]
    assert by_name["o"].grad_norm == pytest.approx(np.linalg.norm(2 * (o - onehot) / 5),
                                                   rel=1e-5)
    loss.backward()
    assert by_name["W1"].grad_norm == pytest.approx(
        np.linalg.norm(model[0].weight.grad.numpy()), rel=1e-5)


def test_the_memory_ledger_and_the_graph_read_the_declaration(onehot_squared_error):
    model, x, y, loss = network_and_loss(onehot_squared_error)
    report = inspect.memory_report(loss, params=model)
    assert report.prediction_name == "o"
    assert report.inference_bytes == 5 * 3 * 4  # the scores alone, float32
    loss_rows = [row for row in report.rows if row.op == "onehot_squared_error"]
    assert len(loss_rows) == 1
    assert {item.what for item in loss_rows[0].saved} == {"o", "y"}
    dot = inspect.to_dot(loss, params=model)
    assert re.search(r'label="y\\n\(5\)\\nno grad"', dot), dot
    assert re.search(r'label="x\\n\(5x6\)\\nno grad"', dot), dot
    assert "onehot_\\nsquared_\\nerror" in dot  # the op's circle, its name broken at "_"
    view = inspect.GraphView(loss, params=model)
    assert view.textbook is not None and view.name(view.textbook.L) == "L"


def test_a_loss_without_declared_labels_is_not_the_textbooks(onehot_squared_error):
    onehot_squared_error.declare(loss=False)
    model, x, y, loss = network_and_loss(onehot_squared_error)
    view = inspect.GraphView(loss, params=model)
    assert view.textbook is None
    text = io.StringIO()
    inspect.explain(loss, params=model, file=text)
    assert "vjp" not in text.getvalue().split("\n")[0]  # generic steps, still explained
    assert "2 (" in text.getvalue()


def test_declare_refuses_an_unknown_input(onehot_squared_error):
    with pytest.raises(ValueError, match="no inputs named \\['labels'\\]"):
        onehot_squared_error.declare(loss=True, labels=("labels",))


def _code_strings_and_comparisons(path):
    """String constants of ``path`` outside docstrings, and the source of comparisons."""
    tree = ast.parse(path.read_text())
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    strings = [node.value for node in ast.walk(tree)
               if isinstance(node, ast.Constant) and isinstance(node.value, str)
               and id(node) not in docstrings]
    comparisons = [ast.unparse(node) for node in ast.walk(tree) if isinstance(node, ast.Compare)]
    return strings, comparisons


@pytest.mark.parametrize("path", sorted(INSPECT_DIR.glob("*.py")), ids=lambda p: p.name)
def test_inspect_names_no_op(path):
    strings, comparisons = _code_strings_and_comparisons(path)
    # "sum", "mean", "min" and "max" are also the words for a loss's reduction option and for
    # the statistics the step-through shows; comparing an op's name with them is still caught.
    words = {"sum", "mean", "min", "max"}
    names = (set(REGISTRY) | {"cross_entropy", "linear"}) - words
    assert not [s for s in strings if s in names], path
    underscored = [n for n in names if "_" in n]
    assert not [s for s in strings for n in underscored if n in s], path
    assert not [c for c in comparisons if "op.name" in c], path
    code = path.read_text()  # comments included: only docstrings may name an op
    assert not [n for n in underscored if re.search(rf"\b{n}\b", code)
                and n not in _docstring_text(path)], path
    comments = [t.string for t in tokenize.generate_tokens(io.StringIO(code).readline)
                if t.type == tokenize.COMMENT]
    assert not [c for c in comments for n in names if len(n) > 3
                and re.search(rf"\b{re.escape(n)}\b", c)], path


def _docstring_text(path):
    tree = ast.parse(path.read_text())
    return " ".join(ast.get_docstring(node) or "" for node in ast.walk(tree)
                    if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)))


def test_explain_manual_reads_the_networks_own_declaration_of_its_steps():
    from chainrule.manual.mlp import ForwardPass, Step

    class Line:
        """J = mean over the batch of (w . x - y)^2, written out by hand."""

        def __init__(self, w):
            self.w = w

        def params(self):
            return {"w": self.w}

        def forward(self, x, y):
            r = self.w @ x - y
            return ForwardPass({"r": r, "J": float((r ** 2).mean())}, x=x, y=y)

        def backward(self, values):
            r = values["r"]
            return {"dJ/dr": 2 * r / r.size, "dJ/dw": values.x @ (2 * r / r.size)}

        def backward_steps(self):
            return [Step("J", "J = mean(r^2)", "dJ/dJ = 1", "scalar", 1.0),
                    Step("r", "r = w x - y", "dJ/dr = 2 r / N", "{r} = {r} / {N}", "dJ/dr"),
                    Step("w", "w: the weights", "dJ/dw = x . dJ/dr", "{w} = {x} . {r}", "dJ/dw",
                         ("declared by the network",))]

    rng = np.random.default_rng(0)
    x, y, w = rng.normal(size=(3, 5)), rng.normal(size=5), rng.normal(size=3)
    report = inspect.explain_manual(Line(w), x, y, quiet=True)
    assert [s.name for s in report] == ["J", "r", "w"]
    # A vector the forward computes is shown as a column, the textbook's layout.
    assert report[1].shapes == "(5x1) = (5x1) / 5"
    assert report[2].shapes == "(3) = (3x5) . (5x1)"
    assert report[2].notes == ["declared by the network"]
    expected = x @ (2 * (w @ x - y) / 5)
    assert report[2].grad_norm == pytest.approx(np.linalg.norm(expected))
    assert "Line" in report.header
