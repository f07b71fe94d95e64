"""Shared test settings.

Hypothesis draws the same examples on every run by default, so that CI passes or fails for the
code, not for the luck of the draw. Set HYPOTHESIS_PROFILE=explore to draw fresh examples (as
the slow fuzz runs are meant to be used when hunting for new failures).
"""
import os
import shutil
import tempfile

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# -- in CI, a test that needs a tool CI installs must run ------------------------------------------
# .ci/run installs Chromium, its driver and Graphviz; the notebook kernel comes with the test
# extra. Locally their tests skip when these are missing, but under CI=true such a skip would hide
# that the browser, graph or notebook tests never ran, so it fails the run instead. A test says it
# needs such a tool with @pytest.mark.requires_tool("...") or a skip reason starting with
# MISSING_TOOL; other skips (PyTorch, the MNIST files) are unaffected.
MISSING_TOOL = "missing tool:"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "requires_tool(name): needs a program CI installs (Chromium, Graphviz's dot, "
                   "the notebook kernel); under CI=true a skip of this test fails")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") != "true" or not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = _skip_reason(report)
    marker = item.get_closest_marker("requires_tool")
    if marker is None and not reason.startswith(MISSING_TOOL):
        return
    tool = f" ({marker.args[0]})" if marker is not None and marker.args else ""
    report.outcome = "failed"
    report.longrepr = (f"CI=true: this test needs a tool that CI installs{tool}, but it was "
                       f"skipped: {reason}")


def _skip_reason(report):
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return reason.removeprefix("Skipped: ")


# -- a real browser for the page tests (headless Chromium through Selenium) ------------------------
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason=f"{MISSING_TOOL} selenium is not installed "
                                     f"(pip install -e \".[test]\")")
    for program in (CHROMIUM, CHROMEDRIVER):
        if not os.access(program, os.X_OK):
            pytest.skip(f"{MISSING_TOOL} {program} is not installed (Debian: apt-get install "
                        f"chromium chromium-driver)")
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1400,900"):
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="chainrule-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
