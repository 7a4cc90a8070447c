"""What the CLI commands share when torchrun starts them several times at once.

``with cli_data_parallel(device) as parallel:`` joins the job's process group (None for a
plain single process). Every process but rank 0 runs silently: its stdout and stderr go
nowhere and log records below ERROR are dropped, so a person sees one progress display and
one summary; an error still reaches the terminal from whichever process hit it.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from . import CliError

if TYPE_CHECKING:
    from ganstyle_desktop.engine.distributed import DataParallel


@contextlib.contextmanager
def cli_data_parallel(
    device: str | None, *, backend: str | None = None
) -> Iterator[DataParallel | None]:
    from ganstyle_desktop.engine.devices import DeviceUnavailable
    from ganstyle_desktop.engine.distributed import LaunchError, data_parallel_from_env

    with contextlib.ExitStack() as stack:
        try:
            parallel = stack.enter_context(data_parallel_from_env(device, backend=backend))
        except (DeviceUnavailable, LaunchError) as exc:
            raise CliError(str(exc)) from exc
        if parallel is not None and not parallel.is_main:
            stack.enter_context(_silenced())
        yield parallel


@contextlib.contextmanager
def _silenced() -> Iterator[None]:
    previous = logging.root.manager.disable
    with open(os.devnull, "w", encoding="utf-8") as null:
        logging.disable(logging.WARNING)
        try:
            with contextlib.redirect_stdout(null), contextlib.redirect_stderr(null):
                yield
        finally:
            logging.disable(previous)
