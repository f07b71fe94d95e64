"""Output paths are checked before any work starts: a file where a directory is needed (or the
reverse), a path under a file, an empty value: one usage line naming the option and the path,
exit 2, no traceback, nothing trained or computed."""
import subprocess
import sys

import pytest

from chainrule.cli import main
from test_train import MNIST, needs_mnist


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "afile"
    path.write_text("not a directory")
    return path


CASES = [
    (["train", "--out", "{file}"], "--out: {file} is a file, not a directory"),
    (["train", "--out", ""], "--out: the path is empty"),
    (["train", "--out", "{file}/run"], "--out: {file}/run: {file} is a file"),
    (["memory", "--out", "{file}/report.json"], "--out: {file}/report.json: {file} is a file"),
    (["memory", "--out", ""], "--out: the path is empty"),
    (["explain", "--html", "{dir}"], "--html: {dir} is a directory, not a file"),
    (["explain", "--html", ""], "--html: the path is empty"),
    (["graph", "--out", "{file}/graph.svg"], "--out: {file}/graph.svg: {file} is a file"),
]


@pytest.mark.parametrize("argv, message", CASES, ids=[" ".join(c[0]) for c in CASES])
def test_a_bad_output_path_is_refused_before_any_work(argv, message, a_file, tmp_path, capsys):
    names = {"file": str(a_file), "dir": str(tmp_path)}
    argv = [a.format(**names) for a in argv]
    with pytest.raises(SystemExit) as stopped:
        main(argv + ["--epochs", "1"] if argv[0] == "train" else argv)
    assert stopped.value.code == 2
    captured = capsys.readouterr()
    assert message.format(**names) in captured.err
    assert "Traceback" not in captured.err and "training" not in captured.out
    assert not (tmp_path / "runs").exists()


OPTION_CASES = [
    (["train", "--data-dir", "somewhere"], "--data-dir applies to --dataset mnist"),
    (["train", "--momentum", "1.5"], "--momentum must be below 1, got 1.5"),
    (["train", "--optimizer", "adam", "--momentum", "0.9"],
     "--momentum does not apply to --optimizer adam"),
    (["train", "--hidden", "100000000000"], "the MLP's weights would take"),
    (["memory", "--batch-size", "100000000000"], "a batch of 100000000000 examples"),
    (["memory", "--hidden", "100000000000"], "the MLP's weights would take"),
    (["memory", "--input-size", "100000000000"], "the MLP's weights would take"),
    (["explain", "--classes", "100000000000"], "the MLP's weights would take"),
    (["graph", "--batch-size", "100000000000"], "a batch of 100000000000 examples"),
    (["train", "--batch-size", "100000000000"], "a batch of 100000000000"),
]


@pytest.mark.parametrize("argv, message", OPTION_CASES, ids=[" ".join(c[0]) for c in OPTION_CASES])
def test_options_that_cannot_apply_or_cannot_fit_get_one_line(argv, message, tmp_path, capsys):
    argv = argv + (["--out", str(tmp_path / "run"), "--epochs", "1"] if argv[0] == "train" else [])
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert message in captured.err and captured.err.count("\n") == 1
    assert "Traceback" not in captured.err and not (tmp_path / "run").exists()


def test_resume_refuses_options_the_checkpoint_fixes_and_says_when_nothing_is_left(
        tmp_path, capsys):
    pytest.importorskip("sklearn")
    out = tmp_path / "run"
    assert main(["train", "--epochs", "2", "--hidden", "16", "--out", str(out),
                 "--no-progress"]) == 0
    checkpoint = str(out / "checkpoint.crt")
    capsys.readouterr()
    assert main(["train", "--resume", checkpoint, "--epochs", "4", "--lr", "0.5",
                 "--batch-size", "8"]) == 1
    err = capsys.readouterr().err
    assert "--lr, --batch-size cannot change with --resume" in err
    assert main(["train", "--resume", checkpoint, "--epochs", "2"]) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_output_piped_into_head_exits_quietly_and_the_checkpoint_is_written(tmp_path):
    import subprocess
    import sys
    pytest.importorskip("sklearn")
    out = tmp_path / "run"
    command = (f"{sys.executable} -m chainrule train --epochs 3 --hidden 16 --no-progress "
               f"--out {out} | head -1")
    result = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr
    assert result.stdout.startswith("training MLP")
    import json
    assert len(json.loads((out / "history.json").read_text())) == 3


@pytest.mark.parametrize("argv", [["memory", "--out", "m.json"], ["explain", "--html", "e.html"]],
                         ids=["memory --out", "explain --html"])
def test_a_full_disk_is_one_line(argv, tmp_path, capsys, monkeypatch):
    import errno
    from chainrule.serialize import atomic

    def full(descriptor, chunks, mode):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(atomic, "_write_and_sync", full)
    argv = argv[:-1] + [str(tmp_path / argv[-1])]
    assert main(argv + ["--batch-size", "4"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"chainrule {argv[0]}: error: could not save ")
    assert f"to {argv[-1]}: [Errno 28] No space left on device; no file was written" in err
    assert err.rstrip().endswith(f"(from {argv[-2]} {argv[-1]})")  # the option and the file
    assert "Traceback" not in err and err.count("\n") == 1
    assert [p.name for p in tmp_path.iterdir()] == []  # nothing half-written


def test_without_matplotlib_train_says_no_curves_were_drawn(tmp_path):
    import os
    import subprocess
    import sys
    pytest.importorskip("sklearn")
    blocker = tmp_path / "blocked" / "matplotlib"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('matplotlib is blocked here')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(blocker.parent), os.environ.get("PYTHONPATH", "")]))
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "chainrule", "train", "--epochs", "1",
                             "--hidden", "8", "--no-progress", "--out", str(out)],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "no curves.png: matplotlib is not installed" in result.stdout
    assert not (out / "curves.png").exists() and (out / "checkpoint.crt").exists()


@pytest.fixture
def hinge_run(tmp_path_factory):
    """A digits run trained on the hinge loss with weight decay: what explain, memory and graph
    must read back from its checkpoint."""
    pytest.importorskip("sklearn")
    out = tmp_path_factory.mktemp("hinge") / "run"
    assert main(["train", "--epochs", "1", "--hidden", "12", "--loss", "hinge",
                 "--weight-decay", "0.001", "--out", str(out), "--no-progress"]) == 0
    return out / "checkpoint.crt"


def test_inspect_commands_use_the_checkpoints_loss_weight_decay_and_real_examples(
        hinge_run, capsys):
    import argparse

    from chainrule import models
    from chainrule.data import digits
    from chainrule.cli import inspect as commands
    from chainrule.nn import functional

    capsys.readouterr()
    assert main(["explain", "--checkpoint", str(hinge_run), "--batch-size", "4"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert "first 4 digits training examples" in header and "loss hinge" in header
    assert "weight decay lambda = 0.001" in header
    # The objective is the hinge on the first real examples plus s, computed here independently.
    parser = argparse.ArgumentParser()
    commands.register(parser.add_subparsers())
    args = parser.parse_args(["explain", "--checkpoint", str(hinge_run), "--batch-size", "4"])
    _, objective, _ = commands._build(args)
    model, _ = models.load_model(hinge_run)
    x, y = digits(seed=0)[0].x[:4], digits(seed=0)[0].y[:4]
    expected = functional.multiclass_hinge_loss(model(x), y).item() + 0.0005 * sum(
        (p.detach().numpy().astype("float64") ** 2).sum() for n, p in model.named_parameters()
        if n.endswith("weight"))
    assert objective.item() == pytest.approx(expected, rel=1e-5)
    assert main(["graph", "--checkpoint", str(hinge_run), "--batch-size", "4"]) == 0
    dot = capsys.readouterr().out
    assert "hinge" in dot and "cross_entropy" not in dot
    assert main(["memory", "--checkpoint", str(hinge_run), "--batch-size", "4",
                 "--loss", "cross-entropy", "--dataset", "random"]) == 0
    assert "RANDOM examples" in capsys.readouterr().out


INSPECT_CASES = [
    (["memory", "--hidden", "8"], "--hidden cannot be used with --checkpoint"),
    (["explain", "--model", "lenet", "--activation", "tanh"],
     "--model, --activation cannot be used with --checkpoint"),
    (["explain", "--dataset", "digits", "--data-dir", "x"], "--data-dir applies to --dataset mnist"),
]


@pytest.mark.parametrize("argv, message", INSPECT_CASES, ids=[" ".join(c[0]) for c in INSPECT_CASES])
def test_inspect_commands_refuse_options_a_checkpoint_fixes(argv, message, hinge_run, capsys):
    capsys.readouterr()
    assert main(argv + ["--checkpoint", str(hinge_run)]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_dataset_digits_sets_the_input_size(capsys):
    pytest.importorskip("sklearn")
    assert main(["explain", "--dataset", "digits", "--batch-size", "3"]) == 0
    assert capsys.readouterr().out.startswith(
        "network 64-256-10 from a fresh network (seed 0); a batch of the first 3 digits")


@needs_mnist
def test_inspect_commands_read_mnist(capsys):
    assert main(["memory", "--model", "lenet", "--dataset", "mnist", "--data-dir",
                 str(MNIST), "--batch-size", "8"]) == 0
    assert "the first 8 mnist (t10k split 8000/2000) training examples" in capsys.readouterr().out


def test_download_without_a_network_is_one_line_saying_so(tmp_path, capsys, monkeypatch):
    import socket
    import urllib.error
    import urllib.request

    def offline(*args, **kwargs):
        raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    assert main(["train", "--dataset", "mnist", "--data-dir", str(tmp_path / "mnist"),
                 "--download", "--no-progress", "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("chainrule train: error: could not download https://")
    assert "is this machine offline?" in err and str(tmp_path / "mnist") in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not list((tmp_path / "mnist").glob("*"))  # no partial file left behind


@pytest.mark.parametrize("argv", [["train", "--out"], ["memory", "--out"], ["explain", "--html"],
                                  ["graph", "--out"]], ids=lambda a: " ".join(a))
def test_an_unwritable_place_is_refused_before_any_work(argv, tmp_path, capsys, monkeypatch):
    # Root may write anywhere, so the permission check itself is what is stubbed here.
    import os
    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if os.fspath(path) == str(locked)
                        else real(path, mode))
    target = str(locked / ("run" if argv[1] == "--out" and argv[0] == "train" else "out.svg"))
    with pytest.raises(SystemExit) as stopped:
        main(argv + [target] + (["--epochs", "1"] if argv[0] == "train" else []))
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert f"{locked} is not writable" in err and "Traceback" not in err
    assert not list(locked.iterdir())


# -- options that would go unused, runs that would be replaced, signals, sizes, full disks -------

@pytest.mark.parametrize("options, named", [
    (["--activation", "tanh"], "--activation applies"),
    (["--hidden", "32"], "--hidden applies"),
    (["--hidden", "32", "--activation", "sigmoid"], "--hidden and --activation apply"),
])
def test_train_refuses_mlp_options_for_a_cnn(options, named, tmp_path, capsys):
    assert main(["train", "--model", "lenet", "--out", str(tmp_path / "run"), *options]) == 1
    err = capsys.readouterr().err
    assert f"{named} to --model mlp; --model lenet has fixed layers" in err
    assert not (tmp_path / "run").exists()


def test_train_refuses_to_replace_an_earlier_run_without_overwrite(tmp_path, capsys):
    pytest.importorskip("sklearn")
    out = tmp_path / "run"
    out.mkdir()
    (out / "history.json").write_text("[]")
    argv = ["train", "--epochs", "1", "--hidden", "8", "--no-progress", "--out", str(out)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"--out {out} already holds a run (history.json): pass --overwrite" in err
    assert f"--resume {out / 'checkpoint.crt'}" in err
    assert (out / "history.json").read_text() == "[]"  # untouched
    assert main(argv + ["--overwrite"]) == 0
    assert f"--overwrite: replacing the run in {out} (history.json)" in capsys.readouterr().out
    assert (out / "checkpoint.crt").exists() and (out / "history.json").read_text() != "[]"


def test_sigterm_during_training_is_one_line_exit_143_and_no_half_written_file(tmp_path):
    import signal
    import time
    pytest.importorskip("sklearn")
    out = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "chainrule", "train", "--epochs", "400", "--hidden", "64",
         "--no-progress", "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        assert process.stdout.readline().startswith("training MLP")
        deadline = time.monotonic() + 120
        while not (out / "checkpoint.crt").exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # at least one epoch written, then stop it mid-run
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 143, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("terminated (SIGTERM) during epoch"), err
    assert "continue with: chainrule train --resume" in lines[0]
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]


def test_sigterm_and_ctrl_c_while_starting_are_one_line(monkeypatch, capsys):
    import signal
    from chainrule import cli

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_build", interrupted)
    assert main(["train"]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "chainrule: interrupted"

    def terminated():
        signal.raise_signal(signal.SIGTERM)

    monkeypatch.setattr(cli, "_build", terminated)
    before = signal.getsignal(signal.SIGTERM)
    assert main(["train"]) == 143
    assert "chainrule: terminated (SIGTERM)" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is before  # main put the old handler back


def test_ctrl_c_while_the_command_modules_load_is_one_line():
    # A real SIGINT while chainrule.cli builds its parser (the command modules import the
    # trainer and the models then): exit 130, one line, no traceback.
    code = ("import os, signal, sys\n"
            "from chainrule import cli\n"
            "from chainrule.cli import train\n"
            "original = train.register\n"
            "def register(commands):\n"
            "    os.kill(os.getpid(), signal.SIGINT)\n"
            "    return original(commands)\n"
            "train.register = register\n"
            "sys.exit(cli.main(['train', '--epochs', '1']))\n")
    # A shell's background job inherits SIGINT ignored, and Python then keeps it ignored: the
    # child starts with the default, as a command typed at a terminal does.
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, preexec_fn=_default_sigint)
    assert result.returncode == 130, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == "chainrule: interrupted"


def _default_sigint():
    import signal
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("argv, option", [
    (["train", "--hidden", "100000000", "100000000"], "--hidden 100000000 100000000: the MLP's"),
    (["train", "--batch-size", "1000000000000"], "--batch-size 1000000000000: a batch of"),
    (["memory", "--hidden", "100000000", "100000000"], "--hidden 100000000 100000000, "),
    (["memory", "--batch-size", "1000000000000"], "--batch-size 1000000000000: a batch of"),
])
def test_a_size_error_names_the_option_that_asked_for_it(argv, option, tmp_path, capsys):
    if argv[0] == "train":
        argv = argv + ["--out", str(tmp_path / "run")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert option in err and "TiB" in err and "more than this machine's" in err


def test_a_full_disk_during_training_names_the_option_and_the_file(tmp_path, capsys,
                                                                    monkeypatch):
    import errno
    from chainrule.serialize import atomic
    pytest.importorskip("sklearn")

    def full(descriptor, chunks, mode):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic, "_write_and_sync", full)
    out = tmp_path / "run"
    assert main(["train", "--epochs", "1", "--hidden", "8", "--no-progress",
                 "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err
    assert str(out / "checkpoint.crt") in err or str(out / "history.csv") in err
    assert err.rstrip().endswith(f"(from --out {out})")
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]


def test_an_error_names_an_option_once_and_never_a_positional(tmp_path, capsys):
    missing = tmp_path / "missing.crt"
    assert main(["evaluate", str(missing)]) == 1
    err = capsys.readouterr().err
    assert str(missing) in err and "(from" not in err  # a positional argument, not an option
    assert main(["explain", "--checkpoint", str(missing)]) == 1
    err = capsys.readouterr().err
    assert err.count("--checkpoint") <= 1 and str(missing) in err
