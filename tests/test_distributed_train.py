"""``mpiexec -n N chainrule train`` trains the weights ``chainrule train`` trains in one process,
writes its files from rank 0 only, and resumes with any number of processes the batch divides."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from test_distributed import HERE, MPIEXEC, needs_mpi

pytest.importorskip("sklearn")  # the digits

# 1438 training digits in batches of 12: the last batch holds 10, which 3 ranks share 4-3-3.
OPTIONS = ["--epochs", "2", "--batch-size", "12", "--hidden", "32", "--momentum", "0.9",
           "--lr", "0.05", "--no-progress"]


def train(tmp_path, ranks, name, *options):
    out = tmp_path / name
    command = [sys.executable, "-m", "chainrule", "train", *OPTIONS, "--out", str(out), *options]
    if ranks:
        command = [MPIEXEC, "-n", str(ranks), *command]
    environment = {**os.environ, "PYTHONPATH": str(HERE.parents[1] / "src")}
    environment.pop("CI", None)
    process = subprocess.run(command, capture_output=True, text=True, timeout=300,
                             env=environment, cwd=tmp_path)
    assert process.returncode == 0, process.stdout + process.stderr
    return out, process


def weights(out):
    from chainrule.serialize import load_tree
    model = load_tree(str(out / "checkpoint.crt"))["model"]
    return np.concatenate([np.asarray(model[name]).ravel() for name in sorted(model)])


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    out, _ = train(tmp_path_factory.mktemp("one"), 0, "one")
    return weights(out)


@needs_mpi
@pytest.mark.parametrize("ranks", [2, 3])
def test_n_processes_train_the_one_process_weights(tmp_path, one_process, ranks):
    out, process = train(tmp_path, ranks, "many")
    ours = weights(out)
    assert np.abs(ours - one_process).max() <= 1e-6 * np.abs(one_process).max()
    # Rank 0 alone reports and writes: one line per epoch, and nothing half-written.
    assert process.stdout.count("epoch   2/2") == 1, process.stdout
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.crt", "curves.png",
                                                      "history.csv", "history.json"]


@needs_mpi
def test_resume_with_another_number_of_processes(tmp_path, one_process):
    out, _ = train(tmp_path, 2, "run", "--epochs", "1")
    environment = {**os.environ, "PYTHONPATH": str(HERE.parents[1] / "src")}
    environment.pop("CI", None)
    process = subprocess.run(
        [MPIEXEC, "-n", "3", sys.executable, "-m", "chainrule", "train", "--resume",
         str(out / "checkpoint.crt"), "--epochs", "2", "--no-progress"],
        capture_output=True, text=True, timeout=300, env=environment, cwd=tmp_path)
    assert process.returncode == 0, process.stdout + process.stderr
    ours = weights(out)
    assert np.abs(ours - one_process).max() <= 1e-6 * np.abs(one_process).max()


@needs_mpi
def test_a_batch_the_processes_cannot_share_is_refused(tmp_path):
    environment = {**os.environ, "PYTHONPATH": str(HERE.parents[1] / "src")}
    process = subprocess.run(
        [MPIEXEC, "-n", "3", sys.executable, "-m", "chainrule", "train", "--batch-size", "16",
         "--out", str(tmp_path / "x"), "--no-progress"],
        capture_output=True, text=True, timeout=120, env=environment, cwd=tmp_path)
    assert process.returncode != 0
    assert "--batch-size 16 does not divide among 3 processes: use a multiple of 3" in \
        process.stderr, process.stderr


def test_train_help_says_how_to_run_on_several_processes():
    process = subprocess.run([sys.executable, "-m", "chainrule", "train", "--help"],
                             capture_output=True, text=True, timeout=60,
                             env={**os.environ, "PYTHONPATH": str(HERE.parents[1] / "src")})
    assert "mpiexec -n 4 chainrule train" in process.stdout


@needs_mpi
def test_ctrl_c_stops_every_rank_and_leaves_a_checkpoint_to_resume(tmp_path):
    out = tmp_path / "run"
    environment = {**os.environ, "PYTHONPATH": str(HERE.parents[1] / "src")}
    environment.pop("CI", None)
    launcher = subprocess.Popen(
        [MPIEXEC, "-n", "2", sys.executable, "-m", "chainrule", "train", *OPTIONS, "--epochs",
         "100", "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=environment, cwd=tmp_path, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / "history.json").exists():  # written after the first checkpoint
            assert time.monotonic() < deadline and launcher.poll() is None, "no epoch finished"
            time.sleep(0.1)
        launcher.send_signal(signal.SIGINT)
        _, err = launcher.communicate(timeout=30)
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)  # the launcher and the ranks it started
    assert launcher.returncode != 0
    assert "interrupted during epoch" in err and "chainrule train --resume" in err, err
    assert weights(out).size  # rank 0's last checkpoint, whole
