"""The base class every optimizer shares, and the option checks that optimizers and schedulers
share."""
import contextlib
import numbers
import warnings
from collections.abc import MutableMapping

# The checks the optimizers and schedulers share, in argtypes.py's one wording.
from ..argtypes import (check_at_least as _check_at_least, check_finite as _check_finite,
                        check_int as _check_int, check_number as _check_number)
from ..autograd import enable_grad
from ..backend import ndarray, xp
from ..dtypes import step_dtype
from ..errors import ArgumentError
from ..nn.module import zero_grads
from ..tensor import Tensor, from_numpy


# The keys learning-rate schedulers add to parameter groups (PyTorch's names), which the
# optimizer's state_dict carries along.
SCHEDULER_KEYS = ("initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum")
# Options that checkpoints from an earlier chainrule lack, with the value they meant.
OPTIONAL_OPTIONS = {"maximize": False}
# PyTorch's kernel switches, which its state dicts carry in every group and chainrule does not
# keep: a saved value is checked as the constructor checks it, then dropped.
TORCH_SWITCHES = ("foreach", "fused", "differentiable", "capturable")


def switches(owner, maximize=False, foreach=None, fused=None, differentiable=False,
             capturable=False):
    """PyTorch's keyword switches: ``maximize`` (ascend the gradient, kept per group), and the
    kernel choices ``foreach`` and ``fused``, which give the same numbers on chainrule's one
    NumPy path; ``differentiable`` and ``capturable`` have no meaning here and are refused."""
    name = type(owner).__name__
    for flag, value in (("differentiable", differentiable), ("capturable", capturable)):
        if value:
            raise ArgumentError(f"{name}: {flag}=True is not supported (chainrule neither "
                                f"differentiates through the update nor captures CUDA graphs)")
    for flag, value in (("maximize", maximize), ("foreach", foreach), ("fused", fused)):
        if value is not None and not isinstance(value, bool):
            raise TypeError(f"{name}: {flag} must be a bool, got {value!r}")
    return {"maximize": bool(maximize)}


def _buffer_array(value):
    return value._data if isinstance(value, Tensor) else value


class _View(MutableMapping):
    """A mapping shown over the optimizer's own dict ``_arrays``: the keys, their removal and
    the length are the dict's; reading and writing say what a value looks like outside."""

    def __init__(self, arrays):
        self._arrays = arrays

    def __delitem__(self, key):
        del self._arrays[key]

    def __iter__(self):
        return iter(self._arrays)

    def __len__(self):
        return len(self._arrays)

    def __repr__(self):
        return repr(dict(self))


class Buffers(_View):
    """One parameter's optimizer state: each array the optimizer keeps, seen as a tensor that
    shares its memory; a tensor assigned to a name becomes that buffer."""

    def __getitem__(self, key):
        value = self._arrays[key]
        return from_numpy(value) if isinstance(value, ndarray) else value

    def __setitem__(self, key, value):
        self._arrays[key] = _buffer_array(value)


class OptimizerState(_View):
    """``optimizer.state``: parameter -> its Buffers, created empty on first access as in
    PyTorch's defaultdict(dict)."""

    def __getitem__(self, p):
        return Buffers(self._arrays.setdefault(p, {}))

    def __setitem__(self, p, buffers):
        self._arrays[p] = {key: _buffer_array(value) for key, value in dict(buffers).items()}

    def __contains__(self, p):
        return p in self._arrays

    def get(self, p, default=None):
        return self[p] if p in self._arrays else default


class Optimizer:
    """Base class: holds the parameter groups and the per-parameter state.

    ``params`` is an iterable of tensors, or of dicts {"params": [...], option: value} whose
    options override the defaults for that group (PyTorch's parameter groups).

    >>> w = cr.tensor([1., 2.], requires_grad=True)
    >>> opt = cr.optim.SGD([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w
    tensor([0.8, 1.6], dtype=float32, requires_grad=True)
    """

    state_keys = ()  # what a parameter's state may hold; load_state_dict checks against it
    scalar_state_keys = ()  # those of them that are one number per parameter (0-d)

    def __init__(self, params, defaults):
        with _named(self):
            self.check_options(defaults)
        self.defaults = dict(defaults)
        self.param_groups = []
        self._state = {}  # parameter -> dict of its running averages, as arrays
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

    def __repr__(self):
        """PyTorch's listing: each parameter group's options, sorted by name.

        >>> cr.optim.SGD([cr.nn.Parameter(cr.ones(1))], lr=0.1)
        SGD (
        Parameter Group 0
            dampening: 0
            lr: 0.1
            maximize: False
            momentum: 0
            nesterov: False
            weight_decay: 0
        )
        """
        lines = [f"{type(self).__name__} ("]
        for number, group in enumerate(self.param_groups):
            lines += [""] if number else []
            lines.append(f"Parameter Group {number}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines + [")"])

    def check_options(self, options):
        """Raise ValueError naming the first invalid option; subclasses extend this."""
        _check_at_least("lr", options.get("lr", 0), 0)
        _check_at_least("weight_decay", options.get("weight_decay", 0), 0)

    def add_param_group(self, group):
        """Add a dict ``{"params": [...], option: value}`` whose options override the defaults."""
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
                # Frozen (fine-tuning part of a model): kept, and skipped while it has no
                # gradient, as in PyTorch; said once, since it may also be a mistake.
                warnings.warn(f"{type(self).__name__}: parameter {index} of shape {p.shape} "
                              f"does not require grad (frozen); it is skipped until it does",
                              UserWarning, stacklevel=3)
            elif not p.is_leaf:
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

    @property
    def state(self):
        """Each parameter's buffers, as PyTorch shows them: ``state[p]`` maps a buffer's name
        to a tensor sharing the optimizer's memory (a change through it changes the next
        step, as in PyTorch), and a tensor assigned there becomes the buffer. Like PyTorch's
        defaultdict, ``state[p]`` of a parameter without state is an empty mapping.

        >>> w = cr.tensor([1., 2.], requires_grad=True)
        >>> opt = cr.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> opt.state[w]["momentum_buffer"]
        tensor([2., 4.], dtype=float32)
        """
        return OptimizerState(self._state)

    @state.setter
    def state(self, value):
        # As PyTorch's ``optimizer.state = defaultdict(dict)``, which forgets every buffer.
        self._state = {p: {key: _buffer_array(v) for key, v in buffers.items()}
                       for p, buffers in dict(value).items()}

    def parameters(self):
        """Every parameter, group by group, in order: the order of ``state_dict()["state"]``."""
        return [p for group in self.param_groups for p in group["params"]]

    def zero_grad(self, set_to_none=True):
        """Forget the gradients of every parameter: ``grad`` becomes None, or with
        ``set_to_none=False`` is zeroed in place (PyTorch's default and option).

        >>> w = cr.tensor([1.], requires_grad=True)
        >>> opt = cr.optim.SGD([w], lr=0.1)
        >>> (w * 3).sum().backward()
        >>> opt.zero_grad(set_to_none=False)
        >>> w.grad
        tensor([0.], dtype=float32)
        """
        zero_grads(self.parameters(), set_to_none)

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
                self.update_parameter(p._data, p.grad._data, self._state.setdefault(p, {}),
                                      group)
                p._bump_version()
        return loss

    def update_parameter(self, w, g, state, group):
        """One parameter's step, as ``step()`` and compiled steps take it: ``update`` with the
        gradient negated where the group has maximize=True (PyTorch negates it first too)."""
        self.update(w, -g if group.get("maximize") else g, state, group)

    def update(self, w, g, state, group):
        """Change the array ``w`` in place given its gradient ``g``; subclasses define it."""
        raise NotImplementedError

    # -- saving and resuming -----------------------------------------------------------------
    def state_dict(self):
        """The optimizer's state as PyTorch gives it: ``state`` maps the index of each parameter
        that has state to its buffers: tensors sharing the optimizer's memory, so that they change
        with each step (as in PyTorch: deepcopy the dict to keep a snapshot), ``step`` among
        them as a 0-d tensor in PyTorch's step dtype (float32 unless float64 is the default);
        ``param_groups`` holds each group's options and the indices of its parameters."""
        params = self.parameters()
        index = {id(p): i for i, p in enumerate(params)}
        groups = []
        for group in self.param_groups:
            saved = {key: value for key, value in group.items() if key != "params"}
            saved["params"] = [index[id(p)] for p in group["params"]]
            groups.append(saved)
        state = {i: dict(self.state[p]) for i, p in enumerate(params) if self._state.get(p)}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Resume from ``state_dict()``, one saved by an earlier chainrule (whose ``state`` is a
        list), or one saved by PyTorch's optimizer of the same name (its tensors read through
        NumPy, its kernel switches checked and dropped): checks everything first and raises
        one ValueError listing every problem, so a failed load changes nothing. The buffers are
        copied, each in its parameter's dtype; the step count keeps its saved dtype."""
        self.check_state_dict(state_dict)
        for group, saved in zip(self.param_groups, state_dict["param_groups"]):
            for key in self.defaults:
                value = saved.get(key, OPTIONAL_OPTIONS.get(key))
                group[key] = tuple(value) if isinstance(value, list) else value
            for key in SCHEDULER_KEYS:  # written by a learning-rate scheduler, as in PyTorch
                if key in saved:
                    group[key] = saved[key]
        params = self.parameters()
        self._state = {}
        for i, saved in _by_index(state_dict["state"]).items():
            saved = {key: value for key, value in saved.items() if value is not None}
            if saved:
                p = params[i]
                self._state[p] = {key: _restore(key, value, p) for key, value in saved.items()}

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
            foreign = self._foreign_switches(saved) if isinstance(saved, dict) else set()
            present = (set(saved) - set(SCHEDULER_KEYS) - foreign
                       if isinstance(saved, dict) else None)
            if present is None or not expected - set(OPTIONAL_OPTIONS) <= present <= expected:
                keys = sorted(saved) if isinstance(saved, dict) else type(saved).__name__
                problems.append(f"group {number} has keys {keys}, expected {sorted(expected)} "
                                f"(was it saved by another kind of optimizer?)")
                continue
            if len(saved["params"]) != len(group["params"]):
                problems.append(f"group {number} has {len(saved['params'])} parameters, "
                                f"expected {len(group['params'])}")
            try:
                self.check_options({key: saved.get(key, OPTIONAL_OPTIONS.get(key))
                                    for key in self.defaults})
                switches(self, **{key: saved[key] for key in foreign if key in TORCH_SWITCHES})
            except (TypeError, ValueError) as error:
                problems.append(f"group {number}: {error}")
            if "decoupled_weight_decay" in foreign and \
                    saved["decoupled_weight_decay"] != self.decoupled_weight_decay:
                problems.append(f"group {number} was saved with decoupled_weight_decay="
                                f"{saved['decoupled_weight_decay']!r}, this optimizer has "
                                f"{self.decoupled_weight_decay}")
        params = self.parameters()
        if isinstance(saved_state, list) and len(saved_state) != len(params):
            problems.append(f"it has state for {len(saved_state)} parameters, expected "
                            f"{len(params)}")
        elif not isinstance(saved_state, (list, dict)):
            return problems + [f"'state' is a {type(saved_state).__name__}, expected a dict "
                               f"keyed by parameter index"]
        for number, saved in _by_index(saved_state).items():
            if type(number) is not int or not 0 <= number < len(params):
                problems.append(f"state has the key {number!r}, expected parameter indices 0 "
                                f"to {len(params) - 1}")
            elif not isinstance(saved, dict):
                problems.append(f"state {number} is a {type(saved).__name__}, not a dict")
            else:
                problems.extend(self._buffer_problems(number, saved, params[number]))
        return problems

    def _foreign_switches(self, saved):
        """The keys of a saved group that PyTorch writes and this optimizer does not keep: its
        kernel switches, and Adam's decoupled_weight_decay where it is a class here (AdamW)."""
        keys = {key for key in TORCH_SWITCHES if key in saved and key not in self.defaults}
        if "decoupled_weight_decay" in saved and "decoupled_weight_decay" not in self.defaults \
                and hasattr(self, "decoupled_weight_decay"):
            keys.add("decoupled_weight_decay")
        return keys

    def _buffer_problems(self, number, saved, p):
        problems = []
        unknown = sorted(set(saved) - set(self.state_keys))
        if unknown:
            problems.append(f"state {number} has unknown keys {unknown}")
        for key, value in saved.items():
            if value is None:
                continue  # PyTorch's way of saying no buffer
            array = _as_array(value)
            if key == "step":
                if _step_count(array) is None:
                    problems.append(f"state {number} step is {value!r}, not a whole number")
            elif not isinstance(array, ndarray) or array.dtype.kind not in "iuf":
                problems.append(f"state {number} {key} is not a numeric array or tensor")
            elif array.shape != (shape := () if key in self.scalar_state_keys else p.shape):
                problems.append(f"state {number} {key} expected shape {shape} got "
                                f"{array.shape}")
        return problems


@contextlib.contextmanager
def _named(owner):
    """Prefix a TypeError or ValueError raised inside with the class name of ``owner``, so the
    message says which optimizer or scheduler refused the option."""
    try:
        yield
    except (TypeError, ValueError) as error:
        raise type(error)(f"{type(owner).__name__}: {error}") from None


def _by_index(state):
    """The saved state as {parameter index: buffers}: PyTorch's dict (whose keys a JSON file
    may have turned into strings of digits), or an earlier chainrule's list."""
    if isinstance(state, list):
        return dict(enumerate(state))
    return {int(key) if isinstance(key, str) and key.isdigit() else key: value
            for key, value in state.items()}


def _step_count(value):
    """The step count in a saved state: an int, or a whole number in a float or 0-d array."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, ndarray) and value.shape == () or isinstance(value, numbers.Real):
        number = float(value)
        return int(number) if number.is_integer() and number >= 0 else None
    return None


def _as_array(value):
    """A saved buffer as an array: chainrule's tensors, and any other array (PyTorch's CPU
    tensors) through NumPy's protocol; a plain number, or what NumPy cannot read, stays as it
    is (and is reported as such)."""
    if isinstance(value, Tensor):
        return value.detach().numpy()
    if isinstance(value, (ndarray, numbers.Number)) or not hasattr(value, "__array__"):
        return value
    try:
        return xp.asarray(value)
    except (TypeError, ValueError, RuntimeError):
        return value


def _restore(key, value, p):
    """A saved buffer as PyTorch loads it: in the parameter's dtype, but the step count in its
    saved dtype (a plain number, from an earlier chainrule, in PyTorch's step dtype)."""
    value = _as_array(value)
    if key != "step":
        return xp.array(value, dtype=p.dtype, copy=True)
    if isinstance(value, ndarray):
        return value.copy()
    return xp.array(_step_count(value), dtype=step_dtype())


def _check_betas(betas):
    """Adam's (beta1, beta2): a pair of numbers, each in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    for name, beta in zip(("betas[0]", "betas[1]"), betas):
        _check_number(name, beta)
        if not 0 <= beta < 1:
            raise ValueError(f"{name} must be in [0, 1), got {beta!r}")


def _lerp(start, end, weight):
    """start += weight * (end - start), in place, in PyTorch's lerp order (from the nearer end,
    so that the weights 0 and 1 give start and end exactly)."""
    if abs(weight) < 0.5:
        start += (end - start) * weight
    else:
        start[...] = end - (end - start) * (1 - weight)


def _check_positive_int(name, value):
    return _check_int(name, value, 1)
