"""The array backend: the core imports NumPy through this module only."""
import numpy as xp

ndarray = xp.ndarray

__all__ = ["xp", "ndarray"]
