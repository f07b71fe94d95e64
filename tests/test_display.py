"""What a notebook cell shows: the graph as SVG, the memory ledger, check_backward's report, a
training history, tensors and modules as HTML. Each display must be well-formed, carry the
object's real numbers (read here from the object's own fields) and never dump raw records."""
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pytest

import chainrule as cr
from chainrule import inspect, manual, nn
from chainrule.check_backward import check_backward
from chainrule.inspect import graph as graph_module
from chainrule.random import manual_seed
from chainrule.train.history import EpochRecord, History

HAS_DOT = shutil.which("dot") is not None
VOID = {"br", "hr", "img", "meta", "link", "input", "col", "area", "base", "wbr"}
# A dataclass or namedtuple repr: a class name, "(", then "field=".
RAW_RECORD = re.compile(r"\b[A-Z][A-Za-z]+\((?:[a-z_]+=)")


class _TagChecker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.problems, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def well_formed_html(markup):
    """The visible text of ``markup``, after checking that every tag is closed in order."""
    assert isinstance(markup, str) and markup.strip()
    checker = _TagChecker()
    checker.feed(markup)
    checker.close()
    assert not checker.problems, checker.problems
    assert not checker.stack, f"unclosed tags: {checker.stack}"
    assert not RAW_RECORD.search(markup), RAW_RECORD.search(markup).group(0)
    return " ".join(checker.text)


def svg_root(svg):
    root = ET.fromstring(svg)  # raises on malformed XML
    assert root.tag.endswith("svg")
    return root


def svg_texts(root):
    return [(element.text or "") for element in root.iter() if element.tag.endswith("text")]


def textbook(lam=0.01, seed=0):
    """The d2l network, Linear-ReLU-Linear with cross-entropy and the L2 term."""
    manual_seed(seed)
    model = nn.Sequential(nn.Linear(12, 7), nn.ReLU(), nn.Linear(7, 3))
    rng = np.random.default_rng(seed)
    x = rng.random((5, 12), dtype=np.float32)
    y = rng.integers(0, 3, 5)
    loss = nn.functional.cross_entropy(model(x), y)
    loss = loss + nn.l2_penalty([model[0].weight, model[2].weight], lam)
    return model, loss


# -- the graph ------------------------------------------------------------------------------------

@pytest.mark.requires_tool("Graphviz's dot")
@pytest.mark.skipif(not HAS_DOT, reason="missing tool: Graphviz's dot is not installed")
def test_draw_shows_dots_svg_with_every_variable():
    model, loss = textbook()
    drawing = inspect.draw(loss, params=model)
    root = svg_root(drawing._repr_svg_())
    view = graph_module.GraphView(loss, model)
    ids = {g.get("id") for g in root.iter() if g.tag.endswith("g")}
    assert {graph_module.box_id(node) for node in view.nodes} <= ids
    texts = " ".join(svg_texts(root))
    for name in ("J", "W1", "W2", "x", "z", "h", "o", "L", "s"):
        assert re.search(rf"(^|\s){re.escape(name)}(\s|$)", texts), name
    assert repr(drawing) == f"<graph of J: {len(view.nodes)} nodes; .dot is its DOT text, .svg its drawing>"


def test_without_dot_the_drawing_is_our_own_svg(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    model, loss = textbook()
    view = graph_module.GraphView(loss, model)
    for shown in (inspect.draw(loss, params=model), inspect.to_dot(loss, params=model)):
        root = svg_root(shown._repr_svg_())
        ids = {g.get("id") for g in root.iter() if g.tag.endswith("g")}
        assert {graph_module.box_id(node) for node in view.nodes} <= ids
        assert set(svg_texts(root)) >= {view.name(node) for node in view.nodes}


def test_to_dot_is_still_the_same_text():
    model, loss = textbook()
    text = inspect.to_dot(loss, params=model)
    assert isinstance(text, str) and text.startswith("digraph chainrule {")
    assert str(text) + "" == text and text.splitlines()[0] == "digraph chainrule {"


@pytest.mark.requires_tool("Graphviz's dot")
@pytest.mark.skipif(not HAS_DOT, reason="missing tool: Graphviz's dot is not installed")
def test_render_returns_a_path_that_shows_its_file(tmp_path):
    model, loss = textbook()
    svg_path = inspect.render(loss, tmp_path / "g.svg", params=model)
    assert svg_path == tmp_path / "g.svg" and svg_path.exists()
    shown = svg_path._repr_svg_()
    svg_root(shown)
    assert shown in svg_path.read_text()
    png_path = inspect.render(loss, tmp_path / "g.png", params=model)
    assert png_path._repr_png_() == (tmp_path / "g.png").read_bytes()
    assert png_path._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"


# -- the memory ledger ----------------------------------------------------------------------------

def test_memory_report_is_a_table_with_bars_and_totals():
    model, loss = textbook()
    report = inspect.memory_report(loss, params=model)
    markup = report._repr_html_()
    text = well_formed_html(markup)
    counted = [row for row in report.rows]
    assert len(re.findall(r"<tr>", markup)) >= len(counted) + 1
    for row in counted:
        assert f"{row.extra_bytes:,}" in text and row.variable in text
    for total in (report.training_bytes, report.inference_bytes, report.extra_bytes,
                  report.saved_bytes, report.parameter_bytes):
        assert f"{total:,} B" in text
    assert f"{report.ratio:.1f}x" in text
    assert repr(report) == (f"<MemoryReport of J: training keeps {report.training_bytes:,} B, "
                            f"prediction {report.inference_bytes:,} B ({report.ratio:.1f}x); "
                            f"print it for the ledger>")
    widths = [int(w) for w in re.findall(r'class="bar" style="width: (\d+)px', markup)]
    largest = max(row.extra_bytes for row in counted)
    ledger_widths = widths[:len(counted)]
    assert max(ledger_widths) == 120
    for row, width in zip(counted, ledger_widths):
        assert abs(width - 120 * row.extra_bytes / largest) <= 0.5


# -- check_backward -------------------------------------------------------------------------------

def _affine_backward_without_batch_sum(dout, cache):
    x, w = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout


def test_check_backward_report_marks_ok_and_wrong():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((4, 2, 3)), rng.standard_normal((6, 5)), rng.standard_normal(5)
    report = check_backward(manual.affine_forward, _affine_backward_without_batch_sum, [x, w, b])
    text = well_formed_html(report._repr_html_())
    assert "FAILED (1 of 3 wrong)" in text
    rows = re.findall(r"<tr>(.*?)</tr>", report._repr_html_())[1:]
    assert len(rows) == 3
    for row, check in zip(rows, report.rows):
        cells = [re.sub("<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        assert cells[0] == check.name
        assert cells[-1] == ("ok" if check.passed else f"WRONG: {check.diagnosis.kind}")
        if check.numeric_error is not None:
            assert cells[2] == f"{check.numeric_error:.1e}"
    assert "WRONG: missing batch sum" in text
    assert report["db"].diagnosis.message.split(",")[0] in text

    good = check_backward(manual.affine_forward, manual.affine_backward, [x, w, b])
    good_text = well_formed_html(good._repr_html_())
    assert "passed" in good_text and "WRONG" not in good_text


# -- a training history ---------------------------------------------------------------------------

def _history():
    return History([EpochRecord(1, 0.75, 0.81, 0.41, 0.9125, 0.5, 2876.0),
                    EpochRecord(2, 0.25, 0.93, 0.22, 0.9437, 0.4, 3595.0)])


def test_history_plots_as_png():
    pytest.importorskip("matplotlib")
    history = _history()
    image = history._repr_png_()
    assert image[:8] == b"\x89PNG\r\n\x1a\n" and len(image) > 10_000
    assert history._repr_html_() is None  # the plot is the display
    assert repr(history) == "<History of 2 epochs: last train loss 0.2500, test accuracy 0.9437>"
    assert not RAW_RECORD.search(repr(history))


def test_history_without_matplotlib_is_a_table(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    history = _history()
    assert history._repr_png_() is None
    text = well_formed_html(history._repr_html_())
    for record in history:
        assert f"{record.test_accuracy:.4f}" in text and f"{record.train_loss:.4f}" in text


def test_trainer_fit_returns_a_history():
    pytest.importorskip("sklearn")
    from chainrule.train import TrainConfig, Trainer
    history = Trainer(TrainConfig(epochs=1, hidden=[8]), progress=False, log=None).fit()
    assert isinstance(history, History) and isinstance(history, list) and len(history) == 1


# -- tensors and modules --------------------------------------------------------------------------

def test_small_tensor_shows_its_values():
    t = cr.tensor([[1.5, -2.25], [3.0, 4.125]], requires_grad=True)
    text = well_formed_html(t._repr_html_())
    assert "(2x2)" in text and "float32" in text and "requires_grad" in text
    for value in t.detach().numpy().ravel():
        assert f"{value:g}" in text
    product = t * 2
    assert "op=mul" in well_formed_html(product._repr_html_())


def test_large_tensor_is_summarised():
    data = np.random.default_rng(0).standard_normal((50, 40)).astype(np.float32)
    data[0, 0] = np.nan
    text = well_formed_html(cr.tensor(data)._repr_html_())
    finite = data[np.isfinite(data)].astype(np.float64)
    for number in (finite.min(), finite.max(), finite.mean()):
        assert f"{number:.6g}" in text
    assert "2,000" in text and "(50x40)" in text
    assert len(text) < 2000  # a summary, not 2,000 numbers


def test_module_shows_its_tree_and_parameter_count():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    text = well_formed_html(model._repr_html_())
    total = sum(p.detach().numpy().size for p in model.parameters())
    assert f"{total:,} parameters" in text
    assert "in_features=3, out_features=4" in text and "ReLU" in text
    assert f"{3 * 4 + 4:,}" in text and f"{4 * 2 + 2:,}" in text


# -- progress bars --------------------------------------------------------------------------------

def test_progress_bar_in_a_notebook_without_widgets_is_silent():
    pytest.importorskip("tqdm")
    pytest.importorskip("IPython")
    program = """
import sys, types, warnings
warnings.simplefilter("error")
import IPython
class ZMQInteractiveShell:
    pass
IPython.get_ipython = lambda: ZMQInteractiveShell()
sys.modules["ipykernel.zmqshell"] = types.ModuleType("ipykernel.zmqshell")
sys.modules["ipywidgets"] = None
from chainrule.train.trainer import _progress_bar
print("bar:", _progress_bar(10, "epoch 1/1", True))
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "bar: None" and done.stderr == ""


def test_progress_bar_outside_a_notebook_is_tqdm():
    tqdm = pytest.importorskip("tqdm")
    from chainrule.train.trainer import _progress_bar
    bar = _progress_bar(3, "epoch 1/1", True)
    try:
        assert isinstance(bar, tqdm.tqdm)
    finally:
        bar.close()
