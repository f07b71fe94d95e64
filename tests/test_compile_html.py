"""The compiled step's program beside the graph: inspect.to_html(loss, path, compiled=step) and
step.explain(loss) in a notebook. Each forward line links to the forward pass's step for its op
and each backward line to explain's step for the gradient it computes; checked in the markup and,
where Chromium is installed, by clicking lines in a real headless browser."""
import html
import re

import numpy as np

import chainrule as cr
from chainrule import inspect, nn, optim


def compiled_mlp():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 4))
    opt = optim.SGD(model.parameters(), lr=0.1)

    def train_step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    step = cr.compile(train_step)
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.random((6, 20), dtype=np.float32))
    y = cr.tensor(np.arange(6) % 4)
    for _ in range(3):
        step(x, y)
    loss = nn.functional.cross_entropy(model(x), y)  # a graph of the same step, no backward
    return model, step, loss


def links(page, prefix=""):
    """{code line's text (its assignment target): (mode, step index)} from the page."""
    found = {}
    for mode, index, text in re.findall(
            rf'<a class="cr-code-link" href="#{re.escape(prefix)}(\w+)-step-(\d+)"[^>]*>([^<]*)</a>',
            page):
        target = text.split("=")[0].strip()
        found.setdefault(target, (mode, int(index)))
    return found


def step_items(page, prefix=""):
    """{(mode, index): the item's text} of the step lists, by their anchor ids."""
    return {(mode, int(index)): body for index, mode, body in re.findall(
        rf'<li data-index="(\d+)" id="{re.escape(prefix)}(\w+)-step-\d+">(.*?)</li>', page)}


def test_page_links_each_backward_line_to_its_explain_step(tmp_path):
    model, step, loss = compiled_mlp()
    report = inspect.explain(loss, params=model)
    by_formula = {s.formula: s.index for s in report}
    page = inspect.to_html(loss, tmp_path / "step.html", params=model, compiled=step).read_text()
    assert 'class="cr-code"' in page and "<svg" in page
    found = links(page)
    items = step_items(page)
    # every anchor points at an item of the step list
    for target in re.findall(r'class="cr-code-link" href="#([^"]+)"', page):
        assert f'id="{target}"' in page
    # the backward lines, each to the step of the gradient it computes (explain's formulas)
    expected = {"do": "dL/do = (softmax(o) - onehot(y)) / N", "dh": "dL/dh = dL/do . W2",
                "dW2": "dL/dW2 = (dL/do)^T . h", "dz": "dL/dz = dL/dh * phi'(z), with phi'(z) "
                "= 1[h > 0]", "db1": "dL/db1 = sum over the batch of dL/dz",
                "dW1": "dL/dW1 = (dL/dz)^T . x"}
    for target, formula in expected.items():
        assert found[target] == ("backward", by_formula[formula]), target
        assert formula in html.unescape(items[found[target]])
    # forward lines to the forward pass's steps, in order
    forward = [found[name] for name in ("xW1T", "z", "h", "hW2T", "o")]
    assert [mode for mode, _ in forward] == ["forward"] * 5
    assert [index for _, index in forward] == sorted(index for _, index in forward)
    # the program shown is step.code, line for line
    pane = re.search(r'<pre class="cr-code" id="code"[^>]*>(.*?)</pre>', page, re.S).group(1)
    shown = re.sub(r"<[^>]+>", "\n", pane)
    code_lines = [line for line in step.code.splitlines() if line.strip()]
    shown_lines = [html.unescape(line) for line in shown.splitlines()]
    for line in code_lines:
        assert line in shown_lines


def test_notebook_view_has_the_code_beside_the_step_through():
    model, step, loss = compiled_mlp()
    view = step.explain(loss, params=model)
    first, second = view._repr_html_(), view._repr_html_()
    prefix = re.search(r'id="(cr[0-9a-f]+-)root"', first).group(1)
    assert prefix not in second  # two renders in one notebook do not share ids
    found = links(first, prefix)
    assert found["dW2"][0] == "backward"
    assert f'id="{prefix}backward-step-{found["dW2"][1]}"' in first
    assert str(view) == step.code


def test_a_graph_of_another_network_links_nothing_wrongly(tmp_path):
    """Lines whose op has no counterpart in the graph given get no link."""
    model, step, _ = compiled_mlp()
    other = nn.functional.cross_entropy(nn.Linear(20, 4)(cr.ones(6, 20)),
                                        cr.tensor(np.arange(6) % 4))
    page = inspect.to_html(other, tmp_path / "other.html", compiled=step).read_text()
    found = links(page)
    assert "dW2" not in found and "dh" not in found  # the model's parameters are not in it


def test_clicking_a_line_shows_its_step(browser, tmp_path):
    from selenium.webdriver.common.by import By
    model, step, loss = compiled_mlp()
    path = inspect.to_html(loss, tmp_path / "step.html", params=model, compiled=step)
    found = links(path.read_text())
    browser.get(path.resolve().as_uri())
    panel = browser.find_element(By.ID, "panel")

    def line(target):
        mode, index = found[target]
        return browser.find_element(By.CSS_SELECTOR, f'a.cr-code-link[href="#{mode}-step-{index}"]')

    line("dW2").click()
    assert "dL/dW2 = (dL/do)^T . h" in panel.text
    on = browser.find_elements(By.CSS_SELECTOR, "ol.cr-steps li.cr-on")
    assert [li.get_attribute("id") for li in on] == [f"backward-step-{found['dW2'][1]}"]
    marked = browser.find_elements(By.CSS_SELECTOR, "#code .cr-line.cr-on")
    assert marked and all(f"backward-step-{found['dW2'][1]}" in m.get_attribute("innerHTML")
                          for m in marked)

    line("dz").click()
    assert "dL/dz = dL/dh * phi'(z)" in panel.text
    # the keys step on from there, and the code follows
    browser.find_element(By.TAG_NAME, "body").send_keys("\ue014")  # the right arrow key
    marked = browser.find_elements(By.CSS_SELECTOR, "#code .cr-line.cr-on")
    on = browser.find_element(By.CSS_SELECTOR, "ol.cr-steps li.cr-on").get_attribute("id")
    assert all(on in m.get_attribute("innerHTML") for m in marked)

    line("h").click()  # a forward line switches the step-through to the forward pass
    assert "relu" in panel.text
    assert browser.find_element(By.CSS_SELECTOR, 'ol.cr-steps[data-mode="forward"]').is_displayed()
