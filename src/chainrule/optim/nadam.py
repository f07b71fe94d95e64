"""NAdam (Adam with Nesterov momentum) and RAdam (Adam with its variance rectified)."""

from ..backend import xp
from ..dtypes import step_dtype
from .optimizer import Optimizer, _check_at_least, _check_betas, _lerp, switches


class _AdamVariant(Optimizer):
    """What NAdam and RAdam share: Adam's options, its moments, and weight decay that is L2 or,
    with decoupled_weight_decay=True, AdamW's."""

    def check_options(self, options):
        super().check_options(options)
        _check_at_least("eps", options["eps"], 0)
        _check_betas(options["betas"])
        if not isinstance(options["decoupled_weight_decay"], bool):
            raise TypeError(f"decoupled_weight_decay must be a bool, got "
                            f"{options['decoupled_weight_decay']!r}")

    def moments(self, w, g, state, group):
        """Count the step, apply the weight decay, update m and v; returns (g, m, v, step)."""
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = xp.zeros((), dtype=step_dtype())  # PyTorch's: counted in place
            self.init_state(state)
            state["exp_avg"] = xp.zeros_like(w)
            state["exp_avg_sq"] = xp.zeros_like(w)
        state["step"] += 1
        lr, weight_decay = group["lr"], group["weight_decay"]
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                w *= 1 - lr * weight_decay
            else:
                g = g + weight_decay * w
        m, v = state["exp_avg"], state["exp_avg_sq"]
        _lerp(m, g, 1 - beta1)
        v *= beta2
        v += (1 - beta2) * g * g
        return g, m, v, float(state["step"])

    def init_state(self, state):
        """Add the state a variant keeps beyond step and the two moments."""


class NAdam(_AdamVariant):
    """NAdam, exactly as torch.optim.NAdam: Adam's moments, with the momentum mu_t =
    beta1 * (1 - 0.5 * 0.96^(t * momentum_decay)) and its running product P_t:

        w = w - lr * (1 - mu_t) / (1 - P_t) * g / d - lr * mu_{t+1} / (1 - P_t mu_{t+1}) * m / d
        where d = sqrt(v / (1 - beta2^t)) + eps

    >>> w = cr.tensor([1.], requires_grad=True)
    >>> opt = cr.optim.NAdam([w], lr=0.1)
    >>> (w * 2).sum().backward()
    >>> opt.step()
    >>> w
    tensor([0.8943548], dtype=float32, requires_grad=True)
    """

    state_keys = ("step", "mu_product", "exp_avg", "exp_avg_sq")
    scalar_state_keys = ("mu_product",)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      **switches(self, maximize, foreach, None, differentiable,
                                                 capturable)))

    def check_options(self, options):
        super().check_options(options)
        _check_at_least("momentum_decay", options["momentum_decay"], 0)

    def init_state(self, state):
        # Kept as a 0-d array in the step's dtype, as PyTorch keeps it (so the same rounding).
        state["mu_product"] = xp.ones((), dtype=step_dtype())

    def update(self, w, g, state, group):
        lr, (beta1, beta2), decay = group["lr"], group["betas"], group["momentum_decay"]
        g, m, v, step = self.moments(w, g, state, group)
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * decay)))
        state["mu_product"] *= mu
        mu_product = float(state["mu_product"])
        denominator = xp.sqrt(v / (1 - beta2 ** step))
        denominator += group["eps"]
        w += (-lr * (1.0 - mu) / (1.0 - mu_product)) * g / denominator
        w += ((-lr * mu_next) / (1.0 - mu_product * mu_next)) * m / denominator


class RAdam(_AdamVariant):
    """RAdam, exactly as torch.optim.RAdam: Adam's moments, with the step rectified by the
    length rho_t of the approximated simple moving average (plain momentum SGD while
    rho_t <= 5):

        rho_inf = 2 / (1 - beta2) - 1,  rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
        r = sqrt((rho_t - 4) (rho_t - 2) rho_inf / ((rho_inf - 4) (rho_inf - 2) rho_t))
        w = w - lr * m / (1 - beta1^t) * sqrt(1 - beta2^t) / (sqrt(v) + eps) * r

    >>> w = cr.tensor([1.], requires_grad=True)
    >>> opt = cr.optim.RAdam([w], lr=0.1)
    >>> (w * 2).sum().backward()
    >>> opt.step()
    >>> w
    tensor([0.8], dtype=float32, requires_grad=True)
    """

    state_keys = ("step", "exp_avg", "exp_avg_sq")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      **switches(self, maximize, foreach, None, differentiable,
                                                 capturable)))

    def update(self, w, g, state, group):
        lr, (beta1, beta2) = group["lr"], group["betas"]
        g, m, v, step = self.moments(w, g, state, group)
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        corrected = m / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                    / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive = xp.sqrt(v)
            adaptive += group["eps"]
            w -= corrected * lr * (bias_correction2 ** 0.5 / adaptive) * rect
        else:
            w -= corrected * lr
