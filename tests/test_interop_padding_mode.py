"""Convolutions with a padding mode other than zeros cross between PyTorch and chainrule with
their mode, and give the same numbers on both sides; so does CosineSimilarity, whose two
inputs keep it out of the Sequential cases."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.interop import from_torch, to_torch

torch = pytest.importorskip("torch")

CASES = [("Conv1d", (2, 3, 3), {"padding": 2, "padding_mode": "circular"}, (2, 2, 7)),
         ("Conv2d", (2, 3, 3), {"padding": 1, "padding_mode": "reflect"}, (2, 2, 5, 6)),
         ("Conv2d", (2, 4, 3), {"padding": "same", "padding_mode": "replicate"}, (1, 2, 5, 5)),
         ("Conv3d", (1, 2, 2), {"padding": 1, "padding_mode": "circular"}, (1, 1, 3, 4, 4))]


@pytest.mark.parametrize("name, args, kwargs, shape", CASES)
def test_padding_mode_crosses_both_ways(name, args, kwargs, shape):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(*args, **kwargs).double()
    x = np.random.default_rng(1).normal(size=shape)
    ours = from_torch(theirs)
    assert ours.padding_mode == kwargs["padding_mode"]
    expected = theirs(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(ours(cr.tensor(x)).detach().numpy(), expected, rtol=1e-12)
    back = to_torch(ours)
    assert back.padding_mode == kwargs["padding_mode"]
    np.testing.assert_allclose(back(torch.tensor(x)).detach().numpy(), expected, rtol=1e-12)


def test_cosine_similarity_crosses_both_ways():
    theirs = torch.nn.CosineSimilarity(dim=0, eps=1e-3)
    ours = from_torch(theirs)
    assert (ours.dim, ours.eps) == (0, 1e-3)
    a, b = np.random.default_rng(2).normal(size=(2, 4, 3))
    expected = theirs(torch.tensor(a), torch.tensor(b)).numpy()
    np.testing.assert_allclose(ours(cr.tensor(a), cr.tensor(b)).numpy(), expected, rtol=1e-12)
    back = to_torch(ours)
    assert (back.dim, back.eps) == (0, 1e-3)
