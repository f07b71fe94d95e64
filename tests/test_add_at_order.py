"""The scatter-add behind every gradient of an index read (embedding, x[idx], gather) adds the
repeated rows in the order np.add.at and PyTorch's index_add_ do, bit for bit, whichever path
add_at takes (rows picked by one integer array take a faster one), and refuses an index out of
range as before."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.shape import add_at

CASES = {
    # name: (shape of the result, index, shape or value of the values, dtype)
    "embedding rows": ((65, 16), ("ints", 0, 65, (12, 64)), (12, 64, 16), np.float32),
    "negative rows": ((5, 3, 2), ("ints", -5, 5, (40,)), (40, 3, 2), np.float64),
    "a 1-tuple of rows": ((7, 3), ("tuple", 0, 7, (6, 5)), (6, 5, 3), np.float32),
    "uint8 rows": ((9, 4), ("uint8", 0, 9, (50,)), (50, 4), np.float32),
    "float16 rows": ((4, 8), ("ints", 0, 4, (300,)), (300, 8), np.float16),
    "values broadcast": ((6, 5), ("ints", 0, 6, (30,)), (5,), np.float64),
    "no rows": ((4, 2), ("ints", 0, 4, (0,)), (0, 2), np.float32),
    "a vector": ((10,), ("ints", 0, 10, (100,)), (100,), np.float32),
    "two index arrays": ((6, 5), ("pair", 0, 5, (20,)), (20,), np.float32),
}


def _case(name):
    shape, (kind, low, high, index_shape), values_shape, dtype = CASES[name]
    rng = np.random.default_rng(len(name))
    index = rng.integers(low, high, index_shape)
    if kind == "tuple":
        index = (index,)
    elif kind == "uint8":
        index = index.astype(np.uint8)
    elif kind == "pair":
        index = (index, rng.integers(low, high, index_shape))
    # Large and small magnitudes together, so that another order of the sums shows.
    spread = 2 if dtype == np.float16 else 4
    values = rng.standard_normal(values_shape) * 10.0 ** rng.integers(-spread, spread + 1,
                                                                      values_shape)
    return shape, index, values.astype(dtype)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_sums_are_add_at_bit_for_bit(name):
    shape, index, values = _case(name)
    expected = np.zeros(shape, values.dtype)
    np.add.at(expected, index, values)
    got = add_at(values, index=index, shape=shape)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got.view(np.uint8), expected.view(np.uint8))


@pytest.mark.parametrize("bad", [5, -6])
def test_an_index_out_of_range_is_refused(bad):
    with pytest.raises(IndexError, match="out of bounds"):
        add_at(np.ones((2, 3)), index=np.array([0, bad]), shape=(5, 3))


def test_embedding_gradient_is_pytorchs_bit_for_bit_on_fan_out_and_a_view():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    table = rng.standard_normal((65, 32)).astype(np.float32)
    tokens = rng.integers(0, 65, (12, 64))
    upstream = (rng.standard_normal((12, 64, 32)) * 10.0 ** rng.integers(-3, 4, (12, 64, 32)))
    upstream = upstream.astype(np.float32)

    def run(lib, tensor):
        weight = tensor(table.copy(), requires_grad=True)
        view = weight[1:]  # the table read through a view
        ids = tensor(tokens)
        out = lib.nn.functional.embedding(ids % 64, view) + \
            lib.nn.functional.embedding(ids, weight) * 0.5  # read twice: fan-out
        (out * tensor(upstream)).sum().backward()
        return weight.grad.numpy()

    ours = run(cr, cr.tensor)
    theirs = run(torch, torch.tensor)
    np.testing.assert_array_equal(ours.view(np.uint32), theirs.view(np.uint32))
