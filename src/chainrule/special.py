"""``cr.special``: the names of ``torch.special`` for the functions chainrule has, each the
same function as its ``cr.`` name (``cr.special.expit is cr.sigmoid``), with PyTorch's
meaning. ``erfinv`` is declared here (``cr.erfinv``, ``Tensor.erfinv``, ``erfinv_``); its
primitive is in ops/erfinv.py.

    >>> cr.special.expit(cr.tensor([0.0]))
    tensor([0.5], dtype=float32)
    >>> cr.special.erfinv(cr.special.erf(cr.tensor([0.25], dtype="float64")))
    tensor([0.25], dtype=float64)
"""
from .ops.erfinv import erfinv
from .ops.special import ndtr
from .public import DECLARATIONS as _DECLARED
from .public import public

public(erfinv, method=True, inplace=True)


def _declared(name):
    return _DECLARED[name].function


# torch.special's name = the chainrule function it is.
digamma = psi = _declared("digamma")
erf, erfc = _declared("erf"), _declared("erfc")
exp2, expm1, log1p = _declared("exp2"), _declared("expm1"), _declared("log1p")
expit = _declared("sigmoid")
gammaln = _declared("lgamma")
logit, xlogy, sinc, round = (_declared(n) for n in ("logit", "xlogy", "sinc", "round"))
logsumexp = _declared("logsumexp")
softmax, log_softmax = _declared("softmax"), _declared("log_softmax")

__all__ = ["digamma", "psi", "erf", "erfc", "erfinv", "exp2", "expm1", "log1p", "expit",
           "gammaln", "logit", "xlogy", "sinc", "round", "logsumexp", "softmax", "log_softmax",
           "ndtr"]
