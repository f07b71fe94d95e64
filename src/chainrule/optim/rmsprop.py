"""RMSprop, optionally centered and with momentum."""
from ..backend import xp
from ..dtypes import step_dtype
from .optimizer import Optimizer, _check_at_least, switches


class RMSprop(Optimizer):
    """RMSprop, exactly as torch.optim.RMSprop:

        g = grad + weight_decay * w
        s = alpha * s + (1 - alpha) * g^2
        a = sqrt(s - gbar^2) + eps with gbar = alpha * gbar + (1 - alpha) * g (centered),
            else sqrt(s) + eps
        b = momentum * b + g / a, w = w - lr * b (momentum > 0), else w = w - lr * g / a

    >>> w = cr.tensor([1.], requires_grad=True)
    >>> opt = cr.optim.RMSprop([w], lr=0.01)
    >>> (w * 2).sum().backward()
    >>> opt.step()
    >>> w
    tensor([0.90000004], dtype=float32, requires_grad=True)
    """

    state_keys = ("step", "square_avg", "momentum_buffer", "grad_avg")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered,
                                      **switches(self, maximize, foreach, None, differentiable,
                                                 capturable)))

    def check_options(self, options):
        super().check_options(options)
        _check_at_least("eps", options["eps"], 0)
        _check_at_least("momentum", options["momentum"], 0)
        _check_at_least("alpha", options["alpha"], 0)

    def update(self, w, g, state, group):
        alpha, momentum, weight_decay = group["alpha"], group["momentum"], group["weight_decay"]
        if not state:
            state["step"] = xp.zeros((), dtype=step_dtype())  # PyTorch's: counted in place
            state["square_avg"] = xp.zeros_like(w)
            if momentum > 0:
                state["momentum_buffer"] = xp.zeros_like(w)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(w)
        state["step"] += 1
        if weight_decay != 0:
            g = g + weight_decay * w
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * g * g
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg *= alpha
            grad_avg += (1 - alpha) * g
            average = xp.sqrt(square_avg - grad_avg * grad_avg)
        else:
            average = xp.sqrt(square_avg)
        average += group["eps"]
        if momentum > 0:
            buffer = state["momentum_buffer"]
            buffer *= momentum
            buffer += g / average
            w -= group["lr"] * buffer
        else:
            w -= group["lr"] * (g / average)
