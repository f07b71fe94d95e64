"""The ``chainrule`` command. Each family of subcommands is a module of this package that
registers itself here: ``train`` and ``evaluate`` (cli/train.py), ``graph``, ``explain`` and
``memory`` (cli/inspect.py), ``export`` (cli/export.py), ``sample`` (cli/sample.py). The
libraries they drive (train, inspect, interop) never import this package.

A command module that fails to import is an error (the traceback names the cause); the tools
each command needs load when it runs, so ``chainrule --help`` stays quick. Ctrl-C at any point
prints one line and exits 130; SIGTERM prints one line and exits 143 (128 + 15), and the files
a run writes are written atomically, so neither leaves half a file behind."""
import argparse
import errno
import os
import sys

from ..errors import ChainruleError
from .signals import Terminated, on_sigterm

# The options that name files or directories, so that an error about a file can name them.
PATH_OPTIONS = ("out", "html", "onnx", "checkpoint", "resume", "data_dir", "tensorboard")


def build_parser():
    return _build()[0]


def _build():
    """The top-level parser and its subparsers action (which knows each command's parser)."""
    from . import compile, export, inspect, sample, train
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="Train, inspect and explain multilayer perceptrons with chainrule. "
                    "Run 'chainrule COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (train, inspect, export, sample, compile):
        module.register(commands)
    return parser, commands


def _version():
    from .. import __version__
    return f"chainrule {__version__}"


def main(argv=None):
    """Run ``chainrule`` with ``argv`` (default: the command line) and return its exit code.

    >>> main(["--version"])
    Traceback (most recent call last):
        ...
    SystemExit: 0
    """
    name = "chainrule"
    previous = on_sigterm()
    try:
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
        name = f"chainrule {args.command}"
        options = {action.dest: action.option_strings[-1]
                   for action in commands.choices[args.command]._actions if action.option_strings}
        return _run(args, name, options)
    except KeyboardInterrupt:
        print(f"\n{name}: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print(f"\n{name}: terminated (SIGTERM); files are written whole or not at all, so none "
              f"is left half-written", file=sys.stderr)
        return 143
    finally:
        on_sigterm(previous)


def _run(args, name, options):
    sys.stdout = _QuietWhenClosed(sys.stdout)
    import numpy
    try:
        # Overflow or 0/0 in a diverging run is reported by the trainer in words; NumPy's raw
        # RuntimeWarnings would only repeat it less clearly.
        with numpy.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            return args.run(args) or 0
    except (ChainruleError, ImportError) as error:
        print(f"{name}: error: {error}{_options_named(args, options, str(error), error)}",
              file=sys.stderr)
        return 1
    except OSError as error:  # a full disk, a vanished directory, no network: one line
        filename = getattr(error, "filename", None)
        where = f" ({filename})" if filename else ""
        text = f"{error.strerror or error}{where}"
        print(f"{name}: error: {text}{_options_named(args, options, text, error)}", file=sys.stderr)
        return 1


def _options_named(args, options, text, error):
    """' (from --out runs/x)' for the path options (``options``: dest -> option string) whose
    value an error's text names and that it does not name itself; for a full disk that names
    none, every output option given."""
    given = {options[key]: value for key, value in vars(args).items()
             if key in PATH_OPTIONS and key in options and isinstance(value, str) and value}
    named = [option for option, value in given.items()
             if (value in text or os.path.normpath(value) in text) and option not in text]
    if not named and _is_full_disk(error):
        named = [option for option in given
                 if option in ("--out", "--html", "--onnx", "--tensorboard")]
    if not named:
        return ""
    return " (from " + ", ".join(f"{option} {given[option]}" for option in named) + ")"


def _is_full_disk(error):
    while error is not None:
        if isinstance(error, OSError) and error.errno == errno.ENOSPC:
            return True
        error = error.__cause__ or error.__context__
    return False


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
