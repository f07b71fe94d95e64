"""One declaration per public op.

``public(...)`` beside a function (as a decorator) or in functions.py's list says everything the
library derives from it, so nothing is kept in a parallel table:

    @public(method=True, aliases=("clip",))
    def clamp(input, min=None, max=None): ...

- the ``cr.`` name (the function's own, or ``name=``) and its ``aliases``;
- ``method``: the Tensor method of the same names (``x.clamp(0)`` is ``cr.clamp(x, 0)``);
- ``inplace``: its in-place method too, PyTorch's ``x.sin_()``: the result written into ``x``;
- ``axis=``/``keepdims=``, PyTorch's own aliases of ``dim=``/``keepdim=``, for an op that
  takes ``dim``;
- ``functional``: the ``F.`` name, where PyTorch's torch.nn.functional has one;
- NumPy dispatch: ``np.<name>`` and ``np.<alias>`` reach the op through the NumPy protocol,
  and ``numpy`` lists further NumPy names ("power", "linalg.norm"); numpy_protocol.py holds an
  adapter only where NumPy's arguments mean something else than PyTorch's;
- docs/api.md lists every declaration, and the tests enumerate them for coverage.

A name may be declared once: a second declaration of it raises when the module declaring it is
imported, so no public name can silently replace another.
"""
import functools
import inspect
from typing import NamedTuple


class Declaration(NamedTuple):
    function: object
    name: str
    aliases: tuple
    method: bool
    functional: bool
    numpy: tuple
    inplace: bool = False

    @property
    def names(self):
        return (self.name,) + self.aliases


DECLARATIONS = {}  # every declared name and alias -> its Declaration, in declaration order


def public(function=None, *, name=None, aliases=(), method=False, functional=False, numpy=(),
           inplace=False):
    """Declare ``function`` public (see the module docstring); usable as ``@public(...)``, or
    called on a function defined elsewhere. Returns the function, wrapped to accept ``axis=``
    and ``keepdims=`` where it takes ``dim=`` and ``keepdim=``.

    >>> from chainrule.public import DECLARATIONS
    >>> DECLARATIONS["clamp"].aliases, DECLARATIONS["clamp"].method
    (('clip',), True)
    """
    if function is None:
        return functools.partial(public, name=name, aliases=aliases, method=method,
                                 functional=functional, numpy=numpy, inplace=inplace)
    function = _accepting_numpy_names(function)
    declaration = Declaration(function, name or function.__name__, tuple(aliases), method,
                              functional, (numpy,) if isinstance(numpy, str) else tuple(numpy),
                              inplace)
    for each in declaration.names:
        if each in DECLARATIONS:
            raise NameError(f"public: {each!r} is declared twice (as {_origin(function)} and "
                            f"{_origin(DECLARATIONS[each].function)})")
    for each in declaration.names:
        DECLARATIONS[each] = declaration
    for tensor_class in _TENSOR_CLASSES:  # declared after the package was imported
        _attach(tensor_class, declaration)
    return function


def _accepting_numpy_names(function):
    """``function``, also accepting ``axis=`` for its ``dim=`` and ``keepdims=`` for its
    ``keepdim=``: PyTorch's own aliases, with PyTorch's meaning, on every op."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return function
    renames = {alias: name for alias, name in (("axis", "dim"), ("keepdims", "keepdim"))
               if name in parameters and alias not in parameters}
    if not renames:
        return function

    @functools.wraps(function)
    def accepting(*args, **kwargs):
        for alias, name in renames.items():
            if alias in kwargs:
                if name in kwargs:
                    raise TypeError(f"{function.__name__}(): give {name}= or {alias}=, not both")
                kwargs[name] = kwargs.pop(alias)
        return function(*args, **kwargs)
    return accepting


def _origin(function):
    return f"{getattr(function, '__module__', '?')}.{getattr(function, '__name__', '?')}"


def declarations():
    """Each Declaration once, in the order declared."""
    return list(dict.fromkeys(DECLARATIONS.values()))


def namespace(functional=False):
    """name -> function for every declared name and alias (only the ``F.`` names when
    ``functional``)."""
    return {each: d.function for each, d in DECLARATIONS.items() if d.functional or not functional}


def attach_methods(tensor_class):
    """Make each ``method=True`` declaration, now and later, a method of ``tensor_class``
    under its names. A method that tensor.py writes out itself (for speed or for PyTorch's
    overloads) is kept, and takes the function's docstring if it has none; it too accepts
    ``axis=``/``keepdims=`` where it takes ``dim=``/``keepdim=`` (``x.unsqueeze(axis=1)``)."""
    _TENSOR_CLASSES.append(tensor_class)
    for each, own in list(vars(tensor_class).items()):
        if not each.startswith("_") and inspect.isfunction(own):
            setattr(tensor_class, each, _accepting_numpy_names(own))
    for declaration in declarations():
        _attach(tensor_class, declaration)


_TENSOR_CLASSES = []


def _attach(tensor_class, declaration):
    if not declaration.method:
        return
    for each in declaration.names:
        own = tensor_class.__dict__.get(each)
        if own is None:
            setattr(tensor_class, each, declaration.function)
        elif callable(own) and not getattr(own, "__doc__", None):
            own.__doc__ = declaration.function.__doc__
        if declaration.inplace and f"{each}_" not in tensor_class.__dict__:
            setattr(tensor_class, f"{each}_", _in_place(declaration.function, each))


def _in_place(function, name):
    """``x.<name>_(...)``: ``function(x, ...)`` written into x's memory (Tensor._inplace: a
    leaf that requires grad refuses, a graph records the change, the dtype is kept)."""
    def in_place(self, *args, **kwargs):
        def compute(tensor, _):
            return function(tensor, *args, **kwargs)
        needing_grad = [a for a in (*args, *kwargs.values()) if getattr(a, "requires_grad", 0)]
        return self._inplace(compute, needing_grad[0] if needing_grad else None, f"{name}_")
    binary = len([p for p in inspect.signature(function).parameters.values()
                  if p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD]) > 1
    in_place.__name__ = in_place.__qualname__ = f"{name}_"
    in_place.__doc__ = (f"In place: ``{name}``'s result written into this tensor, which is "
                        f"returned.\n\n    >>> x = cr.tensor([0.5, 2.0])\n"
                        f"    >>> x.{name}_({'x' if binary else ''}) is x\n    True\n    ")
    return in_place


def export_functional(module_namespace, module_all):
    """Give nn.functional every ``functional=True`` declaration (F.one_hot, ...). A name that
    the module already defines as something else raises: no silent replacement either way."""
    for each, function in namespace(functional=True).items():
        own = module_namespace.get(each, function)
        if own is not function and own is not getattr(function, "__wrapped__", None):
            raise ImportError(f"nn.functional.{each} is defined there and also declared "
                              f"functional as {_origin(function)}")
        module_namespace[each] = function
        if each not in module_all:
            module_all.append(each)
