"""The worker framework: every background task of the UI runs through one of these kinds.

- :class:`BackgroundTask` runs one function (export, a model import, reading a card);
- :class:`LatestRequestJob` runs requests where the newest wins (stylize, blend previews,
  comparisons, opening a photo): a new request cancels the running one and replaces the
  one waiting, and a superseded request's events and result are never emitted;
- :class:`WorkQueue` runs many small keyed items in one thread, newest first (thumbnails);
- :class:`~.training.TrainingJob` runs the trainer's loop.

How a job works: a worker QObject is moved to a QThread and calls ``work(control,
report)``; it only emits signals and never touches widgets. The job object is created in
the GUI thread and stays there, so its signals are the ones widgets and tests connect to;
the worker's signals reach it through queued connections, in emission order. A job's
terminal signal (finished / failed / cancelled) is emitted only after its thread has
ended, so a listener never sees a finished job whose thread is still running.

What a worker reports with ``report(x)``: a :class:`Progress`, a :class:`Partial` (a
result that is not the final one yet, e.g. a screen-size picture before the full
resolution), or any value a job kind understands. Cancellation is cooperative through
the engine's :class:`JobControl`; ``QThread.terminate()`` is never used.

Every job registers itself, so :func:`cancel_all` stops every kind at once (the window
closing) and :func:`live_threads` / :func:`idle_monitor` tell when all threads are gone.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
import traceback
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QObject, Qt, QThread, Signal, Slot

from ganstyle_desktop.engine.control import JobCancelled, JobControl

log = logging.getLogger(__name__)

Report = Callable[[Any], None]
Work = Callable[[JobControl, Report], Any]

# Every QThread a job started and has not yet reaped; tests assert it is empty at the end.
_live_threads: set[QThread] = set()
_jobs: weakref.WeakSet[Job] = weakref.WeakSet()
# Windows (or other owners) that are closing: their jobs start no new threads.
_closing_owners: weakref.WeakSet[QObject] = weakref.WeakSet()

# Errors whose text is already written for people (file + reason); others get their type.
_FRIENDLY_ERRORS = (
    "ImageLoadError",
    "InvalidModelFile",
    "UnsafeModelFile",
    "ModelFileError",
    "ConfigError",
    "CatalogError",
    "BlendError",
    "DeviceUnavailable",
    "FileNotFoundError",
    "ExportError",
    "WriteError",
    "NoTrainingImages",
    "ManifestError",
    "StylizeError",
    "UnknownPreset",
    "StateMismatch",
    "UserFacingError",
)


@dataclass(frozen=True)
class Progress:
    """How far a task is: ``done`` of ``total`` (0 total: unknown), and what it is doing."""

    done: int
    total: int
    stage: str = ""


@dataclass(frozen=True)
class Partial:
    """A result that is not the final one yet (a job emits it as ``partial``)."""

    value: Any


class UserFacingError(Exception):
    """Raised by worker functions with a message written for people."""


class JobBusy(RuntimeError):
    """A job that runs one thing at a time (training) is already running."""


def describe_exception(exc: BaseException) -> str:
    """A message for people: typed engine errors speak for themselves."""
    if any(cls.__name__ in _FRIENDLY_ERRORS for cls in type(exc).__mro__):
        return str(exc) or type(exc).__name__
    if isinstance(exc, MemoryError):
        return "Not enough memory. Try a smaller training size, batch size or photo."
    text = str(exc)
    if "out of memory" in text.lower():
        return "The device ran out of memory. Try a smaller size or batch size."
    # Raw exception text means nothing to people; the log (and the details) keep it.
    return (
        "Something unexpected went wrong; the details are in the log "
        f"(Help > Open Log Folder, {type(exc).__name__})."
    )


# -- the registry ------------------------------------------------------------------------


class _IdleMonitor(QObject):
    """In the GUI thread: ``thread_ended`` after every job thread is reaped, ``idle``
    when that was the last one."""

    thread_ended = Signal()
    idle = Signal()


_monitor: _IdleMonitor | None = None


def idle_monitor() -> _IdleMonitor:
    global _monitor
    if _monitor is None:
        _monitor = _IdleMonitor()
    return _monitor


def live_threads() -> list[QThread]:
    """Threads started by jobs that are still running (or not yet reaped)."""
    return list(_live_threads)


def _owned_by(job: QObject, owner: QObject | None) -> bool:
    if owner is None:
        return True
    node: QObject | None = job
    while node is not None:
        if node is owner:
            return True
        node = node.parent()
    return False


def _jobs_of(owner: QObject | None) -> list[Job]:
    found = []
    for job in list(_jobs):
        try:
            if _owned_by(job, owner):
                found.append(job)
        except RuntimeError:  # its C++ object is already gone
            continue
    return found


def live_jobs(owner: QObject | None = None) -> list[Job]:
    """Jobs with a running thread (those of ``owner``'s object tree, when given)."""
    return [job for job in _jobs_of(owner) if job.is_running()]


def cancel_all(owner: QObject | None = None) -> None:
    """Ask every job (of ``owner``'s tree) to stop; training saves a checkpoint as it
    does. From then on those jobs start no new work (a view reacting to the last result
    cannot start another thread while its window closes). Returns at once: wait for
    :func:`idle_monitor` or :func:`wait_for_all`."""
    if owner is not None:
        _closing_owners.add(owner)
    for job in _jobs_of(owner):
        job.stop()


def wait_for_all(timeout_ms: int = 10_000) -> bool:
    """Process events until every job thread has ended and been reaped."""
    deadline = time.monotonic() + timeout_ms / 1000
    while _live_threads and time.monotonic() < deadline:
        for thread in list(_live_threads):
            thread.wait(QDeadlineTimer(20))
        QCoreApplication.processEvents()
    return not _live_threads


def wait_for_jobs_of(owner: QObject, timeout_ms: int) -> bool:
    """Process events until ``owner``'s jobs have all ended (False on timeout)."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        running = live_jobs(owner)
        if not running or time.monotonic() >= deadline:
            return not running
        for job in running:
            thread = job._thread
            if thread is not None:
                thread.wait(QDeadlineTimer(20))
        QCoreApplication.processEvents()


def shutdown_all(timeout_ms: int = 30_000) -> bool:
    """Cancel every job and wait for the threads (the application quitting)."""
    cancel_all()
    return wait_for_all(timeout_ms)


def limit_torch_threads() -> None:
    """Leave one core to the GUI thread so the window keeps breathing during work."""
    from ganstyle_desktop.engine.devices import leave_cores_free
    from ganstyle_desktop.engine.onnx_backend import set_thread_limit

    set_thread_limit(leave_cores_free(1))


# -- the worker ----------------------------------------------------------------------------


class _Worker(QObject):
    """Runs ``work(control, report)`` in its thread; every outcome travels as a signal."""

    event = Signal(object)
    failed = Signal(str, str)  # message for people, details (traceback)
    done = Signal()

    def __init__(self, work: Work, control: JobControl) -> None:
        super().__init__()
        self._work = work
        self._control = control
        self.result: Any = None
        self.was_cancelled = False

    @Slot()
    def run(self) -> None:
        try:
            self.result = self._work(self._control, self.event.emit)
        except JobCancelled:
            self.was_cancelled = True
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the person
            log.exception("background job failed")
            self.failed.emit(describe_exception(exc), traceback.format_exc())
        finally:
            self.done.emit()


class Job(QObject):
    """Owns one worker thread at a time and reaps it; kinds turn events into signals."""

    state_changed = Signal(str)  # idle | running | paused | stopping

    def __init__(self, parent: QObject | None = None, name: str = "job") -> None:
        super().__init__(parent)
        self.name = name
        self._thread: QThread | None = None
        self._worker: _Worker | None = None
        self._control: JobControl | None = None
        self._failure: tuple[str, str] | None = None
        self._state = "idle"
        _jobs.add(self)

    # -- public --------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    def is_running(self) -> bool:
        return self._thread is not None

    def cancel(self) -> None:
        if self._control is not None:
            self._control.cancel()
            self._set_state("stopping")

    def stop(self) -> None:
        """Cancel the running work and drop any waiting (what closing the window does)."""
        self.cancel()

    def wait(self, timeout_ms: int = 10_000) -> bool:
        """Block (processing events) until the thread has ended; False on timeout."""
        deadline = time.monotonic() + timeout_ms / 1000
        while self._thread is not None and time.monotonic() < deadline:
            self._thread.wait(QDeadlineTimer(20))
            QCoreApplication.processEvents()
        return self._thread is None

    # -- for kinds -----------------------------------------------------------
    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

    def _launch(self, work: Work) -> JobControl:
        assert self._thread is None, "one thread per job at a time"
        control = JobControl()
        if any(_owned_by(self, owner) for owner in list(_closing_owners)):
            log.info("%s not started: its window is closing", self.name)
            control.cancel()
            return control
        thread = QThread()
        thread.setObjectName(f"ganstyle-{self.name}")
        worker = _Worker(work, control)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        # self lives in the GUI thread: these connections are queued, in emission order.
        worker.event.connect(self._on_worker_event)
        worker.failed.connect(self._on_worker_failed)
        worker.done.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.finished.connect(self._on_thread_finished)
        self._thread, self._worker, self._control = thread, worker, control
        self._failure = None
        _live_threads.add(thread)
        self._set_state("running")
        thread.start()
        return control

    def _handle_event(self, event: Any) -> None:  # pragma: no cover - overridden
        pass

    def _handle_end(self, result: Any, cancelled: bool, failure: tuple[str, str] | None) -> None:
        pass  # pragma: no cover - overridden

    @Slot(object)
    def _on_worker_event(self, event: Any) -> None:
        self._handle_event(event)

    @Slot(str, str)
    def _on_worker_failed(self, message: str, details: str) -> None:
        self._failure = (message, details)

    @Slot()
    def _on_thread_finished(self) -> None:
        thread, worker = self._thread, self._worker
        if thread is None or worker is None:
            return
        thread.wait()
        _live_threads.discard(thread)
        result, cancelled = worker.result, worker.was_cancelled
        failure = self._failure
        self._thread = self._worker = self._control = None
        worker.deleteLater()
        thread.deleteLater()
        self._set_state("idle")
        try:
            self._handle_end(result, cancelled, failure)
        finally:
            idle_monitor().thread_ended.emit()
            if not _live_threads:
                idle_monitor().idle.emit()


def _with_control_and_report(fn: Callable[..., Any], args: tuple, kwargs: dict) -> Work:
    """``fn(*args, **kwargs)`` as a Work; ``fn`` gets ``control`` / ``report`` keyword
    arguments when it names them."""
    params = inspect.signature(fn).parameters

    def work(control: JobControl, report: Report) -> Any:
        extra: dict[str, Any] = {}
        if "control" in params:
            extra["control"] = control
        if "report" in params:
            extra["report"] = report
        return fn(*args, **kwargs, **extra)

    return work


# -- one function --------------------------------------------------------------------------


class BackgroundTask(Job):
    """Runs one plain function in a worker thread (export, device probe, model cards)."""

    started = Signal()
    progress = Signal(object)
    partial = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    failed_details = Signal(str, str)
    cancelled = Signal()

    def __init__(self, parent: QObject | None = None, name: str = "task") -> None:
        super().__init__(parent, name)

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Call ``fn(*args, **kwargs)`` in a thread. ``fn`` may accept ``control`` and
        ``report`` keyword arguments (when it names them) to check cancel and report."""
        self._launch(_with_control_and_report(fn, args, kwargs))
        self.started.emit()

    def _handle_event(self, event: Any) -> None:
        if isinstance(event, Partial):
            self.partial.emit(event.value)
        else:
            self.progress.emit(event)

    def _handle_end(self, result: Any, cancelled: bool, failure: tuple[str, str] | None) -> None:
        if failure is not None:
            self.failed_details.emit(*failure)
            self.failed.emit(failure[0])
        elif cancelled:
            self.cancelled.emit()
        else:
            self.finished.emit(result)


# -- the newest request wins ------------------------------------------------------------------


class LatestRequestJob(Job):
    """Runs ``work(request, control, report)`` for the newest request only.

    A request made while one runs cancels it and waits; a newer one replaces the waiting
    one. Events, partial results and the outcome of a superseded request are dropped, so
    every signal here belongs to :attr:`current`. ``started_requests`` counts the
    requests that actually ran (coalescing shows there).

    :meth:`cancel_all` takes at once: from that call on, the current request's progress
    and partial results are dropped and its end is reported as ``cancelled``, even when
    the worker was already past its last check and returns a result. The worker itself
    stops at its next check (for stylizing: the next layer of the network).
    """

    started = Signal(object)  # the request
    progress = Signal(object)  # Progress (or what the work reports)
    partial = Signal(object)  # a partial result of the current request
    finished = Signal(object)  # the result
    failed = Signal(str)
    failed_details = Signal(str, str)
    cancelled = Signal()

    def __init__(
        self,
        work: Callable[[Any, JobControl, Report], Any],
        parent: QObject | None = None,
        name: str = "latest",
    ) -> None:
        super().__init__(parent, name)
        self._work = work
        self._pending: Any = None
        self._has_pending = False
        self.current: Any = None
        self.started_requests = 0
        self._dropped = False  # the current request was cancelled: say nothing more of it

    def request(self, request: Any) -> None:
        """Run ``request``; a running one is cancelled and replaced."""
        if self.is_running():
            self._pending, self._has_pending = request, True
            self.cancel()
            return
        self._start(request)

    def has_pending(self) -> bool:
        return self._has_pending

    def cancel_all(self) -> None:
        """Cancel the running request and forget the waiting one (takes effect at once)."""
        self._pending, self._has_pending = None, False
        if self.is_running():
            self._dropped = True
        self.cancel()

    def is_cancelling(self) -> bool:
        """The current request was cancelled and its thread has not ended yet."""
        return self._dropped and self.is_running()

    def stop(self) -> None:
        self.cancel_all()

    def _start(self, request: Any) -> None:
        self.current = request
        self._dropped = False
        self.started_requests += 1
        work = self._work

        def run(control: JobControl, report: Report) -> Any:
            return work(request, control, report)

        self._launch(run)
        self.started.emit(request)

    def _handle_event(self, event: Any) -> None:
        if self._has_pending or self._dropped:
            return  # from a request that is being replaced, or was cancelled
        if isinstance(event, Partial):
            self.partial.emit(event.value)
        else:
            self.progress.emit(event)

    def _handle_end(self, result: Any, cancelled: bool, failure: tuple[str, str] | None) -> None:
        if self._has_pending:  # a newer request replaced this one: run it, say nothing
            pending, self._pending, self._has_pending = self._pending, None, False
            self._start(pending)
            return
        if self._dropped:  # cancelled by the person: whatever the worker had, it is gone
            self._dropped = False
            self.cancelled.emit()
        elif failure is not None:
            self.failed_details.emit(*failure)
            self.failed.emit(failure[0])
        elif cancelled:
            self.cancelled.emit()
        else:
            self.finished.emit(result)


# -- many small keyed items ---------------------------------------------------------------------


class WorkQueue(Job):
    """Runs small keyed items (``fn(*args)``) in one worker thread, newest first.

    ``submit`` while the thread runs just queues; the thread drains the queue and ends,
    and a new one starts when more arrives. ``item_ready(key, value)`` /
    ``item_failed(key, reason)`` report each item; ``drained`` fires when the queue is
    empty and the thread has ended. Newest first: the rows a person scrolled to last are
    the ones still on screen.
    """

    item_ready = Signal(object, object)
    item_failed = Signal(object, str)
    drained = Signal()

    def __init__(self, parent: QObject | None = None, name: str = "queue") -> None:
        super().__init__(parent, name)
        self._lock = threading.Lock()
        self._queue: deque[tuple[Any, Callable[..., Any], tuple]] = deque()
        self._stopping = False

    def submit(self, key: Any, fn: Callable[..., Any], *args: Any) -> None:
        with self._lock:
            self._queue.append((key, fn, args))
        self._stopping = False
        if not self.is_running():
            self._launch(self._drain)

    def clear(self) -> None:
        """Drop the items not started yet."""
        with self._lock:
            self._queue.clear()

    def pending_count(self) -> int:
        with self._lock:
            return len(self._queue)

    def stop(self) -> None:
        self._stopping = True
        self.clear()
        self.cancel()

    def _next(self) -> tuple[Any, Callable[..., Any], tuple] | None:
        with self._lock:
            return self._queue.pop() if self._queue else None

    def _drain(self, control: JobControl, report: Report) -> int:
        done = 0
        while (item := self._next()) is not None:
            control.raise_if_cancelled()
            key, fn, args = item
            try:
                report(("ok", key, fn(*args)))
            except JobCancelled:
                raise
            except Exception as exc:  # noqa: BLE001 - one bad item must not stop the rest
                log.warning("background item %s failed: %s", key, exc)
                report(("failed", key, describe_exception(exc)))
            done += 1
        return done

    def _handle_event(self, event: Any) -> None:
        outcome, key, value = event
        if outcome == "ok":
            self.item_ready.emit(key, value)
        else:
            self.item_failed.emit(key, value)

    def _handle_end(self, result: Any, cancelled: bool, failure: tuple[str, str] | None) -> None:
        if failure is not None:
            log.warning("background queue %s stopped: %s", self.name, failure[0])
        if self.pending_count() and not self._stopping:
            self._launch(self._drain)  # items queued while the last thread was ending
            return
        self.drained.emit()
