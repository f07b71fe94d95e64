"""Argument types shared by the command modules: each turns an option's text into a value or
raises ArgumentTypeError, so that a bad value is a usage error (exit 2), never a traceback.
"""
import argparse
import math
import os


def positive_int(text):
    return _integer(text, 1, "a positive integer")


def non_negative_int(text):
    return _integer(text, 0, "a non-negative integer")


def positive_float(text):
    value = _number(text, "a positive number")
    if not value > 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return _finite(value, text, "a finite number > 0")


def non_negative_float(text):
    value = _number(text, "a number >= 0")
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return _finite(value, text, "a finite number >= 0")


def _integer(text, low, kind):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {kind}, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be {kind}, got {value}")
    return value


def _number(text, kind):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {kind}, got {text!r}") from None


def _finite(value, text, kind):
    # inf is a float to Python, but as an lr or a decay it turns every weight into inf or nan.
    if math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be {kind}, got {text!r}")
    return value


def output_file(text):
    """A path a file can be written to, checked before any work starts: not empty, not a
    directory, inside a directory that exists (or can be made) and is writable."""
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
    if not text:
        raise argparse.ArgumentTypeError("the path is empty")
    if os.path.exists(text) and not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text} is a file, not a directory")
    _check_creatable(os.path.abspath(text), text)
    return text


def _check_creatable(directory, text):
    """The nearest existing ancestor of ``directory`` must be a writable directory."""
    existing = directory
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise argparse.ArgumentTypeError(f"{text}: {existing} is a file, so nothing can be "
                                         f"written under it")
    if not os.access(existing, os.W_OK):
        raise argparse.ArgumentTypeError(f"{text}: {existing} is not writable")
