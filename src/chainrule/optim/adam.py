"""Adam, and AdamW with its decoupled weight decay."""
import math

from ..backend import xp
from ..dtypes import step_dtype
from .optimizer import Optimizer, _check_at_least, _check_betas, switches


class Adam(Optimizer):
    """Adam, exactly as torch.optim.Adam (L2 weight decay added to the gradient):

        g = grad + weight_decay * w
        m = beta1 * m + (1 - beta1) * g,  v = beta2 * v + (1 - beta2) * g^2
        v_max = max(v_max, v) (amsgrad, which then uses v_max in place of v)
        w = w - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    >>> w = cr.tensor([1.], requires_grad=True)
    >>> opt = cr.optim.Adam([w], lr=0.1)
    >>> (w * 2).sum().backward()
    >>> opt.step()
    >>> w
    tensor([0.90000004], dtype=float32, requires_grad=True)
    """

    state_keys = ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    decoupled_weight_decay = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        if decoupled_weight_decay:  # PyTorch's Adam(..., decoupled_weight_decay=True) is AdamW
            self.decoupled_weight_decay = True
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, **switches(self, maximize, foreach, fused,
                                                                  differentiable, capturable)))

    def check_options(self, options):
        super().check_options(options)
        _check_at_least("eps", options["eps"], 0)
        _check_betas(options["betas"])

    def update(self, w, g, state, group):
        lr, weight_decay, (beta1, beta2) = group["lr"], group["weight_decay"], group["betas"]
        if not state:
            state["step"] = xp.zeros((), dtype=step_dtype())  # PyTorch's: counted in place
            state["exp_avg"] = xp.zeros_like(w)
            state["exp_avg_sq"] = xp.zeros_like(w)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(w)
        state["step"] += 1
        step = float(state["step"])
        if weight_decay != 0:
            if self.decoupled_weight_decay:
                w *= 1 - lr * weight_decay
            else:
                g = g + weight_decay * w
        m, v = state["exp_avg"], state["exp_avg_sq"]
        # One scratch array for every step below (the same operations in the same order as
        # the textbook's expressions, so the same bits): each expression would allocate its
        # own temporary, eight per parameter per step.
        scratch = xp.multiply(g, 1 - beta1, out=xp.empty_like(m))  # an array even for 0-d
        m *= beta1
        m += scratch
        xp.multiply(g, 1 - beta2, out=scratch)
        scratch *= g
        v *= beta2
        v += scratch
        if group["amsgrad"]:
            v = xp.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        step_size = lr / (1 - beta1 ** step)
        denominator = xp.sqrt(v, out=scratch)  # sqrt(v) / sqrt(1 - beta2^t) + eps
        denominator /= math.sqrt(1 - beta2 ** step)
        denominator += group["eps"]
        update = xp.divide(m, denominator, out=scratch)  # step_size * (m / denominator)
        update *= step_size
        w -= update


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter), exactly as torch.optim.AdamW:
    before the Adam step, w = w * (1 - lr * weight_decay); the gradient is left alone.

    >>> w = cr.tensor([1.], requires_grad=True)
    >>> opt = cr.optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> (w * 2).sum().backward()
    >>> opt.step()
    >>> w
    tensor([0.85], dtype=float32, requires_grad=True)
    """

    decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                         capturable=capturable, differentiable=differentiable, fused=fused)
