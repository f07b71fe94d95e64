"""The ``chainrule`` command. Each family of subcommands lives with its package and registers
itself here: ``train`` and ``evaluate`` (chainrule.train.commands), ``graph``, ``explain`` and
``memory`` (chainrule.inspect.commands)."""
import argparse
import importlib
import sys

from .errors import ChainruleError

COMMAND_MODULES = ("chainrule.train.commands", "chainrule.inspect.commands")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="Train, inspect and explain multilayer perceptrons with chainrule. "
                    "Run 'chainrule COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
            continue
        module.register(commands)
    return parser


def _version():
    from . import __version__
    return f"chainrule {__version__}"


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.run(args) or 0
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except (ChainruleError, FileNotFoundError, ImportError) as error:
        print(f"chainrule {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
