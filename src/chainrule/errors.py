"""The library's own exceptions.

Each subclasses the built-in exception a user would expect (ValueError, RuntimeError, ...), so
``except ValueError`` keeps working, while ``except chainrule.ChainruleError`` catches only ours.
"""


class ChainruleError(Exception):
    """Base class of every error chainrule raises on purpose.

    >>> issubclass(cr.ShapeError, cr.ChainruleError)
    True
    """


class ShapeError(ChainruleError, ValueError):
    """An op received operands whose shapes do not fit together.

    >>> cr.ones(2, 3) @ cr.ones(2, 3)
    Traceback (most recent call last):
        ...
    chainrule.errors.ShapeError: matmul: (2, 3) @ (2, 3): inner dimensions differ (3 vs 2)
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


class LabelError(ChainruleError, ValueError):
    """Class labels are out of range, of the wrong dtype or of the wrong shape.

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
