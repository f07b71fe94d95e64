"""ASGD: SGD with a decaying step size and a running average of the weights."""
from ..backend import xp
from ..dtypes import step_dtype
from .optimizer import Optimizer, _check_finite, _check_number, switches


class ASGD(Optimizer):
    """Averaged SGD, exactly as torch.optim.ASGD. With eta_1 = lr and mu_1 = 1:

        g = grad + weight_decay * w
        w = w * (1 - lambd * eta_t) - eta_t * g
        ax = ax + mu_t * (w - ax)              (ax = w while mu_t = 1)
        eta_{t+1} = lr / (1 + lambd * lr * t)^alpha,  mu_{t+1} = 1 / max(1, t - t0)

    The average is kept in the state as ``ax`` (for evaluation; training uses ``w``).

    >>> w = cr.tensor([1.], requires_grad=True)
    >>> opt = cr.optim.ASGD([w], lr=0.1)
    >>> (w * 2).sum().backward()
    >>> opt.step()
    >>> w
    tensor([0.79999], dtype=float32, requires_grad=True)
    """

    state_keys = ("step", "eta", "mu", "ax")
    scalar_state_keys = ("eta", "mu")

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0,
                                      weight_decay=weight_decay,
                                      **switches(self, maximize, foreach, None, differentiable,
                                                 capturable)))

    def check_options(self, options):
        super().check_options(options)
        _check_finite("lambd", options["lambd"])
        _check_finite("alpha", options["alpha"])
        _check_number("t0", options["t0"])  # t0=inf: never start averaging

    def update(self, w, g, state, group):
        lr, lambd = group["lr"], group["lambd"]
        if not state:
            # Step, eta and mu are 0-d arrays in the step's dtype, as PyTorch keeps them.
            state["step"] = xp.zeros((), dtype=step_dtype())
            state["eta"] = xp.array(lr, dtype=step_dtype())
            state["mu"] = xp.ones((), dtype=step_dtype())
            state["ax"] = xp.zeros_like(w)
        state["step"] += 1
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * w
        eta = float(state["eta"])
        w *= 1 - lambd * eta
        w += -eta * g
        mu = float(state["mu"])
        if mu != 1:
            state["ax"] += (w - state["ax"]) * mu
        else:
            state["ax"][...] = w
        step = float(state["step"])
        # Through the step's dtype, as PyTorch makes them, even where a loaded eta and mu are
        # in the parameter's.
        state["eta"][...] = xp.array(lr / ((1 + lambd * lr * step) ** group["alpha"]),
                                     dtype=step_dtype())
        state["mu"][...] = xp.array(1 / max(1, step - group["t0"]), dtype=step_dtype())
