"""inspect.to_html: a self-contained page, checked in a real headless Chromium: clicking a node
shows its value, gradient, chain-rule formula and saved bytes."""
import os
import re
import shutil
import tempfile

import numpy as np
import pytest

from chainrule import nn
from chainrule.inspect import html as html_module
from chainrule.inspect import to_html
from chainrule.random import manual_seed

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
N, D, HIDDEN, Q = 6, 20, 16, 4


def textbook():
    manual_seed(0)
    model = nn.Sequential(nn.Linear(D, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, Q))
    rng = np.random.default_rng(0)
    x = rng.random((N, D), dtype=np.float32)
    y = rng.integers(0, Q, N)
    loss = nn.functional.cross_entropy(model(x), y) + nn.l2_penalty(
        [model[0].weight, model[2].weight], 0.01)
    return model, loss


def grad_w2(model, loss):
    loss.backward(retain_graph=True)
    return model[2].weight.grad.data.astype(np.float64)


def ids_by_label(page):
    """SVG node id for each DOT label's first line, read from the page's data."""
    return {name: node_id for node_id, name in
            re.findall(r'"(v\d+|op\d+|c\d+)": \{"name": "([^"]*)"', page)}


def test_page_is_self_contained(tmp_path):
    model, loss = textbook()
    page = to_html(loss, tmp_path / "graph.html", params=model).read_text()
    assert "<svg" in page and "<script src" not in page and "<link" not in page
    assert not re.search(r"(src|href)=\"https?:", page)
    assert "dJ/dW2 = (dJ/do)^T . h + lambda W2" in page


def test_without_dot_the_page_draws_its_own_svg(tmp_path, monkeypatch):
    monkeypatch.setattr(html_module, "run_dot", lambda text, kind="svg": None)
    model, loss = textbook()
    page = to_html(loss, tmp_path / "graph.html", params=model).read_text()
    boxes = re.findall(r'<g id="v\d+" class="node">', page)
    circles = re.findall(r'<g id="op\d+" class="node">', page)
    assert (len(boxes), len(circles)) == (19, 15)


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    for program in (CHROMIUM, CHROMEDRIVER):
        if not os.access(program, os.X_OK):
            pytest.skip(f"missing tool: {program} is not installed (Debian: apt-get install "
                        f"chromium chromium-driver)")
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"):
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="chainrule-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_clicking_nodes_shows_formula_gradient_and_bytes(browser, tmp_path):
    from selenium.webdriver.common.by import By
    model, loss = textbook()
    path = to_html(loss, tmp_path / "graph.html", params=model)
    ids = ids_by_label(path.read_text())
    browser.get(path.resolve().as_uri())
    assert len(browser.find_elements(By.CSS_SELECTOR, "#graph g.node")) >= 34
    panel = browser.find_element(By.ID, "panel")

    browser.find_element(By.ID, ids["W2"]).click()  # the W2 box
    text = panel.text
    assert "W2 (2.weight)" in text
    assert "dJ/dW2 = (dJ/do)^T . h + lambda W2" in text
    assert f"({Q}x{HIDDEN}) = ({Q}x{N}) . ({N}x{HIDDEN}) + ({Q}x{HIDDEN})" in text
    assert "0 extra bytes" in text
    assert f"norm |g| = {np.linalg.norm(grad_w2(model, loss)):.6g}" in text

    relu_circle = ids["h"].replace("v", "op")  # the op that made h
    browser.find_element(By.ID, relu_circle).click()
    text = panel.text
    assert "dJ/dh = dJ/do . W2" in text
    assert f"this op saved {N * HIDDEN:,} bytes extra" in text  # ReLU's boolean mask
    assert "min " in text and "max " in text and "mean " in text  # h is kept: its value shows

    matmul_circle = ids["h W2^T"].replace("v", "op")
    browser.find_element(By.ID, matmul_circle).click()
    text = panel.text
    # The matmul keeps h itself (for dJ/dW2); ReLU kept only its mask.
    assert f"this op saved {N * HIDDEN * 4:,} bytes extra" in text and "a = h" in text
    assert browser.find_element(By.ID, matmul_circle).get_attribute("class") == "node selected"

    browser.find_element(By.ID, ids["z"]).click()  # relu kept h, not z: z was freed
    assert "not kept by the graph" in panel.text
