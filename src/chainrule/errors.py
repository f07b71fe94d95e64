"""The library's own exceptions.

Each subclasses the built-in exception PyTorch raises in the same situation (RuntimeError for
shapes and dtypes that do not fit, IndexError for a dimension or an index out of range), so
ported code's ``except RuntimeError:`` catches it; the older ValueError/TypeError stay among the
bases, so ``except ValueError`` keeps working; ``except chainrule.ChainruleError`` catches only
ours. tests/test_errors_torch.py runs the same misuse in both libraries.
"""


class ChainruleError(Exception):
    """Base class of every error chainrule raises on purpose.

    >>> issubclass(cr.ShapeError, cr.ChainruleError)
    True
    """


class ShapeError(ChainruleError, RuntimeError, ValueError):
    """An op received operands whose shapes do not fit together (PyTorch: RuntimeError).

    >>> cr.ones(2, 3) @ cr.ones(2, 3)
    Traceback (most recent call last):
        ...
    chainrule.errors.ShapeError: matmul: (2, 3) @ (2, 3): inner dimensions differ (3 vs 2)
    """


class DimError(ShapeError, IndexError):
    """A dimension out of range for the tensor's rank (PyTorch: IndexError).

    >>> cr.ones(2, 3).sum(2)
    Traceback (most recent call last):
        ...
    chainrule.errors.DimError: sum: axis 2 is out of bounds for array of dimension 2 (input shapes (2, 3) with axis=2, keepdims=False)
    """


class ScatterIndexError(ChainruleError, RuntimeError, IndexError):
    """gather/scatter met an index out of bounds (PyTorch: RuntimeError; an IndexError too).

    >>> cr.gather(cr.ones(2, 3), 1, cr.tensor([[5], [0]]))
    Traceback (most recent call last):
        ...
    chainrule.errors.ScatterIndexError: gather: index 5 is out of bounds for dimension 1 with size 3
    """


class ArgumentError(ChainruleError, RuntimeError, ValueError):
    """An op's arguments do not make sense together (PyTorch: RuntimeError).

    >>> cr.ones(2).clamp()
    Traceback (most recent call last):
        ...
    chainrule.errors.ArgumentError: clamp: at least one of min or max must not be None
    """


class IntegerDivisionError(ChainruleError, RuntimeError, ZeroDivisionError):
    """An integer division or remainder by zero (PyTorch: RuntimeError; Python's
    ZeroDivisionError too).

    >>> cr.tensor([1, 2]) // 0
    Traceback (most recent call last):
        ...
    chainrule.errors.IntegerDivisionError: floor_divide (//): integer division by zero (PyTorch raises too)
    """


class DtypeError(ChainruleError, NotImplementedError, TypeError):
    """An op received a dtype it does not work on, or dtypes that do not mix (PyTorch raises
    RuntimeError, or its subclass NotImplementedError for "... not implemented for 'Float'").

    >>> cr.tensor([1, 2]).mean()
    Traceback (most recent call last):
        ...
    chainrule.errors.DtypeError: mean(): needs a floating-point tensor, got int64 (as in PyTorch); use t.float().mean() or mean(dtype=...)
    """


class GradientError(ChainruleError, RuntimeError):
    """Misuse of the autograd engine: backward on the wrong tensor, a freed graph, ...

    >>> cr.tensor([1.]).backward()
    Traceback (most recent call last):
        ...
    chainrule.errors.GradientError: backward() called on a tensor that does not require grad: none of the tensors it was computed from has requires_grad=True (or it was computed under no_grad())
    """


class AnomalyError(GradientError):
    """Anomaly mode found a NaN or infinity produced during backward.

    >>> issubclass(cr.AnomalyError, cr.GradientError)
    True
    """


class FileFormatError(ChainruleError, ValueError):
    """A file is not what it claims to be: bad magic, truncated, inconsistent header.

    >>> issubclass(cr.CheckpointError, cr.FileFormatError)
    True
    """


class CheckpointError(FileFormatError):
    """A model or checkpoint file could not be read or written safely.

    >>> path = "not-a-checkpoint.crt"
    >>> with open(path, "wb") as f:
    ...     _ = f.write(b"just some bytes, not weights")
    >>> cr.serialize.load_tree(path)
    Traceback (most recent call last):
        ...
    chainrule.errors.CheckpointError: not-a-checkpoint.crt is not a chainrule checkpoint: ...
    >>> import os; os.remove(path)
    """


class IDXError(FileFormatError):
    """An IDX (MNIST-style) file is malformed.

    >>> issubclass(cr.IDXError, cr.FileFormatError)
    True
    """


class LabelError(ChainruleError, RuntimeError, IndexError, ValueError):
    """Class labels are out of range, of the wrong dtype or of the wrong shape (PyTorch raises
    IndexError, RuntimeError or ValueError for these; a LabelError is each of them).

    >>> cr.nn.functional.cross_entropy(cr.zeros(2, 3), cr.tensor([0, 3]))
    Traceback (most recent call last):
        ...
    chainrule.errors.LabelError: cross_entropy: label 3 at position 1 is out of range for 3 classes [0, 3)
    """


class TrainingDiverged(ChainruleError, ArithmeticError):
    """The training loss became NaN or infinite; the message gives the epoch and step.

    >>> issubclass(cr.TrainingDiverged, cr.ChainruleError)
    True
    """
