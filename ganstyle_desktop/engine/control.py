"""Cooperative pause / cancel for long engine loops, safe to drive from another thread."""

from __future__ import annotations

import threading


class JobCancelled(Exception):
    """Raised inside an engine loop when its control object was cancelled."""


class JobControl:
    """Shared between the thread running a loop and the thread steering it.

    The loop calls :meth:`raise_if_cancelled` or :meth:`wait_while_paused` between
    steps; nothing is ever interrupted mid-step, so state stays consistent.
    """

    def __init__(self) -> None:
        self._cancelled = threading.Event()
        self._running = threading.Event()
        self._running.set()

    # -- steering side -------------------------------------------------
    def cancel(self) -> None:
        self._cancelled.set()
        self._running.set()  # wake a paused loop so it can notice the cancel

    def pause(self) -> None:
        if not self._cancelled.is_set():
            self._running.clear()

    def resume(self) -> None:
        self._running.set()

    # -- loop side -----------------------------------------------------
    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def raise_if_cancelled(self) -> None:
        if self._cancelled.is_set():
            raise JobCancelled()

    def wait_for_cancel(self, timeout: float | None = None) -> bool:
        """Block until cancelled (True) or ``timeout`` seconds pass (False): for a watcher
        that stops work the loop cannot check itself (a native call in progress)."""
        return self._cancelled.wait(timeout)

    def wait_while_paused(self, timeout: float | None = None) -> bool:
        """Block while paused; returns False if still paused after ``timeout``."""
        return self._running.wait(timeout)
