"""Saving is atomic: a crash, a full disk or an unwritable directory never costs the old file."""

import errno
import os
import random
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from chainrule import serialize
from chainrule.errors import CheckpointError
from chainrule.serialize import load, load_tree, save, save_tree

KILLS = 20
KILLS_AT_ONCE = 10  # children start slowly (Python and NumPy imports), so several run side by side
LONGEST_DELAY = 0.3

# Loads the two checkpoints named on its command line, then saves them over the target, in
# turn, until it is killed.
SAVER = """
import sys
from chainrule.serialize import load_tree, save_tree
target, *sources = sys.argv[1:]
trees = [load_tree(source) for source in sources]
print("ready", flush=True)
while True:
    for tree in trees:
        save_tree(target, tree)
"""


def checkpoint(version, seed):
    rng = np.random.default_rng(seed)
    return {
        "model": {"0.weight": rng.standard_normal((512, 1024), dtype=np.float32),
                  "0.bias": rng.standard_normal(512).astype(np.float32)},
        "optimizer": {"state": [{"step": np.int64(seed), "exp_avg": rng.random(1 << 18)}]},
        "version": version,
        "rng": rng.bit_generator.state,
    }


def directory_listing(folder):
    return sorted(path.name for path in folder.iterdir())


def temp_files(folder):
    return {name for name in directory_listing(folder) if name.endswith(".tmp")}


def start_saver(target, sources):
    source_root = Path(serialize.__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(source_root), os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen([sys.executable, "-c", SAVER, str(target), *map(str, sources)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# ---------------------------------------------------------------- (a) killed mid-save


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_during_saves_leaves_the_old_or_the_new_file(tmp_path):
    versions = {}
    for seed, version in enumerate(["old", "new"]):
        save_tree(tmp_path / f"{version}.ckpt", checkpoint(version, seed))
        versions[version] = (tmp_path / f"{version}.ckpt").read_bytes()
    assert len(versions["old"]) > 3_000_000
    rng = random.Random(20240601)
    outcomes = []
    killed_mid_save = 0
    for batch_start in range(0, KILLS, KILLS_AT_ONCE):
        folders = [tmp_path / f"run{i}" for i in range(batch_start, batch_start + KILLS_AT_ONCE)]
        savers = []
        for folder in folders:
            folder.mkdir()
            (folder / "model.ckpt").write_bytes(versions["old"])
            sources = [tmp_path / "new.ckpt", tmp_path / "old.ckpt"]
            savers.append(start_saver(folder / "model.ckpt", sources))
        for saver in savers:
            assert saver.stdout.readline() == "ready\n", saver.communicate()[1]
        started = time.perf_counter()
        for delay, folder, saver in sorted(
                zip([rng.uniform(0.02, LONGEST_DELAY) for _ in savers], folders, savers)):
            time.sleep(max(0.0, started + delay - time.perf_counter()))
            saver.send_signal(signal.SIGKILL)
            saver.wait()
            saver.stdout.close()
            saver.stderr.close()
            assert saver.returncode == -signal.SIGKILL
            killed_mid_save += bool(temp_files(folder))
            on_disk = (folder / "model.ckpt").read_bytes()
            tree = load_tree(folder / "model.ckpt")  # loads completely, beside any stray temp file
            matches = [version for version, data in versions.items() if data == on_disk]
            assert matches == [tree["version"]]
            outcomes.append(tree["version"])
    assert len(outcomes) == KILLS  # every one of the 20 files was intact
    assert set(outcomes) == {"old", "new"}, outcomes
    # A kill between creating the temp file and renaming it leaves the temp file behind, proof
    # that kills landed in the middle of writes (typically 8 to 13 of the 20 do).
    assert killed_mid_save >= 1, killed_mid_save


def test_stray_temp_files_do_not_disturb_saving_or_loading(tmp_path):
    target = tmp_path / "model.ckpt"
    (tmp_path / ".model.ckpt.abc123.tmp").write_bytes(b"CHAINRL\x01 half a file")
    save(target, {"w": np.ones(3)}, {"step": 1})
    save(target, {"w": np.zeros(3)}, {"step": 2})
    arrays, meta = load(target)
    assert meta == {"step": 2} and arrays["w"].tolist() == [0, 0, 0]
    assert directory_listing(tmp_path) == [".model.ckpt.abc123.tmp", "model.ckpt"]


# ---------------------------------------------------------------- (b) full disk and other failures


@pytest.fixture
def previous(tmp_path):
    """A checkpoint already on disk, which a failed save must leave exactly as it was."""
    target = tmp_path / "model.ckpt"
    save(target, {"w": np.arange(4.0)}, {"epoch": 1})
    return target, target.read_bytes()


def assert_previous_intact(target, content):
    assert target.read_bytes() == content
    assert directory_listing(target.parent) == [target.name]  # no temp file left behind
    assert load(target)[1] == {"epoch": 1}


def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_disk_full_during_write(previous, monkeypatch):
    target, content = previous
    real_write = os.write
    written = []

    def write_a_little_then_fill_up(descriptor, data):
        if written:
            no_space()
        written.append(real_write(descriptor, bytes(data[:10])))  # a short write, then no space
        return written[-1]

    monkeypatch.setattr(os, "write", write_a_little_then_fill_up)
    with pytest.raises(CheckpointError) as info:
        save(target, {"w": np.ones(1000)}, {"epoch": 2})
    monkeypatch.undo()
    message = str(info.value)
    assert message == (f"could not save checkpoint to {target}: [Errno 28] No space left on "
                       f"device; the previous file is unchanged")
    assert isinstance(info.value.__cause__, OSError)
    assert info.value.__cause__.errno == errno.ENOSPC
    assert_previous_intact(target, content)


def test_disk_full_reported_by_fsync(previous, monkeypatch):
    target, content = previous
    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(CheckpointError, match="No space left on device; the previous file is"):
        save_tree(target, {"model": {"w": np.ones(10)}, "epoch": 2})
    monkeypatch.undo()
    assert_previous_intact(target, content)


def test_disk_full_with_no_previous_file(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "write", no_space)
    with pytest.raises(CheckpointError, match="No space left on device; no file was written"):
        save(tmp_path / "new.ckpt", {"w": np.ones(3)})
    monkeypatch.undo()
    assert directory_listing(tmp_path) == []


def test_failed_rename(previous, monkeypatch):
    target, content = previous
    monkeypatch.setattr(os, "replace", lambda source, destination: no_space())
    with pytest.raises(CheckpointError, match="the previous file is unchanged"):
        save(target, {"w": np.ones(3)})
    monkeypatch.undo()
    assert_previous_intact(target, content)


def test_interrupt_during_write_removes_the_temp_file_and_propagates(previous, monkeypatch):
    target, content = previous

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save(target, {"w": np.ones(3)})
    monkeypatch.undo()
    assert_previous_intact(target, content)


def test_invalid_input_fails_before_touching_the_disk(previous, monkeypatch):
    target, content = previous
    monkeypatch.setattr(tempfile, "mkstemp", no_space)  # would fail loudly if reached
    with pytest.raises(CheckpointError, match="not allowed"):
        save(target, {"w": np.array([None])})
    with pytest.raises(CheckpointError, match="nan"):
        save(target, {}, {"loss": float("nan")})
    monkeypatch.undo()
    assert_previous_intact(target, content)


# ---------------------------------------------------------------- (c) unwritable directories


def test_directory_that_is_a_regular_file(tmp_path):
    not_a_folder = tmp_path / "runs"
    not_a_folder.write_bytes(b"just a file")
    with pytest.raises(CheckpointError) as info:
        save(not_a_folder / "model.ckpt", {"w": np.ones(2)})
    assert str(info.value) == (f"could not save checkpoint to {not_a_folder / 'model.ckpt'}: "
                               f"{not_a_folder} is not a directory; no file was written")
    assert not_a_folder.read_bytes() == b"just a file"


def test_missing_directory(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist; no file was written"):
        save_tree(tmp_path / "absent" / "model.ckpt", {"w": np.ones(2)})
    assert directory_listing(tmp_path) == []


def test_target_that_is_a_directory(tmp_path):
    (tmp_path / "model.ckpt").mkdir()
    with pytest.raises(CheckpointError, match="is a directory"):
        save(tmp_path / "model.ckpt", {})


def test_permission_denied_creating_the_temp_file(previous, monkeypatch):
    # Root ignores directory permissions, so the refusal is simulated where it would happen.
    target, content = previous

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(target.parent))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(CheckpointError, match="Permission denied") as info:
        save(target, {"w": np.ones(2)})
    monkeypatch.undo()
    assert str(target) in str(info.value) and "the previous file is unchanged" in str(info.value)
    assert_previous_intact(target, content)


def test_directory_without_write_permission(previous, monkeypatch):
    target, content = previous
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(CheckpointError, match="is not writable; no file was written"):
        save(target, {})
    monkeypatch.undo()
    assert_previous_intact(target, content)


# ---------------------------------------------------------------- permissions of the result


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_overwriting_keeps_the_previous_permissions(tmp_path):
    target = tmp_path / "model.ckpt"
    save(target, {})
    target.chmod(0o640)
    save(target, {"w": np.ones(2)})
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the umask from /proc")
def test_a_new_file_gets_the_usual_permissions(tmp_path):
    previous_umask = os.umask(0o027)
    try:
        save(tmp_path / "model.ckpt", {})
    finally:
        os.umask(previous_umask)
    assert stat.S_IMODE((tmp_path / "model.ckpt").stat().st_mode) == 0o640
