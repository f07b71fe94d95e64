"""The tutorial notebooks in docs/notebooks run from top to bottom in a real kernel, assert
their own key numbers in their cells, and show what a learner should see: the graph as SVG,
explain and the memory ledger as HTML, the training curves as an image, and no raw records."""
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "docs" / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
# A dataclass or namedtuple repr: a class name, "(", then "field=".
RAW_RECORD = re.compile(r"\b[A-Z][A-Za-z]+\((?:[a-z_]+=)")
MNIST_HERE = (NOTEBOOKS.parents[2] / "shared" / "datasets" / "mnist"
              / "t10k-images-idx3-ubyte.gz").exists()
HAS_MATPLOTLIB = __import__("importlib").util.find_spec("matplotlib") is not None


def _kernel_or_skip():
    try:
        import nbclient  # noqa: F401
        import nbformat  # noqa: F401
        from jupyter_client.kernelspec import KernelSpecManager
    except ImportError as error:
        pytest.skip(f"missing tool: the notebook runner ({error.name}); "
                    f'pip install -e ".[test]"')
    if "python3" not in KernelSpecManager().find_kernel_specs():
        pytest.skip("missing tool: no Jupyter kernel named python3 (pip install ipykernel)")


@pytest.fixture(scope="module")
def executed():
    """Each notebook, executed once: name -> notebook with outputs."""
    _kernel_or_skip()
    import nbformat
    from nbclient import NotebookClient
    results = {}
    for path in PATHS:
        notebook = nbformat.read(path, as_version=4)
        client = NotebookClient(notebook, timeout=120, kernel_name="python3",
                                resources={"metadata": {"path": str(NOTEBOOKS)}})
        client.execute()  # raises CellExecutionError when a cell (or one of its asserts) fails
        results[path.name] = notebook
    return results


def tagged(notebook, tag):
    cells = [cell for cell in notebook.cells if tag in cell.metadata.get("tags", [])]
    assert len(cells) == 1, f"one cell tagged {tag!r}"
    return cells[0]


def rich_outputs(cell):
    return [output for output in cell.outputs if "data" in output]


def all_text(notebook):
    for cell in notebook.cells:
        for output in getattr(cell, "outputs", []):
            if output.output_type == "stream":
                yield output.name, output.text
            for mime, value in output.get("data", {}).items():
                if mime.startswith("text/") or mime == "image/svg+xml":
                    yield mime, value


def test_there_are_four_tutorials_committed_without_outputs():
    nbformat = pytest.importorskip("nbformat", reason="missing tool: nbformat (the notebook "
                                   'runner); pip install -e ".[test]"')
    assert [path.name for path in PATHS] == ["01-forward-backward-graph.ipynb",
                                             "02-cs231n-layers-by-hand.ipynb",
                                             "03-training-digits-and-mnist.ipynb",
                                             "04-backprop-through-time.ipynb"]
    for path in PATHS:
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        assert notebook.metadata.kernelspec.name == "python3"
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path.name


@pytest.mark.requires_tool("the notebook kernel")
def test_the_d2l_notebook_shows_graph_explain_and_memory(executed):
    notebook = executed["01-forward-backward-graph.ipynb"]
    graph = rich_outputs(tagged(notebook, "graph"))
    assert graph and "image/svg+xml" in graph[-1].data
    svg = graph[-1].data["image/svg+xml"]
    assert svg.lstrip().startswith("<svg") and svg.rstrip().endswith("</svg>")
    for name in ("W1", "W2", "J"):
        assert f">{name}" in svg, name
    memory = rich_outputs(tagged(notebook, "memory"))
    assert memory and "text/html" in memory[-1].data
    assert "training keeps" in memory[-1].data["text/html"]
    explain = rich_outputs(tagged(notebook, "explain"))
    assert explain and "text/html" in explain[-1].data, "explain shows no HTML"
    assert "dJ/dW1" in explain[-1].data["text/html"]


@pytest.mark.requires_tool("the notebook kernel")
def test_the_cs231n_notebook_shows_the_broken_layer(executed):
    notebook = executed["02-cs231n-layers-by-hand.ipynb"]
    broken = rich_outputs(tagged(notebook, "check-broken"))[-1].data["text/html"]
    assert "WRONG: missing batch sum" in broken and ">ok<" in broken
    passed = rich_outputs(tagged(notebook, "check-affine"))[-1].data["text/html"]
    assert "passed" in passed and "WRONG" not in passed


@pytest.mark.requires_tool("the notebook kernel")
def test_the_training_notebook_plots_its_history_without_warnings(executed):
    notebook = executed["03-training-digits-and-mnist.ipynb"]
    history = rich_outputs(tagged(notebook, "history"))
    assert history
    if HAS_MATPLOTLIB:
        assert "image/png" in history[-1].data
    else:
        assert "text/html" in history[-1].data
    if MNIST_HERE:
        curves = rich_outputs(tagged(notebook, "mnist"))
        assert curves and ("image/png" in curves[-1].data or "text/html" in curves[-1].data)
    lines = [text for name, text in all_text(notebook) if name == "stdout"]
    assert sum("epoch   8/8" in text for text in lines) == 1
    for name, text in all_text(notebook):
        assert name != "stderr", f"stderr in the training notebook: {text[:300]!r}"


@pytest.mark.requires_tool("the notebook kernel")
def test_the_bptt_notebook_shows_time_steps_norms_memory_and_samples(executed):
    notebook = executed["04-backprop-through-time.ipynb"]
    explain = rich_outputs(tagged(notebook, "explain"))[-1].data["text/html"]
    assert "over time: the sum of 4 time steps" in explain
    svg = rich_outputs(tagged(notebook, "graph"))[-1].data["image/svg+xml"]
    assert all(f"time step t{t}" in svg for t in range(4))
    for tag in ("norms", "trained-norms"):
        assert "per time step" in rich_outputs(tagged(notebook, tag))[-1].data["text/html"]
    memory = rich_outputs(tagged(notebook, "memory"))[-1].data["text/html"]
    assert "backward every 5 steps" in memory
    stdout = "".join(text for name, text in all_text(notebook) if name == "stdout")
    assert "largest difference" in stdout and "perplexity" in stdout
    # All of the cell's stdout: a busy kernel may flush one print in several stream outputs.
    printed = "".join(output.text for output in tagged(notebook, "sample").outputs
                      if output.output_type == "stream" and output.name == "stdout")
    assert "greedy:        time traveller " in printed
    for name, text in all_text(notebook):
        assert name != "stderr", f"stderr in the BPTT notebook: {text[:300]!r}"


@pytest.mark.requires_tool("the notebook kernel")
@pytest.mark.parametrize("name", [path.name for path in PATHS])
def test_no_output_dumps_raw_records(executed, name):
    for mime, text in all_text(executed[name]):
        found = RAW_RECORD.search(text)
        assert found is None, f"{name}: {mime} output has a raw record {found.group(0)}..."
