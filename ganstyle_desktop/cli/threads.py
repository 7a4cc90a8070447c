"""``--threads``: how many CPU threads a command's tensor work uses.

The default leaves one core free (:func:`engine.devices.default_cpu_threads`): on a busy
2-core machine a second torch thread makes training several times slower per step, not
faster. The count in use is what the device label prints (``CPU (1 thread)``).
"""

from __future__ import annotations

import argparse

from . import CliError


def _thread_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("give at least 1 thread")
    return value


def add_threads_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threads",
        type=_thread_count,
        default=None,
        metavar="N",
        help="CPU threads for the network (default: all cores but one, at least 1; "
        "on a busy machine 1 is often fastest)",
    )


def apply_threads_argument(args: argparse.Namespace) -> int:
    """Set torch's CPU threads from ``--threads`` (or the default); returns the count."""
    from ganstyle_desktop.engine.devices import set_cpu_threads

    try:
        return set_cpu_threads(getattr(args, "threads", None))
    except ValueError as exc:
        raise CliError(str(exc)) from exc
