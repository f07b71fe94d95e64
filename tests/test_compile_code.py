"""step.code for the d2l MLP reads like the derivation of d2l 4.7 and runs as plain NumPy."""
import re
import types

import numpy as np

import chainrule as cr
from chainrule import models, nn, optim

BATCH = 16


def _d2l(seed=0):
    cr.manual_seed(seed)
    model = models.mlp(784, [256], 10)
    optimizer = optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss
    return model, step


def _batch(seed):
    rng = np.random.default_rng(seed)
    return cr.tensor(rng.random((BATCH, 784), dtype=np.float32)), rng.integers(0, 10, BATCH)


def _compiled():
    model, step = _d2l()
    compiled = cr.compile(step)
    for seed in range(3):
        compiled(*_batch(seed))
    assert compiled.plans[0].calls == 1
    return model, compiled


def _line(code, name):
    found = re.findall(rf"^\s+{name} = (.*)$", code, re.M)
    assert len(found) == 1, f"{name} is assigned {len(found)} times in\n{code}"
    return found[0].split("  #")[0].strip()


def test_the_lines_are_the_derivation():
    # d2l 4.7, with a batch in rows (x is n x d): z = x W1^T + b1, h = relu(z),
    # o = h W2^T + b2, L = mean cross-entropy(o, y); backward: dL/do = (softmax(o) - onehot(y))/n,
    # dW2 = do^T h, db2 = sum over rows of do, dh = do W2, dz = dh * 1[z > 0], dW1 = dz^T x,
    # db1 = sum over rows of dz.
    _, compiled = _compiled()
    code = compiled.code
    assert re.fullmatch(r"np\.matmul\(x, W1T\b.*", _line(code, "xW1T"))
    assert re.fullmatch(r"np\.add\(xW1T, b1\b.*", _line(code, "z"))
    assert re.fullmatch(r"np\.maximum\(0, z\b.*", _line(code, "h"))
    assert re.fullmatch(r"np\.matmul\(h, W2T\b.*", _line(code, "hW2T"))
    assert _line(code, "o") == "hW2T + b2"
    assert "softmax(o) - onehot(y)" in code
    assert re.fullmatch(rf"np\.multiply\(exp_o, dL / {BATCH}, out=exp_o\)", _line(code, "do"))
    assert re.fullmatch(r"np\.matmul\(do\.T, h\b.*", _line(code, "dW2"))
    assert re.fullmatch(r"np\.add\.reduce\(do, axis=0\b.*", _line(code, "db2"))
    assert re.fullmatch(r"np\.matmul\(do, W2\b.*", _line(code, "dh"))
    assert re.fullmatch(r"np\.bitwise_and\(dh\.view\(np\.uint32\), mask\b.*", _line(code, "dz"))
    assert re.fullmatch(r"np\.matmul\(dz\.T, x\b.*", _line(code, "dW1"))
    assert re.fullmatch(r"np\.add\.reduce\(dz, axis=0\b.*", _line(code, "db1"))
    # every backward line says which formula it is, in the plan's names
    assert "dh * 1[h > 0]" in code
    assert "do . W2" in code
    # a value is deleted after its last use
    assert re.search(r"^\s+del .*\bdh\b", code, re.M)


class _Holder(types.SimpleNamespace):
    def _bump_version(self):
        pass


def test_the_code_runs_as_plain_numpy_and_gives_eager_gradients():
    model, compiled = _compiled()
    eager_model, eager_step = _d2l()
    for p, q in zip(eager_model.parameters(), model.parameters()):
        p.data[...] = q.data  # the same start: the compiled model has taken three steps
    x, y = _batch(7)
    names = {id(obj): name for name, obj in compiled.namespace.items()}
    holders = {p: _Holder(_data=p.detach().numpy().copy(), grad=None)
               for p in model.parameters()}
    namespace = {names[id(p)]: holder for p, holder in holders.items()}
    namespace["_opt"] = types.SimpleNamespace(param_groups=[{"lr": 0.1}])
    namespace["_T"] = lambda array, node: types.SimpleNamespace(_data=array)
    namespace["_check_labels"] = None  # only called for a label out of range
    exec(compiled.code, namespace)  # noqa: S102  (the program under test)
    (loss,) = namespace["step"]((types.SimpleNamespace(_data=x.numpy()), y), {})
    expected = eager_step(x, y)
    assert loss == expected.item()
    for p, holder in zip(eager_model.parameters(), holders.values()):
        np.testing.assert_array_equal(holder.grad._data, p.grad.numpy())
        np.testing.assert_array_equal(holder._data, p.detach().numpy())
    assert "import chainrule" not in compiled.code


def test_guards_read_as_python():
    _, compiled = _compiled()
    guards = compiled.guards
    assert guards.startswith("def guard(_args, _kwargs):")
    assert f"_args[0]._data.shape == ({BATCH}, 784)" in guards
    assert "_W1._data.shape == (256, 784)" in guards
    assert ".training is True" in guards
    compile(guards, "guards", "exec")


def test_cli_compile_show_prints_the_d2l_step(capsys, tmp_path):
    from chainrule.cli import main
    assert main(["compile", "--show", "--batch-size", "8", "--guards"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^\s+dW1 = np\.matmul\(dz\.T, x\b", out, re.M)
    assert "def guard(_args, _kwargs):" in out
    path = tmp_path / "step.py"
    assert main(["compile", "--model", "lenet", "--optimizer", "momentum", "--batch-size", "4",
                 "--out", str(path)]) == 0
    assert "conv2d" in path.read_text() and "momentum_buffer" in path.read_text()


def test_a_notebook_shows_the_program():
    _, compiled = _compiled()
    page = compiled._repr_html_()
    assert page.startswith("<details open>") and "dW1 = np.matmul(dz.T, x" in page
    assert "&lt;compiled step: 1 plan(s)" in page  # the summary, escaped
