"""Lazy modules, as PyTorch's: ``LazyLinear(out_features)`` learns ``in_features`` from its first
input, makes and initialises its parameters then, and becomes a plain ``Linear`` (``type(m) is
nn.Linear`` afterwards). Likewise LazyConv1d/2d/3d (in_channels) and LazyBatchNorm1d/2d
(num_features).

Before the first call the parameters are ``UninitializedParameter``s, as in PyTorch: they are
listed by ``parameters()`` (so an optimizer may be made before the first call and keeps working:
a parameter is filled in place, it stays the same object), they know their dtype, and anything
that needs their shape or values raises a ``LazyModuleError`` that says to run one forward pass
first. A state dict loaded before the first call gives them their shapes instead (as in PyTorch).
"""
import contextlib

from ..backend import xp
from ..dtypes import as_dtype, default_float
from ..errors import ChainruleError, ShapeError
from ..tensor import Tensor
from .conv_layers import BatchNorm1d, BatchNorm2d, Conv1d, Conv2d, Conv3d
from .layers import Linear
from .module import Parameter


class LazyModuleError(ChainruleError, RuntimeError):
    """The shape or values of a lazy module's parameter were needed before its first call.

    >>> cr.nn.LazyLinear(3).weight.shape
    Traceback (most recent call last):
        ...
    chainrule.nn.lazy.LazyModuleError: a parameter of LazyLinear has no shape or values until the module's first call infers them; run one forward pass first (PyTorch raises too)
    """


class _NoData:
    """The array slot of an uninitialised parameter: it knows its dtype and can change it
    (``Module.to`` before the first call), and refuses everything else."""

    def __init__(self, dtype, owner):
        self.dtype = default_float() if dtype is None else as_dtype(dtype)
        self.owner = owner

    def astype(self, dtype, copy=True):
        return _NoData(dtype, self.owner)

    def _refuse(self):
        return LazyModuleError(f"a parameter of {self.owner} has no shape or values until the "
                               f"module's first call infers them; run one forward pass first "
                               f"(PyTorch raises too)")

    def __getattr__(self, name):
        if name.startswith("__"):  # copy, pickle and NumPy probe for these
            raise AttributeError(name)
        raise self._refuse()

    def __array__(self, *args, **kwargs):
        raise self._refuse()

    def __len__(self):
        raise self._refuse()

    def __getitem__(self, index):
        raise self._refuse()


class UninitializedParameter(Parameter):
    """A parameter of a lazy module before its first call: ``materialize(shape)`` gives it
    memory and makes it a plain Parameter, in place.

    >>> p = cr.nn.LazyLinear(2).weight
    >>> type(p).__name__, p.dtype
    ('UninitializedParameter', dtype('float32'))
    """

    __slots__ = ()

    def __init__(self, dtype=None, owner="a lazy module", requires_grad=True):
        self._data = _NoData(dtype, owner)
        self.node = None
        self.grad = None
        self.requires_grad = requires_grad

    def materialize(self, shape):
        """Allocate the (uninitialised) array of ``shape`` and become a Parameter."""
        self._data = xp.empty(shape, dtype=self._data.dtype)
        self.__class__ = Parameter

    def __repr__(self):
        return "<UninitializedParameter>"


def _uninitialized_buffer(dtype, owner):
    return Tensor._make(_NoData(dtype, owner), None)


class LazyModuleMixin:
    """What the lazy modules share: a forward pre-hook infers the sizes at the first call
    (``initialize_parameters``), after which the module turns into ``cls_to_become``.

    >>> layer = cr.nn.LazyLinear(4)
    >>> isinstance(layer, cr.nn.LazyModuleMixin), layer.has_uninitialized_params()
    (True, True)
    >>> _ = layer(cr.ones(1, 2))
    >>> isinstance(layer, cr.nn.LazyModuleMixin)
    False
    """

    cls_to_become = None

    def _start_lazy(self):
        object.__setattr__(self, "_lazy_handle",
                           self.register_forward_pre_hook(_infer_parameters, prepend=True))

    def has_uninitialized_params(self):
        """Whether the first call has yet to make the parameters.

        >>> cr.nn.LazyBatchNorm1d().has_uninitialized_params()
        True
        """
        return any(isinstance(t, UninitializedParameter) or isinstance(t._data, _NoData)
                   for t in (*self.parameters(), *self.buffers()))

    def reset_parameters(self, generator=None):
        """Nothing before the first call: there is nothing to draw yet (after it, the module
        is its concrete class, whose ``reset_parameters`` draws as PyTorch's)."""

    def load_state_dict(self, state_dict, strict=True):
        """Before the first call, the parameters and buffers take their shapes from
        ``state_dict`` (as in PyTorch) and the sizes follow (``in_features``, ...); the first
        call then only checks its input. A failed load leaves the module as it was, lazy."""
        with self._shaped_by(state_dict, keep=True):
            return super().load_state_dict(state_dict, strict)

    def check_state_dict(self, state, strict=True):
        """Raise what ``load_state_dict(state, strict)`` would raise, changing nothing (the
        module stays lazy)."""
        with self._shaped_by(state, keep=False):
            return super().check_state_dict(state, strict)

    @contextlib.contextmanager
    def _shaped_by(self, state_dict, keep):
        """Give the tensors still without memory the shapes ``state_dict`` implies, for the
        block's duration; with ``keep``, they (and the sizes) stay unless the block raises."""
        lazy = {name: t for name, t in self._named_state() if isinstance(t._data, _NoData)}
        given = sorted(name for name in lazy if name in state_dict)
        if not given:
            yield
            return
        if len(given) < len(lazy):
            raise LazyModuleError(
                f"{type(self).__name__}: before its first call a lazy module loads all of "
                f"{sorted(lazy)} or none; the state dict has only {given}")
        size = self._size_in(state_dict)
        shapes = self._shapes_for(size)
        undo = [(t, t._data, t.__class__) for t in lazy.values()]
        for name, t in lazy.items():
            t._data = xp.zeros(shapes[name], dtype=t._data.dtype)
            if isinstance(t, UninitializedParameter):
                t.__class__ = Parameter
        try:
            yield
        except BaseException:
            keep = False
            raise
        finally:
            if keep:
                setattr(self, self.size_name, size)
            else:
                for t, data, cls in undo:
                    t._data, t.__class__ = data, cls

    def _size_in(self, state_dict):
        """The inferred size (``in_features``, ...) that ``state_dict``'s tensors imply."""
        name = next(n for n in ("weight", "running_mean") if n in state_dict)
        shape = xp.shape(state_dict[name])
        dim = self.size_dim if name == "weight" else 0
        if len(shape) <= dim:
            raise LazyModuleError(f"{type(self).__name__}: the state dict's {name} has shape "
                                  f"{tuple(shape)}, which gives no size for {self.size_name}")
        return int(shape[dim]) * (getattr(self, "groups", 1) if name == "weight" else 1)

    def _become_concrete(self):
        self._lazy_handle.remove()
        del self._lazy_handle
        self.__class__ = self.cls_to_become


def _infer_parameters(module, args):
    if not module.has_uninitialized_params():  # loaded from a state dict before this call
        module._become_concrete()
        return
    if not args or not isinstance(args[0], Tensor):
        raise TypeError(f"{type(module).__name__}: the first call needs a tensor input to infer "
                        f"the sizes from")
    module.initialize_parameters(args[0])


def _materialize(p, shape):
    if p is not None:
        p.materialize(shape)


class LazyLinear(LazyModuleMixin, Linear):
    """A Linear whose ``in_features`` is the size of the last dimension of its first input.

    >>> layer = cr.nn.LazyLinear(2)
    >>> layer(cr.ones(4, 3)).shape == (4, 2), type(layer).__name__, layer.in_features
    (True, 'Linear', 3)
    """

    cls_to_become = Linear
    size_name, size_dim = "in_features", 1  # the size a first input or a weight gives

    def _shapes_for(self, in_features):
        return {"weight": (self.out_features, in_features), "bias": (self.out_features,)}

    def __init__(self, out_features, bias=True, generator=None, dtype=None):
        Linear.__init__(self, 0, out_features, bias, dtype=dtype)
        self.weight = UninitializedParameter(dtype, "LazyLinear")
        self.bias = UninitializedParameter(dtype, "LazyLinear") if bias else None
        object.__setattr__(self, "_generator", generator)
        self._start_lazy()

    def initialize_parameters(self, input):
        """Take ``in_features`` from ``input`` and make and initialise the parameters."""
        if input.ndim == 0:
            raise ShapeError("LazyLinear: the first input is a scalar; it needs a last "
                             "dimension to take in_features from")
        self.in_features = int(input.shape[-1])
        shapes = self._shapes_for(self.in_features)
        _materialize(self.weight, shapes["weight"])
        _materialize(self.bias, shapes["bias"])
        generator = self._generator
        del self._generator
        self._become_concrete()
        self.reset_parameters(generator)


class _LazyConvMixin(LazyModuleMixin):
    dims = None
    size_name, size_dim = "in_channels", 1  # a weight holds in_channels / groups

    def _shapes_for(self, in_channels):
        return {"weight": (self.out_channels, in_channels // self.groups)
                + tuple(self.kernel_size), "bias": (self.out_channels,)}

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", generator=None, dtype=None):
        # The concrete layer is built with groups input channels (the fewest it accepts) and
        # its parameters replaced until the first input says how many there are.
        self.cls_to_become.__init__(self, groups, out_channels, kernel_size, stride, padding,
                                    dilation, groups, bias, padding_mode, dtype=dtype)
        name = type(self).__name__
        self.in_channels = 0
        self.weight = UninitializedParameter(dtype, name)
        self.bias = UninitializedParameter(dtype, name) if bias else None
        object.__setattr__(self, "_generator", generator)
        self._start_lazy()

    def initialize_parameters(self, input):
        """Take ``in_channels`` from ``input`` (dimension 1, or 0 for an unbatched input) and
        make and initialise the parameters."""
        if input.ndim not in (self.dims + 1, self.dims + 2):
            raise ShapeError(f"{type(self).__name__}: expected a {self.dims + 1}-D (unbatched) "
                             f"or {self.dims + 2}-D input, got shape {tuple(input.shape)}")
        channels = int(input.shape[0 if input.ndim == self.dims + 1 else 1])
        if channels % self.groups:
            raise ValueError(f"{type(self).__name__}: the input's {channels} channels must be "
                             f"divisible by groups {self.groups}")
        self.in_channels = channels
        shapes = self._shapes_for(channels)
        _materialize(self.weight, shapes["weight"])
        _materialize(self.bias, shapes["bias"])
        generator = self._generator
        del self._generator
        self._become_concrete()
        self.reset_parameters(generator)


class LazyConv1d(_LazyConvMixin, Conv1d):
    """A Conv1d whose ``in_channels`` comes from its first input.

    >>> conv = cr.nn.LazyConv1d(4, kernel_size=3)
    >>> conv(cr.ones(2, 5, 10)).shape == (2, 4, 8), type(conv).__name__, conv.in_channels
    (True, 'Conv1d', 5)
    """

    cls_to_become = Conv1d
    dims = 1


class LazyConv2d(_LazyConvMixin, Conv2d):
    """A Conv2d whose ``in_channels`` comes from its first input.

    >>> conv = cr.nn.LazyConv2d(6, kernel_size=5, padding=2)
    >>> conv(cr.ones(1, 3, 8, 8)).shape == (1, 6, 8, 8), type(conv).__name__, conv.in_channels
    (True, 'Conv2d', 3)
    """

    cls_to_become = Conv2d
    dims = 2


class LazyConv3d(_LazyConvMixin, Conv3d):
    """A Conv3d whose ``in_channels`` comes from its first input.

    >>> conv = cr.nn.LazyConv3d(2, kernel_size=3)
    >>> conv(cr.ones(1, 4, 5, 5, 5)).shape == (1, 2, 3, 3, 3), type(conv).__name__
    (True, 'Conv3d')
    """

    cls_to_become = Conv3d
    dims = 3


class _LazyBatchNormMixin(LazyModuleMixin):
    def _start_lazy_norm(self, dtype):
        name = type(self).__name__
        if self.affine:
            self.weight = UninitializedParameter(dtype, name)
            self.bias = UninitializedParameter(dtype, name)
        if self.track_running_stats:
            self.running_mean = _uninitialized_buffer(dtype, name)
            self.running_var = _uninitialized_buffer(dtype, name)
        self._start_lazy()

    def initialize_parameters(self, input):
        """Take ``num_features`` from dimension 1 of ``input`` and make the parameters (ones
        and zeros) and running statistics."""
        if input.ndim < 2:
            raise ShapeError(f"{type(self).__name__}: expected an input with a channel "
                             f"dimension, got shape {tuple(input.shape)}")
        self.num_features = int(input.shape[1])
        shape = (self.num_features,)
        _materialize(self.weight, shape)
        _materialize(self.bias, shape)
        if self.track_running_stats:
            self.running_mean._data = xp.empty(shape, dtype=self.running_mean.dtype)
            self.running_var._data = xp.empty(shape, dtype=self.running_var.dtype)
        self._become_concrete()
        self.reset_parameters()

    size_name, size_dim = "num_features", 0

    def _shapes_for(self, num_features):
        return dict.fromkeys(("weight", "bias", "running_mean", "running_var"), (num_features,))


class LazyBatchNorm1d(_LazyBatchNormMixin, BatchNorm1d):
    """A BatchNorm1d whose ``num_features`` comes from its first input.

    >>> bn = cr.nn.LazyBatchNorm1d()
    >>> bn(cr.randn(8, 3)).shape == (8, 3), type(bn).__name__, bn.num_features
    (True, 'BatchNorm1d', 3)
    """

    cls_to_become = BatchNorm1d

    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 dtype=None):
        BatchNorm1d.__init__(self, 0, eps, momentum, affine, track_running_stats, dtype=dtype)
        self._start_lazy_norm(dtype)


class LazyBatchNorm2d(_LazyBatchNormMixin, BatchNorm2d):
    """A BatchNorm2d whose ``num_features`` comes from its first input.

    >>> bn = cr.nn.LazyBatchNorm2d()
    >>> bn(cr.randn(2, 4, 3, 3)).shape == (2, 4, 3, 3), type(bn).__name__
    (True, 'BatchNorm2d')
    """

    cls_to_become = BatchNorm2d

    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 dtype=None):
        BatchNorm2d.__init__(self, 0, eps, momentum, affine, track_running_stats, dtype=dtype)
        self._start_lazy_norm(dtype)


__all__ = ["LazyModuleMixin", "LazyModuleError", "UninitializedParameter", "LazyLinear",
           "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyBatchNorm1d", "LazyBatchNorm2d"]
