"""`import chainrule` and `chainrule --help` load only what they need: the tools, the network
modules of the downloader, matplotlib, tqdm and numpy.random (the generators' NumPy streams are
made on the first draw) load on first use (bench/run.py times it)."""
import subprocess
import sys

import pytest

HEAVY = ["chainrule.nn", "chainrule.inspect.explain", "chainrule.inspect.html", "tqdm",
         "matplotlib", "urllib.request", "http.client", "email", "sklearn", "scipy",
         "safetensors", "onnx", "tensorboardX", "torch", "numpy.random"]
LOADED = ("import sys\n{code}\n"
          "print(' '.join(m for m in {heavy!r} if m in sys.modules))")


def _loaded(code):
    result = subprocess.run([sys.executable, "-c", LOADED.format(code=code, heavy=HEAVY)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_import_chainrule_loads_none_of_the_tools():
    assert _loaded("import chainrule") == []


def test_chainrule_help_loads_none_of_the_tools():
    code = ("from chainrule.cli import main\n"
            "import contextlib, io\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        main(['--help'])\n    except SystemExit:\n        pass")
    # The inspect package (and the nn classes it recognises layers by) loads with its commands'
    # parser; the third-party and network modules do not.
    assert [m for m in _loaded(code) if not m.startswith("chainrule.")] == []


@pytest.mark.parametrize("name", ["nn", "inspect", "train", "optim", "data", "models"])
def test_the_tools_load_on_first_use(name):
    code = f"import chainrule\nprint(getattr(chainrule, {name!r}).__name__)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.strip() == f"chainrule.{name}", result.stderr
