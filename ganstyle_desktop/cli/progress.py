"""A small progress display for the terminal, with no dependencies.

On a TTY it redraws one line in place (at most ~10 times a second); when the output is a
file or a pipe (CI logs, ``nohup``) it prints a plain line now and then instead, so logs
stay readable.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO


def format_duration(seconds: float | None) -> str:
    """``75`` -> ``"1:15"``, ``3725`` -> ``"1:02:05"``; unknown -> ``"?"``."""
    if seconds is None or seconds != seconds or seconds < 0 or seconds == float("inf"):
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_rate(seconds_per_step: float | None) -> str:
    """Steps per second, or seconds per step when slower than one a second (as tqdm)."""
    if not seconds_per_step or seconds_per_step <= 0:
        return "? it/s"
    if seconds_per_step > 1.0:
        return f"{seconds_per_step:.2f} s/it"
    return f"{1.0 / seconds_per_step:.2f} it/s"


class ProgressBar:
    """``update(done, detail=..., rate=..., eta=...)`` as work advances; ``close()`` at the end.

    ``write(message)`` prints a line without tearing the bar.
    """

    def __init__(
        self,
        total: int,
        *,
        label: str = "",
        stream: TextIO | None = None,
        is_tty: bool | None = None,
        refresh_seconds: float = 0.1,
        line_every_seconds: float = 10.0,
    ) -> None:
        self.total = max(int(total), 1)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        if is_tty is None:
            isatty = getattr(self.stream, "isatty", None)
            is_tty = bool(isatty and isatty())
        self.is_tty = is_tty
        self.refresh_seconds = refresh_seconds
        self.line_every_seconds = line_every_seconds
        self.done = 0
        self._text = ""
        self._last_draw = float("-inf")
        self._last_line_done = -1
        self._drawn_width = 0
        self._closed = False

    # -- public ---------------------------------------------------------------------------
    def update(
        self,
        done: int,
        *,
        detail: str = "",
        seconds_per_step: float | None = None,
        eta_seconds: float | None = None,
    ) -> None:
        self.done = min(max(int(done), 0), self.total)
        self._text = self._compose(detail, seconds_per_step, eta_seconds)
        now = time.monotonic()
        finished = self.done >= self.total
        if self.is_tty:
            if finished or now - self._last_draw >= self.refresh_seconds:
                self._draw()
                self._last_draw = now
        elif (
            finished or self._last_line_done < 0 or now - self._last_draw >= self.line_every_seconds
        ) and self.done != self._last_line_done:
            self._print_line(self._text)
            self._last_draw = now
            self._last_line_done = self.done

    def write(self, message: str) -> None:
        if self.is_tty and self._drawn_width:
            self.stream.write("\r" + " " * self._drawn_width + "\r")
            self.stream.write(message + "\n")
            self._draw()
        else:
            self._print_line(message)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.is_tty and self._drawn_width:
            self.stream.write("\n")
        elif not self.is_tty and self._text and self._last_line_done != self.done:
            self._print_line(self._text)  # the last state always reaches the log
        self.stream.flush()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- drawing --------------------------------------------------------------------------
    def _compose(self, detail: str, seconds_per_step: float | None, eta: float | None) -> str:
        width = len(str(self.total))
        parts = [f"{self.done:>{width}}/{self.total}", f"{100 * self.done / self.total:3.0f}%"]
        if detail:
            parts.append(detail)
        if seconds_per_step is not None:
            parts.append(format_rate(seconds_per_step))
        if eta is not None:
            parts.append(f"ETA {format_duration(eta)}")
        text = " | ".join(parts)
        return f"{self.label} {text}" if self.label else text

    def _draw(self) -> None:
        columns = shutil.get_terminal_size((80, 24)).columns
        bar_width = max(10, min(30, columns - len(self._text) - 4))
        filled = int(bar_width * self.done / self.total)
        line = f"[{'#' * filled}{'-' * (bar_width - filled)}] {self._text}"
        line = line[: max(columns - 1, 20)]
        pad = " " * max(self._drawn_width - len(line), 0)
        self.stream.write("\r" + line + pad)
        self.stream.flush()
        self._drawn_width = len(line)

    def _print_line(self, message: str) -> None:
        self.stream.write(message + "\n")
        self.stream.flush()
