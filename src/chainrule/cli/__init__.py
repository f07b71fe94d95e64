"""The ``chainrule`` command. Each family of subcommands is a module of this package that
registers itself here: ``train`` and ``evaluate`` (cli/train.py), ``graph``, ``explain`` and
``memory`` (cli/inspect.py), ``export`` (cli/export.py). The libraries they drive (train,
inspect, interop) never import this package.

A command module that fails to import is an error (the traceback names the cause); the tools
each command needs load when it runs, so ``chainrule --help`` stays quick."""
import argparse
import sys

from ..errors import ChainruleError
from . import export, inspect, train

COMMAND_MODULES = (train, inspect, export)


def build_parser():
    return _build()[0]


def _build():
    """The top-level parser and its subparsers action (which knows each command's parser)."""
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="Train, inspect and explain multilayer perceptrons with chainrule. "
                    "Run 'chainrule COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser, commands


def _version():
    from .. import __version__
    return f"chainrule {__version__}"


def main(argv=None):
    parser, commands = _build()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # argparse would report them with the top-level usage, which lists none of the
        # command's options: let the command's own parser complain (exit 2).
        chosen = commands.choices[args.command] if args.command else parser
        chosen.error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    sys.stdout = _QuietWhenClosed(sys.stdout)
    import numpy
    try:
        # Overflow or 0/0 in a diverging run is reported by the trainer in words; NumPy's raw
        # RuntimeWarnings would only repeat it less clearly.
        with numpy.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            return args.run(args) or 0
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except (ChainruleError, ImportError) as error:
        print(f"chainrule {args.command}: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # a full disk, a vanished directory, no network: one line
        where = f" ({error.filename})" if getattr(error, "filename", None) else ""
        print(f"chainrule {args.command}: error: {error.strerror or error}{where}",
              file=sys.stderr)
        return 1


class _QuietWhenClosed:
    """stdout that goes quiet when its reader has gone (``chainrule train | head``), so that
    the command carries on (training still writes its checkpoints) and exits without a
    BrokenPipeError traceback."""

    def __init__(self, stream):
        self._stream = stream
        self._closed = False

    def write(self, text):
        if not self._closed:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._close()
        return len(text)

    def flush(self):
        if not self._closed:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._close()

    def _close(self):
        self._closed = True
        try:  # nothing more reaches the pipe, even the interpreter's last flush at exit
            import os
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
        except (OSError, ValueError, AttributeError):
            pass

    def __getattr__(self, name):
        return getattr(self._stream, name)


if __name__ == "__main__":
    sys.exit(main())
