"""Under CI=true, a test skipped because Chromium, Graphviz's dot or the notebook kernel is
missing fails the run (tests/conftest.py); other skips stay skips."""
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

TINY_TESTS = '''
import pytest

def test_skipped_for_a_missing_tool():
    pytest.skip("missing tool: dot is not installed")

@pytest.mark.requires_tool("the notebook kernel")
def test_marked_and_skipped():
    pytest.skip("no kernel named python3")

@pytest.mark.skipif(True, reason="missing tool: chromium is not installed")
def test_skipif_for_a_missing_tool():
    pass

def test_skipped_for_torch():
    pytest.importorskip("a_module_that_does_not_exist", reason="torch is not installed")

@pytest.mark.xfail(reason="missing tool: an expected failure is not a skip")
def test_expected_failure():
    assert False

def test_runs():
    assert True
'''


@pytest.fixture
def project(pytester):
    pytester.makeconftest((Path(__file__).with_name("conftest.py")).read_text())
    pytester.makepyfile(test_tiny=TINY_TESTS)
    return pytester


def test_under_ci_a_missing_tool_fails_the_run(project, monkeypatch):
    monkeypatch.setenv("CI", "true")
    result = project.runpytest("-rA")
    outcomes = result.parseoutcomes()
    # The skipif is evaluated while setting up, so its failure counts as an error.
    assert (outcomes.get("failed", 0), outcomes.get("errors", 0)) == (2, 1), result.stdout.str()
    assert (outcomes.get("skipped"), outcomes.get("passed"), outcomes.get("xfailed")) == (1, 1, 1)
    assert result.ret != 0
    text = result.stdout.str()
    assert "CI=true: this test needs a tool that CI installs (the notebook kernel)" in text
    assert "skipped: missing tool: dot is not installed" in text
    assert "SKIPPED [1] test_tiny.py" in text and "torch is not installed" in text


@pytest.mark.parametrize("value", [None, "false", "1"])
def test_outside_ci_they_are_skips(project, monkeypatch, value):
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    result = project.runpytest()
    result.assert_outcomes(skipped=4, passed=1, xfailed=1)
    assert result.ret == 0
