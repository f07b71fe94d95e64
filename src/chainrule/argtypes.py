"""Argument checks with one wording, for the library and the command line alike.

``check_*`` validate a value a caller passed (``lr``, ``momentum``, a dropout ``p``, a batch
size) and raise ValueError, worded "{name} must be ..., got {value!r}"; the optimizers, the
trainer's config and nn.functional use them. The argparse types below (``positive_int``,
``non_negative_float``, ...) turn an option's text into a value with the same checks and
wording, raising ArgumentTypeError, so that a bad value is a usage error (exit 2), never a
traceback.

>>> check_at_least("lr", -0.1, 0)
Traceback (most recent call last):
    ...
ValueError: lr must be >= 0, got -0.1
"""
import math
import numbers
import os


def check_number(name, value):
    """A real number (not a bool, not a string)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    return value


def check_finite(name, value):
    check_number(name, value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def check_at_least(name, value, low):
    """A finite number >= ``low``: an infinite lr, momentum or decay turns every weight into
    inf or nan at the first step."""
    check_number(name, value)
    if not value >= low:  # also refuses nan
        raise ValueError(f"{name} must be >= {low}, got {value!r}")
    return check_finite(name, value)


def check_positive(name, value):
    check_number(name, value)
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return check_finite(name, value)


def check_between(name, value, low, high):
    """A number in [low, high]."""
    check_number(name, value)
    if not low <= value <= high:
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}")
    return value


def check_int(name, value, low=1):
    """An int (not a bool) >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be {_int_kind(low)}, got {value!r}")
    return value


def check_choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r}")
    return value


def _int_kind(low):
    return {1: "a positive int", 0: "a non-negative int"}.get(low, f"an int >= {low}")


# -- argparse types: the same checks on an option's text -----------------------------------------

def positive_int(text):
    return _integer(text, 1)


def non_negative_int(text):
    return _integer(text, 0)


def positive_float(text):
    return _as_option(check_positive, _float(text))


def non_negative_float(text):
    return _as_option(check_at_least, _float(text), 0)


def _integer(text, low):
    try:
        value = int(text)
    except ValueError:
        value = text
    return _as_option(check_int, value, low)


def _float(text):
    try:
        return float(text)
    except ValueError:
        return text


def _as_option(check, value, *limits):
    """``check``'s verdict on an option's value, as argparse wants it: the message without the
    name, which argparse puts in front ("argument --lr: must be > 0, got -1.0")."""
    import argparse
    try:
        return check("", value, *limits)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error).lstrip()) from None


def output_file(text):
    """A path a file can be written to, checked before any work starts: not empty, not a
    directory, inside a directory that exists (or can be made) and is writable."""
    import argparse
    if not text:
        raise argparse.ArgumentTypeError("the path is empty")
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text} is a directory, not a file")
    if os.path.exists(text) and not os.access(text, os.W_OK):
        raise argparse.ArgumentTypeError(f"{text} exists and is not writable")
    _check_creatable(os.path.dirname(os.path.abspath(text)), text)
    return text


def output_dir(text):
    """A directory to write into, checked before any work starts: not empty, not a file,
    writable (or creatable under a writable directory)."""
    import argparse
    if not text:
        raise argparse.ArgumentTypeError("the path is empty")
    if os.path.exists(text) and not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text} is a file, not a directory")
    _check_creatable(os.path.abspath(text), text)
    return text


def _check_creatable(directory, text):
    """The nearest existing ancestor of ``directory`` must be a writable directory."""
    import argparse
    existing = directory
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise argparse.ArgumentTypeError(f"{text}: {existing} is a file, so nothing can be "
                                         f"written under it")
    if not os.access(existing, os.W_OK):
        raise argparse.ArgumentTypeError(f"{text}: {existing} is not writable")
