"""Fuzzing read_idx: mutated IDX files must give an array or IDXError, nothing else, quickly.

The default run tries a few hundred files per format; `pytest -m slow` tries 10,000 per format.
Show what was seen with --hypothesis-show-statistics.
"""

import gzip
import math
import re
import struct
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from chainrule.data import read_idx
from chainrule.errors import IDXError

TYPE_CODES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
TIME_LIMIT_SECONDS = 1.0


def encode(type_code, dims, values):
    header = bytes([0, 0, type_code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)
    return header + np.asarray(values, dtype=TYPE_CODES[type_code]).tobytes()


@st.composite
def valid_idx_files(draw):
    type_code = draw(st.sampled_from(sorted(TYPE_CODES)))
    dims = tuple(draw(st.lists(st.integers(0, 4), min_size=1, max_size=4)))
    size = math.prod(dims) * np.dtype(TYPE_CODES[type_code]).itemsize
    payload = draw(st.binary(min_size=size, max_size=size))
    values = np.frombuffer(payload, dtype=TYPE_CODES[type_code])
    return encode(type_code, dims, values)


positions = st.integers(0, 2**16)
dimension_sizes = st.one_of(
    st.integers(0, 8),
    st.sampled_from([2**16, 2**31 - 1, 2**31, 2**32 - 1]),
    st.integers(0, 2**32 - 1),
)
mutations = st.one_of(
    st.tuples(st.just("flip"), positions, st.integers(1, 255)),
    st.tuples(st.just("truncate"), positions),
    st.tuples(st.just("insert"), positions, st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), positions, st.integers(1, 16)),
    st.tuples(st.just("append"), st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("header byte"), st.integers(0, 3), st.integers(0, 255)),
    st.tuples(st.just("type code"), st.sampled_from(sorted(TYPE_CODES) + [0x00, 0x0A, 0xFF])),
    st.tuples(st.just("dimension count"), st.integers(0, 6)),
    st.tuples(st.just("dimension size"), st.integers(0, 5), dimension_sizes),
)


def mutate(data, mutation):
    data = bytearray(data)
    kind, *args = mutation
    at = args[0] % (len(data) + 1) if kind in ("flip", "truncate", "insert", "delete") else None
    if kind == "flip" and data:
        data[at % len(data)] ^= args[1]
    elif kind == "truncate":
        del data[at:]
    elif kind == "insert":
        data[at:at] = args[1]
    elif kind == "delete":
        del data[at : at + args[1]]
    elif kind == "append":
        data += args[0]
    elif kind == "header byte" and len(data) > args[0]:
        data[args[0]] = args[1]
    elif kind == "type code" and len(data) > 2:
        data[2] = args[0]
    elif kind == "dimension count" and len(data) > 3:
        data[3] = args[0]
    elif kind == "dimension size" and len(data) >= 8 + 4 * args[0]:
        data[4 + 4 * args[0] : 8 + 4 * args[0]] = struct.pack(">I", args[1])
    return bytes(data)


def read_within_limits(path, data):
    """read_idx on `data` must return an array or raise IDXError, within the time limit."""
    path.write_bytes(data)
    start = time.perf_counter()
    try:
        array = read_idx(path)
    except IDXError as error:
        reason = str(error).split(": ", 1)[1]
        reason = re.sub(r"\b0x[0-9a-f]+\b", "0x..", reason, flags=re.IGNORECASE)
        reason = re.sub(r"\b\d+(x\d+)*\b", "N", reason)
        outcome = f"IDXError: {reason[:48]}"
    else:
        outcome = "array"
        assert isinstance(array, np.ndarray)
    elapsed = time.perf_counter() - start
    assert elapsed < TIME_LIMIT_SECONDS, f"read_idx took {elapsed:.2f}s on {len(data)} bytes"
    event(outcome)
    return array if outcome == "array" else None


def check_plain(path, valid, mutation_list):
    data = valid
    for mutation in mutation_list:
        data = mutate(data, mutation)
    array = read_within_limits(path, data)
    if array is not None:
        # A plain IDX file has exactly one valid encoding, so what was read must re-encode to it.
        assert encode(data[2], array.shape, array) == data


def check_gzip(path, valid, before, after):
    # Mutations before compressing exercise the IDX checks behind gzip; after, the gzip ones.
    plain = valid
    for mutation in before:
        plain = mutate(plain, mutation)
    data = gzip.compress(plain, mtime=0)
    for mutation in after:
        data = mutate(data, mutation)
    array = read_within_limits(path, data)
    if array is not None:
        assert encode(gzip.decompress(data)[2], array.shape, array) == gzip.decompress(data)


def fuzz_settings(examples):
    return settings(
        max_examples=examples,
        deadline=None,  # timed inside, around read_idx alone
        database=None,  # keeps .hypothesis/ out of the working tree; failures print their seed
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


mutation_lists = st.lists(mutations, min_size=1, max_size=4)
optional_mutation_lists = st.lists(mutations, max_size=3)


@pytest.fixture(scope="module")
def fuzz_path(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz") / "mutated"


@fuzz_settings(300)
@given(valid=valid_idx_files(), mutation_list=mutation_lists)
def test_mutated_plain_files(fuzz_path, valid, mutation_list):
    check_plain(fuzz_path, valid, mutation_list)


@fuzz_settings(300)
@given(valid=valid_idx_files(), before=optional_mutation_lists, after=optional_mutation_lists)
def test_mutated_gzip_files(fuzz_path, valid, before, after):
    check_gzip(fuzz_path, valid, before, after)


@pytest.mark.slow
@fuzz_settings(10_000)
@given(valid=valid_idx_files(), mutation_list=mutation_lists)
def test_mutated_plain_files_at_length(fuzz_path, valid, mutation_list):
    check_plain(fuzz_path, valid, mutation_list)


@pytest.mark.slow
@fuzz_settings(10_000)
@given(valid=valid_idx_files(), before=optional_mutation_lists, after=optional_mutation_lists)
def test_mutated_gzip_files_at_length(fuzz_path, valid, before, after):
    check_gzip(fuzz_path, valid, before, after)
