"""Adagrad: each weight's step shrinks with the sum of its squared gradients."""
from ..backend import xp
from ..dtypes import step_dtype
from .optimizer import Optimizer, _check_at_least, _check_finite, switches


class Adagrad(Optimizer):
    """Adagrad, exactly as torch.optim.Adagrad:

        g = grad + weight_decay * w
        s = s + g^2                      (s starts at initial_accumulator_value)
        w = w - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)

    >>> w = cr.tensor([1.], requires_grad=True)
    >>> opt = cr.optim.Adagrad([w], lr=0.1)
    >>> (w * 2).sum().backward()
    >>> opt.step()
    >>> w
    tensor([0.9], dtype=float32, requires_grad=True)
    """

    state_keys = ("step", "sum")

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, **switches(self, maximize, foreach, fused,
                                                          differentiable)))

    def check_options(self, options):
        super().check_options(options)
        _check_at_least("lr_decay", options["lr_decay"], 0)
        _check_at_least("initial_accumulator_value", options["initial_accumulator_value"], 0)
        _check_at_least("eps", options["eps"], 0)
        _check_finite("eps", options["eps"])

    def update(self, w, g, state, group):
        if not state:
            state["step"] = xp.zeros((), dtype=step_dtype())  # PyTorch's: counted in place
            state["sum"] = xp.full_like(w, group["initial_accumulator_value"])
        state["step"] += 1
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * w
        clr = group["lr"] / (1 + (float(state["step"]) - 1) * group["lr_decay"])
        state["sum"] += g * g
        std = xp.sqrt(state["sum"])
        std += group["eps"]
        w -= clr * (g / std)
