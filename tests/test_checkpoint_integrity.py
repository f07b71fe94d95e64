"""Checkpoints prove their integrity: a file ends with the SHA-256 of everything before it, so a
changed bit in the header or in an array is an error naming the file; files written before
checksums existed (tests/fixtures/*_v1.crt, see tests/fixtures/README.md) still load."""
import hashlib
import json
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import models
from chainrule.errors import CheckpointError
from chainrule.serialize import CHECKSUM_BYTES, load, load_tree, save, save_tree

FIXTURES = pathlib.Path(__file__).parent / "fixtures"


def layout(raw):
    """(start of the data section, end of it) in a file with a checksum."""
    header_bytes = int.from_bytes(raw[8:16], "little")
    return 16 + header_bytes, len(raw) - CHECKSUM_BYTES


@pytest.fixture
def model_file(tmp_path):
    cr.manual_seed(0)
    model = models.mlp(8, [16], 4)
    path = tmp_path / "model.crt"
    save_tree(path, {"config": models.mlp_config(8, [16], 4), "model": dict(model.state_dict())})
    return path


def test_a_saved_file_ends_with_the_sha256_of_everything_before_it(model_file):
    raw = model_file.read_bytes()
    header = json.loads(raw[16:layout(raw)[0]])
    assert header["checksum"] == "sha256"
    assert raw[-CHECKSUM_BYTES:] == hashlib.sha256(raw[:-CHECKSUM_BYTES]).digest()


@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("bit", [0, 7])
def test_a_flipped_bit_inside_an_array_is_refused_naming_the_file(model_file, where, bit):
    raw = bytearray(model_file.read_bytes())
    start, end = layout(raw)
    at = {"first": start, "middle": (start + end) // 2, "last": end - 1}[where]
    raw[at] ^= 1 << bit
    model_file.write_bytes(raw)
    for reader in (load, load_tree, models.load_model):
        with pytest.raises(CheckpointError, match="checksum mismatch") as caught:
            reader(model_file)
        assert str(model_file) in str(caught.value)


def test_every_single_byte_of_the_payload_is_covered(tmp_path):
    path = tmp_path / "small.crt"
    save(path, {"w": np.arange(4, dtype=np.float32), "flag": np.array([True])})
    raw = path.read_bytes()
    start, end = layout(raw)
    for at in range(start, end):
        damaged = bytearray(raw)
        damaged[at] = (damaged[at] + 1) % 256
        path.write_bytes(damaged)
        with pytest.raises(CheckpointError, match="checksum mismatch"):
            load(path)


def test_a_header_change_that_stays_valid_json_is_refused(model_file):
    raw = model_file.read_bytes()
    # 16 -> 17 in "hidden": [16] is still a well-formed header: only the checksum catches it.
    damaged = raw.replace(b'"hidden": [16]', b'"hidden": [17]', 1)
    assert damaged != raw
    model_file.write_bytes(damaged)
    with pytest.raises(CheckpointError, match=f"{model_file}: checksum mismatch"):
        load_tree(model_file)


def test_a_changed_or_cut_checksum_is_refused(model_file):
    raw = model_file.read_bytes()
    model_file.write_bytes(raw[:-1] + bytes([raw[-1] ^ 0x10]))
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        load(model_file)
    model_file.write_bytes(raw[:-CHECKSUM_BYTES])
    with pytest.raises(CheckpointError, match=str(model_file)):
        load(model_file)


def test_an_unknown_checksum_algorithm_is_refused(tmp_path):
    path = tmp_path / "md5.crt"
    header = json.dumps({"meta": None, "arrays": {}, "checksum": "md5"}).encode()
    path.write_bytes(b"CHAINRL\x01" + len(header).to_bytes(8, "little") + header + bytes(16))
    with pytest.raises(CheckpointError, match="'md5'.*sha256"):
        load(path)


def test_the_flat_fixture_from_before_checksums_loads():
    arrays, meta = load(FIXTURES / "arrays_v1.crt")
    assert meta == {"written_by": "chainrule format 1 (before checksums)"}
    np.testing.assert_array_equal(arrays["weight"], np.arange(6, dtype=np.float32).reshape(2, 3))
    assert arrays["weight"].dtype == np.float32
    np.testing.assert_array_equal(arrays["mask"], [True, False])
    assert arrays["steps"].dtype == np.int64 and arrays["steps"] == 7


def test_the_training_checkpoint_from_before_checksums_loads_and_resumes(tmp_path):
    pytest.importorskip("sklearn", reason="the digits dataset ships with scikit-learn")
    from chainrule.train import Trainer
    raw = (FIXTURES / "checkpoint_v1_mlp.crt").read_bytes()
    assert b'"checksum"' not in raw  # really a file from before checksums
    model, tree = models.load_model(FIXTURES / "checkpoint_v1_mlp.crt")
    assert tree["epoch"] == 1 and tree["config"]["hidden"] == [4]
    assert model[0].weight.shape == (4, 64)
    path = tmp_path / "checkpoint.crt"
    shutil.copy(FIXTURES / "checkpoint_v1_mlp.crt", path)
    trainer = Trainer.resume(str(path), progress=False, log=None)
    assert trainer.epoch == 1
    trainer.fit(2)
    assert b'"checksum"' in path.read_bytes()  # written again, now with a checksum
    assert load_tree(path)["epoch"] == 2


def test_evaluate_reports_the_fixture_accuracy_it_had_when_written():
    pytest.importorskip("sklearn", reason="the digits dataset ships with scikit-learn")
    result = subprocess.run([sys.executable, "-m", "chainrule", "evaluate",
                             str(FIXTURES / "checkpoint_v1_mlp.crt")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "accuracy 0.3593" in result.stdout  # tests/fixtures/README.md: as written


def test_cli_reports_a_corrupted_checkpoint_in_one_line(tmp_path):
    pytest.importorskip("sklearn", reason="the digits dataset ships with scikit-learn")
    path = tmp_path / "checkpoint.crt"
    cr.manual_seed(0)
    save_tree(path, {"config": models.mlp_config(64, [4], 10),
                     "model": dict(models.mlp(64, [4], 10).state_dict())})
    raw = bytearray(path.read_bytes())
    raw[layout(raw)[0] + 5] ^= 0x01
    path.write_bytes(raw)
    result = subprocess.run([sys.executable, "-m", "chainrule", "evaluate", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "checksum mismatch" in result.stderr and str(path) in result.stderr
