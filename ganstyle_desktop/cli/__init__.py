"""``ganstyle-cli``: the headless front end. Each sub-command lives in its own module and
registers itself through ``add_parser(subparsers)``; ``run(args) -> int`` does the work."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from importlib import import_module

from ganstyle_desktop import __version__

# Sub-command modules, in the order `--help` lists them.
_COMMANDS = ("train", "stylize", "export", "info", "evaluate", "compare", "library")


class CliError(Exception):
    """A problem the user can fix; printed without a traceback, exit status 2."""


def _command_in(argv: list[str]) -> str | None:
    """The sub-command ``argv`` names (its first word that is not an option), if known."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in _COMMANDS else None
        if word in ("-h", "--help", "--version"):
            return None
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; ``only`` registers that one sub-command (imports cost: ``train``'s pull
    in torch, which ``stylize`` with ONNX Runtime never needs)."""
    parser = argparse.ArgumentParser(
        prog="ganstyle-cli",
        description="Train GAN style models and paint photos in a tradition's style, offline.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMANDS if only is None else (only,):
        try:
            module = import_module(f"{__name__}.{name}_cmd")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}_cmd":
                continue  # that command is not built yet
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command_in(words))
    args = parser.parse_args(words)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
