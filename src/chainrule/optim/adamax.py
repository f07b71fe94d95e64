"""Adamax: Adam with the infinity norm of past gradients in place of their root mean square."""
from ..backend import xp
from ..dtypes import step_dtype
from .optimizer import Optimizer, _check_at_least, _check_betas, _lerp, switches


class Adamax(Optimizer):
    """Adamax, exactly as torch.optim.Adamax:

        g = grad + weight_decay * w
        m = m + (1 - beta1) * (g - m),  u = max(beta2 * u, |g| + eps)
        w = w - lr / (1 - beta1^t) * m / u

    >>> w = cr.tensor([1.], requires_grad=True)
    >>> opt = cr.optim.Adamax([w], lr=0.1)
    >>> (w * 2).sum().backward()
    >>> opt.step()
    >>> w
    tensor([0.9], dtype=float32, requires_grad=True)
    """

    state_keys = ("step", "exp_avg", "exp_inf")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      **switches(self, maximize, foreach, None, differentiable,
                                                 capturable)))

    def check_options(self, options):
        super().check_options(options)
        _check_at_least("eps", options["eps"], 0)
        _check_betas(options["betas"])

    def update(self, w, g, state, group):
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = xp.zeros((), dtype=step_dtype())  # PyTorch's: counted in place
            state["exp_avg"] = xp.zeros_like(w)
            state["exp_inf"] = xp.zeros_like(w)
        state["step"] += 1
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * w
        m, u = state["exp_avg"], state["exp_inf"]
        _lerp(m, g, 1 - beta1)
        u *= beta2
        xp.maximum(u, xp.abs(g) + group["eps"], out=u)
        clr = group["lr"] / (1 - beta1 ** float(state["step"]))
        w -= clr * m / u
