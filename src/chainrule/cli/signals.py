"""SIGTERM as an exception, so that a terminated command unwinds as after Ctrl-C: its
``finally`` blocks run, its atomic writes leave the old file or the new one, and it prints one
line and exits 143 (128 + 15)."""
import signal


class Terminated(Exception):
    """SIGTERM arrived: raised where the program was."""


def _terminate(signum, frame):
    raise Terminated()


def on_sigterm(handler=_terminate):
    """Install ``handler`` for SIGTERM (by default: raise Terminated) and return the one it
    replaces, to put back later; None where signals cannot be set (not the main thread, or no
    SIGTERM on this platform) or when ``handler`` is None."""
    if handler is None or not hasattr(signal, "SIGTERM"):
        return None
    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        return None
