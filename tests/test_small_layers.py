"""PyTorch's smaller layers and functions: F.hardshrink / F.softshrink (nn.Hardshrink,
nn.Softshrink, Tensor.hardshrink), F.adaptive_avg_pool1d (nn.AdaptiveAvgPool1d), nn.Softmax2d,
the deterministic side of F.dropout1d / dropout3d / alpha_dropout / feature_alpha_dropout
(evaluation mode, p = 0 and p = 1; their random side is in tests/test_small_dropout.py),
F.bilinear (nn.Bilinear), F.channel_shuffle, F.local_response_norm, F.pdist and F.rrelu in
evaluation mode and with lower = upper (the random side of rrelu and F.gumbel_softmax is in
tests/test_small_random.py), run through the checks of tests/torch_cases.py's table
(test_torch_ops.py): values, dtypes, every leaf's gradient against PyTorch on float64 and
float32, and float64 central differences to first and second order. Fan-out, non-contiguous
views, edge values (0, -0, +-1 = +-lambd, inf, nan) and empty tensors are among the cases; a
case PyTorch refuses must be refused here too (test_torch_ops._run)."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from torch_cases import N_EDGES, Case, E, F, K


def _f(M):
    return M.nn.functional


CASES = [
    # hardshrink: the default lambd, the method and cr./torch. names, fan-out through a view,
    # a transposed (non-contiguous) input, empty input, a negative lambd (nothing shrinks)
    Case("hardshrink", lambda M, x: (_f(M).hardshrink(x), x.hardshrink(0.3),
                                     M.hardshrink(x, lambd=1.2)), [F(3, 4)]),
    Case("hardshrink", lambda M, x: _f(M).hardshrink(x) * x + _f(M).hardshrink(x[::2], 1.0).sum(),
         [F(7)]),
    Case("hardshrink", lambda M, x: (_f(M).hardshrink(x.t(), 0.8), M.nn.Hardshrink(0.25)(x)),
         [F(3, 4)]),
    Case("hardshrink", lambda M, x: (_f(M).hardshrink(x), _f(M).hardshrink(x, -1.0)), [F(0, 3)]),
    Case("hardshrink", lambda M, x: _f(M).hardshrink(x, -0.5), [F(5)]),
    # at the edges: lambd 1 and 3 are among the edge values (exactly on the band's ends), and
    # 0.5 the default
    Case("hardshrink", lambda M, x: (_f(M).hardshrink(x), _f(M).hardshrink(x, 1.0),
                                     _f(M).hardshrink(x, 3.0), _f(M).hardshrink(x, 0.0)),
         [E(N_EDGES)]),
    Case("softshrink", lambda M, x: (_f(M).softshrink(x), _f(M).softshrink(x, lambd=0.3)),
         [F(3, 4)]),
    Case("softshrink", lambda M, x: _f(M).softshrink(x) * x + _f(M).softshrink(x[1::2], 1.0).sum(),
         [F(7)]),
    Case("softshrink", lambda M, x: (_f(M).softshrink(x.t(), 0.8), M.nn.Softshrink(0.25)(x),
                                     _f(M).softshrink(x, 0)), [F(3, 4)]),
    Case("softshrink", lambda M, x: _f(M).softshrink(x, 2.0), [F(0, 3)]),
    # (PyTorch's zeros inside the band are +0 from its vectorised loop, -0 from its scalar tail
    # for negative x; chainrule's are +0, so their signs are not compared.)
    Case("softshrink", lambda M, x: (_f(M).softshrink(x), _f(M).softshrink(x, 1.0),
                                     _f(M).softshrink(x, 3.0), _f(M).softshrink(x, 0.0)),
         [E(N_EDGES)], zero_signs=False),
    # adaptive_avg_pool1d: sizes that divide L, that do not (overlapping windows), larger than
    # L, L itself, one window; a strided view, fan-out, unbatched and transposed input
    Case("adaptive_avg_pool1d", lambda M, x: (_f(M).adaptive_avg_pool1d(x, 3),
                                              _f(M).adaptive_avg_pool1d(x, 2),
                                              _f(M).adaptive_avg_pool1d(x, 7),
                                              _f(M).adaptive_avg_pool1d(x, 9),
                                              _f(M).adaptive_avg_pool1d(x, (4,)),
                                              _f(M).adaptive_avg_pool1d(x, 1)), [F(2, 3, 7)]),
    Case("adaptive_avg_pool1d", lambda M, x: (_f(M).adaptive_avg_pool1d(x[:, :, ::2], 3)
                                              * x[:, :, :3]
                                              + M.nn.AdaptiveAvgPool1d(5)(x)[:, :, :3]),
         [F(2, 3, 11)]),
    Case("adaptive_avg_pool1d", lambda M, x: (_f(M).adaptive_avg_pool1d(x, 3),
                                              _f(M).adaptive_avg_pool1d(x.t(), 2)), [F(4, 5)]),
    # (PyTorch's window sums start from +0, so a window of -0s gives +0; chainrule's -0.)
    Case("adaptive_avg_pool1d", lambda M, x: (_f(M).adaptive_avg_pool1d(x.reshape(1, 9, 4), 3),
                                              _f(M).adaptive_avg_pool1d(x, 1)),
         [E(9, 4, layout="rows")], zero_signs=False),
    Case("adaptive_avg_pool1d", lambda M, x: _f(M).adaptive_avg_pool1d(x, 2), [F(0, 3, 5)]),
    # An empty output: PyTorch's backward refuses it, so only the values are compared.
    Case("adaptive_avg_pool1d", lambda M, x: _f(M).adaptive_avg_pool1d(x.detach(), 2),
         [F(2, 0, 5)]),
    Case("adaptive_avg_pool1d", lambda M, x: _f(M).adaptive_avg_pool1d(x.detach(), 0),
         [F(2, 3, 5)]),
    # Softmax2d: over dimension -3, batched and not, through a view, with fan-out, at the edges
    Case("Softmax2d", lambda M, x: (M.nn.Softmax2d()(x), M.nn.Softmax2d()(x[0]) * x[1]),
         [F(2, 3, 4, 5)]),
    Case("Softmax2d", lambda M, x: M.nn.Softmax2d()(x.transpose(2, 3)), [F(2, 3, 4, 5)]),
    Case("Softmax2d", lambda M, x: M.nn.Softmax2d()(x.reshape(5, 3, 1)), [E(N_EDGES)],
         covers=("exp",)),
    Case("Softmax2d", lambda M, x: M.nn.Softmax2d()(x), [F(0, 3, 2, 2)]),
    # The dropouts' deterministic forms: evaluation mode (the input itself), p = 0, and p = 1
    # in training (zeros, with a zero gradient); unbatched inputs too
    Case("dropout1d", lambda M, x: (_f(M).dropout1d(x, 0.5, False) * 1, _f(M).dropout1d(x, 0.0),
                                    _f(M).dropout1d(x, 1.0), _f(M).dropout1d(x[0], 1.0),
                                    M.nn.Dropout1d(0.3).eval()(x.transpose(1, 2)) * 1),
         [F(2, 3, 4)]),
    Case("dropout3d", lambda M, x: (_f(M).dropout3d(x, 0.5, False) * 1, _f(M).dropout3d(x, 0.0),
                                    _f(M).dropout3d(x, 1.0), _f(M).dropout3d(x[0], 1.0),
                                    M.nn.Dropout3d(0.3).eval()(x) * x),
         [F(2, 3, 2, 2, 2)]),
    Case("alpha_dropout", lambda M, x: (_f(M).alpha_dropout(x, 0.5) * 1,
                                        _f(M).alpha_dropout(x, 0.0, True) * 1,
                                        _f(M).alpha_dropout(x, 1.0, True),
                                        M.nn.AlphaDropout(0.3).eval()(x.t()) * x.t()),
         [F(3, 4)]),
    Case("feature_alpha_dropout", lambda M, x: (_f(M).feature_alpha_dropout(x, 0.5) * 1,
                                                _f(M).feature_alpha_dropout(x, 1.0, True),
                                                M.nn.FeatureAlphaDropout(0.3).eval()(x) * 1),
         [F(2, 3, 4)]),
    Case("dropout1d", lambda M, x: (_f(M).dropout1d(x, 1.0), _f(M).alpha_dropout(x, 1.0, True),
                                    _f(M).feature_alpha_dropout(x, 1.0, True)),
         [E(N_EDGES, 1)]),
    Case("dropout3d", lambda M, x: (_f(M).dropout3d(x, 0.4), _f(M).alpha_dropout(x, 0.4, True)),
         [F(0, 3, 2, 2, 2)]),
    # bilinear: with and without a bias, 1-D and 3-D inputs, one input twice (fan-out),
    # transposed views, an empty batch, edge values in one input
    Case("bilinear", lambda M, a, b, w, c: (_f(M).bilinear(a, b, w, c), _f(M).bilinear(a, b, w),
                                            _f(M).bilinear(a[0], b[1], w, c)),
         [F(2, 3), F(2, 4), F(5, 3, 4), F(5)]),
    Case("bilinear", lambda M, a, w: _f(M).bilinear(a, a, w) * a[:, :1] + _f(M).bilinear(
        a.t().t().flip(1), a, w.transpose(1, 2)), [F(4, 3), F(2, 3, 3)]),
    Case("bilinear", lambda M, a, b, w: _f(M).bilinear(a.transpose(0, 1), b, w),
         [F(2, 3, 4), F(3, 2, 5), F(2, 4, 5)]),
    Case("bilinear", lambda M, a, b, w, c: _f(M).bilinear(a, b, w, c),
         [F(0, 3), F(0, 4), F(5, 3, 4), F(5)]),
    Case("bilinear", lambda M, a, b, w: _f(M).bilinear(a.reshape(5, 3), b, w),
         [E(15), F(5, 2, low=0.5), F(1, 3, 2, low=0.5)], zero_signs=False),
    # channel_shuffle: several group counts, integers, views, empty, edges
    Case("channel_shuffle", lambda M, x: (_f(M).channel_shuffle(x, 3), _f(M).channel_shuffle(x, 2),
                                          _f(M).channel_shuffle(x, 1), M.nn.ChannelShuffle(6)(x),
                                          _f(M).channel_shuffle(x.transpose(0, 2), 1)),
         [F(2, 6, 3)]),
    Case("channel_shuffle", lambda M, x: _f(M).channel_shuffle(x[:, ::2], 2) * x[:, :4],
         [F(2, 8, 2, 2)]),
    Case("channel_shuffle", lambda M, x: _f(M).channel_shuffle(x, 2),
         [K(np.arange(24).reshape(2, 4, 3))]),
    Case("channel_shuffle", lambda M, x: (_f(M).channel_shuffle(x, 2),
                                          _f(M).channel_shuffle(x[:, :, :0], 2)), [F(0, 4, 3)]),
    Case("channel_shuffle", lambda M, x: _f(M).channel_shuffle(x.reshape(1, 15, 1), 5),
         [E(N_EDGES)]),
    # local_response_norm: odd and even sizes, size 1 and larger than C, 3-, 4- and 5-D, every
    # option, a transposed view, fan-out, empty, edges
    Case("local_response_norm", lambda M, x: (_f(M).local_response_norm(x, 3),
                                              _f(M).local_response_norm(x, 2, 0.5, 0.6, 2.0),
                                              _f(M).local_response_norm(x, 1, alpha=1.0),
                                              _f(M).local_response_norm(x, 9, k=0.5, beta=1.2)),
         [F(2, 6, 3)]),
    Case("local_response_norm", lambda M, x: (M.nn.LocalResponseNorm(4, 0.3)(x),
                                              _f(M).local_response_norm(x.transpose(2, 3), 3) * x),
         [F(2, 5, 3, 3)]),
    Case("local_response_norm", lambda M, x: _f(M).local_response_norm(x, 3, 1.0),
         [F(1, 4, 2, 2, 2)]),
    Case("local_response_norm", lambda M, x: _f(M).local_response_norm(x, 3), [F(0, 4, 2)]),
    Case("local_response_norm", lambda M, x: _f(M).local_response_norm(x.reshape(1, 15, 1), 3,
                                                                       0.5),
         [E(N_EDGES)], zero_signs=False),
    # pdist: p = 2, 1, 0.5, 3, inf and 0; a transposed view, fan-out, 0 and 1 rows, no columns
    Case("pdist", lambda M, x: (_f(M).pdist(x), _f(M).pdist(x, 1), _f(M).pdist(x, 0.5),
                                _f(M).pdist(x, 3), _f(M).pdist(x, float("inf")),
                                _f(M).pdist(x, 0)), [F(5, 3)]),
    Case("pdist", lambda M, x: (_f(M).pdist(x.t()) * _f(M).pdist(x[:2].t(), 1.5).sum()),
         [F(3, 5)]),
    Case("pdist", lambda M, x: (_f(M).pdist(x.reshape(5, 3)), _f(M).pdist(x.reshape(5, 3), 1),
                                _f(M).pdist(x.reshape(5, 3), float("inf"))), [E(N_EDGES)]),
    # (PyTorch's backward crashes on an empty result: values only.)
    Case("pdist", lambda M, x: (_f(M).pdist(x.detach()), _f(M).pdist(x[:1].detach())),
         [F(0, 3)]),
    Case("pdist", lambda M, x: (_f(M).pdist(x[:1].detach()), _f(M).pdist(x[:, :0].detach())),
         [F(3, 2)]),
    # rrelu in evaluation mode (leaky ReLU with slope (lower + upper) / 2) and in training with
    # lower = upper (no randomness left): values, gradients, edges, views, fan-out, modules
    Case("rrelu", lambda M, x: (_f(M).rrelu(x), _f(M).rrelu(x, 0.1, 0.3),
                                _f(M).rrelu(x, 0.2, 0.2, True), M.nn.RReLU(0.05, 0.5).eval()(x)),
         [F(3, 4)]),
    Case("rrelu", lambda M, x: _f(M).rrelu(x.t(), 0.3, 0.3, True) * x.t()
         + _f(M).rrelu(x[::2]).sum(), [F(4, 3)]),
    Case("rrelu", lambda M, x: (_f(M).rrelu(x), _f(M).rrelu(x, 0.25, 0.25, training=True),
                                _f(M).rrelu(x, 0.0, 0.0, True)), [E(N_EDGES)]),
    Case("rrelu", lambda M, x: (_f(M).rrelu(x), _f(M).rrelu(x, 0.3, 0.3, True)), [F(0, 2)]),
]
# Refusals, which PyTorch makes too.
REFUSALS = [
    Case("softshrink", lambda M, x: _f(M).softshrink(x, -0.5), [F(3)]),
    Case("hardshrink", lambda M, x: _f(M).hardshrink(x), [K([1, 2])]),
    Case("softshrink", lambda M, x: _f(M).softshrink(x), [K([1, 2])]),
    Case("hardshrink", lambda M, x: _f(M).hardshrink(x), [K([True, False])]),
    # adaptive_avg_pool1d: 1-D or 4-D input, two sizes, a negative or missing size, an empty L,
    # integers
    Case("adaptive_avg_pool1d", lambda M, x: _f(M).adaptive_avg_pool1d(x, 2), [F(5)]),
    Case("adaptive_avg_pool1d", lambda M, x: _f(M).adaptive_avg_pool1d(x, 2), [F(1, 2, 3, 4)]),
    Case("adaptive_avg_pool1d", lambda M, x: _f(M).adaptive_avg_pool1d(x, (2, 2)), [F(2, 3, 4)]),
    Case("adaptive_avg_pool1d", lambda M, x: _f(M).adaptive_avg_pool1d(x, -1), [F(2, 3, 4)]),
    Case("adaptive_avg_pool1d", lambda M, x: _f(M).adaptive_avg_pool1d(x, None), [F(2, 3, 4)]),
    Case("adaptive_avg_pool1d", lambda M, x: _f(M).adaptive_avg_pool1d(x, 2), [F(2, 3, 0)]),
    Case("adaptive_avg_pool1d", lambda M, x: _f(M).adaptive_avg_pool1d(x, 2), [K([[[1, 2, 3]]])]),
    # Softmax2d on 2-D or 5-D input; dropout1d on 1-D or 4-D input, even in evaluation mode;
    # p outside [0, 1]; feature dropout of a 1-D input; integer input
    Case("Softmax2d", lambda M, x: M.nn.Softmax2d()(x), [F(3, 4)]),
    Case("Softmax2d", lambda M, x: M.nn.Softmax2d()(x), [F(1, 2, 3, 4, 5)]),
    Case("dropout1d", lambda M, x: _f(M).dropout1d(x, 0.5, False), [F(4)]),
    Case("dropout1d", lambda M, x: _f(M).dropout1d(x, 0.5), [F(1, 2, 3, 4)]),
    Case("dropout1d", lambda M, x: _f(M).dropout1d(x, 1.5), [F(2, 3)]),
    Case("dropout3d", lambda M, x: _f(M).dropout3d(x, -0.1), [F(2, 3, 2, 2)]),
    Case("alpha_dropout", lambda M, x: _f(M).alpha_dropout(x, 1.1), [F(2, 3)]),
    Case("feature_alpha_dropout", lambda M, x: _f(M).feature_alpha_dropout(x, 2.0), [F(2, 3)]),
    Case("feature_alpha_dropout", lambda M, x: _f(M).feature_alpha_dropout(x, 0.5, True), [F(4)]),
    Case("alpha_dropout", lambda M, x: _f(M).alpha_dropout(x, 0.5, True), [K([1, 2, 3])]),
    Case("dropout1d", lambda M: M.nn.Dropout1d(1.5), []),
    Case("alpha_dropout", lambda M: M.nn.AlphaDropout(-1), []),
    # bilinear: batch dimensions or ranks that differ, a misshapen weight or bias
    Case("bilinear", lambda M, a, b, w: _f(M).bilinear(a, b, w), [F(2, 3), F(3, 4), F(5, 3, 4)]),
    Case("bilinear", lambda M, a, b, w: _f(M).bilinear(a, b, w), [F(2, 3), F(4), F(5, 3, 4)]),
    Case("bilinear", lambda M, a, b, w: _f(M).bilinear(a, b, w), [F(2, 2), F(2, 4), F(5, 3, 4)]),
    Case("bilinear", lambda M, a, b, w: _f(M).bilinear(a, b, w), [F(2, 3), F(2, 4), F(3, 4)]),
    Case("bilinear", lambda M, a, b, w, c: _f(M).bilinear(a, b, w, c),
         [F(2, 3), F(2, 4), F(5, 3, 4), F(4)]),
    Case("bilinear", lambda M, a, b, w: _f(M).bilinear(a, b, w), [F(1, 3), F(2, 4), F(5, 3, 4)]),
    # channel_shuffle: 2-D input, groups 0 or negative, channels not divisible
    Case("channel_shuffle", lambda M, x: _f(M).channel_shuffle(x, 2), [F(2, 4)]),
    Case("channel_shuffle", lambda M, x: _f(M).channel_shuffle(x, 0), [F(2, 4, 3)]),
    Case("channel_shuffle", lambda M, x: _f(M).channel_shuffle(x, -2), [F(2, 4, 3)]),
    Case("channel_shuffle", lambda M, x: _f(M).channel_shuffle(x, 2), [F(2, 5, 3)]),
    # local_response_norm: 2-D input, size 0; pdist: 3-D input, negative p, integers;
    # rrelu: lower > upper (even in evaluation), integers
    Case("local_response_norm", lambda M, x: _f(M).local_response_norm(x, 2), [F(2, 3)]),
    Case("local_response_norm", lambda M, x: _f(M).local_response_norm(x, 0), [F(2, 3, 4)]),
    Case("pdist", lambda M, x: _f(M).pdist(x), [F(2, 3, 4)]),
    Case("pdist", lambda M, x: _f(M).pdist(x, -1), [F(3, 4)]),
    Case("pdist", lambda M, x: _f(M).pdist(x), [K([[1, 2], [3, 4]])]),
    Case("rrelu", lambda M, x: _f(M).rrelu(x, 0.5, 0.2), [F(3)]),
    Case("rrelu", lambda M, x: _f(M).rrelu(x, 0.5, 0.2, True), [F(3)]),
    Case("rrelu", lambda M, x: _f(M).rrelu(x, training=True), [K([-1, 2])]),
]
CASES += REFUSALS
for _i, _case in enumerate(CASES):
    _case.id = f"{_case.name}-{_i}"

torch = pytest.importorskip("torch")
import test_torch_ops as checks  # noqa: E402  (imports torch)


# Central differences mean nothing at inf or nan, nor where the call is refused.
SMOOTH = [c for c in CASES if not c.edges and c not in REFUSALS]

test_matches_pytorch, test_gradient_matches_central_differences, \
    test_second_derivative_matches_central_differences = checks.table_tests(
        CASES, SMOOTH, runs=[c for c in CASES if c not in REFUSALS])


# -- what the table cannot say ----------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_shrink_at_exactly_plus_minus_lambd_is_zero_with_zero_gradient(dtype):
    x = np.array([-0.5, 0.5, -0.25, 0.25, np.nextafter(0.5, 1), -np.nextafter(0.5, 1)], dtype)
    for name in ("hardshrink", "softshrink"):
        ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        getattr(cr.nn.functional, name)(ours).sum().backward()
        expected = getattr(torch.nn.functional, name)(theirs)
        expected.sum().backward()
        np.testing.assert_array_equal(getattr(cr.nn.functional, name)(ours).detach().numpy(),
                                      expected.detach().numpy())
        np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
        assert ours.grad.numpy()[:4].tolist() == [0, 0, 0, 0]


def test_shrink_errors_name_the_op_and_shape():
    with pytest.raises(ValueError, match=r"softshrink: lambda must be in \[0, .*\] for float32 "
                                         r"input of shape \(3,\), got -1"):
        cr.nn.functional.softshrink(cr.zeros(3), -1)
    with pytest.raises(cr.DtypeError, match=r"hardshrink: not implemented for int64 input of "
                                            r"shape \(2,\)"):
        cr.tensor([1, 2]).hardshrink()


@pytest.mark.parametrize("name, args", [("Hardshrink", ()), ("Hardshrink", (1,)),
                                        ("Softshrink", (0.3,)), ("Softshrink", ())])
def test_shrink_modules_print_and_save_as_pytorchs(name, args):
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    x = np.linspace(-2, 2, 9)
    np.testing.assert_allclose(ours(cr.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy())


def test_adaptive_avg_pool1d_windows_are_pytorchs_formula():
    # Window i of L = 10 into 4: [floor(10 i / 4), ceil(10 (i + 1) / 4)) = [0,3) [2,5) [5,8) [7,10)
    x = cr.arange(10.0).reshape(1, 1, 10)
    expected = [np.mean(range(0, 3)), np.mean(range(2, 5)), np.mean(range(5, 8)),
                np.mean(range(7, 10))]
    np.testing.assert_allclose(cr.nn.functional.adaptive_avg_pool1d(x, 4).numpy().ravel(),
                               expected, rtol=1e-6)


def test_adaptive_avg_pool1d_errors_name_the_op_and_shape():
    with pytest.raises(cr.ShapeError, match=r"adaptive_avg_pool1d: expected a 2-D \(C, L\) or "
                                            r"3-D \(N, C, L\) input, got shape \(5,\)"):
        cr.nn.functional.adaptive_avg_pool1d(cr.zeros(5), 2)
    with pytest.raises(cr.ArgumentError, match="adaptive_avg_pool1d: output_size must be one "
                                               "int, got \\(2, 2\\)"):
        cr.nn.functional.adaptive_avg_pool1d(cr.zeros(2, 3, 4), (2, 2))
    with pytest.raises(cr.ShapeError, match=r"adaptive_avg_pool1d: the pooled .* shape "
                                            r"\(2, 3, 0\)"):
        cr.nn.functional.adaptive_avg_pool1d(cr.zeros(2, 3, 0), 2)


@pytest.mark.parametrize("size", [3, (3,)])
def test_adaptive_avg_pool1d_module_prints_as_pytorchs(size):
    ours, theirs = nn.AdaptiveAvgPool1d(size), torch.nn.AdaptiveAvgPool1d(size)
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == []
    x = np.random.default_rng(0).normal(size=(2, 3, 8))
    np.testing.assert_allclose(ours(cr.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(),
                               rtol=1e-12)
