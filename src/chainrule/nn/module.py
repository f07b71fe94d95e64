"""Parameter and Module: the containers that layers and models are built from.

A Module finds its parameters and submodules by looking at its attributes, including those
inside lists, tuples and dicts, so there is nothing to register:

    class MLP(Module):
        def __init__(self):
            self.fc1 = Linear(784, 256)
            self.blocks = [Linear(256, 256), Linear(256, 256)]
            self.out = Linear(256, 10)

has the parameters ``fc1.weight``, ``fc1.bias``, ``blocks.0.weight``, ... ``out.bias``: the
names PyTorch gives them, which are also the keys of ``state_dict()``.
"""
import contextlib
from collections import OrderedDict, namedtuple

from ..autograd import mode, no_grad
from ..backend import ndarray, xp
from ..errors import ChainruleError, DtypeError
from ..tensor import Tensor

_EXTRA = "_extra_state"  # the state-dict key of a module's extra state, as PyTorch's

IncompatibleKeys = namedtuple("IncompatibleKeys", "missing_keys unexpected_keys")
IncompatibleKeys.__doc__ = """What ``load_state_dict(..., strict=False)`` returns: the keys the model
has that the state lacked, and the keys of the state that the model does not have.

    >>> cr.nn.Linear(2, 2).load_state_dict({"weight": np.zeros((2, 2))}, strict=False)
    IncompatibleKeys(missing_keys=['bias'], unexpected_keys=[])
    """


class StateDictError(ChainruleError, ValueError, RuntimeError):
    """A state dict does not fit the model: missing or unexpected keys, wrong shapes or dtypes.
    A RuntimeError, as PyTorch's load_state_dict raises, and a ValueError.

    >>> cr.nn.Linear(2, 2).load_state_dict({'weight': np.zeros((3, 3))})
    Traceback (most recent call last):
        ...
    chainrule.nn.module.StateDictError: load_state_dict: missing keys ['bias']; wrong shapes: weight expected (2, 2) got (3, 3)
    """


class Parameter(Tensor):
    """A tensor that is a model's learnable weight: it always requires grad, and a Module that
    holds it in an attribute lists it among its ``parameters()``.

    Float tensors and writable float arrays keep their dtype and are used without copying;
    Python numbers take the default float dtype. Integer or bool data is refused unless
    ``requires_grad=False``, as in PyTorch (only floats can require gradients).

    >>> w = cr.nn.Parameter(np.zeros((2, 2)))
    >>> w.requires_grad, w.dtype
    (True, dtype('float64'))
    """

    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        array = data._data if isinstance(data, Tensor) else data
        if not isinstance(array, ndarray):  # numbers: the default float, as torch.Tensor
            array = Tensor(array)._data
        if array.dtype.kind != "f" and requires_grad:
            raise DtypeError(f"Parameter: only floating-point tensors can require gradients (as "
                             f"in PyTorch), got {array.dtype}; convert with .float() or pass "
                             f"requires_grad=False")
        if not array.flags.writeable:
            array = array.copy()  # optimizers update parameters in place
        self._data = array  # shared, not copied: a Parameter wraps the array it is given
        self.node = None
        self.grad = None
        self.requires_grad = False
        self.requires_grad_(requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class ModuleScope(str):
    """The scope of the nodes a module's forward records (``node.scope``): the module's path as
    a string ("2.1", so it compares and prints as the path) that also says which kind of module
    made them (``module_type``) and inside which scope it was called (``outer``), so that
    inspect can read "layer 0, a Linear" from what the model declares."""

    def __new__(cls, name, module_type, outer=None):
        scope = super().__new__(cls, name if outer is None else f"{outer}.{name}")
        scope.name = name
        scope.module_type = module_type
        scope.outer = outer
        return scope

    def __reduce__(self):
        return ModuleScope, (self.name, self.module_type, self.outer)


class Module:
    """Base class of layers and models: subclasses set attributes and define ``forward``.

    Subclasses need not call ``super().__init__()``. Calling a module runs ``forward`` in its
    scope, so each graph node records which module made it: ``node.scope`` is a ModuleScope,
    the module's path ("0", "fc1", "encoder.blocks.2") that also carries the module's class.
    The name is set when the module is attached to a parent (attribute assignment, Sequential)
    and refreshed whenever the parent walks its children (``named_modules``, ``parameters``,
    ...); a module held by two parents answers to the name it was given last.

    >>> class Affine(cr.nn.Module):
    ...     def __init__(self):
    ...         self.w = cr.nn.Parameter(np.ones(2))
    ...     def forward(self, x):
    ...         return x * self.w
    ...
    >>> [name for name, _ in Affine().named_parameters()]
    ['w']
    """

    training = True
    _hooks = None  # a ModuleHooks once a hook is registered
    _name = None  # this module's path in its parent; None for a root module
    # (the caller's scope, _name, the ModuleScope made for them): made on the first call and
    # reused while the module's name and its caller's scope stay the same.
    _scope = (None, None, None)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        for a in args:
            if isinstance(a, ndarray):
                args = tuple(Tensor._wrap(a) if isinstance(a, ndarray) else a for a in args)
                break
        if self._hooks:
            return self._hooks.call(self, args, kwargs)
        return self._forward_in_scope(args, kwargs)

    def _forward_in_scope(self, args, kwargs):
        name = self._name
        if name is None:
            return self.forward(*args, **kwargs)
        # autograd.scope written inline, with the scope object of the last call: a context-
        # manager object per module call cost ~1.5 us of a small training step's overhead.
        previous = mode.scope
        cached = self._scope
        if cached[0] is not previous or cached[1] is not name:
            cached = (previous, name, ModuleScope(name, type(self), previous))
            object.__setattr__(self, "_scope", cached)
        mode.scope = cached[2]
        try:
            return self.forward(*args, **kwargs)
        finally:
            mode.scope = previous

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)
        if name != "_name":
            for child_name, member in _members(name, value):
                if isinstance(member, Module):
                    object.__setattr__(member, "_name", child_name)

    # -- walking the tree ---------------------------------------------------------------------
    def _attributes(self):
        """(name, value) pairs in which parameters and submodules are looked for."""
        return ((name, value) for name, value in vars(self).items()
                if name not in ("_name", "_scope", "_buffers", "_hooks", "_state_hooks"))

    def _direct_members(self):
        for name, value in self._attributes():
            yield from _members(name, value)

    def named_children(self):
        """(name, module) for each direct submodule, in attribute order."""
        seen = set()
        for name, member in self._direct_members():
            if isinstance(member, Module) and id(member) not in seen:
                seen.add(id(member))
                object.__setattr__(member, "_name", name)
                yield name, member

    def children(self):
        """Each direct submodule, in attribute order."""
        return (module for _, module in self.named_children())

    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(path, module) for this module and every submodule, depth first; this module's own
        path is ``prefix`` ("" by default). As in PyTorch, a module reachable by several paths
        comes once, under its first (``remove_duplicate=False``: under each); ``memo``, a set
        of modules, holds those already seen."""
        seen = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:
            path, module = stack.pop()
            if remove_duplicate:
                if module in seen:
                    continue
                seen.add(module)
            yield path, module
            children = [(f"{path}.{name}" if path else name, child)
                        for name, child in module._child_members(remove_duplicate)]
            stack.extend(reversed(children))

    def _child_members(self, remove_duplicate):
        if remove_duplicate:
            return self.named_children()
        return [(name, m) for name, m in self._direct_members() if isinstance(m, Module)]

    def modules(self):
        """This module and every submodule, depth first."""
        return (module for _, module in self.named_modules())

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(name, parameter) pairs with PyTorch's names ("0.weight", "fc1.bias"). As in PyTorch,
        a module's own parameters (in its attributes, lists and dicts) come before those of its
        submodules (``recurse=False``: its own only); a parameter shared by several modules is
        listed once, under its first name (``remove_duplicate=False``: under each)."""
        seen = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        for path, module in modules:
            for name, member in module._direct_members():
                if isinstance(member, Parameter) and (not remove_duplicate
                                                      or id(member) not in seen):
                    seen.add(id(member))
                    yield (f"{path}.{name}" if path else name), member

    def parameters(self, recurse=True):
        """Every parameter (``named_parameters`` without the names); what optimizers take."""
        return (p for _, p in self.named_parameters(recurse=recurse))

    def add_module(self, name, module):
        """Make ``module`` (a Module or None) the submodule ``name``, as assigning the attribute
        does; PyTorch's spelling for names made at run time (``str(index)``)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {type(module).__name__} is not a Module")
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"add_module: the name must be a non-empty string without '.', "
                           f"got {name!r}")
        setattr(self, name, module)

    register_module = add_module

    def register_parameter(self, name, param):
        """Make ``param`` (a Parameter or None) the parameter ``name``, as assigning it does."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {type(param).__name__} is not a Parameter; "
                            f"wrap it in nn.Parameter")
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"register_parameter: the name must be a non-empty string without "
                           f"'.', got {name!r}")
        setattr(self, name, param)

    def get_submodule(self, target):
        """The submodule at the dotted path ``target`` ("" is this module), as PyTorch's.

        >>> cr.nn.Sequential(cr.nn.Linear(2, 2)).get_submodule("0")
        Linear(in_features=2, out_features=2, bias=True)
        """
        module = self
        for part in target.split(".") if target else ():
            children = dict(module.named_children())
            if part not in children:
                raise AttributeError(f"{type(module).__name__} has no submodule {part!r} "
                                     f"(looking for {target!r})")
            module = children[part]
        return module

    def set_submodule(self, target, module, strict=False):
        """Make ``module`` the submodule at the dotted path ``target``, as PyTorch's: the
        parent must exist; with ``strict=True`` the submodule must exist too.

        >>> model = cr.nn.Sequential(cr.nn.Linear(2, 2))
        >>> model.set_submodule("0", cr.nn.ReLU())
        >>> model
        Sequential(
          (0): ReLU()
        )
        """
        if target == "":
            raise ValueError("set_submodule: cannot set the submodule without a target name")
        if not isinstance(module, Module):
            raise ValueError(f"set_submodule: module is not an nn.Module, found "
                             f"{type(module).__name__}")
        parent_path, _, name = target.rpartition(".")
        parent = self.get_submodule(parent_path)
        children = dict(parent.named_children())
        exists = name in children or hasattr(parent, name)
        if strict and not exists:
            raise AttributeError(f"{type(parent).__name__} has no attribute `{name}`")
        if name not in children and exists and not isinstance(getattr(parent, name), Module):
            raise AttributeError(f"`{name}` is not an nn.Module")
        if isinstance(parent, (Sequential, ModuleList)) and name.isdigit():
            if name in children:
                parent[list(children).index(name)] = module
            else:
                parent.append(module)
        else:
            setattr(parent, name, module)

    def get_parameter(self, target):
        """The parameter at the dotted path ``target``, as PyTorch's; AttributeError if the
        path leads nowhere or to something that is not a Parameter.

        >>> cr.nn.Sequential(cr.nn.Linear(2, 3)).get_parameter("0.bias").shape
        cr.Size([3])
        """
        found = dict(self.named_parameters(remove_duplicate=False))
        if target in found:
            return found[target]
        self._missing_member(target, "nn.Parameter")

    def get_buffer(self, target):
        """The buffer at the dotted path ``target``, as PyTorch's; AttributeError if the path
        leads nowhere or to something that is not a buffer.

        >>> cr.nn.BatchNorm1d(2).get_buffer("running_mean")
        tensor([0., 0.], dtype=float32)
        """
        found = dict(self.named_buffers(remove_duplicate=False))
        if target in found:
            return found[target]
        self._missing_member(target, "buffer")

    def _missing_member(self, target, kind):
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if not hasattr(module, name):
            raise AttributeError(f"{type(module).__name__} has no attribute `{name}`")
        raise AttributeError(f"`{name}` is not a {kind}")

    # -- buffers: state that is saved but not learned (batch norm's running statistics) -------
    def register_buffer(self, name, tensor, persistent=True):
        """Keep ``tensor`` as the attribute ``name``: it goes into ``state_dict()`` (unless
        ``persistent=False``) and follows ``to(dtype)``, but is not a parameter, so no
        optimizer updates it. ``tensor`` may be None (a buffer not yet set)."""
        if tensor is not None and not isinstance(tensor, Tensor):
            tensor = Tensor._wrap(tensor)
        if isinstance(tensor, Parameter):
            raise TypeError(f"register_buffer: {name!r} is a Parameter; assign it as an "
                            f"attribute instead")
        buffers = vars(self).setdefault("_buffers", {})
        buffers[name] = persistent
        object.__setattr__(self, name, tensor)

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True,
                      persistent_only=False):
        """(name, tensor) for the buffers of this module and (``recurse``) its submodules."""
        seen = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        for path, module in modules:
            for name, persistent in vars(module).get("_buffers", {}).items():
                value = getattr(module, name, None)
                if value is None or persistent_only and not persistent or \
                        remove_duplicate and id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{path}.{name}" if path else name), value

    def buffers(self, recurse=True):
        """Every buffer (``named_buffers`` without the names)."""
        return (b for _, b in self.named_buffers(recurse=recurse))

    def _named_state(self, prefix=""):
        """The state dict's (name, tensor) pairs: this module's parameters, then its buffers,
        then each submodule's, depth first (PyTorch's order). As in PyTorch, a parameter or
        module that appears in several places (a tied weight) is listed under every name."""
        yield from self._own_state(prefix)
        for name, member in self._direct_members():
            if isinstance(member, Module):
                yield from member._named_state(f"{prefix}{name}.")

    def _own_state(self, prefix):
        for name, member in self._direct_members():
            if isinstance(member, Parameter):
                yield prefix + name, member
        for name, persistent in vars(self).get("_buffers", {}).items():
            value = getattr(self, name, None)
            if persistent and value is not None:
                yield prefix + name, value

    def _extra_states(self, method):
        """{state-dict key: module} for the modules whose class defines ``method``
        ("get_extra_state" or "set_extra_state"), as PyTorch decides which save extra state."""
        return {f"{path}.{_EXTRA}" if path else _EXTRA: module
                for path, module in self.named_modules()
                if getattr(type(module), method) is not getattr(Module, method)}

    # -- dtypes, freezing, visiting -------------------------------------------------------------
    def to(self, device=None, dtype=None, non_blocking=False):
        """Move to ``device`` and convert every floating-point parameter and buffer to
        ``dtype``, in place, as PyTorch's ``Module.to``: ``m.to("cpu")``, ``m.to(cr.float64)``,
        ``m.to(device, dtype)``, ``m.to(tensor)`` (its dtype). Only the CPU exists: another
        device raises a DeviceError. A gradient is converted with its parameter.

        >>> m = cr.nn.Linear(2, 1).to(cr.device("cpu"), cr.float64)
        >>> m.weight.dtype, m.weight.device
        (dtype('float64'), device(type='cpu'))
        """
        from ..device import check_device, is_device
        from ..dtypes import as_dtype
        if isinstance(device, Tensor):
            device, dtype = None, device.dtype
        elif device is not None and not is_device(device):
            if dtype is not None:
                raise TypeError(f"Module.to({device!r}, {dtype!r}): the first argument is not "
                                f"a device; give to(device, dtype) or to(dtype)")
            device, dtype = None, device
        check_device(device, "Module.to")
        if dtype is None:
            return self
        dtype = as_dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"Module.to: parameters must stay floating point, got {dtype}")
        for tensor in list(self.parameters()) + list(self.buffers()):
            if tensor.dtype.kind == "f" and tensor.dtype != dtype:
                for t in (tensor, tensor.grad):  # the gradient too, kept, as PyTorch's
                    if t is not None:
                        t._data = t._data.astype(dtype)
                        if t.node is not None and t.node.op is None:
                            t.node = None  # a leaf node remembers the old dtype
        return self

    def cpu(self):
        """This module itself: its parameters are on the CPU, where chainrule computes.

        >>> m = cr.nn.Linear(2, 1)
        >>> m.cpu() is m
        True
        """
        return self

    def cuda(self, device=None):
        """Refused with a DeviceError: chainrule has no GPU (``cr.cuda.is_available()`` is
        False), so code should choose its device with it.

        >>> cr.nn.Linear(2, 1).cuda()
        Traceback (most recent call last):
            ...
        chainrule.device.DeviceError: Module.cuda(device='cuda'): chainrule computes with NumPy on the CPU only; use device='cpu' (or leave device out), and cr.cuda.is_available() to choose at run time
        """
        from ..device import check_device
        check_device("cuda" if device is None else device, "Module.cuda")
        return self

    def float(self):
        """``to(float32)``."""
        return self.to("float32")

    def double(self):
        """``to(float64)``: for gradient checks."""
        return self.to("float64")

    def half(self):
        """``to(float16)``."""
        return self.to("float16")

    def bfloat16(self):
        """Refused with a DtypeError: NumPy has no bfloat16, so chainrule cannot store it;
        ``half()`` (float16) is the nearest 16-bit type.

        >>> cr.nn.Linear(2, 1).bfloat16()
        Traceback (most recent call last):
            ...
        chainrule.errors.DtypeError: Module.bfloat16: NumPy has no bfloat16 dtype, so chainrule cannot hold one; use half() (float16) or float()
        """
        raise DtypeError("Module.bfloat16: NumPy has no bfloat16 dtype, so chainrule cannot "
                         "hold one; use half() (float16) or float()")

    def type(self, dst_type):
        """Cast every parameter and buffer, integer buffers included, to ``dst_type`` (a
        dtype), in place, as PyTorch's ``Module.type``; returns this module. Parameters that
        require grad must stay floating point.

        >>> m = cr.nn.BatchNorm1d(2).type(cr.float64)
        >>> m.weight.dtype, m.num_batches_tracked.dtype
        (dtype('float64'), dtype('float64'))
        """
        from ..dtypes import as_dtype
        dtype = as_dtype(dst_type)
        tensors = list(self.parameters()) + list(self.buffers())
        if dtype.kind != "f" and any(t.requires_grad for t in tensors):
            raise TypeError(f"Module.type({dtype}): a parameter that requires grad must be "
                            f"floating point")
        for tensor in tensors:
            self._replace_data(tensor, lambda array: array.astype(dtype))
        return self

    def to_empty(self, *, device, recurse=True):
        """Give every parameter and buffer (and gradient) new uninitialised memory of the same
        shape and dtype on ``device``, as PyTorch's (the CPU is the only device); the tensors
        stay the same objects. Returns this module.

        >>> m = cr.nn.Linear(2, 3).to_empty(device="cpu")
        >>> m.weight.shape, m.weight.dtype
        (cr.Size([3, 2]), dtype('float32'))
        """
        from ..device import check_device
        check_device(device, "Module.to_empty")
        tensors = list(self.parameters(recurse)) + list(self.buffers(recurse))
        for tensor in tensors:
            self._replace_data(tensor, xp.empty_like)
        return self

    @staticmethod
    def _replace_data(tensor, convert):
        for t in (tensor, tensor.grad):  # the gradient too, as PyTorch's _apply
            if t is not None:
                t._data = convert(t._data)
                if t.node is not None and t.node.op is None:
                    t.node = None  # a leaf node remembers the old dtype

    def share_memory(self):
        """This module itself: chainrule's tensors live in the process's memory on the CPU, and
        there is no shared-memory tensor to move them to.

        >>> m = cr.nn.Linear(2, 1)
        >>> m.share_memory() is m
        True
        """
        return self

    def requires_grad_(self, requires_grad=True):
        """Freeze (False) or unfreeze every parameter; optimizers skip frozen ones."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def apply(self, fn):
        """Call ``fn(module)`` on each child's tree in registration order, then on this module,
        exactly as PyTorch (so per-layer random initialisations draw in PyTorch's order);
        returns this module.

        >>> model = cr.nn.Sequential(cr.nn.Linear(2, 2), cr.nn.Sequential(cr.nn.ReLU()))
        >>> seen = []
        >>> _ = model.apply(lambda m: seen.append(type(m).__name__))
        >>> seen
        ['Linear', 'ReLU', 'Sequential', 'Sequential']
        """
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # -- hooks ----------------------------------------------------------------------------------
    def _hook_set(self):
        if vars(self).get("_hooks") is None:
            from .hooks import ModuleHooks
            object.__setattr__(self, "_hooks", ModuleHooks())
        return self._hooks

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Call ``hook(module, args)`` before each forward; a returned value replaces the
        positional arguments (a non-tuple becomes a 1-tuple). With ``with_kwargs=True`` it is
        ``hook(module, args, kwargs)`` returning None or ``(args, kwargs)``. Returns a handle
        whose ``remove()`` unregisters it.

        >>> layer = cr.nn.Identity()
        >>> handle = layer.register_forward_pre_hook(lambda module, args: args[0] * 2)
        >>> layer(cr.tensor([1.]))
        tensor([2.], dtype=float32)
        """
        return self._hook_set().add("forward_pre", hook, prepend, with_kwargs)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Call ``hook(module, args, output)`` after each forward (``hook(module, args, kwargs,
        output)`` with ``with_kwargs=True``); a returned value replaces the output. Returns a
        handle whose ``remove()`` unregisters it.

        >>> shapes = []
        >>> layer = cr.nn.Linear(3, 2)
        >>> handle = layer.register_forward_hook(lambda m, args, out: shapes.append(out.shape))
        >>> _ = layer(cr.ones(4, 3))
        >>> shapes
        [cr.Size([4, 2])]
        """
        return self._hook_set().add("forward", hook, prepend, with_kwargs)

    def register_full_backward_hook(self, hook, prepend=False):
        """Call ``hook(module, grad_input, grad_output)`` when the gradient with respect to the
        module's input has been computed: ``grad_input`` has one entry per positional argument
        (None where it is not a tensor that requires grad), ``grad_output`` one for the
        output. A returned tuple replaces ``grad_input``. As in PyTorch, if no input requires
        grad the hook fires with the output's gradient and ``grad_input`` all None (with a
        warning). Modules returning several tensors, or called with several tensors while one
        requires grad, raise ``BackwardHookError``. Returns a handle whose ``remove()``
        unregisters it.

        >>> layer = cr.nn.Linear(3, 2)
        >>> handle = layer.register_full_backward_hook(
        ...     lambda m, grad_input, grad_output: (cr.ones(1, 3),))
        >>> x = cr.ones(1, 3, requires_grad=True)
        >>> layer(x).sum().backward()
        >>> x.grad
        tensor([[1., 1., 1.]], dtype=float32)
        """
        return self._hook_set().add("backward", hook, prepend)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """Call ``hook(module, grad_output)`` when the gradient with respect to the module's
        output has been computed, before it flows into the module; a returned tensor (or
        1-tuple) replaces it. Same limits as ``register_full_backward_hook``. Returns a handle
        whose ``remove()`` unregisters it.

        >>> layer = cr.nn.Linear(2, 1)
        >>> handle = layer.register_full_backward_pre_hook(
        ...     lambda m, grad_output: (grad_output[0] * 0,))
        >>> layer(cr.ones(1, 2)).sum().backward()
        >>> layer.bias.grad
        tensor([0.], dtype=float32)
        """
        return self._hook_set().add("backward_pre", hook, prepend)

    def register_backward_hook(self, hook):
        """Refused with a BackwardHookError: PyTorch deprecates this hook, whose ``grad_input``
        is the gradient of the module's last operation rather than of its inputs; use
        ``register_full_backward_hook``, which has the meaning PyTorch now documents.

        >>> cr.nn.Linear(2, 1).register_backward_hook(print)
        Traceback (most recent call last):
            ...
        chainrule.nn.hooks.BackwardHookError: register_backward_hook is deprecated in PyTorch and not provided: its grad_input belongs to the module's last operation, not its inputs. Use register_full_backward_hook(hook), called as hook(module, grad_input, grad_output)
        """
        from .hooks import BackwardHookError
        raise BackwardHookError(
            "register_backward_hook is deprecated in PyTorch and not provided: its grad_input "
            "belongs to the module's last operation, not its inputs. Use "
            "register_full_backward_hook(hook), called as hook(module, grad_input, grad_output)")

    def _add_state_hook(self, kind, hook):
        from .hooks import RemovableHandle
        if not callable(hook):
            raise TypeError(f"a hook must be callable, got {type(hook).__name__}")
        hooks = vars(self).setdefault("_state_hooks", {}).setdefault(kind, OrderedDict())
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def register_state_dict_pre_hook(self, hook):
        """Call ``hook(module, prefix, keep_vars)`` at the start of each ``state_dict()`` that
        reaches this module; returns a handle whose ``remove()`` unregisters it.

        >>> m = cr.nn.Sequential(cr.nn.Linear(2, 1))
        >>> handle = m[0].register_state_dict_pre_hook(lambda module, prefix, keep: print(prefix))
        >>> _ = m.state_dict()
        0.
        """
        return self._add_state_hook("state_dict_pre", hook)

    def register_state_dict_post_hook(self, hook):
        """Call ``hook(module, state_dict, prefix, local_metadata)`` once this module's entries
        (its submodules' included) are in ``state_dict``; the hook may change the dict in place
        and must return None. Returns a handle whose ``remove()`` unregisters it.

        >>> m = cr.nn.Linear(2, 1)
        >>> def drop_bias(module, state, prefix, local_metadata):
        ...     del state[prefix + "bias"]
        >>> handle = m.register_state_dict_post_hook(drop_bias)
        >>> list(m.state_dict())
        ['weight']
        """
        return self._add_state_hook("state_dict_post", hook)

    def register_load_state_dict_pre_hook(self, hook):
        """Call ``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` before ``load_state_dict`` loads anything, parents
        before children. ``state_dict`` is the load's own copy of the entries under
        ``prefix``, which the hook may change (to rename old keys, say); keys or messages it appends to the lists are reported as
        PyTorch's. As in PyTorch, ``strict`` is always True and ``local_metadata`` a dict.
        Unlike PyTorch, every pre-hook runs before the first post-hook (nothing is copied
        until all the checks pass).
        Returns a handle whose ``remove()`` unregisters it.

        >>> m = cr.nn.Linear(1, 1)
        >>> def rename(module, state, prefix, meta, strict, missing, unexpected, errors):
        ...     state[prefix + "bias"] = state.pop(prefix + "b")
        >>> handle = m.register_load_state_dict_pre_hook(rename)
        >>> m.load_state_dict({"weight": cr.ones(1, 1), "b": cr.ones(1)})
        IncompatibleKeys(missing_keys=[], unexpected_keys=[])
        """
        return self._add_state_hook("load_pre", hook)

    def register_load_state_dict_post_hook(self, hook):
        """Call ``hook(module, incompatible_keys)`` once this module's part of
        ``load_state_dict`` is loaded (children before parents); the hook may change the key
        lists in place (clearing them lets a strict load pass) and must return None. With such
        a hook the load copies first and then reports missing or unexpected keys, as
        PyTorch's. Returns a handle whose ``remove()`` unregisters it.

        >>> m = cr.nn.Linear(1, 1)
        >>> handle = m.register_load_state_dict_post_hook(
        ...     lambda module, keys: keys.missing_keys.clear())
        >>> m.load_state_dict({"weight": cr.ones(1, 1)})
        IncompatibleKeys(missing_keys=[], unexpected_keys=[])
        """
        return self._add_state_hook("load_post", hook)

    # -- modes and gradients ------------------------------------------------------------------
    def train(self, mode=True):
        """Set training mode (Dropout active) on this module and all its submodules."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self):
        """Set evaluation mode (Dropout is the identity); the same as ``train(False)``."""
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        """Forget the gradients of every parameter: ``grad`` becomes None, or with
        ``set_to_none=False`` is zeroed in place (as PyTorch, which defaults to None too).

        >>> layer = cr.nn.Linear(2, 1)
        >>> layer(cr.ones(1, 2)).sum().backward()
        >>> layer.zero_grad(set_to_none=False)
        >>> layer.bias.grad
        tensor([0.], dtype=float32)
        """
        zero_grads(self.parameters(), set_to_none)

    # -- saving and loading ---------------------------------------------------------------------
    def get_extra_state(self):
        """What a subclass overrides to save more than tensors: whatever it returns is stored
        in ``state_dict()`` under ``"<path>._extra_state"``, as PyTorch's; pair it with
        ``set_extra_state``. Module's own raises, and is never called.

        >>> class Counter(cr.nn.Module):
        ...     steps = 0
        ...     def get_extra_state(self):
        ...         return {"steps": self.steps}
        ...     def set_extra_state(self, state):
        ...         self.steps = state["steps"]
        >>> model = cr.nn.Sequential(Counter())
        >>> model[0].steps = 7
        >>> dict(model.state_dict())
        {'0._extra_state': {'steps': 7}}
        """
        raise RuntimeError("Module.get_extra_state is called only where a subclass defines it")

    def set_extra_state(self, state):
        """What a subclass overrides to load what its ``get_extra_state`` saved: called by
        ``load_state_dict`` with the value under ``"<path>._extra_state"`` (missing from a
        strict load: an error). Module's own raises, and is never called."""
        raise RuntimeError("Module.set_extra_state is called only where a subclass defines it")

    def state_dict(self, *, destination=None, prefix="", keep_vars=False):
        """An ordered dict from parameter and buffer name to a detached tensor that shares
        its memory, as PyTorch's: it follows training (a dict taken before training and saved
        after holds the trained values) and writing into it changes the model. Copy with
        ``{k: v.clone() for k, v in m.state_dict().items()}`` to keep a snapshot.
        ``keep_vars=True`` gives the Parameters themselves; ``prefix`` goes before every
        name, and ``destination`` (a dict) receives the entries and is returned.

        >>> m = cr.nn.Linear(2, 1)
        >>> state = m.state_dict()
        >>> _ = state["bias"].fill_(0.5)
        >>> m.bias
        Parameter containing:
        tensor([0.5], dtype=float32, requires_grad=True)
        """
        state = OrderedDict() if destination is None else destination
        self._save_state(state, prefix, keep_vars)
        return state

    def _save_state(self, state, prefix, keep_vars):
        """PyTorch's recursion: pre-hooks, own tensors, extra state, submodules, post-hooks."""
        hooks = vars(self).get("_state_hooks", {})
        for hook in list(hooks.get("state_dict_pre", {}).values()):
            hook(self, prefix, keep_vars)
        for name, tensor in self._own_state(prefix):
            state[name] = tensor if keep_vars else tensor.detach()
        if type(self).get_extra_state is not Module.get_extra_state:
            state[prefix + _EXTRA] = self.get_extra_state()
        for name, member in self._direct_members():
            if isinstance(member, Module):
                member._save_state(state, f"{prefix}{name}.", keep_vars)
        for hook in list(hooks.get("state_dict_post", {}).values()):
            if hook(self, state, prefix, {}) is not None:
                raise RuntimeError("state_dict post-hook must return None")

    def load_state_dict(self, state_dict, strict=True):
        """Copy the values of ``state_dict`` (tensors or arrays) into this model's parameters
        and buffers, in place: each Parameter stays the same object, so an optimizer made
        before the load keeps updating it.

        Everything is checked before anything is copied, and every problem found is reported
        in one StateDictError, so a failed load leaves the model untouched. With
        ``strict=False`` missing and unexpected keys are allowed (and returned), wrong shapes
        and dtypes are not. Returns ``IncompatibleKeys(missing_keys, unexpected_keys)``.

        >>> a, b = cr.nn.Linear(2, 1), cr.nn.Linear(2, 1)
        >>> weight = b.weight
        >>> b.load_state_dict(a.state_dict())
        IncompatibleKeys(missing_keys=[], unexpected_keys=[])
        >>> b.weight is weight, bool((b.weight == a.weight).all())
        (True, True)
        """
        added = IncompatibleKeys([], [])
        if hasattr(state_dict, "items"):
            state_dict = self._load_pre_hooks(OrderedDict(state_dict), added, strict)
        post = self._post_order_hooks()
        with self._submodules_shaped_by(state_dict, keep=True):
            own = OrderedDict(self._named_state())
            tensors, extra = self._split_extra(state_dict, strict and not post)
            arrays, keys = match_state_dict({name: p.shape for name, p in own.items()},
                                            tensors, strict and not post,
                                            {name: p.dtype for name, p in own.items()})
            with no_grad():  # a parameter is written, not computed (as PyTorch does it)
                for name, array in arrays.items():
                    if array is not own[name]._data:  # loading its own state changes nothing
                        own[name].copy_(array)
        keys.missing_keys.extend(added.missing_keys)
        keys.unexpected_keys.extend(added.unexpected_keys)
        for key, module in extra.items():
            if key in state_dict:
                module.set_extra_state(state_dict[key])
            else:
                keys.missing_keys.append(key)
        for module, hook in post:
            if hook(module, keys) is not None:
                raise RuntimeError("a load_state_dict post-hook must return None; change "
                                   "incompatible_keys in place instead")
        if post and strict and (keys.missing_keys or keys.unexpected_keys):
            raise StateDictError(f"load_state_dict: missing keys {keys.missing_keys}; "
                                 f"unexpected keys {keys.unexpected_keys}")
        return keys

    def check_state_dict(self, state, strict=True):
        """Raise what ``load_state_dict(state, strict)`` would raise, changing nothing; returns
        the same ``IncompatibleKeys``. For loads that must check several parts before applying
        any of them. Load hooks are not run."""
        with self._submodules_shaped_by(state, keep=False):
            own = OrderedDict(self._named_state())
            tensors, extra = self._split_extra(state, strict)
            keys = match_state_dict({name: p.shape for name, p in own.items()}, tensors,
                                    strict, {name: p.dtype for name, p in own.items()})[1]
            keys.missing_keys.extend(key for key in extra if key not in state)
            return keys

    def _split_extra(self, state, strict):
        """The state without the extra states of modules that load one, and those modules
        by key; with ``strict``, a missing extra state raises."""
        extra = self._extra_states("set_extra_state")
        if not extra or not hasattr(state, "items"):
            return state, extra
        missing = [key for key in extra if key not in state]
        if strict and missing:
            raise StateDictError(f"load_state_dict: missing keys {missing}")
        return {k: v for k, v in state.items() if k not in extra}, extra

    def _load_pre_hooks(self, state, added, strict):
        """Run every module's load pre-hooks (parents first, as PyTorch) on ``state``, a copy
        they may change; keys they add to their lists join ``added``, and errors they report
        (or, with ``strict``, keys they add) raise before anything is copied."""
        errors = []
        for path, module in self.named_modules():
            hooks = list(vars(module).get("_state_hooks", {}).get("load_pre", {}).values())
            if not hooks:
                continue
            # As PyTorch, a submodule's hooks see only the entries under its prefix.
            prefix = f"{path}." if path else ""
            part = OrderedDict((k, v) for k, v in state.items() if k.startswith(prefix))
            for hook in hooks:
                hook(module, part, prefix, {}, True, added.missing_keys,
                     added.unexpected_keys, errors)
            for key in [k for k in state if k.startswith(prefix) and k not in part]:
                del state[key]
            state.update(part)
        if strict and added.missing_keys:
            errors.append(f"missing keys {added.missing_keys}")
        if strict and added.unexpected_keys:
            errors.append(f"unexpected keys {added.unexpected_keys}")
        if errors:
            raise StateDictError("load_state_dict: " + "; ".join(errors))
        return state

    def _post_order_hooks(self):
        """(module, hook) for every load post-hook, children before their parent (PyTorch's
        order: each module's hooks run once its whole subtree is loaded)."""
        found = []
        for module in self.children():
            found.extend(module._post_order_hooks())
        found.extend((self, hook) for hook in
                     vars(self).get("_state_hooks", {}).get("load_post", {}).values())
        return found

    def _shaped_by(self, state_dict, keep):
        """A lazy module's tensors take their shapes from ``state_dict`` for the block
        (nn/lazy.py); other modules have their shapes already."""
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def _submodules_shaped_by(self, state_dict, keep):
        """Every submodule shaped by its part of ``state_dict`` (d2l's save-and-load of a
        model whose lazy layers have not run yet: PyTorch loads their shapes too)."""
        with contextlib.ExitStack() as stack:
            for path, module in self.named_modules():
                if module is not self and hasattr(state_dict, "items"):
                    start = path + "."
                    part = {key[len(start):]: value for key, value in state_dict.items()
                            if key.startswith(start)}
                    stack.enter_context(module._shaped_by(part, keep))
            yield

    # -- printing -------------------------------------------------------------------------------
    def extra_repr(self):
        """The text between the parentheses of this module's repr (its sizes and options)."""
        return ""

    def __repr__(self):
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        if self.extra_repr():
            lines.append("  " + self.extra_repr())
        for name, child in children:
            lines.append(f"  ({name}): " + repr(child).replace("\n", "\n  "))
        lines.append(")")
        return "\n".join(lines)

    def _repr_html_(self):
        from ..display import module_html
        return module_html(self)


def zero_grads(parameters, set_to_none=True):
    """``zero_grad`` for modules and optimizers: each gradient dropped, or (``set_to_none=
    False``) cut from any graph and zeroed in place, as PyTorch."""
    for p in parameters:
        if p.grad is None:
            continue
        if set_to_none:
            p.grad = None
        else:
            if p.grad.requires_grad:
                p.grad = p.grad.detach()
            p.grad.zero_()


def _members(name, value):
    """The Parameters and Modules in an attribute value, with their names below ``name``."""
    if isinstance(value, (Parameter, Module)):
        yield name, value
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _members(f"{name}.{index}", item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _members(f"{name}.{key}", item)


def match_state_dict(shapes, state, strict=True, dtypes=None):
    """Check ``state`` against the parameter ``shapes`` (name -> shape) of a model, which need
    not exist yet; returns ``(arrays, IncompatibleKeys)``, the arrays by name ready to copy.
    With ``dtypes`` (name -> dtype), floating-point values meant for an integer buffer (such
    as batch norm's ``num_batches_tracked``) are refused too; other numeric values are cast,
    as PyTorch's ``load_state_dict`` does.

    Raises TypeError if ``state`` is not a mapping, else one StateDictError listing every
    missing or unexpected key (with ``strict``), wrong shape, wrong dtype and wrong type.
    """
    if not hasattr(state, "keys") or not hasattr(state, "__getitem__"):
        raise TypeError(f"load_state_dict: expected a dict of name -> array, "
                        f"got {type(state).__name__}")
    missing = [name for name in shapes if name not in state]
    unexpected = [name for name in state.keys() if name not in shapes]
    arrays, wrong_shapes, wrong_dtypes, wrong_types = {}, [], [], []
    for name, shape in shapes.items():
        if name not in state:
            continue
        value = state[name]
        array = value._data if isinstance(value, Tensor) else _as_numeric_array(value)
        if array is None or array.dtype.kind not in "iuf":
            kind = type(value).__name__ if array is None else f"dtype {array.dtype}"
            wrong_types.append(f"{name} has {kind}, expected a numeric array")
        elif array.shape != tuple(shape):
            wrong_shapes.append(f"{name} expected {tuple(shape)} got {array.shape}")
        elif dtypes is not None and dtypes[name].kind in "iu" and array.dtype.kind == "f":
            wrong_dtypes.append(f"{name} expected {dtypes[name]} got {array.dtype}")
        else:
            arrays[name] = array
    problems = []
    if strict and missing:
        problems.append(f"missing keys {missing}")
    if strict and unexpected:
        problems.append(f"unexpected keys {unexpected}")
    if wrong_shapes:
        problems.append("wrong shapes: " + ", ".join(wrong_shapes))
    if wrong_dtypes:
        problems.append("wrong dtypes: " + ", ".join(wrong_dtypes))
    if wrong_types:
        problems.append("wrong types: " + ", ".join(wrong_types))
    if problems:
        raise StateDictError("load_state_dict: " + "; ".join(problems))
    return arrays, IncompatibleKeys(missing, unexpected)


def _as_numeric_array(value):
    """``value`` as an array, or None if it cannot be one (a ragged list, an arbitrary object)."""
    if isinstance(value, ndarray):
        return value
    try:
        return xp.asarray(value)
    except (TypeError, ValueError):
        return None


class Sequential(Module):
    """Modules applied one after another.

    ``Sequential(a, b, c)`` names its children "0", "1", "2"; ``Sequential({"fc1": a, ...})``
    (any dict) uses the dict's keys. Supports ``len``, iteration and indexing; a slice is a
    new Sequential holding the same modules under the same names, as in PyTorch.

    >>> model = cr.nn.Sequential(cr.nn.Linear(4, 3), cr.nn.ReLU(), cr.nn.Linear(3, 2))
    >>> model(cr.ones(5, 4)).shape
    cr.Size([5, 2])
    >>> list(model.state_dict())
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self, *modules):
        if len(modules) == 1 and isinstance(modules[0], dict):
            named = {str(name): module for name, module in modules[0].items()}
        else:
            named = {str(index): module for index, module in enumerate(modules)}
        for name, module in named.items():
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: entry {name} is a {type(module).__name__}, "
                                f"not a Module")
        object.__setattr__(self, "_layers", named)
        for name, module in named.items():
            object.__setattr__(module, "_name", name)

    def _attributes(self):
        return self._layers.items()

    def __getattr__(self, name):
        # Sequential(OrderedDict(fc1=...)).fc1, as in PyTorch
        layers = vars(self).get("_layers", {})
        if name in layers:
            return layers[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute {name!r}")

    def add_module(self, name, module):
        """Add ``module`` as the layer ``name`` (after the others, or in its place)."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.add_module: expected a Module, got "
                            f"{type(module).__name__}")
        object.__setattr__(module, "_name", str(name))
        self._layers[str(name)] = module

    register_module = add_module

    def __setattr__(self, name, value):
        # A module assigned to a Sequential joins its layers (and its forward), as in PyTorch.
        if isinstance(value, Module):
            self.add_module(name, value)
        else:
            super().__setattr__(name, value)

    def __setitem__(self, index, module):
        """``model[0] = nn.Linear(...)``: the layer at ``index`` replaced, its name kept."""
        names = list(self._layers)
        self.add_module(names[index], module)

    def append(self, module):
        """Add ``module`` at the end, named by its position."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.append: expected a Module, got {type(module).__name__}")
        name = str(len(self._layers))
        object.__setattr__(module, "_name", name)
        self._layers[name] = module
        return self

    def forward(self, x):
        for module in self._layers.values():
            x = module(x)
        return x

    def __len__(self):
        return len(self._layers)

    def __iter__(self):
        return iter(self._layers.values())

    def __getitem__(self, index):
        items = list(self._layers.items())
        if isinstance(index, slice):
            sliced = Sequential()
            sliced._layers.update(items[index])
            return sliced
        return items[index][1]


class ModuleList(Module):
    """A list of modules whose parameters the model sees, named "0", "1", ... (PyTorch's
    ModuleList). It has no forward: iterate over it in your own.

    >>> layers = cr.nn.ModuleList([cr.nn.Linear(2, 2) for _ in range(3)])
    >>> len(layers), [name for name, _ in layers.named_parameters()][:2]
    (3, ['0.weight', '0.bias'])
    """

    def __init__(self, modules=()):
        object.__setattr__(self, "_items", [])
        self.extend(modules)

    def _attributes(self):
        return ((str(i), m) for i, m in enumerate(self._items))

    def _check(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}: expected a Module, got "
                            f"{type(module).__name__}")
        return module

    def append(self, module):
        """Add ``module`` at the end."""
        object.__setattr__(self._check(module), "_name", str(len(self._items)))
        self._items.append(module)
        return self

    def extend(self, modules):
        """Add each of ``modules`` at the end."""
        for module in modules:
            self.append(module)
        return self

    def insert(self, index, module):
        """Put ``module`` before position ``index`` (the names follow the new positions)."""
        self._items.insert(index, self._check(module))
        for i, m in enumerate(self._items):
            object.__setattr__(m, "_name", str(i))

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ModuleList(self._items[index])
        return self._items[index]

    def __setitem__(self, index, module):
        self._items[index] = self._check(module)
        object.__setattr__(module, "_name", str(index % len(self._items)))

    def __len__(self):
        return len(self._items)

    def __iter__(self):
        return iter(self._items)


class _Entries:
    """What ModuleDict and ParameterDict share: a dict of named entries that the model sees
    (``_attributes``), read as a dict and, as in PyTorch, as attributes (heads.digit is
    heads["digit"]); each class says what an entry may be in ``__setitem__``."""

    def _attributes(self):
        return self._items.items()

    def __getitem__(self, key):
        return self._items[key]

    def __delitem__(self, key):
        del self._items[key]

    def __getattr__(self, name):
        items = vars(self).get("_items", {})
        if name in items:
            return items[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute or entry "
                             f"{name!r}")

    def keys(self):
        """The names, in insertion order."""
        return self._items.keys()

    def values(self):
        """The entries, in insertion order."""
        return self._items.values()

    def items(self):
        """(name, entry) pairs, in insertion order."""
        return self._items.items()

    def __contains__(self, key):
        return key in self._items

    def __len__(self):
        return len(self._items)

    def __iter__(self):
        return iter(self._items)


class ModuleDict(_Entries, Module):
    """A dict of modules whose parameters the model sees, named by their keys (PyTorch's
    ModuleDict).

    >>> heads = cr.nn.ModuleDict({"digit": cr.nn.Linear(4, 10), "parity": cr.nn.Linear(4, 2)})
    >>> list(heads.keys()), heads["parity"].out_features
    (['digit', 'parity'], 2)
    """

    def __init__(self, modules=None):
        object.__setattr__(self, "_items", {})
        if modules is not None:
            self.update(modules)

    def __setitem__(self, key, module):
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict: entry {key!r} is a {type(module).__name__}, not a "
                            f"Module")
        object.__setattr__(module, "_name", str(key))
        self._items[str(key)] = module


    def __setattr__(self, name, value):
        if isinstance(value, Module) and name != "_name":
            self[name] = value
        else:
            super().__setattr__(name, value)

    def __delattr__(self, name):
        if name in vars(self).get("_items", {}):
            del self._items[name]
        else:
            super().__delattr__(name)

    def update(self, modules):
        """Add (or replace) the entries of a dict or of (key, module) pairs."""
        for key, module in (modules.items() if hasattr(modules, "items") else modules):
            self[key] = module



def _as_parameter(value, owner):
    """A tensor becomes a Parameter sharing its memory (PyTorch's rule for ParameterList and
    ParameterDict); a Parameter stays itself; anything else is kept as it is."""
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        if value.dtype.kind != "f":
            from ..errors import DtypeError
            raise DtypeError(f"{owner}: a tensor of dtype {value.dtype} and shape "
                             f"{tuple(value.shape)} cannot become a Parameter: only "
                             f"floating-point tensors can require gradients (as in PyTorch)")
        return Parameter(value)
    return value


class _Registered:
    """What ParameterList and ParameterDict share: their entries and the Parameters and
    Modules set on them as attributes are the model's, in one order of insertion (PyTorch
    keeps both in one dict), so ``p.extra = Parameter(...)`` is seen by ``parameters()``."""

    def _attributes(self):
        items, own = self._items, vars(self)
        for entry, name in self._order:
            if entry:
                yield name, items[int(name) if isinstance(items, list) else name]
            elif name in own:
                yield name, own[name]

    def _note(self, entry, name):
        self._order.setdefault((entry, str(name)), None)

    def _forget(self, entry, name):
        self._order.pop((entry, str(name)), None)

    def __setattr__(self, name, value):
        super().__setattr__(name, value)
        if isinstance(value, (Parameter, Module)) and name != "_name":
            self._note(False, name)
        else:
            self._forget(False, name)

    def __delattr__(self, name):
        super().__delattr__(name)
        self._forget(False, name)


def _describe_entry(value):
    if isinstance(value, Tensor):
        return (f"{'Parameter containing: ' if isinstance(value, Parameter) else ''}"
                f"[{value.dtype} of size {'x'.join(str(n) for n in value.shape) or '()'}]")
    return repr(value)


class ParameterList(_Registered, Module):
    """A list of parameters the model sees, named "0", "1", ... in ``parameters()`` and
    ``state_dict()`` (PyTorch's ParameterList). A tensor put in becomes a Parameter sharing
    its memory.

    >>> weights = cr.nn.ParameterList([cr.zeros(2), cr.ones(3)])
    >>> weights.append(cr.ones(1))
    ParameterList(
      (0): Parameter containing: [float32 of size 2]
      (1): Parameter containing: [float32 of size 3]
      (2): Parameter containing: [float32 of size 1]
    )
    >>> [name for name, _ in weights.named_parameters()], weights[1].requires_grad
    (['0', '1', '2'], True)
    """

    def __init__(self, values=None):
        object.__setattr__(self, "_items", [])
        object.__setattr__(self, "_order", {})
        if values is not None:
            self.extend(values)

    def append(self, value):
        """Add ``value`` at the end (a tensor as a Parameter); returns this list."""
        self._items.append(_as_parameter(value, "ParameterList"))
        self._note(True, len(self._items) - 1)
        return self

    def extend(self, values):
        """Add each of ``values`` at the end; returns this list."""
        if isinstance(values, Tensor) or not hasattr(values, "__iter__"):
            raise TypeError(f"ParameterList.extend should be called with an iterable of "
                            f"values, got {type(values).__name__}")
        for value in values:
            self.append(value)
        return self

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ParameterList(self._items[index])
        return self._items[index]

    def __setitem__(self, index, value):
        self._items[index] = _as_parameter(value, "ParameterList")

    def __setattr__(self, name, value):
        if name.isdigit() and int(name) < len(self._items):  # setattr(params, "0", p)
            self[int(name)] = value
        else:
            super().__setattr__(name, value)

    def __getattr__(self, name):
        items = vars(self).get("_items", [])
        if name.isdigit() and int(name) < len(items):  # getattr(params, "0"), as PyTorch
            return items[int(name)]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute {name!r}")

    def __len__(self):
        return len(self._items)

    def __iter__(self):
        return iter(self._items)

    def __iadd__(self, values):
        return self.extend(values)

    def __dir__(self):
        return [k for k in super().__dir__() if not k.isdigit()]

    def __repr__(self):
        lines = [f"  ({i}): {_describe_entry(v)}" for i, v in enumerate(self._items)]
        return "\n".join([f"{type(self).__name__}(", *lines, ")"])


class ParameterDict(_Registered, _Entries, Module):
    """A dict of parameters the model sees, named by their keys in ``parameters()`` and
    ``state_dict()`` (PyTorch's ParameterDict). A tensor put in becomes a Parameter sharing
    its memory.

    >>> scales = cr.nn.ParameterDict({"a": cr.ones(2)})
    >>> scales["b"] = cr.zeros(1)
    >>> list(scales.state_dict()), type(scales["a"]).__name__
    (['a', 'b'], 'Parameter')
    """

    _attributes = _Registered._attributes

    def __init__(self, parameters=None):
        object.__setattr__(self, "_items", {})
        object.__setattr__(self, "_order", {})
        if parameters is not None:
            self.update(parameters)

    def __setitem__(self, key, value):
        if not isinstance(key, str):
            raise TypeError(f"ParameterDict: keys must be strings, got {type(key).__name__}")
        self._items[key] = _as_parameter(value, f"ParameterDict[{key!r}]")
        self._note(True, key)

    def __delitem__(self, key):
        del self._items[key]
        self._forget(True, key)

    def __reversed__(self):
        return reversed(list(self._items))

    def update(self, parameters):
        """Add (or replace) the entries of a dict or of (key, value) pairs. A plain dict's
        entries go in sorted by key, as PyTorch's (an OrderedDict's and a ParameterDict's in
        their own order)."""
        if isinstance(parameters, (OrderedDict, ParameterDict)):
            pairs = parameters.items()
        elif hasattr(parameters, "items"):
            pairs = sorted(parameters.items())
        else:
            pairs = parameters
        for pair in pairs:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError(f"ParameterDict.update: expected (key, value) pairs, got "
                                 f"{pair!r}")
            self[pair[0]] = pair[1]

    def pop(self, key):
        """Remove the entry ``key`` and return its value."""
        value = self._items[key]
        del self[key]
        return value

    def popitem(self):
        """Remove the entry added last and return it as a (key, value) pair."""
        key = next(reversed(self._items))
        return key, self.pop(key)

    def fromkeys(self, keys, default=None):
        """A new ParameterDict with each of ``keys`` set to ``default``."""
        return ParameterDict((key, default) for key in keys)

    def __or__(self, other):
        merged = self.copy()
        merged.update(other)
        return merged

    def __ror__(self, other):
        merged = other.copy()
        merged.update(self)
        return merged

    def __ior__(self, other):
        self.update(other)
        return self

    def get(self, key, default=None):
        """The value at ``key``, or ``default`` where there is none."""
        return self._items.get(key, default)

    def setdefault(self, key, default=None):
        """The value at ``key``, first set to ``default`` where there is none."""
        if key not in self._items:
            self[key] = default
        return self._items[key]

    def clear(self):
        """Remove every entry."""
        for key in list(self._items):
            del self[key]

    def copy(self):
        """A new ParameterDict holding the same parameters."""
        return ParameterDict(self)

    def __repr__(self):
        lines = [f"  ({k}): {_describe_entry(v)}" for k, v in self._items.items()]
        return "\n".join([f"{type(self).__name__}(", *lines, ")"])


__all__ = ["Parameter", "Module", "ModuleScope", "Sequential", "ModuleList", "ModuleDict",
           "ParameterList", "ParameterDict", "StateDictError", "IncompatibleKeys",
           "match_state_dict"]
