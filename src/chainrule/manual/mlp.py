"""The one-hidden-layer network of Dive into Deep Learning (section 4.7), forward and backward
written out by hand, in the textbook's own notation."""

from dataclasses import dataclass

import numpy as np

from .layers import relu_forward, sigmoid_forward, tanh_forward
from .losses import softmax_loss, svm_loss


def _relu_derivative(z, h):
    return (z > 0).astype(z.dtype)  # 0 at exactly z = 0, as in relu_backward


def _sigmoid_derivative(z, h):
    return h * (1 - h)  # s'(z) = s(z)(1 - s(z)), and h = s(z) is already computed


def _tanh_derivative(z, h):
    return 1 - h**2


@dataclass(frozen=True)
class Activation:
    """phi, phi'(z) written in terms of z and h = phi(z), and that derivative as text."""
    forward: object
    derivative: object
    derivative_text: str
    derivative_source: str  # what the derivative is computed from, as a sentence


@dataclass(frozen=True)
class Loss:
    """l(o, y) on rows, returning (loss, dL/do); its name in words and dL/do as text."""
    function: object
    title: str
    gradient_text: str
    gradient_shapes: str


_ACTIVATIONS = {
    "relu": Activation(relu_forward, _relu_derivative, "1[z > 0]",
                       "computed from z, which forward() returned"),
    "sigmoid": Activation(sigmoid_forward, _sigmoid_derivative, "h (1 - h)",
                          "written with the output h = sigmoid(z), which forward() returned"),
    "tanh": Activation(tanh_forward, _tanh_derivative, "1 - h^2",
                       "written with the output h = tanh(z), which forward() returned"),
}
_LOSSES = {
    "softmax": Loss(softmax_loss, "softmax cross-entropy", "(softmax(o) - onehot(y)) / N",
                    "{o} = ({o} - {o}) / {N}"),
    "svm": Loss(svm_loss, "multiclass SVM loss", "dL/do of the multiclass SVM loss, / N", "{o}"),
}


@dataclass(frozen=True)
class Step:
    """One step of the backward pass as the textbook writes it. ``gradient`` is its key in
    what backward() returns, or a number (dJ/dJ = 1); ``shapes`` names shapes as ``{o}``,
    ``{h}^T`` (transposed) and ``{N}`` (the batch size), for the reader to fill in."""
    name: str
    definition: str
    formula: str
    shapes: str
    gradient: object
    notes: tuple = ()
    summed: bool = False      # the variable fed several terms; their gradients were added
    broadcast: bool = False   # the variable was added to every column; its gradient sums them


class ForwardPass(dict):
    """What forward() computed: a dict of z, h, o, L, s, J in the order the textbook computes
    them, plus the inputs as attributes, which backward() also needs: ``x`` as columns
    (d x N, N = 1 for a single example) and the labels ``y`` of shape (N,)."""

    def __init__(self, values, x, y):
        super().__init__(values)
        self.x = x
        self.y = y


class TwoLayerMLP:
    """One hidden layer with L2 regularisation, as derived in d2l 4.7:

        z = W1 x (+ b1)       W1 in R^{h x d}
        h = phi(z)            phi is relu, sigmoid or tanh, elementwise
        o = W2 h (+ b2)       W2 in R^{q x h}
        L = l(o, y)           l is softmax cross-entropy or the multiclass SVM loss
        s = lam/2 (||W1||_F^2 + ||W2||_F^2)
        J = L + s

    Backward, in the order the textbook derives it:

        dJ/do  = dL/do                      (dJ/dL = 1)
        dJ/dW2 = dJ/do h^T + lam W2         (dJ/ds = 1, ds/dW2 = lam W2)
        dJ/dh  = W2^T dJ/do
        dJ/dz  = dJ/dh * phi'(z)            (elementwise)
        dJ/dW1 = dJ/dz x^T + lam W1

    The textbook's network has no biases; b1 and b2 are optional here, with dJ/db2 = dJ/do and
    dJ/db1 = dJ/dz, each summed over the batch.

    Rows and columns: here, as in the textbook, an example is a COLUMN. A single example x is
    a vector in R^d, a batch is X in R^{d x N} with one example per column, and a weight maps
    by multiplying on the left (z = W1 X is h x N), so W has shape (out, in). affine_forward
    does the opposite, in cs231n's convention: examples are ROWS of x, out = x @ w + b with
    w of shape (in, out). The two agree up to transposes: z^T = X^T W1^T + b1, i.e.
    affine_forward(X.T, W1.T, b1) returns z.T. The losses work on rows, so l(o, y) is
    computed as softmax_loss(o.T, y) or svm_loss(o.T, y), and dL/do is transposed back.

    For a batch, L is the mean loss over the batch (so dJ/do carries a factor 1/N) and the
    bias gradients sum over the batch's columns. s is not divided by N.
    """

    def __init__(self, W1, W2, b1=None, b2=None, activation="relu", lam=0.0, loss="softmax"):
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"TwoLayerMLP: activation {activation!r} must be one of {sorted(_ACTIVATIONS)}"
            )
        if loss not in _LOSSES:
            raise ValueError(f"TwoLayerMLP: loss {loss!r} must be one of {sorted(_LOSSES)}")
        if lam < 0:
            raise ValueError(f"TwoLayerMLP: lam = {lam} must be >= 0")
        self.W1 = _as_float(W1)
        self.W2 = _as_float(W2)
        self.b1 = None if b1 is None else _as_float(b1)
        self.b2 = None if b2 is None else _as_float(b2)
        self.activation = activation
        self.lam = lam
        self.loss = loss
        self._check_shapes()

    @classmethod
    def init(cls, d, h, q, seed=0, sigma=0.01, bias=True, activation="relu", lam=0.0,
             loss="softmax", dtype=np.float64):
        """Weights drawn from N(0, sigma^2) with the given seed, biases zero (when bias)."""
        rng = np.random.default_rng(seed)
        W1 = rng.normal(0.0, sigma, size=(h, d)).astype(dtype)
        W2 = rng.normal(0.0, sigma, size=(q, h)).astype(dtype)
        b1 = np.zeros(h, dtype=dtype) if bias else None
        b2 = np.zeros(q, dtype=dtype) if bias else None
        return cls(W1, W2, b1, b2, activation=activation, lam=lam, loss=loss)

    def params(self):
        """The model's own arrays (not copies): W1, b1, W2, b2, biases only when present."""
        params = {"W1": self.W1, "b1": self.b1, "W2": self.W2, "b2": self.b2}
        return {name: value for name, value in params.items() if value is not None}

    def forward(self, x, y):
        """Compute z, h, o, L, s, J for one example x in R^d with label y (an int), or for
        a batch X in R^{d x N} with labels y of shape (N,). Returns a ForwardPass (a dict)."""
        X, y, single = self._as_columns(x, y)
        phi = _ACTIVATIONS[self.activation].forward
        z = self.W1 @ X
        if self.b1 is not None:
            z = z + self.b1[:, None]
        h, _ = phi(z)
        o = self.W2 @ h
        if self.b2 is not None:
            o = o + self.b2[:, None]
        L, _ = _LOSSES[self.loss].function(o.T, y)
        s = self.lam / 2 * (np.sum(self.W1**2) + np.sum(self.W2**2))
        values = {"z": z, "h": h, "o": o}
        if single:
            values = {name: v[:, 0] for name, v in values.items()}
        values.update(L=L, s=s, J=L + s)
        return ForwardPass(values, x=X, y=y)

    def backward(self, forward):
        """Gradients of J, from what forward() returned, in the textbook's order: dJ/do,
        dJ/dW2, dJ/db2, dJ/dh, dJ/dz, dJ/dW1, dJ/db1 (the biases only when present)."""
        if not isinstance(forward, ForwardPass):
            raise TypeError(
                f"TwoLayerMLP.backward: pass the ForwardPass that forward() returned, "
                f"got {type(forward).__name__}"
            )
        X, y = forward.x, forward.y
        single = np.ndim(forward["z"]) == 1
        z, h, o = (_column(forward[name]) for name in ("z", "h", "o"))
        phi_derivative = _ACTIVATIONS[self.activation].derivative

        # dL/do is recomputed from o and y rather than kept by forward(), so that what the
        # forward pass returns is exactly the textbook's list of intermediate values.
        _, dL_do_rows = _LOSSES[self.loss].function(o.T, y)
        grads = {"dJ/do": dL_do_rows.T}
        grads["dJ/dW2"] = grads["dJ/do"] @ h.T + self.lam * self.W2
        if self.b2 is not None:
            grads["dJ/db2"] = grads["dJ/do"].sum(axis=1)  # b2 was added to every column
        grads["dJ/dh"] = self.W2.T @ grads["dJ/do"]
        grads["dJ/dz"] = grads["dJ/dh"] * phi_derivative(z, h)
        grads["dJ/dW1"] = grads["dJ/dz"] @ X.T + self.lam * self.W1
        if self.b1 is not None:
            grads["dJ/db1"] = grads["dJ/dz"].sum(axis=1)

        if single:
            for name in ("dJ/do", "dJ/dh", "dJ/dz"):
                grads[name] = grads[name][:, 0]
        return grads

    def backward_steps(self):
        """The steps backward() takes, declared for readers (``inspect.explain_manual`` prints
        them): a list of ``Step`` in d2l's order, the biases' only when present.

        >>> model = cr.manual.TwoLayerMLP.init(d=3, h=2, q=2, bias=False)
        >>> [step.name for step in model.backward_steps()]
        ['J', 'L', 's', 'o', 'W2', 'h', 'z', 'W1']
        """
        activation, loss = _ACTIVATIONS[self.activation], _LOSSES[self.loss]
        penalised = self.lam > 0
        steps = [
            Step("J", "J = L + s", "dJ/dJ = 1", "scalar", 1.0),
            Step("L", f"L = l(o, y): {loss.title}, mean over the batch", "dJ/dL = 1", "scalar",
                 1.0),
            Step("s", "s = lambda/2 (||W1||^2 + ||W2||^2)", "dJ/ds = 1", "scalar", 1.0,
                 (f"lambda = {self.lam}",)),
            Step("o", "o = W2 h" + (" + b2" if self.b2 is not None else ""),
                 f"dJ/do = dJ/dL * {loss.gradient_text}", loss.gradient_shapes, "dJ/do"),
            Step("W2", "W2: the weight of layer 2", "dJ/dW2 = dJ/do . h^T + lambda W2",
                 "{W2} = {o} . {h}^T + {W2}", "dJ/dW2", summed=penalised),
            Step("b2", "b2: the bias of layer 2", "dJ/db2 = sum over the batch of dJ/do",
                 "{b2} = sum over {N} columns of {o}", "dJ/db2", broadcast=True),
            Step("h", f"h = {self.activation}(z)", "dJ/dh = W2^T . dJ/do",
                 "{h} = {W2}^T . {o}", "dJ/dh"),
            Step("z", "z = W1 x" + (" + b1" if self.b1 is not None else ""),
                 f"dJ/dz = dJ/dh * phi'(z), with phi'(z) = {activation.derivative_text}",
                 "{z} = {h} * {z}", "dJ/dz", (f"phi'(z) is {activation.derivative_source}",)),
            Step("W1", "W1: the weight of layer 1", "dJ/dW1 = dJ/dz . x^T + lambda W1",
                 "{W1} = {z} . {x}^T + {W1}", "dJ/dW1", summed=penalised),
            Step("b1", "b1: the bias of layer 1", "dJ/db1 = sum over the batch of dJ/dz",
                 "{b1} = sum over {N} columns of {z}", "dJ/db1", broadcast=True),
        ]
        absent = {name for name in ("b1", "b2") if getattr(self, name) is None}
        return [step for step in steps if step.name not in absent]

    def _as_columns(self, x, y):
        x = np.asarray(x)
        d = self.W1.shape[1]
        if x.ndim not in (1, 2) or x.shape[0] != d:
            raise ValueError(
                f"TwoLayerMLP: x must have shape ({d},) for one example or ({d}, N) for a "
                f"batch of N columns, got shape {x.shape}"
            )
        single = x.ndim == 1
        if single:
            return x[:, None], np.asarray(y).reshape(-1), True
        return x, np.asarray(y), False

    def _check_shapes(self):
        if self.W1.ndim != 2 or self.W2.ndim != 2 or self.W2.shape[1] != self.W1.shape[0]:
            raise ValueError(
                f"TwoLayerMLP: need W1 of shape (h, d) and W2 of shape (q, h), "
                f"got W1 {self.W1.shape} and W2 {self.W2.shape}"
            )
        h, q = self.W1.shape[0], self.W2.shape[0]
        if self.b1 is not None and self.b1.shape != (h,):
            raise ValueError(f"TwoLayerMLP: b1 must have shape ({h},), got {self.b1.shape}")
        if self.b2 is not None and self.b2.shape != (q,):
            raise ValueError(f"TwoLayerMLP: b2 must have shape ({q},), got {self.b2.shape}")


def _as_float(a):
    a = np.asarray(a)
    return a if np.issubdtype(a.dtype, np.floating) else a.astype(np.float64)


def _column(v):
    return v[:, None] if np.ndim(v) == 1 else v
