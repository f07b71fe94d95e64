"""inspect.to_html and explain's notebook HTML, checked in a real headless Chromium: clicking a
node shows its value, gradient, chain-rule formula and saved bytes; the step-through visits
explain's steps (and the forward pass's ops) in order, highlights each step's node, shows the
upstream gradient and, at a fan-out, the contributions and their sum; the graph zooms and pans;
two renders in one notebook page do not clash."""
import re

import io
import json

import numpy as np
import pytest

from chainrule import nn
from chainrule.inspect import backward_steps, explain, forward_steps
from chainrule.inspect import page as page_module
from chainrule.inspect import to_html
from chainrule.inspect.gradients import engine_gradients
from chainrule.inspect.graph import GraphView
from chainrule.random import manual_seed

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
    return model[2].weight.grad.detach().numpy().astype(np.float64)


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
    monkeypatch.setattr(page_module, "run_dot", lambda text, kind="svg": None)
    model, loss = textbook()
    page = to_html(loss, tmp_path / "graph.html", params=model).read_text()
    boxes = re.findall(r'<g id="v\d+" class="node">', page)
    circles = re.findall(r'<g id="op\d+" class="node">', page)
    assert (len(boxes), len(circles)) == (19, 15)


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


# -- the step-through -----------------------------------------------------------------------------

NUMBER = re.compile(r"-?\d+(?:\.\d*)?(?:e[-+]?\d+)?")
SCREENSHOTS = ("/tmp/stepthrough-first.png", "/tmp/stepthrough-last.png")


def numbers(text):
    return np.array([float(n) for n in NUMBER.findall(text)])


def shown(root):
    """What the step-through shows now: its position, the step's title, formula and shapes, the
    highlighted node and the highlighted entry of the list."""
    from selenium.webdriver.common.by import By

    def text(selector):
        found = root.find_elements(By.CSS_SELECTOR, selector)
        return found[0].get_attribute("textContent") if found else None
    return {
        "pos": text(".cr-pos"), "title": text(".cr-panel .cr-title"),
        "formula": text(".cr-panel .cr-formula"), "shapes": text(".cr-panel .cr-shapes"),
        "current": [e.get_attribute("id")
                    for e in root.find_elements(By.CSS_SELECTOR, "g.node.cr-current")],
        "listed": [e.find_element(By.CSS_SELECTOR, ".cr-li-title").get_attribute("textContent")
                   for e in root.find_elements(By.CSS_SELECTOR, "li.cr-on")]}


def open_page(browser, tmp_path, model, loss):
    from selenium.webdriver.common.by import By
    path = to_html(loss, tmp_path / "graph.html", params=model)
    browser.get(path.resolve().as_uri())
    return browser.find_element(By.CSS_SELECTOR, ".cr-stepper")


def test_next_visits_explains_steps_in_order_and_highlights_each_node(browser, tmp_path):
    from selenium.webdriver.common.by import By
    model, loss = textbook()
    steps = explain(loss, params=model, file=io.StringIO())
    n = len(steps)
    root = open_page(browser, tmp_path, model, loss)
    assert shown(root)["title"] is None and shown(root)["pos"] == f"{n} steps"
    following = root.find_element(By.CSS_SELECTOR, ".cr-next")
    visited = []
    for i, step in enumerate(steps, 1):
        following.click()
        now = shown(root)
        visited.append((now["title"], now["formula"], now["shapes"]))
        assert now["pos"] == f"step {i} of {n}"
        assert now["current"] == [f"v{step.node_ids[0]}"]  # the step's own node, and only it
        assert now["listed"] == [step.definition]
        if i == 1:
            browser.save_screenshot(SCREENSHOTS[0])
    browser.save_screenshot(SCREENSHOTS[1])
    assert visited == [(s.definition, s.formula, f"shapes: {s.shapes}") for s in steps]
    assert [s.name for s in steps] == ["J", "s", "L", "o", "b2", "W2", "h", "z", "b1", "W1"]
    assert not following.is_enabled()
    following.click()
    assert shown(root)["pos"] == f"step {n} of {n}"
    # The nodes a step covers are marked too: W1's step goes through the transpose W1^T.
    w1 = steps[-1]
    covered = {e.get_attribute("id") for e in root.find_elements(By.CSS_SELECTOR,
                                                                 "g.node.cr-covered")}
    assert {f"v{seq}" for seq in w1.node_ids[1:]} <= covered


def test_previous_and_the_arrow_keys_walk_back_and_forth(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    model, loss = textbook()
    steps = backward_steps(loss, params=model)
    n = len(steps)
    root = open_page(browser, tmp_path, model, loss)
    for _ in range(n):
        root.find_element(By.CSS_SELECTOR, ".cr-next").click()
    previous = root.find_element(By.CSS_SELECTOR, ".cr-prev")
    back = []
    for i in range(n - 1, 0, -1):
        previous.click()
        now = shown(root)
        assert now["pos"] == f"step {i} of {n}"
        assert now["current"] == [f"v{steps[i - 1].node_ids[0]}"]
        back.append(now["title"])
    assert back == [s.definition for s in reversed(steps[:-1])]
    assert not previous.is_enabled()

    body = browser.find_element(By.TAG_NAME, "body")
    for _ in range(3):
        body.send_keys(Keys.ARROW_RIGHT)
    assert shown(root)["title"] == steps[3].definition
    body.send_keys(Keys.ARROW_LEFT)
    now = shown(root)
    assert (now["pos"], now["formula"]) == (f"step 3 of {n}", steps[2].formula)
    # A step of the list can be picked directly.
    root.find_elements(By.CSS_SELECTOR, "ol.cr-steps li")[6].click()
    assert shown(root)["title"] == steps[6].definition


def test_forward_mode_visits_the_forward_ops_in_order(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    model, loss = textbook()
    forward = forward_steps(loss, params=model)
    seqs = [f.node_ids[0] for f in forward]
    assert seqs == sorted(seqs) and len(forward) == 15
    assert [f.op for f in forward[:4]] == ["transpose", "matmul", "add", "relu"]
    root = open_page(browser, tmp_path, model, loss)
    root.find_element(By.CSS_SELECTOR, 'button.cr-mode[data-mode="forward"]').click()
    assert shown(root)["pos"] == "15 steps"
    body = browser.find_element(By.TAG_NAME, "body")
    visited = []
    for i, step in enumerate(forward, 1):
        if i % 2:
            root.find_element(By.CSS_SELECTOR, ".cr-next").click()
        else:
            body.send_keys(Keys.ARROW_RIGHT)
        now = shown(root)
        assert now["pos"] == f"step {i} of 15"
        assert now["current"] == [f"op{step.node_ids[0]}"]  # the op's circle
        assert now["listed"] == [step.definition]
        visited.append((now["title"], now["shapes"]))
    assert visited == [(f.definition, f"shapes: {f.shapes}") for f in forward]
    panel = root.find_element(By.CSS_SELECTOR, ".cr-panel").text
    assert "value of J" in panel and f"{float(loss.detach().numpy()):.6g}" in panel
    root.find_element(By.CSS_SELECTOR, 'button.cr-mode[data-mode="backward"]').click()
    root.find_element(By.CSS_SELECTOR, ".cr-next").click()
    assert shown(root)["title"] == "J = L + s"


def test_steps_show_the_upstream_gradient_and_at_a_fan_out_the_sum(browser, tmp_path):
    from selenium.webdriver.common.by import By
    model, loss = textbook()
    view = GraphView(loss, model)
    grads, _ = engine_gradients(view)
    node = {view.name(n): n for n in view.nodes}
    steps = {s.name: s for s in backward_steps(loss, params=model)}
    root = open_page(browser, tmp_path, model, loss)

    def goto(name):
        root.find_elements(By.CSS_SELECTOR, "ol.cr-steps li")[steps[name].index - 1].click()
        panel = root.find_element(By.CSS_SELECTOR, ".cr-panel")
        arrays = {}
        for pre in panel.find_elements(By.CSS_SELECTOR, "pre.cr-array"):
            arrays.setdefault(pre.get_attribute("data-role"), []).append(
                numbers(pre.get_attribute("textContent")))
        return panel, arrays

    panel, arrays = goto("J")
    assert "the backward pass starts here, with dJ/dJ = 1" in panel.text

    # h: the upstream gradient is dJ/d(h W2^T) = dJ/do = (softmax(o) - onehot(y)) / N, in full.
    rng = np.random.default_rng(0)
    x = rng.random((N, D), dtype=np.float32)
    y = rng.integers(0, Q, N)
    o = model(x).detach().numpy().astype(np.float64)
    p = np.exp(o - o.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(N), y] -= 1
    panel, arrays = goto("h")
    assert [e.text for e in panel.find_elements(By.CSS_SELECTOR, ".cr-from")] == [
        f"dJ/d(h W2^T) ({N}x{Q})"]
    assert np.allclose(arrays["upstream"][0], (p / N).ravel(), rtol=1e-3, atol=1e-4)
    assert not panel.find_elements(By.CSS_SELECTOR, ".cr-part")  # h fed one op

    # z: the upstream dJ/dh has N x HIDDEN = 96 entries, more than shown in full: summarised.
    panel, arrays = goto("z")
    assert f"summarised: {N * HIDDEN} entries, ({N}x{HIDDEN})" in panel.text
    assert f"norm {np.linalg.norm(grads[node['h']]):.4g}" in panel.text

    # W2 fed the transpose (the loss path) and both inputs of mul(W2, W2) (the penalty): three
    # contributions, whose sum is dJ/dW2, which backward() then puts in W2.grad.
    panel, arrays = goto("W2")
    parts = [e.text for e in panel.find_elements(By.CSS_SELECTOR, ".cr-part")]
    assert len(parts) == 3
    assert "fan-out: W2 went into 2 ops (3 inputs), so its gradient is the sum of 3 " \
        "contributions" in panel.text
    assert sum("from mul mul(W2, W2)" in part for part in parts) == 2
    assert sum("from transpose W2^T" in part for part in parts) == 1
    assert "= dJ/dW2, the sum" in panel.text
    total = sum(arrays["contribution"])
    (shown_grad,) = arrays["gradient"]
    assert np.allclose(total, shown_grad, rtol=1e-3, atol=1e-4)
    assert np.allclose(shown_grad, grad_w2(model, loss).ravel(), rtol=1e-3, atol=1e-4)
    assert f"norm |dJ/dW2| = {steps['W2'].grad_norm:.6g}" in panel.text


def view_box(svg):
    text = svg.parent.execute_script("return arguments[0].getAttribute('viewBox')", svg)
    return [float(v) for v in text.split()]


def test_the_graph_fits_its_pane_and_zooms_and_pans(browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.actions.wheel_input import ScrollOrigin
    from selenium.webdriver.common.by import By
    model, loss = textbook()
    root = open_page(browser, tmp_path, model, loss)
    pane = browser.find_element(By.ID, "graph")
    svg = pane.find_element(By.TAG_NAME, "svg")
    assert browser.execute_script(
        "const p = arguments[0]; return p.scrollWidth <= p.clientWidth && "
        "p.scrollHeight <= p.clientHeight", pane)
    assert svg.size["width"] <= pane.size["width"] + 1
    home = view_box(svg)
    ActionChains(browser).scroll_from_origin(ScrollOrigin.from_element(svg), 0, -400).perform()
    zoomed = view_box(svg)
    assert zoomed[2] < home[2] * 0.9 and zoomed[3] < home[3] * 0.9
    panel_text = root.find_element(By.CSS_SELECTOR, ".cr-panel").text
    ActionChains(browser).move_to_element(svg).click_and_hold().move_by_offset(120, 40) \
        .release().perform()
    panned = view_box(svg)
    assert panned[0] < zoomed[0] and panned[1] < zoomed[1] and panned[2:] == zoomed[2:]
    # A drag is not a click: the panel did not switch to a node.
    assert root.find_element(By.CSS_SELECTOR, ".cr-panel").text == panel_text
    root.find_element(By.CSS_SELECTOR, ".cr-fit").click()
    assert view_box(svg) == pytest.approx(home)
    root.find_element(By.CSS_SELECTOR, ".cr-zoom-in").click()
    assert view_box(svg)[2] < home[2]


NOTEBOOK = """<!DOCTYPE html>
<html><head><meta charset="utf-8"></head><body style="width: 900px">
<div class="output" id="out1"></div><div class="output" id="out2"></div>
<script>
// As Jupyter shows an output's text/html: set as innerHTML, then each script re-created so
// that it runs.
function show(element, markup) {
  element.innerHTML = markup;
  element.querySelectorAll('script').forEach(old => {
    const script = document.createElement('script');
    for (const a of old.attributes) script.setAttribute(a.name, a.value);
    script.textContent = old.textContent;
    old.replaceWith(script);
  });
}
show(document.getElementById('out1'), OUTPUT1);
show(document.getElementById('out2'), OUTPUT2);
</script></body></html>
"""


def test_explains_report_shown_twice_in_a_notebook_steps_without_a_clash(browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    model, loss = textbook()
    report = explain(loss, params=model, file=io.StringIO())
    page = NOTEBOOK
    for number in (1, 2):
        page = page.replace(f"OUTPUT{number}",
                            json.dumps(report._repr_html_()).replace("</", "<\\/"))
    path = tmp_path / "notebook.html"
    path.write_text(page, encoding="utf-8")
    browser.get(path.resolve().as_uri())
    first, second = browser.find_elements(By.CSS_SELECTOR, ".cr-stepper")
    ids = browser.execute_script(
        "return Array.from(document.querySelectorAll('[id]'), e => e.id)")
    assert len(ids) == len(set(ids)) > 70  # two graphs' worth of nodes, every id unique
    prefix = [root.get_attribute("id")[:-len("root")] for root in (first, second)]
    assert prefix[0] != prefix[1]

    for _ in range(2):
        second.find_element(By.CSS_SELECTOR, ".cr-next").click()
    assert shown(second)["title"] == report[1].definition
    assert shown(second)["current"] == [f"{prefix[1]}v{report[1].node_ids[0]}"]
    assert shown(first)["current"] == [] and shown(first)["pos"] == f"{len(report)} steps"

    # The arrow keys belong to the widget that has the focus; elsewhere the notebook keeps them.
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)
    assert shown(first)["title"] is None
    first.find_element(By.CSS_SELECTOR, ".cr-pos").click()
    ActionChains(browser).send_keys(Keys.ARROW_RIGHT).perform()
    assert shown(first)["title"] == report[0].definition
    assert shown(first)["current"] == [f"{prefix[0]}v{report[0].node_ids[0]}"]
    assert shown(second)["pos"] == f"step 2 of {len(report)}"

    first.find_element(By.CSS_SELECTOR, 'button.cr-mode[data-mode="forward"]').click()
    first.find_element(By.CSS_SELECTOR, ".cr-next").click()
    assert shown(first)["title"] == report.forward[0].definition
    assert shown(second)["title"] == report[1].definition
