"""The textbook's objective J = L + s for a model on one batch (d2l 4.7): the loss L of the
model's scores, plus s = lam/2 (sum of ||W||^2 over the weight matrices) when lam > 0."""
from . import functional

# The losses the command line and ``memory_report(model, x, y, loss=...)`` offer, by name.
LOSSES = {"cross-entropy": functional.cross_entropy, "hinge": functional.multiclass_hinge_loss}


def objective(model, x, y, lam=0.0, loss="cross-entropy"):
    """J for ``model`` on a batch: L = loss(model(x), y) (``loss`` is "cross-entropy",
    "hinge", the multiclass SVM loss, or a function of (scores, labels)), plus
    s = lam/2 (sum of ||W||^2 over the weight matrices) when lam > 0.

    >>> from chainrule.nn.objective import objective
    >>> _ = cr.manual_seed(0)
    >>> model = cr.nn.Linear(3, 2)
    >>> J = objective(model, cr.zeros(4, 3), cr.tensor([0, 1, 0, 1]), lam=0.0)
    >>> J.ndim, J.requires_grad
    (0, True)
    """
    if callable(loss):
        loss_fn = loss
    elif loss in LOSSES:
        loss_fn = LOSSES[loss]
    else:
        raise ValueError(f"objective: loss must be one of {sorted(LOSSES)} or a function, "
                         f"got {loss!r}")
    value = loss_fn(model(x), y)
    if lam > 0:
        weights = [p for _, p in model.named_parameters() if p.ndim >= 2]
        value = value + functional.l2_penalty(weights, lam)
    return value
