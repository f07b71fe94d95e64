"""Every bad input gets a clear error: one table of (id, trigger, exception type, message regex).

Each message must name the op, class, option or file at fault and the offending shapes or values.
A row marked ``known_gap`` holds the message we want but do not get yet (strict xfail): when src
is fixed the row starts passing and the mark must go. The second half tests anomaly mode.
"""
import contextlib
import inspect
import io
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import chainrule as cr
from chainrule import models, nn, optim, serialize
from chainrule.cli import main
from chainrule.data import DataLoader
from chainrule.nn import functional as F
from chainrule.nn.module import StateDictError
from chainrule.random import manual_seed


def case(case_id, trigger, error, pattern):
    return pytest.param(trigger, error, pattern, id=case_id)


def known_gap(case_id, trigger, error, pattern, reason):
    return pytest.param(trigger, error, pattern, id=case_id,
                        marks=pytest.mark.xfail(strict=True, reason=reason))


# -- triggers that need more than one expression -------------------------------------------------

def ones(*shape, requires_grad=False):
    return cr.tensor(np.ones(shape), requires_grad=requires_grad)


def backward_twice():
    x = ones(2, 3, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()


def saved_input_changed_under_no_grad():
    w, x = ones(3, requires_grad=True), ones(3, requires_grad=True)
    y = (w * x).sum()
    with cr.no_grad():
        x += 1
    y.backward()


def saved_constant_changed():
    w, x = ones(3, requires_grad=True), ones(3)
    y = (w * x).sum()
    x += 1
    y.backward()


def saved_output_changed():
    w = ones(3, requires_grad=True)
    y = w.exp()
    loss = y.sum()
    with cr.no_grad():
        y += 1
    loss.backward()


def sliced_parameter_changed():
    w = ones(3, requires_grad=True)
    y = (w[:2] * w[1:]).sum()
    with cr.no_grad():
        w += 1
    y.backward()


def transposed_constant_changed():
    w, x = ones(2, 2, requires_grad=True), ones(2, 2)
    y = (w * x.T).sum()
    x += 1
    y.backward()


def optimizer_step_between_forward_and_backward():
    manual_seed(0)
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = np.ones((4, 3), np.float32)
    model(x).sum().backward()
    pending = model(x).sum()
    opt.step()  # changes the weight that `pending` saved
    pending.backward()


def grad_of_unused_input():
    x, unused = ones(2, requires_grad=True), ones(2, requires_grad=True)
    cr.grad((x * 2).sum(), [x, unused])


def linear_state():
    manual_seed(0)
    return nn.Linear(3, 2), nn.Linear(3, 2).state_dict()


def load_missing():
    model, state = linear_state()
    model.load_state_dict({"weight": state["weight"]})


def load_unexpected():
    model, state = linear_state()
    model.load_state_dict({**state, "extra": np.ones(1)})


def load_misshaped():
    model, state = linear_state()
    model.load_state_dict({**state, "weight": np.ones((3, 3))})


def load_everything_wrong():
    model, _ = linear_state()
    model.load_state_dict({"weight": np.ones((3, 3)), "extra": np.ones(1)})


def load_model_file(tree):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.crt")
        serialize.save_tree(path, tree)
        models.load_model(path)


def load_model_with_weights_of_another_size():
    manual_seed(0)
    load_model_file({"config": models.mlp_config(8, [16], 4),
                     "model": dict(models.mlp(8, [12], 4).state_dict())})


def load_model_whose_model_entry_is_a_list():
    load_model_file({"config": models.mlp_config(8, [16], 4), "model": [1, 2]})


def parameters():
    manual_seed(0)
    return list(nn.Linear(3, 2).parameters())


def loader(batch_size):
    return DataLoader((np.zeros((10, 2)), np.zeros(10)), batch_size=batch_size)


class CliExit(Exception):
    """The command line stopped: str() is the exit code, then what went to stderr."""


def cli(*argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(list(argv))
        except SystemExit as stop:
            code = stop.code
    raise CliExit(f"exit {code}\n{err.getvalue()}")


def usage(command, *fragments):
    """The regex for argparse's refusal: exit 2, the command's usage, then the complaint."""
    return rf"^exit 2\n.*usage: chainrule {command}.*" + ".*".join(fragments)


ERRORS = [
    # -- shapes: the op and both shapes ---------------------------------------------------------
    case("matmul-inner-dimensions", lambda: ones(2, 3) @ ones(4, 5), cr.ShapeError,
         r"matmul.*\(2, 3\).*\(4, 5\).*3 vs 4"),
    case("matmul-vectors", lambda: ones(3) @ ones(4), cr.ShapeError,
         r"matmul.*\(3,\).*\(4,\)"),
    case("matmul-scalar", lambda: ones(3) @ cr.tensor(2.0), cr.ShapeError,
         r"matmul.*\(3,\) @ \(\).*at least one dimension"),
    case("add-broadcast", lambda: ones(2, 3) + ones(4), cr.ShapeError,
         r"add.*\(2, 3\), \(4,\)"),
    case("mul-broadcast", lambda: ones(2, 3) * ones(3, 2), cr.ShapeError,
         r"mul.*\(2, 3\), \(3, 2\)"),
    case("sub-broadcast", lambda: ones(2, 3) - ones(3, 2), cr.ShapeError,
         r"sub.*\(2, 3\), \(3, 2\)"),
    case("div-broadcast", lambda: ones(2, 3) / ones(3, 2), cr.ShapeError,
         r"div.*\(2, 3\), \(3, 2\)"),
    case("where-broadcast", lambda: cr.where(np.ones((2, 2), bool), ones(2, 3), ones(4)),
         cr.ShapeError, r"where.*\(2, 2\), \(2, 3\), \(4,\)"),
    case("reshape-size", lambda: ones(2, 3).reshape(4, 2), cr.ShapeError,
         r"reshape.*\(2, 3\).*\(4, 2\)"),
    case("sum-axis", lambda: ones(2, 3).sum(axis=5), cr.ShapeError, r"sum.*\(2, 3\).*axis=5"),
    case("concatenate-shapes", lambda: cr.concatenate([ones(2, 3), ones(2, 4)], axis=0),
         cr.ShapeError, r"concatenate.*\(2, 3\), \(2, 4\)"),
    case("max-of-empty", lambda: ones(0).max(), cr.ShapeError, r"max.*\(0,\).*empty"),
    case("mse-shapes", lambda: F.mse_loss(np.zeros((3, 1)), np.zeros(3)), cr.ShapeError,
         r"mse_loss.*\(3, 1\).*\(3,\)"),
    case("linear-features", lambda: nn.Linear(3, 2)(np.ones((5, 4), np.float32)),
         cr.ShapeError, r"Linear\(3, 2\).*4 features.*expected 3.*\(5, 4\)"),
    case("linear-scalar", lambda: nn.Linear(3, 2)(cr.tensor(1.0)), cr.ShapeError,
         r"Linear\(3, 2\).*scalar.*expected 3"),
    # -- labels: the value and the expected range or shape, for both losses ---------------------
    *[row for op, loss in (("cross_entropy", F.cross_entropy),
                           ("multiclass_hinge_loss", F.multiclass_hinge_loss))
      for row in (
          case(f"{op}-lengths", lambda loss=loss: loss(np.zeros((3, 4)), np.array([0, 1])),
               cr.LabelError, rf"{op}.*3 rows.*2 entries"),
          case(f"{op}-label-too-large", lambda loss=loss: loss(np.zeros((3, 4)), [0, 1, 4]),
               cr.LabelError, rf"{op}.*label 4 at position 2.*4 classes \[0, 4\)"),
          case(f"{op}-label-negative", lambda loss=loss: loss(np.zeros((3, 4)), [0, -1, 2]),
               cr.LabelError, rf"{op}.*label -1 at position 1.*\[0, 4\)"),
          case(f"{op}-float-labels", lambda loss=loss: loss(np.zeros((3, 4)), [0.0, 1.0, 2.0]),
               cr.LabelError, rf"{op}.*integers.*float64"),
          case(f"{op}-2d-labels", lambda loss=loss: loss(np.zeros((3, 4)), [[0], [1], [2]]),
               cr.LabelError, rf"{op}.*1-D of shape \(3,\).*\(3, 1\)"),
          case(f"{op}-empty-batch",
               lambda loss=loss: loss(np.zeros((0, 4)), np.zeros(0, np.int64)),
               cr.LabelError, rf"{op}.*empty.*\(0, 4\)"),
          case(f"{op}-1d-scores", lambda loss=loss: loss(np.zeros(4), [1]),
               cr.LabelError, rf"{op}.*2-D.*\(4,\)" if op != "cross_entropy" else
               rf"{op}.*0-D of shape \(\), got shape \(1,\).*\(4,\)"),
          case(f"{op}-reduction", lambda loss=loss: loss(np.zeros((1, 4)), [1], reduction="avg"),
               ValueError, rf"{op}.*reduction.*'avg'"),
      )],
    case("one-hot-range", lambda: cr.one_hot(np.array([5]), 3), RuntimeError,
         r"one_hot: class index 5 is out of range for num_classes=3"),
    # -- the autograd engine ---------------------------------------------------------------------
    case("int-tensor-requires-grad", lambda: cr.tensor([1, 2], requires_grad=True),
         cr.GradientError, r"floating-point.*int64"),
    case("int-tensor-requires-grad_", lambda: cr.tensor([1, 2]).requires_grad_(),
         cr.GradientError, r"floating-point.*int64"),
    case("backward-non-scalar", lambda: (ones(2, 3, requires_grad=True) * 2).backward(),
         cr.GradientError, r"backward\(\).*scalar.*\(2, 3\)"),
    case("backward-wrong-grad-shape",
         lambda: (ones(2, 3, requires_grad=True) * 2).backward(np.ones((3, 3))),
         cr.GradientError, r"backward\(\).*\(3, 3\).*\(2, 3\)"),
    case("backward-without-grad", lambda: (ones(2) * 2).sum().backward(), cr.GradientError,
         r"backward\(\).*does not require grad"),
    case("backward-twice", backward_twice, cr.GradientError,
         r"sum: .*second time.*retain_graph=True"),
    case("in-place-under-no-grad", saved_input_changed_under_no_grad, cr.GradientError,
         r"mul: input 'b' of shape \(3,\).*modified in place.*version 1"),
    case("in-place-on-constant", saved_constant_changed, cr.GradientError,
         r"mul: input 'b' of shape \(3,\).*modified in place.*version 1"),
    case("in-place-on-saved-output", saved_output_changed, cr.GradientError,
         r"exp: .*modified in place.*version 1"),
    case("in-place-on-sliced-parameter", sliced_parameter_changed, cr.GradientError,
         r"mul: input '.' of shape \(2,\).*modified in place.*version 1"),
    case("in-place-on-transposed-constant", transposed_constant_changed, cr.GradientError,
         r"mul: input 'b' of shape \(2, 2\).*modified in place.*version 1"),
    case("optimizer-step-before-backward", optimizer_step_between_forward_and_backward,
         cr.GradientError, r"matmul: input 'b' of shape \(3, 2\).*version 2"),
    case("setitem-on-graph-tensor",
         lambda: ones(3, requires_grad=True).__setitem__(0, 5.0), cr.GradientError,
         r"leaf tensor that requires grad.*in-place.*no_grad"),
    case("grad-unused-input", grad_of_unused_input, cr.GradientError,
         r"grad\(\).*shape \(2,\).*not used.*allow_unused=True"),
    # -- state dicts: every problem listed at once -----------------------------------------------
    case("state-dict-missing", load_missing, StateDictError,
         r"load_state_dict: missing keys \['bias'\]"),
    case("state-dict-unexpected", load_unexpected, StateDictError,
         r"load_state_dict: unexpected keys \['extra'\]"),
    case("state-dict-misshaped", load_misshaped, StateDictError,
         r"load_state_dict: wrong shapes: weight expected \(2, 3\) got \(3, 3\)"),
    case("state-dict-all-at-once", load_everything_wrong, StateDictError,
         r"missing keys \['bias'\]; unexpected keys \['extra'\]; "
         r"wrong shapes: weight expected \(2, 3\) got \(3, 3\)"),
    case("state-dict-not-a-dict", lambda: nn.Linear(3, 2).load_state_dict([1]), TypeError,
         r"load_state_dict.*dict.*list"),
    case("load-model-weights-do-not-fit-config", load_model_with_weights_of_another_size,
         cr.CheckpointError, r"model\.crt.*0\.weight expected \(16, 8\) got \(12, 8\)"),
    case("load-model-entry-not-a-dict", load_model_whose_model_entry_is_a_list,
         cr.CheckpointError, r"model\.crt.*'model'.*list"),
    # -- optimizers ------------------------------------------------------------------------------
    case("sgd-negative-lr", lambda: optim.SGD(parameters(), lr=-1), ValueError,
         r"SGD.*lr.*-1"),
    case("sgd-infinite-lr", lambda: optim.SGD(parameters(), lr=float("inf")), ValueError,
         r"SGD.*lr.*inf"),
    case("sgd-negative-momentum", lambda: optim.SGD(parameters(), lr=0.1, momentum=-0.5),
         ValueError, r"SGD.*momentum.*-0\.5"),
    case("adam-nan-lr", lambda: optim.Adam(parameters(), lr=float("nan")), ValueError,
         r"Adam.*lr.*nan"),
    case("adam-beta-one", lambda: optim.Adam(parameters(), betas=(1.0, 0.9)), ValueError,
         r"Adam.*betas\[0\].*1\.0"),
    case("rmsprop-negative-alpha", lambda: optim.RMSprop(parameters(), alpha=-1),
         ValueError, r"RMSprop.*alpha.*-1"),
    case("sgd-nesterov-without-momentum",
         lambda: optim.SGD(parameters(), lr=0.1, nesterov=True), ValueError,
         r"nesterov=True needs momentum > 0.*momentum=0"),
    case("optimizer-unknown-option", lambda: optim.SGD([{"params": parameters(), "mu": 1}],
                                                       lr=0.1),
         ValueError, r"SGD: unknown options \['mu'\]"),
    case("optimizer-empty-params", lambda: optim.SGD([], lr=0.1), ValueError,
         r"empty list of parameters"),
    case("optimizer-single-tensor", lambda: optim.SGD(parameters()[0], lr=0.1), TypeError,
         r"not a single tensor"),
    case("optimizer-non-leaf", lambda: optim.SGD([parameters()[0] * 2], lr=0.1), ValueError,
         r"SGD: parameter 0 of shape \(2, 3\) is not a leaf"),
    case("optimizer-duplicate", lambda: optim.SGD(parameters()[:1] * 2, lr=0.1), ValueError,
         r"SGD: parameter 1 of shape \(2, 3\) appears more than once"),
    case("optimizer-state-dict-mismatch",
         lambda: optim.SGD(parameters(), lr=0.1).load_state_dict(
             {"param_groups": [], "state": []}), ValueError,
         r"SGD.load_state_dict: it has 0 parameter groups.*state for 0 parameters, expected 2"),
    case("steplr-step-size", lambda: optim.StepLR(optim.SGD(parameters(), lr=0.1), 0),
         ValueError, r"StepLR.*step_size.*0"),
    # -- data loading ----------------------------------------------------------------------------
    case("loader-batch-size-zero", lambda: loader(0), ValueError,
         r"DataLoader.*batch_size.*0"),
    case("loader-batch-size-negative", lambda: loader(-3), ValueError,
         r"DataLoader.*batch_size.*-3"),
    case("loader-batch-size-float", lambda: loader(2.5), TypeError,
         r"DataLoader.*batch_size.*2\.5"),
    case("loader-batch-size-bool", lambda: loader(True), TypeError,
         r"DataLoader.*batch_size.*True"),
    case("loader-unequal-lengths", lambda: DataLoader((np.zeros((10, 2)), np.zeros(5))),
         ValueError, r"DataLoader.*equal length.*\[10, 5\]"),
    case("loader-not-arrays", lambda: DataLoader(7), TypeError, r"DataLoader.*int"),
    # -- other options ---------------------------------------------------------------------------
    case("dropout-probability", lambda: nn.Dropout(1.5), ValueError,
         r"dropout probability p.*\[0, 1\].*1\.5"),
    case("linear-size", lambda: nn.Linear(-1, 3), ValueError,
         r"Linear: in_features must be a non-negative int, got -1"),
    case("manual-seed-negative", lambda: manual_seed(-1), ValueError,
         r"manual_seed: seed must be >= 0, got -1"),
    case("manual-seed-float", lambda: manual_seed(1.5), TypeError, r"manual_seed.*1\.5"),
    # -- the command line: usage on stderr, exit code 2, no traceback ----------------------------
    case("cli-no-such-command", lambda: cli("bogus"), CliExit,
         r"^exit 2\n.*usage: chainrule.*invalid choice: 'bogus'"),
    case("cli-unknown-global-option", lambda: cli("--bogus"), CliExit,
         r"^exit 2\n.*usage: chainrule.*unrecognized arguments: --bogus"),
    case("train-epochs-zero", lambda: cli("train", "--epochs", "0"), CliExit,
         usage("train", "--epochs", "positive int, got 0")),
    case("train-epochs-text", lambda: cli("train", "--epochs", "x"), CliExit,
         usage("train", "--epochs", "positive int", "'x'")),
    case("train-negative-lr", lambda: cli("train", "--lr", "-1"), CliExit,
         usage("train", "--lr", "must be > 0, got -1")),
    case("train-nan-lr", lambda: cli("train", "--lr", "nan"), CliExit,
         usage("train", "--lr", "must be > 0, got nan")),
    case("train-infinite-lr", lambda: cli("train", "--lr", "inf", "--epochs", "1",
                                          "--hidden", "4", "--no-progress"), CliExit,
         usage("train", "--lr", "inf")),
    case("train-infinite-momentum", lambda: cli("train", "--momentum", "inf", "--epochs",
                                                "1", "--hidden", "4", "--no-progress"),
         CliExit, usage("train", "--momentum", "inf")),
    case("train-infinite-weight-decay", lambda: cli("train", "--weight-decay", "inf"), CliExit,
         usage("train", "--weight-decay", "must be finite, got inf")),
    case("train-negative-momentum", lambda: cli("train", "--momentum", "-1"), CliExit,
         usage("train", "--momentum", ">= 0, got -1")),
    case("train-unknown-dataset", lambda: cli("train", "--dataset", "cifar"), CliExit,
         usage("train", "--dataset", "invalid choice: 'cifar'")),
    case("train-hidden-empty", lambda: cli("train", "--hidden"), CliExit,
         usage("train", "--hidden", "expected at least one argument")),
    case("train-hidden-zero", lambda: cli("train", "--hidden", "0"), CliExit,
         usage("train", "--hidden", "positive int, got 0")),
    case("train-batch-size-zero", lambda: cli("train", "--batch-size", "0"), CliExit,
         usage("train", "--batch-size", "positive int, got 0")),
    case("train-negative-seed", lambda: cli("train", "--seed", "-1", "--epochs", "1",
                                            "--hidden", "4", "--no-progress"), CliExit,
         usage("train", "--seed", "-1")),
    case("train-unknown-option", lambda: cli("train", "--bogus"), CliExit,
         usage("train", "unrecognized arguments: --bogus")),
    case("evaluate-without-checkpoint", lambda: cli("evaluate"), CliExit,
         usage("evaluate", "required: checkpoint")),
    case("evaluate-extra-argument", lambda: cli("evaluate", "a.crt", "b.crt"), CliExit,
         r"^exit 2\n.*usage: chainrule.*unrecognized arguments: b\.crt"),
    case("graph-output-suffix", lambda: cli("graph", "--out", "graph.txt"), CliExit,
         usage("graph", "--out", r"\.svg, \.png or \.dot, got 'graph\.txt'")),
    case("graph-negative-hidden", lambda: cli("graph", "--hidden", "-3"), CliExit,
         usage("graph", "--hidden", "positive int, got -3")),
    case("graph-unknown-activation", lambda: cli("graph", "--activation", "gelu"), CliExit,
         usage("graph", "--activation", "invalid choice: 'gelu'")),
    case("graph-negative-seed", lambda: cli("graph", "--seed", "-1"), CliExit,
         usage("graph", "--seed", "-1")),
    case("explain-input-size-zero", lambda: cli("explain", "--input-size", "0"), CliExit,
         usage("explain", "--input-size", "positive int, got 0")),
    case("explain-classes-text", lambda: cli("explain", "--classes", "x"), CliExit,
         usage("explain", "--classes", "positive int, got 'x'")),
    case("explain-unknown-dataset", lambda: cli("explain", "--dataset", "cifar"), CliExit,
         usage("explain", "--dataset", "invalid choice: 'cifar'")),
    case("memory-negative-batch", lambda: cli("memory", "--batch-size", "-1"), CliExit,
         usage("memory", "--batch-size", "positive int, got -1")),
    case("memory-infinite-weight-decay", lambda: cli("memory", "--weight-decay", "inf"),
         CliExit, usage("memory", "--weight-decay", "must be finite, got inf")),
    case("memory-seed-float", lambda: cli("memory", "--seed", "1.5"), CliExit,
         usage("memory", "--seed", "non-negative int, got '1.5'")),
    case("memory-negative-seed", lambda: cli("memory", "--seed", "-1"), CliExit,
         usage("memory", "--seed", "-1")),
]


@pytest.mark.parametrize("trigger, error, pattern", ERRORS)
def test_bad_input_gets_a_clear_error(trigger, error, pattern, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a command line that does run must not write into the repo
    with np.errstate(all="ignore"), pytest.raises(error) as raised:
        trigger()
    message = str(raised.value)
    assert re.search(pattern, message, re.S), f"message does not match {pattern!r}:\n{message}"
    assert "Traceback" not in message


def test_the_catalogue_ids_are_unique():
    ids = [row.id for row in ERRORS]
    assert len(ids) == len(set(ids))


def test_a_missing_command_prints_usage_and_returns_2(capsys):
    assert main([]) == 2
    assert "usage: chainrule" in capsys.readouterr().err


def test_a_bad_option_in_a_real_process_exits_2_without_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "chainrule", "train", "--epochs", "0"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "usage: chainrule train" in done.stderr
    assert "--epochs: must be a positive int, got 0" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


# -- anomaly mode -------------------------------------------------------------------------------

def source_line(marker):
    """The line number of the line in this file that ends with ``# <marker>``."""
    lines = inspect.getsource(sys.modules[__name__]).splitlines()
    return next(i for i, text in enumerate(lines, 1) if text.endswith(f"# {marker}"))


def sqrt_at_zero():
    x = cr.tensor(np.array([0.0, 4.0]), requires_grad=True)
    return x.sqrt().sum()  # anomaly: sqrt


def log_at_zero():
    x = cr.tensor(np.array([1.0, 0.0]), requires_grad=True)
    return (x.log() * 2).sum()  # anomaly: log


def zero_over_zero():
    a = cr.tensor(np.array([0.0, 1.0]), requires_grad=True)
    b = cr.tensor(np.array([0.0, 2.0]), requires_grad=True)
    return (a / b).sum()  # anomaly: div


@pytest.mark.parametrize("build, op", [(sqrt_at_zero, "sqrt"), (log_at_zero, "log"),
                                       (zero_over_zero, "div")])
def test_anomaly_mode_names_the_op_and_the_forward_line(build, op):
    with np.errstate(all="ignore"), cr.detect_anomaly():
        loss = build()
        with pytest.raises(cr.AnomalyError) as raised:
            loss.backward()
    message = str(raised.value)
    assert message.startswith(f"{op}: backward produced a non-finite gradient")
    line = source_line(f"anomaly: {op}")
    assert f'{os.path.basename(__file__)}", line {line}' in message
    assert f"# anomaly: {op}" in message  # the source text of that line is shown too


def test_anomaly_mode_reports_the_first_non_finite_gradient_not_a_later_one():
    # exp(log(0)) = 0 is finite forward; backward, log's VJP divides by 0 first, and every op
    # after it would see the non-finite value: the error must blame log.
    x = cr.tensor(np.array([0.0, 1.0]), requires_grad=True)
    with np.errstate(all="ignore"), cr.detect_anomaly():
        loss = (x.log().exp() * 3).sum()
        with pytest.raises(cr.AnomalyError, match=r"^log: "):
            loss.backward()


def test_anomaly_mode_is_silent_on_a_finite_graph():
    manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    with cr.detect_anomaly():
        loss = F.cross_entropy(model(x), [0, 1, 2, 0, 1]) + x.sum() * 0
        loss.backward()
    assert all(np.isfinite(p.grad.detach().numpy()).all() for p in model.parameters())


def test_outside_the_block_nothing_is_checked():
    with np.errstate(all="ignore"):
        loss = sqrt_at_zero()
        loss.backward()  # no AnomalyError: the infinite gradient is simply returned
        with cr.detect_anomaly():
            pass
        again = sqrt_at_zero()
        again.backward()
    assert not cr.autograd.mode.anomaly


def test_a_graph_recorded_before_the_block_is_checked_but_has_no_forward_trace():
    with np.errstate(all="ignore"):
        loss = sqrt_at_zero()
        with cr.detect_anomaly(), pytest.raises(cr.AnomalyError,
                                                match=r"(?s)sqrt: .*created before detect_anomaly"):
            loss.backward()


def test_anomaly_mode_is_restored_after_an_error_and_when_nested():
    with cr.detect_anomaly():
        with cr.detect_anomaly():
            pass
        assert cr.autograd.mode.anomaly
    assert not cr.autograd.mode.anomaly
    with pytest.raises(ZeroDivisionError), cr.detect_anomaly():
        1 / 0
    assert not cr.autograd.mode.anomaly
