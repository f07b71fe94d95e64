"""Adadelta: steps scaled by the running size of past steps over that of past gradients."""
from ..backend import xp
from ..dtypes import step_dtype
from .optimizer import Optimizer, _check_at_least, switches


class Adadelta(Optimizer):
    """Adadelta, exactly as torch.optim.Adadelta:

        g = grad + weight_decay * w
        s = rho * s + (1 - rho) * g^2
        d = sqrt(u + eps) / sqrt(s + eps) * g
        u = rho * u + (1 - rho) * d^2
        w = w - lr * d

    >>> w = cr.tensor([1.], requires_grad=True)
    >>> opt = cr.optim.Adadelta([w])
    >>> (w * 2).sum().backward()
    >>> opt.step()
    >>> w
    tensor([0.99683774], dtype=float32, requires_grad=True)
    """

    state_keys = ("step", "square_avg", "acc_delta")

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      **switches(self, maximize, foreach, None, differentiable,
                                                 capturable)))

    def check_options(self, options):
        super().check_options(options)
        _check_at_least("eps", options["eps"], 0)
        if not 0 <= options["rho"] <= 1:
            raise ValueError(f"rho must be in [0, 1], got {options['rho']!r}")

    def update(self, w, g, state, group):
        rho, eps = group["rho"], group["eps"]
        if not state:
            state["step"] = xp.zeros((), dtype=step_dtype())  # PyTorch's: counted in place
            state["square_avg"] = xp.zeros_like(w)
            state["acc_delta"] = xp.zeros_like(w)
        state["step"] += 1
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * w
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= rho
        square_avg += (1 - rho) * (g * g)
        std = xp.sqrt(square_avg + eps)
        delta = xp.sqrt(acc_delta + eps)
        delta /= std
        delta *= g
        acc_delta *= rho
        acc_delta += (1 - rho) * (delta * delta)
        w -= group["lr"] * delta
