"""Every Python snippet in the README and docs/ runs as pasted: a page's ```python blocks run in
order in one fresh interpreter (as a reader pastes them into one session), in a scratch folder."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATASETS = ROOT.parent / "shared" / "datasets"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _pages_with_snippets():
    for page in PAGES:
        blocks = BLOCK.findall(page.read_text())
        if blocks:
            yield pytest.param(page, blocks, id=page.name)


@pytest.mark.parametrize("page, blocks", list(_pages_with_snippets()))
def test_the_pages_snippets_run_as_pasted(page, blocks, tmp_path):
    pytest.importorskip("sklearn")  # the snippets use the digits
    script = "\n\n".join(blocks)
    env = dict(os.environ)
    if "download=True" in script:
        # Snippets that download read this checkout's copies instead (found there first).
        if not SHARED_DATASETS.is_dir():
            pytest.skip(f"{page.name} downloads data sets; ../shared/datasets is absent")
        env["CHAINRULE_DATA"] = str(SHARED_DATASETS)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=tmp_path, timeout=600, env=env)
    assert result.returncode == 0, f"{page.name}: {result.stderr[-2000:]}"


def test_the_snippets_are_found():
    assert sum(len(BLOCK.findall(p.read_text())) for p in PAGES) >= 8
