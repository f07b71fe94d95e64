"""Shared test settings.

Hypothesis draws the same examples on every run by default, so that CI passes or fails for the
code, not for the luck of the draw. Set HYPOTHESIS_PROFILE=explore to draw fresh examples (as
the slow fuzz runs are meant to be used when hunting for new failures).
"""
import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
