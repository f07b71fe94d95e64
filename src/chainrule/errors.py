"""The library's own exceptions.

Each subclasses the built-in exception a user would expect (ValueError, RuntimeError, ...), so
``except ValueError`` keeps working, while ``except chainrule.ChainruleError`` catches only ours.
"""


class ChainruleError(Exception):
    """Base class of every error chainrule raises on purpose."""


class ShapeError(ChainruleError, ValueError):
    """An op received operands whose shapes do not fit together."""


class GradientError(ChainruleError, RuntimeError):
    """Misuse of the autograd engine: backward on the wrong tensor, a freed graph, ..."""


class AnomalyError(GradientError):
    """Anomaly mode found a NaN or infinity produced during backward."""


class FileFormatError(ChainruleError, ValueError):
    """A file is not what it claims to be: bad magic, truncated, inconsistent header."""


class CheckpointError(FileFormatError):
    """A model or checkpoint file could not be read or written safely."""


class IDXError(FileFormatError):
    """An IDX (MNIST-style) file is malformed."""


class LabelError(ChainruleError, ValueError):
    """Class labels are out of range, of the wrong dtype or of the wrong shape."""


class TrainingDiverged(ChainruleError, ArithmeticError):
    """The training loss became NaN or infinite; the message gives the epoch and step."""
