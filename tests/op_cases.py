"""The table of op cases: each runs an op on random float64 inputs of the given shapes.

``reference`` computes the same forward in plain NumPy; ``low``/``high`` bound the inputs (to
keep log/sqrt in their domain); ``twice`` says whether the op is twice differentiable at the
sampled points (piecewise-linear ops have a zero second derivative, still checked)."""
import math
from dataclasses import dataclass, field

import numpy as np

import chainrule as cr


@dataclass
class OpCase:
    name: str
    fn: object
    shapes: list
    reference: object = None
    low: float = -2.0
    high: float = 2.0
    twice: bool = True
    away_from: list = field(default_factory=list)  # keep inputs this far from kinks

    def inputs(self, seed=0, dtype="float64"):
        rng = np.random.default_rng(seed)
        arrays = []
        for shape in self.shapes:
            a = rng.uniform(self.low, self.high, size=shape)
            for kink in self.away_from:
                close = np.abs(a - kink) < 0.1
                a = np.where(close, kink + 0.3 * np.sign(a - kink + 1e-12), a)
            arrays.append(cr.tensor(a.astype(dtype), requires_grad=True))
        return arrays


def _lstm_cell(gates, c):
    from chainrule.ops.recurrent import lstm_cell
    return lstm_cell(gates, c)


def _lstm_cell_reference(gates, c):
    """PyTorch's LSTM cell written out: h' = o tanh(c'), c' = f c + i g; then the gates and
    tanh(c')."""
    i, f, g, o = np.split(gates, 4, axis=-1)
    i, f, o, g = (1 / (1 + np.exp(-i)), 1 / (1 + np.exp(-f)), 1 / (1 + np.exp(-o)), np.tanh(g))
    c_new = f * c + i * g
    return np.concatenate([o * np.tanh(c_new), c_new, i, f, g, o, np.tanh(c_new)], axis=-1)


def _unbroadcastable():
    return None


def _erfinv_by_bisection(x):
    """NumPy has no erfinv: y with math.erf(y) = x, found by halving [-6, 6] to the last bit."""
    def one(target):
        low, high = -6.0, 6.0
        for _ in range(80):
            middle = (low + high) / 2
            low, high = (middle, high) if math.erf(middle) < target else (low, middle)
        return (low + high) / 2
    return np.vectorize(one)(x)


LABELS = np.array([2, 0, 1, 2])

OP_CASES = [
    # elementwise, with broadcasting, 0-d and zero-size shapes
    OpCase("add", lambda a, b: a + b, [(3, 4), (4,)], np.add),
    OpCase("add", lambda a, b: a + b, [(), (2, 3)], np.add),
    OpCase("add", lambda a, b: a + b, [(0, 3), (3,)], np.add),
    OpCase("sub", lambda a, b: a - b, [(3, 1), (1, 4)], np.subtract),
    OpCase("mul", lambda a, b: a * b, [(3, 4), (1, 4)], np.multiply),
    OpCase("mul", lambda a, b: a * b, [(), ()], np.multiply),
    OpCase("div", lambda a, b: a / b, [(3, 4), (3, 1)], np.divide, low=0.5),
    OpCase("neg", lambda a: -a, [(2, 3)], np.negative),
    OpCase("pow", lambda a: a ** 3, [(2, 3)], lambda a: a ** 3),
    OpCase("pow", lambda a, b: a ** b, [(2, 3), (3,)], np.power, low=0.5),
    OpCase("pow", lambda a: 2.0 ** a, [(4,)], lambda a: 2.0 ** a),
    OpCase("exp", lambda a: a.exp(), [(3, 4)], np.exp),
    OpCase("exp", lambda a: cr.exp(a), [()], np.exp),
    OpCase("log", lambda a: a.log(), [(3, 4)], np.log, low=0.1),
    OpCase("erfinv", lambda a: a.erfinv(), [(3, 4)], _erfinv_by_bisection, low=-0.95,
           high=0.95),
    OpCase("sqrt", lambda a: a.sqrt(), [(3, 4)], np.sqrt, low=0.1),
    OpCase("abs", lambda a: abs(a), [(3, 4)], np.abs, away_from=[0.0]),
    OpCase("tanh", lambda a: a.tanh(), [(3, 4)], np.tanh),
    OpCase("relu", lambda a: a.relu(), [(3, 4)], lambda a: np.maximum(a, 0), away_from=[0.0]),
    OpCase("relu", lambda a: cr.relu(a), [(0, 2)], lambda a: np.maximum(a, 0)),
    OpCase("maximum", cr.maximum, [(3, 4), (4,)], np.maximum),
    OpCase("minimum", cr.minimum, [(3, 4), (3, 1)], np.minimum),
    OpCase("where", lambda a, b: cr.where(a > 0, a, b), [(3, 4), (4,)],
           lambda a, b: np.where(a > 0, a, b)),
    OpCase("clip", lambda a: a.clip(-1.0, 1.0), [(3, 4)], lambda a: np.clip(a, -1, 1),
           away_from=[-1.0, 1.0]),
    OpCase("clip", lambda a: cr.clip(a, low=0.5), [(5,)], lambda a: np.clip(a, 0.5, None),
           away_from=[0.5]),
    OpCase("sign", lambda a: cr.sign(a), [(3, 4)], np.sign, away_from=[0.0]),
    OpCase("astype", lambda a: a.astype("float64", copy=True), [(3,)], lambda a: a),
    # reductions
    OpCase("sum", lambda a: a.sum(), [(3, 4)], np.sum),
    OpCase("sum", lambda a: a.sum(axis=0), [(3, 4)], lambda a: a.sum(axis=0)),
    OpCase("sum", lambda a: a.sum(axis=(0, 2), keepdims=True), [(2, 3, 4)],
           lambda a: a.sum(axis=(0, 2), keepdims=True)),
    OpCase("sum", lambda a: a.sum(axis=1), [(3, 0)], lambda a: a.sum(axis=1)),
    OpCase("sum", lambda a: a.sum(), [()], np.sum),
    OpCase("mean", lambda a: a.mean(axis=-1), [(3, 4)], lambda a: a.mean(axis=-1)),
    OpCase("mean", lambda a: a.mean(axis=(0, 1), keepdims=True), [(2, 3, 2)],
           lambda a: a.mean(axis=(0, 1), keepdims=True)),
    OpCase("max", lambda a: a.amax(axis=1), [(3, 4)], lambda a: a.max(axis=1)),
    OpCase("max", lambda a: a.max(), [(3, 4)], np.max),
    OpCase("getitem", lambda a: a.max(1).values, [(3, 4)], lambda a: a.max(axis=1)),
    OpCase("getitem", lambda a: a.min(0, keepdim=True)[0], [(3, 4)],
           lambda a: a.min(axis=0, keepdims=True)),
    OpCase("min", lambda a: a.amin(axis=0, keepdims=True), [(3, 4)],
           lambda a: a.min(axis=0, keepdims=True)),
    # shapes
    OpCase("reshape", lambda a: a.reshape(4, 3), [(3, 4)], lambda a: a.reshape(4, 3)),
    OpCase("reshape", lambda a: a.reshape(-1), [()], lambda a: a.reshape(-1)),
    OpCase("transpose", lambda a: a.T, [(3, 4)], lambda a: a.T),
    OpCase("transpose", lambda a: a.permute(2, 0, 1), [(2, 3, 4)],
           lambda a: a.transpose(2, 0, 1)),
    OpCase("transpose", lambda a: a.swapaxes(0, 2), [(2, 3, 4)], lambda a: a.swapaxes(0, 2)),
    OpCase("contiguous", lambda a: a.T.contiguous(), [(3, 4)], lambda a: a.T),
    OpCase("broadcast_to", lambda a: a.broadcast_to((2, 3, 4)), [(3, 1)],
           lambda a: np.broadcast_to(a, (2, 3, 4))),
    OpCase("reshape", lambda a: a.expand_dims(1), [(3, 4)], lambda a: np.expand_dims(a, 1)),
    OpCase("reshape", lambda a: a.squeeze(1), [(3, 1, 4)], lambda a: a.squeeze(1)),
    OpCase("getitem", lambda a: a[1:, ::2], [(3, 4)], lambda a: a[1:, ::2]),
    OpCase("getitem", lambda a: a[[0, 2, 0, 0]], [(3, 4)], lambda a: a[[0, 2, 0, 0]]),
    OpCase("getitem", lambda a: a[np.array([0, 1, 1]), np.array([3, 3, 0])], [(3, 4)],
           lambda a: a[[0, 1, 1], [3, 3, 0]]),
    OpCase("getitem", lambda a: a[a.detach().numpy() > 0], [(3, 4)], lambda a: a[a > 0]),
    OpCase("getitem", lambda a: a[..., None, 1], [(3, 4)], lambda a: a[..., None, 1]),
    OpCase("add_at", lambda a: cr.add_at(a, index=np.array([0, 2, 0]), shape=(4, 2)),
           [(3, 2)], lambda a: np.stack([a[0] + a[2], 0 * a[0], a[1], 0 * a[0]])),
    OpCase("index_put", lambda a, b: cr.ops.index_put(a, b, index=(slice(None), 1)),
           [(3, 4), (3,)], lambda a, b: np.concatenate([a[:, :1], b[:, None], a[:, 2:]], 1)),
    OpCase("index_put", lambda a, b: cr.ops.index_put(a, b, index=np.array([2, 0])),
           [(3, 4), (4,)], lambda a, b: np.stack([b, a[1], b])),
    OpCase("concatenate", lambda a, b: cr.concatenate([a, b], axis=1), [(3, 2), (3, 4)],
           lambda a, b: np.concatenate([a, b], axis=1)),
    OpCase("concatenate", lambda a, b: cr.concatenate([a, b, a]), [(2,), (3,)],
           lambda a, b: np.concatenate([a, b, a])),
    OpCase("stack", lambda a, b: cr.stack([a, b], axis=-1), [(3, 2), (3, 2)],
           lambda a, b: np.stack([a, b], axis=-1)),
    # matrix products: 1-D, 2-D, batched with broadcast batch dimensions
    OpCase("matmul", lambda a, b: a @ b, [(2, 3), (3, 5)], np.matmul),
    OpCase("matmul", lambda a, b: a @ b, [(3,), (3,)], np.matmul),
    OpCase("matmul", lambda a, b: a @ b, [(3,), (3, 4)], np.matmul),
    OpCase("matmul", lambda a, b: a @ b, [(2, 3), (3,)], np.matmul),
    OpCase("matmul", lambda a, b: a @ b, [(4, 2, 3), (3, 5)], np.matmul),
    OpCase("matmul", lambda a, b: a @ b, [(2, 1, 2, 3), (3, 3, 2)], np.matmul),
    OpCase("matmul", lambda a, b: a @ b, [(3,), (2, 3, 4)], np.matmul),
    OpCase("matmul", lambda a, b: a @ b, [(2, 4, 3), (3,)], np.matmul),
    # decompositions (tests/test_linalg_products.py holds their cases against PyTorch)
    OpCase("inv", lambda a: cr.linalg.inv(a), [(2, 3, 3)], np.linalg.inv),
    OpCase("det", lambda a: cr.linalg.det(a), [(2, 3, 3)], np.linalg.det),
    OpCase("slogdet", lambda a: cr.linalg.slogdet(a).logabsdet, [(3, 3)],
           lambda a: np.linalg.slogdet(a)[1]),
    OpCase("solve", lambda a, b: cr.linalg.solve(a, b), [(3, 3), (2, 3, 2)], np.linalg.solve),
    OpCase("cholesky", lambda a: cr.linalg.cholesky(a @ a.mT + 3 * cr.eye(3, dtype=a.dtype)),
           [(3, 3)], lambda a: np.linalg.cholesky(a @ a.T + 3 * np.eye(3))),
    OpCase("lstm_cell", lambda g, c: _lstm_cell(g, c), [(3, 8), (3, 2)], lambda g, c:
           _lstm_cell_reference(g, c)),
    OpCase("softmax_cross_entropy", lambda a: cr.softmax_cross_entropy(a, LABELS), [(4, 3)],
           lambda a: np.mean(np.log(np.exp(a).sum(1)) - a[np.arange(4), LABELS])),
    OpCase("softmax_cross_entropy",
           lambda a: cr.softmax_cross_entropy(a, LABELS, reduction="none"), [(4, 3)],
           lambda a: np.log(np.exp(a).sum(1)) - a[np.arange(4), LABELS]),
    OpCase("softmax_cross_entropy",
           lambda a: cr.softmax_cross_entropy(a, LABELS, reduction="sum"), [(4, 3)],
           lambda a: np.sum(np.log(np.exp(a).sum(1)) - a[np.arange(4), LABELS])),
    # composites
    OpCase("sigmoid", lambda a: a.sigmoid(), [(3, 4)], lambda a: 1 / (1 + np.exp(-a)), low=-6,
           high=6),
    OpCase("softmax", lambda a: a.softmax(axis=1), [(3, 4)],
           lambda a: np.exp(a) / np.exp(a).sum(1, keepdims=True)),
    OpCase("log_softmax", lambda a: a.log_softmax(axis=0), [(3, 4)],
           lambda a: a - np.log(np.exp(a).sum(0, keepdims=True))),
    OpCase("logsumexp", lambda a: a.logsumexp(axis=1), [(3, 4)],
           lambda a: np.log(np.exp(a).sum(1))),
    OpCase("logsumexp", lambda a: cr.logsumexp(a, keepdims=True), [(2, 3)],
           lambda a: np.log(np.exp(a).sum(keepdims=True))),
    # var and std are PyTorch's: unbiased unless told otherwise
    OpCase("var", lambda a: a.var(axis=0), [(4, 3)], lambda a: a.var(axis=0, ddof=1)),
    OpCase("var", lambda a: a.var(ddof=0), [(5,)], lambda a: a.var()),
    OpCase("var", lambda a: a.var(1, correction=2, keepdim=True), [(3, 5)],
           lambda a: a.var(axis=1, ddof=2, keepdims=True)),
    OpCase("std", lambda a: a.std(axis=1, keepdims=True), [(3, 4)],
           lambda a: a.std(axis=1, ddof=1, keepdims=True)),
    OpCase("leaky_relu", lambda a: cr.leaky_relu(a, 0.1), [(3, 4)],
           lambda a: np.where(a > 0, a, 0.1 * a), away_from=[0.0]),
    OpCase("softplus", cr.softplus, [(3, 4)], lambda a: np.log1p(np.exp(a))),
]

COMPOSITES = {"sigmoid", "softmax", "log_softmax", "logsumexp", "var", "std", "leaky_relu",
              "softplus"}
