"""The docs show real output: every script in docs/examples runs, and every output block that a
page shows right after naming a script is found, line for line, in what the script prints."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.py"))
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# A script's path, then (within a few lines) a fenced block with no language: its output.
SHOWN = re.compile(r"examples/(\w+)\.py[^\n]*\n(?:[^\n]*\n){0,3}?```\n(.*?)```", re.DOTALL)


def _run(script):
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def outputs():
    return {script.stem: _run(script) for script in EXAMPLES}


def _shown_blocks():
    for page in PAGES:
        for name, block in SHOWN.findall(page.read_text()):
            yield pytest.param(name, block, id=f"{page.name}:{name}")


@pytest.mark.parametrize("name, block", list(_shown_blocks()))
def test_shown_output_is_what_the_script_prints(outputs, name, block):
    printed = {line.rstrip() for line in outputs[name].splitlines()}
    missing = [line for line in block.splitlines()
               if line.strip() and line.strip() != "..." and line.rstrip() not in printed]
    assert not missing, f"{name}.py no longer prints: {missing[:3]}"


def test_every_example_is_shown_somewhere():
    shown = {name for page in PAGES for name, _ in SHOWN.findall(page.read_text())}
    assert {script.stem for script in EXAMPLES} <= shown
