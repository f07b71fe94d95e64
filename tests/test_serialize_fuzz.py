"""Mutated checkpoint files: loading either succeeds or raises CheckpointError, quickly.

Byte-level damage (flips, cuts, insertions, deletions, a rewritten header length) mostly breaks
the preamble or the JSON; header edits re-encode a header with one field replaced by arbitrary
JSON, so they reach the checks on dtypes, shapes, offsets and the tree's tags.
"""

import collections
import json
import re
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from chainrule.errors import CheckpointError
from chainrule.serialize import ALLOWED_DTYPES, load, load_tree, save, save_tree

SECONDS_PER_FILE = 1.0
SLOW_EXAMPLES = 10_000

SIZES = st.sampled_from([0, 1, 2, 3, 4, 7, 8, 16, 24, 2**31, 2**32, 2**40, 2**63 - 1, 2**63, 2**64])
SCALARS = (st.none() | st.booleans() | st.integers() | SIZES | st.integers(-3, 3)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=6)
           | st.sampled_from([*ALLOWED_DTYPES, "object", "|O", "<f4", "$array", "$int", "$float",
                              "$scalar", "nan", "0x10", "w", "model/w"]))
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["dtype", "shape", "offset", "nbytes", "$array", "$int",
                                       "$float", "$scalar", "$$x", "meta", "arrays", "w"])
                      | st.text(max_size=3), children, max_size=4),
    max_leaves=6,
)


@pytest.fixture(scope="module")
def valid_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bases")
    save(folder / "flat", {
        "w": np.arange(6, dtype=np.float32).reshape(2, 3),
        "scalar": np.array(7, dtype=np.int64),
        "empty": np.zeros((0, 4), dtype=np.uint16),
        "mask": np.array([True, False, True]),
        "half": np.ones(3, dtype=np.float16),
    }, meta={"epoch": 2, "name": "base"})
    save(folder / "empty", {})
    save_tree(folder / "tree", {
        "model": {"0.weight": np.ones((2, 2), np.float32), "0.bias": np.zeros(2, np.float32)},
        "optimizer": {"state": [{"step": np.int64(3), "exp_avg": np.full(2, 0.5)}],
                      "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999)}]},
        "epoch": 3, "rng": {"state": 2**100 + 5, "inc": -(2**70)},
        "history": [float("nan"), float("inf"), -float("inf")], "$key": "x",
    })
    return [(folder / name).read_bytes() for name in ("flat", "empty", "tree")]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("mutated")


def edit_header(data, draws):
    """Change one value somewhere in the header and re-encode it."""
    header_bytes = int.from_bytes(data[8:16], "little")
    header = json.loads(data[16:16 + header_bytes])
    root = {"root": header}
    parent, key = draws.draw(st.sampled_from(list(locations(root))))
    edit = draws.draw(st.sampled_from(["nudge", "replace", "delete", "copy"]))
    old = parent[key]
    if edit == "nudge" and type(old) is int:
        parent[key] = old + draws.draw(st.integers(-16, 16))
    elif edit == "delete" and key != "root":
        del parent[key]
    elif edit == "copy" and isinstance(parent, dict) and len(parent) > 1:
        parent[key] = parent[draws.draw(st.sampled_from(list(parent)))]  # e.g. another offset
    else:
        parent[key] = draws.draw(JSON_VALUES)
    raw = json.dumps(root["root"]).encode()
    length = header_bytes if draws.draw(st.integers(0, 7)) == 0 else len(raw)
    return data[:8] + length.to_bytes(8, "little") + raw + data[16 + header_bytes:]


def locations(node):
    """Every (container, key) pair in a JSON document, so an edit can land anywhere."""
    keys = node if isinstance(node, dict) else range(len(node))
    for key in keys:
        yield node, key
        if isinstance(node[key], (dict, list)):
            yield from locations(node[key])


def damage_bytes(data, draws):
    header_end = min(16 + int.from_bytes(data[8:16], "little"), len(data))
    start, stop = draws.draw(st.sampled_from([(16, header_end), (header_end, len(data)),
                                              (0, len(data)), (0, 16)]))
    low = min(start, len(data))
    place = draws.draw(st.integers(low, max(low, min(stop, len(data)) - 1)))
    kind = draws.draw(st.sampled_from(["flip", "cut", "insert", "delete", "length"]))
    if kind == "flip" and place < len(data):
        flipped = data[place] ^ draws.draw(st.integers(1, 255))
        return data[:place] + bytes([flipped]) + data[place + 1:]
    if kind == "cut":
        return data[:place]
    if kind == "insert":
        return data[:place] + draws.draw(st.binary(min_size=1, max_size=16)) + data[place:]
    if kind == "delete":
        return data[:place] + data[place + draws.draw(st.integers(1, 16)):]
    length = draws.draw(st.integers(0, 2**64 - 1) | st.integers(0, 2 * len(data)))
    return data[:8] + length.to_bytes(8, "little") + data[16:]


def mutate(data, draws):
    plan = draws.draw(st.sampled_from(["header", "bytes", "both"]))
    if plan != "bytes":
        data = edit_header(data, draws)
    if plan != "header":
        for _ in range(draws.draw(st.integers(1, 3))):
            data = damage_bytes(data, draws)
    return data


def check_mutation(path, valid_files, draws):
    data = mutate(draws.draw(st.sampled_from(valid_files)), draws)
    path.write_bytes(data)
    started = time.perf_counter()
    outcomes = []
    for reader in (load, load_tree):
        try:
            reader(path)
            outcomes.append(f"{reader.__name__}: loaded")
        except CheckpointError as err:  # anything else escapes and fails the test
            outcomes.append(f"{reader.__name__}: {kind_of_error(err, path)}")
    elapsed = time.perf_counter() - started
    assert elapsed < SECONDS_PER_FILE, f"{elapsed:.2f}s to read {len(data)} bytes: {data[:200]!r}"
    for outcome in outcomes:
        event(outcome)  # shown by --hypothesis-show-statistics
    return outcomes


def kind_of_error(err, path):
    """The message without the file name, numbers and quoted values, cut before any listing."""
    message = re.sub(r"'[^']*'|b'[^']*'|\d+", "_", str(err).replace(str(path), ""))
    return re.split(r"[\[{(]", message)[0][:60].strip()


FUZZ_SETTINGS = dict(deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(max_examples=300, **FUZZ_SETTINGS)
@given(draws=st.data())
def test_mutated_files_load_or_raise_checkpoint_error(scratch, valid_files, draws):
    check_mutation(scratch / "mutated.ckpt", valid_files, draws)


@pytest.mark.slow
def test_ten_thousand_mutated_files_load_or_raise_checkpoint_error(tmp_path, valid_files):
    checked = []
    outcomes = collections.Counter()

    @settings(max_examples=SLOW_EXAMPLES, **FUZZ_SETTINGS)
    @given(draws=st.data())
    def run(draws):
        outcomes.update(check_mutation(tmp_path / "mutated.ckpt", valid_files, draws))
        checked.append(1)

    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    # Hypothesis may run extra examples (shrinking, replays), never fewer than asked for.
    assert len(checked) >= SLOW_EXAMPLES, len(checked)
    print(f"\n{len(checked)} mutated files checked in {elapsed:.1f}s; {len(outcomes)} outcomes:")
    for outcome, count in outcomes.most_common():
        print(f"{count:6d}  {outcome}")
