"""Argument types shared by the command modules: each turns an option's text into a value or
raises ArgumentTypeError, so that a bad value is a usage error (exit 2), never a traceback.
"""
import argparse
import math


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
