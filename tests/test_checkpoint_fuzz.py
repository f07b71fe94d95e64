"""Model files end to end: a damaged model or training checkpoint is refused with the library's
own exception, quickly, and the model it was meant for keeps its weights.

tests/test_serialize_fuzz.py fuzzes the container format itself; this file loads real
checkpoints through the user's entry points: ``models.load_model(path)``,
``model.load_state_dict(load_tree(path)["model"])``, ``Trainer.resume(path)`` and
``trainer.load_state(tree)``. ``python -m pytest -m slow tests/test_checkpoint_fuzz.py`` runs
the mutation test on 10,000 files.
"""
import hashlib
import json
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import models
from chainrule.errors import ChainruleError, CheckpointError
from chainrule.serialize import load_tree, save_tree

SECONDS_PER_LOAD = 1.0
CONFIG = models.mlp_config(8, [16], 4)
ARRAY_NAMES = ["model/0.weight", "model/0.bias", "model/2.weight", "model/2.bias"]


# -- building and taking apart real files ---------------------------------------------------------

def fresh_model(seed):
    cr.manual_seed(seed)
    return models.mlp(8, [16], 4)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.crt"
    save_tree(path, {"config": CONFIG, "model": dict(fresh_model(0).state_dict())})
    return path.read_bytes()


@pytest.fixture(scope="module")
def trainer_file(tmp_path_factory):
    pytest.importorskip("sklearn", reason="the digits dataset ships with scikit-learn")
    from chainrule.train import TrainConfig, Trainer
    trainer = Trainer(TrainConfig(hidden=[16], epochs=1), progress=False, log=None)
    path = tmp_path_factory.mktemp("trainer") / "checkpoint.crt"
    trainer.save_checkpoint(str(path))
    return path.read_bytes()


def split(raw):
    """The magic, the header and the data section (without the checksum that ends the file)."""
    length = int.from_bytes(raw[8:16], "little")
    header = json.loads(raw[16:16 + length])
    end = len(raw) - 32 if "checksum" in header else len(raw)
    return raw[:8], header, raw[16 + length:end]


def rebuild(magic, header, data):
    """A file with this header and data, its checksum recomputed as a writer would, so that
    the tests reach the checks behind it."""
    text = json.dumps(header).encode()
    text += b" " * (-(16 + len(text)) % 8)
    raw = magic + len(text).to_bytes(8, "little") + text + data
    return raw + hashlib.sha256(raw).digest() if "checksum" in header else raw


def edit_header(raw, edit):
    magic, header, data = split(raw)
    edit(header)
    return rebuild(magic, header, data)


def put(path, raw):
    """Write ``raw`` to ``path``, reusing the file: truncating a file to zero on open costs
    milliseconds here, and the cut and mutation tests write thousands."""
    with open(path, "r+b" if path.exists() else "wb") as file:
        file.write(raw)
        file.truncate()


def weights(model):
    return {name: array.numpy().copy() for name, array in model.state_dict().items()}


def assert_untouched(model, before):
    for name, array in model.state_dict().items():
        assert np.array_equal(array, before[name]), f"{name} changed by a failed load"


def load_everywhere(path, target):
    """Load ``path`` the ways a user would; return the model or raise. ``target`` must keep its
    weights whenever loading fails."""
    before = weights(target)
    started = time.perf_counter()
    try:
        model, tree = models.load_model(path)
        target.load_state_dict(tree["model"])
        return model
    except ChainruleError:
        assert_untouched(target, before)
        raise
    finally:
        elapsed = time.perf_counter() - started
        assert elapsed < SECONDS_PER_LOAD, f"loading took {elapsed:.2f} s"


# -- deterministic damage -----------------------------------------------------------------------

def test_the_undamaged_file_loads_into_an_equal_model(model_file, tmp_path):
    path = tmp_path / "model.crt"
    put(path, model_file)
    target = fresh_model(7)
    model = load_everywhere(path, target)
    for (name, a), b in zip(fresh_model(0).state_dict().items(), target.state_dict().values()):
        assert np.array_equal(a, b), name
    assert np.array_equal(model[0].weight.detach().numpy(), target[0].weight.detach().numpy())


def test_a_file_cut_at_any_byte_is_refused(model_file, tmp_path):
    path = tmp_path / "cut.crt"
    target = fresh_model(7)
    for length in range(len(model_file)):
        put(path, model_file[:length])
        with pytest.raises(CheckpointError, match=str(path)):
            load_everywhere(path, target)


@pytest.mark.parametrize("magic", [b"NOTCHAIN", b"CHAINRL\x02", b"CHAINRL\x00", bytes(8),
                                   b"\x80\x04\x95\x00\x00\x00\x00\x00", b"PK\x03\x04\x14\x00\x00\x00",
                                   b"\x89PNG\r\n\x1a\n"],
                         ids=["text", "future-version", "version-0", "zeros", "pickle", "zip",
                              "png"])
def test_a_wrong_magic_number_is_refused(model_file, tmp_path, magic):
    path = tmp_path / "magic.crt"
    put(path, magic + model_file[8:])
    with pytest.raises(CheckpointError, match=r"not a chainrule checkpoint|version"):
        load_everywhere(path, fresh_model(7))


def set_array_field(name, field, value):
    def edit(header):
        header["arrays"][name][field] = value
    return edit


def header_length(value):
    def damage(raw):
        return raw[:8] + value.to_bytes(8, "little") + raw[16:]
    return damage


DAMAGE = {
    # a header that claims huge sizes
    "header-length-2**64-1": header_length(2**64 - 1),
    "header-length-1GiB": header_length(2**30),
    "header-length-past-the-end": lambda raw: header_length(len(raw))(raw),
    "header-length-short-by-one": lambda raw: header_length(int.from_bytes(raw[8:16], "little")
                                                            - 1)(raw),
    "shape-2**31-squared": lambda raw: edit_header(raw, set_array_field(
        "model/0.weight", "shape", [2**31, 2**31])),
    "nbytes-huge": lambda raw: edit_header(raw, set_array_field("model/0.weight", "nbytes",
                                                                2**62)),
    "shape-and-nbytes-huge": lambda raw: edit_header(raw, lambda h: h["arrays"][
        "model/0.weight"].update(shape=[2**20, 2**20], nbytes=2**42)),
    # offsets that overlap, leave gaps or point outside the file
    "offsets-overlap": lambda raw: edit_header(raw, set_array_field("model/0.bias", "offset", 0)),
    "offset-past-the-end": lambda raw: edit_header(raw, set_array_field(
        "model/2.bias", "offset", 10**6)),
    "offset-negative": lambda raw: edit_header(raw, set_array_field("model/0.bias", "offset", -4)),
    "offset-gap": lambda raw: edit_header(raw, set_array_field("model/2.bias", "offset", 840)),
    "offset-not-an-int": lambda raw: edit_header(raw, set_array_field("model/0.bias", "offset",
                                                                      512.0)),
    # trailing garbage
    "one-trailing-zero": lambda raw: raw + b"\0",
    "trailing-text": lambda raw: raw + b"garbage",
    "file-twice": lambda raw: raw + raw,
    # inconsistent entries
    "dtype-object": lambda raw: edit_header(raw, set_array_field("model/0.weight", "dtype",
                                                                 "object")),
    "array-missing-from-the-table": lambda raw: edit_header(raw, lambda h: h["arrays"].pop(
        "model/2.bias")),
    "tree-refers-to-no-array": lambda raw: edit_header(raw, lambda h: h["meta"]["model"].update(
        {"2.bias": {"$array": "model/nowhere"}})),
    "header-not-json": lambda raw: raw[:16] + b"[" + raw[17:],
    "no-config": lambda raw: edit_header(raw, lambda h: h["meta"].pop("config")),
    "no-model": lambda raw: edit_header(raw, lambda h: h["meta"].update(
        model=None, config=CONFIG) or h.update(arrays={})),
    "config-not-a-dict": lambda raw: edit_header(raw, lambda h: h["meta"].update(config=[8])),
    "config-activation": lambda raw: edit_header(raw, lambda h: h["meta"]["config"].update(
        activation="gelu")),
    "config-hidden-text": lambda raw: edit_header(raw, lambda h: h["meta"]["config"].update(
        hidden="sixteen")),
    "config-negative-size": lambda raw: edit_header(raw, lambda h: h["meta"]["config"].update(
        input_size=-8)),
    "config-hidden-fraction": lambda raw: edit_header(raw, lambda h: h["meta"][
        "config"].update(hidden=[16.7])),
    "config-size-bool": lambda raw: edit_header(raw, lambda h: h["meta"]["config"].update(
        classes=True)),
}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_damaged_header_or_layout_is_refused(model_file, tmp_path, damage):
    path = tmp_path / "damaged.crt"
    put(path, damage(model_file))
    with pytest.raises(CheckpointError, match=str(path)):
        load_everywhere(path, fresh_model(7))


WRONG_WEIGHTS = {
    # Sound containers whose "model" entry does not fit the 8-16-4 network.
    "transposed-weight": lambda h: h["arrays"]["model/0.weight"].update(shape=[8, 16]),
    "flattened-weight": lambda h: h["arrays"]["model/0.weight"].update(shape=[128]),
    "weight-renamed": lambda h: h["meta"]["model"].update(
        {"0.weights": h["meta"]["model"].pop("0.weight")}),
    "bool-weights": lambda h: h["arrays"]["model/0.bias"].update(dtype="bool", shape=[16, 4]),
}
CONFIG_DISAGREES = {
    # Sound containers whose config describes another network than the weights.
    "config-says-wider": lambda h: h["meta"]["config"].update(hidden=[32]),
    "config-says-deeper": lambda h: h["meta"]["config"].update(hidden=[16, 16]),
    "config-says-more-classes": lambda h: h["meta"]["config"].update(classes=5),
}


@pytest.mark.parametrize("edit", WRONG_WEIGHTS.values(), ids=WRONG_WEIGHTS.keys())
def test_weights_that_do_not_fit_are_refused_and_the_target_keeps_its_own(model_file, tmp_path,
                                                                          edit):
    path = tmp_path / "wrong.crt"
    put(path, edit_header(model_file, edit))
    target = fresh_model(7)
    before = weights(target)
    with pytest.raises(ChainruleError, match=r"load_state_dict"):
        load_everywhere(path, target)
    with pytest.raises(ChainruleError, match=r"load_state_dict"):  # the tree itself loads
        target.load_state_dict(load_tree(path)["model"])
    assert_untouched(target, before)


@pytest.mark.parametrize("edit", CONFIG_DISAGREES.values(), ids=CONFIG_DISAGREES.keys())
def test_a_config_that_disagrees_with_the_weights_is_refused(model_file, tmp_path, edit):
    path = tmp_path / "config.crt"
    put(path, edit_header(model_file, edit))
    with pytest.raises(ChainruleError, match=r"expected \(\d+(, \d+)?\) got"):
        load_everywhere(path, fresh_model(7))


def test_a_config_claiming_huge_layers_is_refused_quickly(model_file, tmp_path):
    path = tmp_path / "huge.crt"
    put(path, edit_header(model_file, lambda h: h["meta"]["config"].update(
        input_size=10**12)))
    with pytest.raises(CheckpointError, match=str(path)):
        load_everywhere(path, fresh_model(7))


@pytest.mark.slow
def test_a_config_claiming_millions_of_inputs_is_refused_within_a_second(model_file, tmp_path):
    path = tmp_path / "wide.crt"
    put(path, edit_header(model_file, lambda h: h["meta"]["config"].update(
        input_size=3 * 10**6)))
    with pytest.raises(CheckpointError, match=str(path)):
        load_everywhere(path, fresh_model(7))


# -- training checkpoints -----------------------------------------------------------------------

@pytest.fixture
def target_trainer():
    pytest.importorskip("sklearn")
    from chainrule.train import TrainConfig, Trainer
    return Trainer(TrainConfig(hidden=[16], epochs=1, seed=9), progress=False, log=None)


def trainer_damage(raw):
    length = int.from_bytes(raw[8:16], "little")
    return {"cut-in-preamble": raw[:12], "cut-in-header": raw[:16 + length // 2],
            "cut-in-data": raw[:-7], "wrong-magic": b"NOTCHAIN" + raw[8:],
            "trailing-garbage": raw + b"\0\0\0\0"}


def test_a_damaged_training_checkpoint_is_refused(trainer_file, tmp_path, target_trainer):
    from chainrule.train import Trainer
    before = weights(target_trainer.model)
    for name, damaged in trainer_damage(trainer_file).items():
        path = tmp_path / f"{name}.crt"
        put(path, damaged)
        with pytest.raises(CheckpointError, match=str(path)):
            Trainer.resume(str(path), progress=False, log=None)
        with pytest.raises(CheckpointError, match=str(path)):
            target_trainer.load_state(load_tree(path), str(path))
    assert_untouched(target_trainer.model, before)


@pytest.mark.parametrize("edit", [
    {"dataset": "cifar"}, {"hidden": [10**9]}, {"hidden": [16.7]}, {"lr": "fast"},
    {"seed": -1}, {"init": "orthogonal"}, {"momentum": -0.5},
], ids=["dataset", "huge-hidden", "fractional-hidden", "lr-text", "negative-seed", "init",
        "negative-momentum"])
def test_a_training_checkpoint_with_an_unusable_config_is_a_checkpoint_error(trainer_file,
                                                                            tmp_path, edit):
    from chainrule.train import Trainer
    path = tmp_path / "config.crt"
    put(path, edit_header(trainer_file, lambda h: h["meta"]["config"].update(edit)))
    started = time.perf_counter()
    with pytest.raises(CheckpointError, match=str(path)):
        Trainer.resume(str(path), progress=False, log=None)
    assert time.perf_counter() - started < SECONDS_PER_LOAD


@pytest.mark.parametrize("config", [models.mlp_config(8, [], 4), CONFIG,
                                    models.mlp_config(5, [7, 6, 3], 2, "tanh")])
def test_expected_shapes_are_those_of_the_built_model(config):
    built = models.mlp(config["input_size"], config["hidden"], config["classes"],
                       config["activation"])
    assert models.expected_shapes(config) == {name: array.shape for name, array
                                              in built.state_dict().items()}


BAD_PARTS = {
    "model": lambda tree: tree["model"].pop("2.bias"),
    "optimizer": lambda tree: tree.update(optimizer={"param_groups": [], "state": []}),
    "loader": lambda tree: tree["loader"].update(batches_done=10**6),
    "rng": lambda tree: tree["rng"].update(bit_generator="MT19937"),
    "rng-values": lambda tree: tree["rng"]["state"].update(state=-1),
    "epoch": lambda tree: tree.update(epoch=1.5),
    "history": lambda tree: tree.update(history=[{
        "epoch": 1, "train_loss": "low", "train_accuracy": 0.5, "test_loss": 1.0,
        "test_accuracy": 0.5, "seconds": 1.0, "samples_per_second": 1000.0}]),
}


@pytest.mark.parametrize("damage", BAD_PARTS.values(), ids=BAD_PARTS.keys())
def test_each_bad_part_of_a_training_checkpoint_is_refused_before_anything_is_applied(
        trainer_file, tmp_path, target_trainer, damage):
    import chainrule.random
    path = tmp_path / "checkpoint.crt"
    put(path, trainer_file)
    tree = load_tree(path)
    tree["epoch"], tree["step"] = 1, 90  # parts that a successful load would surely change
    damage(tree)
    before = weights(target_trainer.model)
    state_before = (target_trainer.optimizer.state_dict()["param_groups"],
                    target_trainer.loader.state_dict(), target_trainer.epoch,
                    target_trainer.step, target_trainer.history,
                    chainrule.random.default_generator().bit_generator.state)
    with pytest.raises(CheckpointError, match=str(path)):
        target_trainer.load_state(tree, str(path))
    assert_untouched(target_trainer.model, before)
    assert state_before == (target_trainer.optimizer.state_dict()["param_groups"],
                            target_trainer.loader.state_dict(), target_trainer.epoch,
                            target_trainer.step, target_trainer.history,
                            chainrule.random.default_generator().bit_generator.state)


def test_a_failed_load_state_leaves_the_trainer_untouched(trainer_file, tmp_path,
                                                          target_trainer):
    path = tmp_path / "checkpoint.crt"
    put(path, trainer_file)
    tree = load_tree(path)
    tree["optimizer"] = {"param_groups": [], "state": []}
    before = weights(target_trainer.model)
    with pytest.raises(CheckpointError):
        target_trainer.load_state(tree, str(path))
    assert_untouched(target_trainer.model, before)


# -- mutation fuzzing ---------------------------------------------------------------------------

JSON_LEAVES = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
               | st.sampled_from([0, 1, 4, 8, 16, 512, 2**31, 2**63 - 1, 2**63, 2**64])
               | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8)
               | st.sampled_from(["float32", "float64", "int32", "bool", "object", "$array",
                                 "model/0.weight", "model/2.bias", "relu", "0.weight"]))
JSON_VALUES = st.recursive(JSON_LEAVES, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                           max_leaves=5)


def header_paths(value, prefix=()):
    """Every path to a value inside the header."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from header_paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from header_paths(item, prefix + (index,))


@st.composite
def mutations(draw, raw):
    kind = draw(st.sampled_from(["flip", "overwrite", "cut", "insert", "delete", "length",
                                 "header-field", "header-field"]))
    event(kind)
    size = len(raw)
    if kind == "flip":
        at = draw(st.integers(0, size - 1))
        return raw[:at] + bytes([raw[at] ^ (1 << draw(st.integers(0, 7)))]) + raw[at + 1:]
    if kind == "overwrite":
        at = draw(st.integers(0, size - 1))
        chunk = draw(st.binary(min_size=1, max_size=16))
        return raw[:at] + chunk + raw[at + len(chunk):]
    if kind == "cut":
        return raw[:draw(st.integers(0, size - 1))]
    if kind == "insert":
        at = draw(st.integers(0, size))
        return raw[:at] + draw(st.binary(min_size=1, max_size=16)) + raw[at:]
    if kind == "delete":
        at = draw(st.integers(0, size - 1))
        return raw[:at] + raw[at + draw(st.integers(1, 64)):]
    if kind == "length":
        return header_length(draw(st.integers(0, 2**64 - 1)))(raw)
    magic, header, data = split(raw)
    path = draw(st.sampled_from([p for p in header_paths(header) if p]))
    parent = header
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = draw(JSON_VALUES)
    return rebuild(magic, header, data)


def check_mutated_file(raw, tmp_path_factory, data):
    path = tmp_path_factory.getbasetemp() / "mutant.crt"
    put(path, data.draw(mutations(raw)))
    target = fresh_model(7)
    try:
        model = load_everywhere(path, target)
    except ChainruleError:
        event("refused")
        return
    # Only a mutation that leaves the bytes as they were (or a header edit with its checksum
    # recomputed) loads: the weights load into a model of the right shapes, and into the
    # target alike.
    event("loaded")
    for (name, a), b in zip(model.state_dict().items(), target.state_dict().values()):
        assert a.shape == b.shape and np.array_equal(a, b, equal_nan=True), name


FUZZ = dict(deadline=None, derandomize=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                   HealthCheck.function_scoped_fixture])


@settings(max_examples=300, **FUZZ)
@given(data=st.data())
def test_mutated_model_files_load_or_raise_our_error(model_file, tmp_path_factory, data):
    check_mutated_file(model_file, tmp_path_factory, data)


@pytest.mark.slow
@settings(max_examples=10_000, **FUZZ)
@given(data=st.data())
def test_10000_mutated_model_files_load_or_raise_our_error(model_file, tmp_path_factory, data):
    check_mutated_file(model_file, tmp_path_factory, data)
