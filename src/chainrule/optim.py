"""Optimizers and learning-rate schedulers, following PyTorch's update formulas.

    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x, y in batches:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

Updates change ``p.data`` in place (no new arrays for the parameters), then bump the
parameter's version so that a graph built from the old values refuses to backward. A parameter
whose ``grad`` is None is skipped.

``state_dict()`` is made only of dicts with str keys, lists, NumPy arrays and JSON scalars, so
``chainrule.serialize.save_tree`` can write it without pickle:
{"param_groups": [{"lr": 0.1, ..., "params": [0, 1]}], "state": [{"step": 3, ...}, {}]},
with one entry of "state" per parameter in order ({} before its first update).
"""
import contextlib
import math
import numbers

from .autograd import enable_grad
from .backend import ndarray, xp
from .tensor import Tensor


class Optimizer:
    """Base class: holds the parameter groups and the per-parameter state.

    ``params`` is an iterable of tensors, or of dicts {"params": [...], option: value} whose
    options override the defaults for that group (PyTorch's parameter groups).
    """

    state_keys = ()  # what a parameter's state may hold; load_state_dict checks against it

    def __init__(self, params, defaults):
        with _named(self):
            self.check_options(defaults)
        self.defaults = dict(defaults)
        self.param_groups = []
        self.state = {}  # parameter -> dict of its running averages
        if isinstance(params, Tensor):
            raise TypeError("params must be an iterable of tensors (such as model.parameters()) "
                            "or of dicts, not a single tensor; wrap it in a list")
        groups = list(params)
        if not groups:
            raise ValueError("the optimizer got an empty list of parameters")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def check_options(self, options):
        """Raise ValueError naming the first invalid option; subclasses extend this."""
        _check_at_least("lr", options.get("lr", 0), 0)
        _check_at_least("weight_decay", options.get("weight_decay", 0), 0)

    def add_param_group(self, group):
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"a parameter group must be a dict with a 'params' entry, "
                            f"got {type(group).__name__}")
        unknown = sorted(set(group) - set(self.defaults) - {"params"})
        if unknown:
            raise ValueError(f"{type(self).__name__}: unknown options {unknown}; "
                             f"it takes {sorted(self.defaults)}")
        params = [group["params"]] if isinstance(group["params"], Tensor) else list(group["params"])
        seen = {id(p) for p in self.parameters()}
        for index, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: parameter {index} is a "
                                f"{type(p).__name__}, not a Tensor")
            if not p.requires_grad:
                raise ValueError(f"{type(self).__name__}: parameter {index} of shape {p.shape} "
                                 f"does not require grad, so it would never be updated")
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__}: parameter {index} of shape {p.shape} "
                                 f"is not a leaf (it was computed from other tensors); "
                                 f"optimize the tensors it came from, or detach it")
            if id(p) in seen:
                raise ValueError(f"{type(self).__name__}: parameter {index} of shape {p.shape} "
                                 f"appears more than once")
            seen.add(id(p))
        options = {key: value for key, value in group.items() if key != "params"}
        with _named(self):
            self.check_options({**self.defaults, **options})
        self.param_groups.append({**self.defaults, **options, "params": params})

    def parameters(self):
        """Every parameter, group by group, in order: the order of ``state_dict()["state"]``."""
        return [p for group in self.param_groups for p in group["params"]]

    def zero_grad(self):
        """Forget the gradients of every parameter (``grad`` becomes None)."""
        for p in self.parameters():
            p.grad = None

    def step(self, closure=None):
        """Update each parameter that has a gradient. ``closure``, if given, recomputes and
        returns the loss (with its backward done) before the update; its value is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                self.update(p.data, p.grad.data, self.state.setdefault(p, {}), group)
                p._bump_version()
        return loss

    def update(self, w, g, state, group):
        """Change the array ``w`` in place given its gradient ``g``; subclasses define it."""
        raise NotImplementedError

    # -- saving and resuming -----------------------------------------------------------------
    def state_dict(self):
        """Hyperparameters and per-parameter state, as plain data (arrays are copies)."""
        params = self.parameters()
        index = {id(p): i for i, p in enumerate(params)}
        groups = []
        for group in self.param_groups:
            saved = {key: _plain(value) for key, value in group.items() if key != "params"}
            saved["params"] = [index[id(p)] for p in group["params"]]
            groups.append(saved)
        state = [{key: value.copy() if isinstance(value, ndarray) else value
                  for key, value in self.state.get(p, {}).items()} for p in params]
        return {"param_groups": groups, "state": state}

    def load_state_dict(self, state_dict):
        """Resume from ``state_dict()``: checks everything first and raises one ValueError
        listing every problem, so a failed load changes nothing."""
        self.check_state_dict(state_dict)
        for group, saved in zip(self.param_groups, state_dict["param_groups"]):
            for key in self.defaults:
                value = saved[key]
                group[key] = tuple(value) if isinstance(value, list) else value
        self.state = {}
        for p, saved in zip(self.parameters(), state_dict["state"]):
            if saved:
                self.state[p] = {key: _restore(value, p) for key, value in saved.items()}

    def check_state_dict(self, state_dict):
        """Raise the ValueError that ``load_state_dict(state_dict)`` would raise, changing
        nothing."""
        problems = self._state_dict_problems(state_dict)
        if problems:
            raise ValueError(f"{type(self).__name__}.load_state_dict: " + "; ".join(problems))

    def _state_dict_problems(self, state_dict):
        if not isinstance(state_dict, dict) or set(state_dict) != {"param_groups", "state"}:
            return ["expected a dict with exactly the keys 'param_groups' and 'state'"]
        problems = []
        saved_groups, saved_state = state_dict["param_groups"], state_dict["state"]
        if len(saved_groups) != len(self.param_groups):
            problems.append(f"it has {len(saved_groups)} parameter groups, this optimizer "
                            f"has {len(self.param_groups)}")
        for number, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            expected = set(self.defaults) | {"params"}
            if not isinstance(saved, dict) or set(saved) != expected:
                keys = sorted(saved) if isinstance(saved, dict) else type(saved).__name__
                problems.append(f"group {number} has keys {keys}, expected {sorted(expected)} "
                                f"(was it saved by another kind of optimizer?)")
                continue
            if len(saved["params"]) != len(group["params"]):
                problems.append(f"group {number} has {len(saved['params'])} parameters, "
                                f"expected {len(group['params'])}")
            try:
                self.check_options({key: saved[key] for key in self.defaults})
            except (TypeError, ValueError) as error:
                problems.append(f"group {number}: {error}")
        params = self.parameters()
        if len(saved_state) != len(params):
            problems.append(f"it has state for {len(saved_state)} parameters, expected "
                            f"{len(params)}")
        for number, (p, saved) in enumerate(zip(params, saved_state)):
            if not isinstance(saved, dict):
                problems.append(f"state {number} is a {type(saved).__name__}, not a dict")
                continue
            unknown = sorted(set(saved) - set(self.state_keys))
            if unknown:
                problems.append(f"state {number} has unknown keys {unknown}")
            for key, value in saved.items():
                if key == "step":
                    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                        problems.append(f"state {number} step is {value!r}, not an int")
                elif not isinstance(value, ndarray) or value.dtype.kind not in "iuf":
                    problems.append(f"state {number} {key} is not a numeric array")
                elif value.shape != p.shape:
                    problems.append(f"state {number} {key} expected shape {p.shape} got "
                                    f"{value.shape}")
        return problems


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum (heavy ball or Nesterov) and L2
    weight decay, exactly as torch.optim.SGD:

        g = grad + weight_decay * w
        b = g (first step), else momentum * b + (1 - dampening) * g
        g = g + momentum * b (nesterov) or b (otherwise)
        w = w - lr * g
    """

    state_keys = ("momentum_buffer",)

    def __init__(self, params, lr, momentum=0, dampening=0, nesterov=False, weight_decay=0):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      nesterov=nesterov, weight_decay=weight_decay))

    def check_options(self, options):
        super().check_options(options)
        _check_at_least("momentum", options["momentum"], 0)
        _check_finite("dampening", options["dampening"])
        if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
            raise ValueError(f"nesterov=True needs momentum > 0 and dampening = 0, got "
                             f"momentum={options['momentum']!r}, "
                             f"dampening={options['dampening']!r}")

    def update(self, w, g, state, group):
        momentum, weight_decay = group["momentum"], group["weight_decay"]
        if weight_decay != 0:
            g = g + weight_decay * w
        if momentum != 0:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = g.copy()
            else:
                buffer *= momentum
                buffer += (1 - group["dampening"]) * g
            g = g + momentum * buffer if group["nesterov"] else buffer
        w -= group["lr"] * g


class Adam(Optimizer):
    """Adam, exactly as torch.optim.Adam (L2 weight decay added to the gradient):

        g = grad + weight_decay * w
        m = beta1 * m + (1 - beta1) * g,  v = beta2 * v + (1 - beta2) * g^2
        v_max = max(v_max, v) (amsgrad, which then uses v_max in place of v)
        w = w - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    """

    state_keys = ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    decoupled_weight_decay = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad))

    def check_options(self, options):
        super().check_options(options)
        _check_at_least("eps", options["eps"], 0)
        betas = options["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        for name, beta in zip(("betas[0]", "betas[1]"), betas):
            _check_number(name, beta)
            if not 0 <= beta < 1:
                raise ValueError(f"{name} must be in [0, 1), got {beta!r}")

    def update(self, w, g, state, group):
        lr, weight_decay, (beta1, beta2) = group["lr"], group["weight_decay"], group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(w)
            state["exp_avg_sq"] = xp.zeros_like(w)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(w)
        state["step"] += 1
        step = state["step"]
        if weight_decay != 0:
            if self.decoupled_weight_decay:
                w *= 1 - lr * weight_decay
            else:
                g = g + weight_decay * w
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        if group["amsgrad"]:
            v = xp.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        step_size = lr / (1 - beta1 ** step)
        denominator = xp.sqrt(v) / math.sqrt(1 - beta2 ** step) + group["eps"]
        w -= step_size * (m / denominator)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter), exactly as torch.optim.AdamW:
    before the Adam step, w = w * (1 - lr * weight_decay); the gradient is left alone."""

    decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad)


class RMSprop(Optimizer):
    """RMSprop, exactly as torch.optim.RMSprop:

        g = grad + weight_decay * w
        s = alpha * s + (1 - alpha) * g^2
        a = sqrt(s - gbar^2) + eps with gbar = alpha * gbar + (1 - alpha) * g (centered),
            else sqrt(s) + eps
        b = momentum * b + g / a, w = w - lr * b (momentum > 0), else w = w - lr * g / a
    """

    state_keys = ("step", "square_avg", "momentum_buffer", "grad_avg")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def check_options(self, options):
        super().check_options(options)
        _check_at_least("eps", options["eps"], 0)
        _check_at_least("momentum", options["momentum"], 0)
        _check_at_least("alpha", options["alpha"], 0)

    def update(self, w, g, state, group):
        alpha, momentum, weight_decay = group["alpha"], group["momentum"], group["weight_decay"]
        if not state:
            state["step"] = 0
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


# -- learning-rate schedulers -------------------------------------------------------------------

class LRScheduler:
    """Base class: ``step()`` once per epoch sets each group's lr; ``get_last_lr()`` reads it."""

    options = ()  # the constructor arguments that state_dict saves

    def __init__(self, optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__} needs an Optimizer, got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._last_lr = list(self.base_lrs)

    def step(self):
        self.last_epoch += 1
        lrs = self.next_lrs()
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = lrs

    def next_lrs(self):
        raise NotImplementedError

    def get_last_lr(self):
        return list(self._last_lr)

    def state_dict(self):
        state = {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs),
                 "last_lr": list(self._last_lr)}
        state.update({name: getattr(self, name) for name in self.options})
        return state

    def load_state_dict(self, state_dict):
        expected = {"last_epoch", "base_lrs", "last_lr", *self.options}
        if not isinstance(state_dict, dict) or set(state_dict) != expected:
            keys = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"{type(self).__name__}.load_state_dict: got keys {keys}, "
                             f"expected {sorted(expected)}")
        groups = len(self.optimizer.param_groups)
        for key in ("base_lrs", "last_lr"):
            if len(state_dict[key]) != groups:
                raise ValueError(f"{type(self).__name__}.load_state_dict: {key} has "
                                 f"{len(state_dict[key])} entries for {groups} parameter groups")
        self.last_epoch = int(state_dict["last_epoch"])
        self.base_lrs = list(state_dict["base_lrs"])
        self._last_lr = list(state_dict["last_lr"])
        for name in self.options:
            setattr(self, name, state_dict[name])


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs."""

    options = ("step_size", "gamma")

    def __init__(self, optimizer, step_size, gamma=0.1):
        with _named(self):
            _check_positive_int("step_size", step_size)
            _check_finite("gamma", gamma)
        super().__init__(optimizer)
        self.step_size = int(step_size)
        self.gamma = gamma

    def next_lrs(self):
        # Multiplying the current lr (rather than base_lr * gamma^k) gives PyTorch's values
        # to the last bit.
        decay = self.gamma if self.last_epoch % self.step_size == 0 else 1
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        return [lr * decay for lr in lrs] if decay != 1 else lrs


class CosineAnnealingLR(LRScheduler):
    """lr_t = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2, computed as
    PyTorch does: each step rescales the current lr, so changes made to it by hand carry on."""

    options = ("T_max", "eta_min")

    def __init__(self, optimizer, T_max, eta_min=0):
        with _named(self):
            _check_positive_int("T_max", T_max)
            _check_finite("eta_min", eta_min)
        super().__init__(optimizer)
        self.T_max = int(T_max)
        self.eta_min = eta_min

    def next_lrs(self):
        t, period, eta_min = self.last_epoch, self.T_max, self.eta_min
        lrs = []
        for base_lr, group in zip(self.base_lrs, self.optimizer.param_groups):
            if (t - 1 - period) % (2 * period) == 0:
                # Just past the minimum the ratio below would divide by zero: step up directly.
                lr = group["lr"] + (base_lr - eta_min) * (1 - math.cos(math.pi / period)) / 2
            else:
                ratio = (1 + math.cos(math.pi * t / period)) / (1 + math.cos(math.pi * (t - 1) / period))
                lr = ratio * (group["lr"] - eta_min) + eta_min
            lrs.append(lr)
        return lrs


def _check_number(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")


def _check_finite(name, value):
    _check_number(name, value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")


def _check_at_least(name, value, low):
    _check_number(name, value)
    if not value >= low:  # also refuses nan
        raise ValueError(f"{name} must be >= {low}, got {value!r}")
    # An infinite lr, momentum or decay turns every weight into inf or nan at the first step.
    _check_finite(name, value)


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


@contextlib.contextmanager
def _named(owner):
    """Prefix a TypeError or ValueError raised inside with the class name of ``owner``, so the
    message says which optimizer or scheduler refused the option."""
    try:
        yield
    except (TypeError, ValueError) as error:
        raise type(error)(f"{type(owner).__name__}: {error}") from None


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def _restore(value, p):
    if isinstance(value, ndarray):
        return value.astype(p.dtype, copy=True)
    return int(value)


__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "LRScheduler", "StepLR",
           "CosineAnnealingLR"]
