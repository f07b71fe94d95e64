"""The step-through's stylesheet and script are package data: files in inspect/assets/ that the
installed package finds, that a built wheel holds, that the page embeds, and that CI lints."""
import shutil
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import pytest

import chainrule as cr
from chainrule.inspect import stepthrough

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ("stepthrough.css", "stepthrough.js")
ESLINT = ROOT / ".ci" / "lint-js" / "node_modules" / ".bin" / "eslint"


@pytest.mark.parametrize("name", ASSETS)
def test_importlib_resources_finds_the_assets(name):
    text = resources.files("chainrule.inspect").joinpath("assets", name).read_text("utf-8")
    assert len(text) > 1000
    assert stepthrough.asset(name) == text


def test_the_page_embeds_the_assets(tmp_path):
    x = cr.tensor([1., -2.], requires_grad=True)
    path = cr.inspect.to_html((x * x).sum(), tmp_path / "page.html")
    page = path.read_text()
    assert stepthrough.asset("stepthrough.css").strip() in page
    assert stepthrough.asset("stepthrough.js").strip() in page
    assert "CSS = " not in Path(stepthrough.__file__).read_text()  # no copy left in Python


def test_a_built_wheel_holds_the_assets(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__",
                                                                                "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "--no-build-isolation", "-q", "-w", str(tmp_path / "wheel"),
                           str(source)], capture_output=True, text=True, timeout=600)
    if done.returncode != 0 and "No module named" in done.stderr:
        pytest.skip(f"cannot build a wheel here: {done.stderr.strip()[-200:]}")
    assert done.returncode == 0, done.stderr
    [wheel] = (tmp_path / "wheel").glob("chainrule-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for name in ASSETS:
        assert f"chainrule/inspect/assets/{name}" in names


def test_ci_lints_the_script_before_the_readme_test_command():
    run = (ROOT / ".ci" / "run").read_text()
    lint = run.index("eslint --config .ci/lint-js/eslint.config.mjs src/chainrule/inspect/assets/")
    assert lint < run.index('pip install -e ".[all,test]" && python -m pytest')
    assert run.rstrip().endswith('pip install -e ".[all,test]" && python -m pytest')


@pytest.mark.skipif(not ESLINT.exists(), reason="ESLint is not installed in .ci/lint-js "
                                                "(.ci/run installs it)")
def test_eslint_passes_the_script_and_catches_a_mistake(tmp_path):
    config = str(ROOT / ".ci" / "lint-js" / "eslint.config.mjs")
    clean = subprocess.run([str(ESLINT), "--config", config, "src/chainrule/inspect/assets/"],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    broken = tmp_path / "broken.js"
    broken.write_text(stepthrough.asset("stepthrough.js").replace(
        "const DATA =", "const unused = 1; const DATA =", 1))
    found = subprocess.run([str(ESLINT), "--config", config, str(broken)], cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)
    assert found.returncode == 1 and "no-unused-vars" in found.stdout, found.stdout
