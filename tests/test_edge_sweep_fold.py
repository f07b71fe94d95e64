"""F.unfold / F.fold, nn.Unfold / nn.Fold and F.cosine_similarity off the happy path, against
PyTorch through tests/torch_cases.py's checks (values, dtypes, every leaf's gradient on float64
and float32, central differences to first and second order): options as ints, tuples and lists,
unbatched inputs, overlapping blocks summed on fan-out graphs and views, edge values, bool
tensors (PyTorch's im2col and col2im take them; fold ORs the overlaps), and the refusals."""
import numpy as np
import pytest

import chainrule as cr
from torch_cases import Case, E, F, K


def _unfold(M):
    return M.nn.functional.unfold


def _fold(M):
    return M.nn.functional.fold


def _cos(M):
    return M.nn.functional.cosine_similarity


BOOL_IMAGE = np.random.default_rng(0).random((2, 2, 4, 5)) > 0.5
BOOL_COLUMNS = np.random.default_rng(1).random((8, 6)) > 0.7

CASES = [
    # options as lists, and each option different in height and width
    Case("unfold", lambda M, x: (_unfold(M)(x, [2, 3], dilation=[1, 2], padding=[0, 2],
                                            stride=[2, 1]),
                                 _unfold(M)(x[0], kernel_size=(3, 1), stride=(1, 3))),
         [F(2, 3, 5, 6)]),
    # fan-out: the input feeds two unfolds and a product with their fold
    Case("unfold", lambda M, x: _fold(M)(_unfold(M)(x, 2, stride=1), (4, 5), 2) * x
         + _unfold(M)(x.transpose(2, 3), (2, 1), padding=1).sum(), [F(1, 2, 4, 5)]),
    # padding wider than the image and dilation that skips it
    Case("unfold", lambda M, x: _unfold(M)(x, 2, dilation=3, padding=3), [F(1, 1, 2, 2)]),
    Case("unfold", lambda M, x: _unfold(M)(x, (1, 2), padding=(2, 1)), [E(2, 3, 4)]),
    # fold: unbatched, options as lists, the overlaps summed; a view of columns
    Case("fold", lambda M, c: (_fold(M)(c, [4, 4], [2, 2], dilation=[2, 1], padding=[0, 0]),
                               _fold(M)(c.t().t() * c, (3, 5), 2, stride=2, padding=1)),
         [F(8, 6)]),
    Case("fold", lambda M, c: _fold(M)(c[:, :, ::2], (3, 4), 2, stride=(1, 2)) * 2
         + _fold(M)(c[:, :, 1::2], (3, 4), 2, stride=(1, 2)), [F(2, 8, 8)]),
    Case("fold", lambda M, c: _fold(M)(c, (3, 3), 2, dilation=(2, 1), stride=(1, 1)),
         [E(1, 4, 2)]),
    Case("fold", lambda M, c: _fold(M)(c, (3, 3), 2), [F(0, 8, 4)]),
    # bool: im2col reads, col2im ORs the overlaps
    Case("unfold", lambda M, x: (_unfold(M)(x, 2, padding=1, stride=(1, 2)), _unfold(M)(x[0], 3)),
         [K(BOOL_IMAGE)]),
    Case("fold", lambda M, c: (_fold(M)(c, (3, 4), 2), _fold(M)(c, (3, 5), (2, 1),
                                                                 stride=(1, 2))),
         [K(BOOL_COLUMNS)]),
    # cosine_similarity: zero vectors (the clamped norm's gradient), eps, broadcasting, dims
    Case("cosine_similarity", lambda M, a, b: _cos(M)(a, b, dim=0, eps=0.3), [F(3, 4), F(1, 4)]),
    # A zero vector: its norm's second derivative is NaN in PyTorch (its norm_backward's 0/0),
    # and chainrule's is PyTorch's, so no second-order check by central differences here.
    Case("cosine_similarity", lambda M, a, b: _cos(M)(a * 0, b, dim=-1), [F(3, 4), F(1, 4)],
         twice=False),
    Case("cosine_similarity", lambda M, a, b: _cos(M)(a.t(), b.t() + a.t(), 0) * _cos(M)(a, b),
         [F(3, 4), F(3, 4)]),
    Case("cosine_similarity", lambda M, a, b: (_cos(M)(a, b, dim=-1), _cos(M)(b, a * 1e300)),
         [E(5, 3), E(5, 3)]),
]
# Norms below eps: the value divides by eps but the gradient is the norm's (PyTorch's clamp
# under no_grad), so it is not the value's derivative: compared with PyTorch only.
CLAMPED = [
    Case("cosine_similarity", lambda M, a, b: M.nn.CosineSimilarity(-2, 1e-3)(a, b * 1e-4),
         [F(2, 3, 4), F(3, 1)]),
]
CASES += CLAMPED
REFUSALS = [
    Case("unfold", lambda M, x: _unfold(M)(x, (2, 2, 2)), [F(1, 1, 3, 3)]),
    Case("unfold", lambda M, x: _unfold(M)(x, 2, padding=-1), [F(1, 1, 3, 3)]),
    Case("unfold", lambda M, x: _unfold(M)(x, 2, dilation=0), [F(1, 1, 3, 3)]),
    Case("unfold", lambda M, x: _unfold(M)(x, 2), [F(1, 0, 3, 3)]),
    Case("unfold", lambda M, x: _unfold(M)(x, 2), [K(np.ones((1, 1, 3, 3), dtype=np.int32))]),
    Case("fold", lambda M, c: _fold(M)(c, (3, 3), 2), [F(1, 1, 4, 4)]),
    Case("fold", lambda M, c: _fold(M)(c, (3, 3), 2, padding=1), [F(1, 4, 4)]),
    Case("fold", lambda M, c: _fold(M)(c, (0, 3), 2), [F(1, 4, 2)]),
    Case("fold", lambda M, c: _fold(M)(c, (3, 3), 2), [F(1, 4, 0)]),
    Case("fold", lambda M, c: _fold(M)(c, (3, 3), 2), [K(np.ones((4, 4), dtype=np.int64))]),
]
CASES += REFUSALS
for _i, _case in enumerate(CASES):
    _case.id = f"{_case.name}-{_i}"

torch = pytest.importorskip("torch")
import test_torch_ops as checks  # noqa: E402  (imports torch)


SMOOTH = [c for c in CASES if not c.edges and c not in REFUSALS + CLAMPED]

test_matches_pytorch, test_gradient_matches_central_differences, \
    test_second_derivative_matches_central_differences = checks.table_tests(
        CASES, SMOOTH, runs=[c for c in CASES if c not in REFUSALS])


def test_bool_fold_ors_the_overlaps_and_keeps_the_dtype():
    columns = np.zeros((1, 4, 4), dtype=bool)
    columns[0, 3, 0] = True  # the bottom-right of the first block: pixel (1, 1)
    ours = cr.nn.functional.fold(cr.tensor(columns), (3, 3), 2)
    theirs = torch.nn.functional.fold(torch.tensor(columns), (3, 3), 2)
    assert ours.dtype == np.bool_ and theirs.dtype == torch.bool
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert ours.numpy().sum() == 1 and ours.numpy()[0, 0, 1, 1]
    with pytest.raises(cr.DtypeError, match="fold: needs a floating-point or bool tensor"):
        cr.nn.functional.fold(cr.ones(1, 4, 4, dtype=cr.int64), (3, 3), 2)


def test_layers_print_and_run_as_pytorchs():
    x = np.random.default_rng(2).normal(size=(2, 3, 5, 4))
    for options in (dict(kernel_size=(2, 3), padding=[1, 0]), dict(kernel_size=2, stride=2,
                                                                    dilation=1, padding=1)):
        ours, theirs = cr.nn.Unfold(**options), torch.nn.Unfold(**options)
        assert repr(ours) == repr(theirs)
        columns = ours(cr.tensor(x))
        np.testing.assert_array_equal(columns.numpy(), theirs(torch.tensor(x)).numpy())
        back, reference = cr.nn.Fold((5, 4), **options), torch.nn.Fold((5, 4), **options)
        assert repr(back) == repr(reference)
        np.testing.assert_allclose(back(columns).numpy(),
                                   reference(torch.tensor(columns.numpy())).numpy(), rtol=1e-14)
