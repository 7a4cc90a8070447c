"""The one bridge between engine loops and the GUI.

A worker QObject is moved to a QThread and runs a plain engine loop (``Trainer.run()``,
``stylize_steps``, a file export). It only emits signals; it never touches widgets. Each
job facade below is created in the GUI thread and stays there, so its signals are the ones
widgets and tests connect to: the worker's signals reach it through queued connections.
A job's terminal signal (finished / failed / cancelled) is emitted only after its thread
has ended, so a listener never sees a finished job whose thread is still running.

Engine modules import torch; they are imported inside the worker functions, off the GUI
thread, so the window shows before torch is loaded. Cancellation is cooperative through
:class:`JobControl`; ``QThread.terminate()`` is never used.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QObject, Qt, QThread, Signal, Slot
from PySide6.QtGui import QImage

from ganstyle_desktop.engine.control import JobCancelled, JobControl

from .qimage import qimage_from_array

log = logging.getLogger(__name__)

# Every QThread a job started and has not yet reaped; tests assert it is empty at the end.
_live_threads: set[QThread] = set()

# Errors whose text is already written for people (file + reason); others get their type.
_FRIENDLY_ERRORS = (
    "ImageLoadError",
    "InvalidModelFile",
    "UnsafeModelFile",
    "ConfigError",
    "DeviceUnavailable",
    "FileNotFoundError",
    "ExportError",
    "WriteError",
)


def live_threads() -> list[QThread]:
    """Threads started by jobs that are still running (or not yet reaped)."""
    return list(_live_threads)


def wait_for_all(timeout_ms: int = 10_000) -> bool:
    """Process events until every job thread has ended and been reaped."""
    deadline = time.monotonic() + timeout_ms / 1000
    while _live_threads and time.monotonic() < deadline:
        for thread in list(_live_threads):
            thread.wait(QDeadlineTimer(20))
        QCoreApplication.processEvents()
    return not _live_threads


def describe_exception(exc: BaseException) -> str:
    """A message for people: typed engine errors speak for themselves."""
    if any(cls.__name__ in _FRIENDLY_ERRORS for cls in type(exc).__mro__):
        return str(exc) or type(exc).__name__
    if isinstance(exc, MemoryError):
        return "Not enough memory. Try a smaller training size, batch size or photo."
    text = str(exc)
    if "out of memory" in text.lower():
        return f"The device ran out of memory ({text}). Try a smaller size or batch size."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _limit_torch_threads() -> None:
    """Leave one core to the GUI thread so the window keeps breathing during training."""
    from ganstyle_desktop.engine.devices import leave_cores_free

    leave_cores_free(1)


class _Worker(QObject):
    """Runs ``fn(control, emit)`` in its thread; every outcome travels as a signal."""

    event = Signal(object)
    failed = Signal(str, str)  # message for people, details (traceback)
    done = Signal()

    def __init__(self, fn: Callable[[JobControl, Callable[[Any], None]], Any], control: JobControl):
        super().__init__()
        self._fn = fn
        self._control = control
        self.result: Any = None
        self.was_cancelled = False

    @Slot()
    def run(self) -> None:
        try:
            self.result = self._fn(self._control, self.event.emit)
        except JobCancelled:
            self.was_cancelled = True
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the person
            log.exception("background job failed")
            self.failed.emit(describe_exception(exc), traceback.format_exc())
        finally:
            self.done.emit()


class _ThreadedJob(QObject):
    """Owns one worker thread at a time and reaps it; subclasses turn events into signals."""

    state_changed = Signal(str)  # idle | running | paused | stopping

    def __init__(self, parent: QObject | None = None, name: str = "job") -> None:
        super().__init__(parent)
        self._name = name
        self._thread: QThread | None = None
        self._worker: _Worker | None = None
        self._control: JobControl | None = None
        self._failure: tuple[str, str] | None = None
        self._state = "idle"

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

    def wait(self, timeout_ms: int = 10_000) -> bool:
        """Block (processing events) until the thread has ended; False on timeout."""
        deadline = time.monotonic() + timeout_ms / 1000
        while self._thread is not None and time.monotonic() < deadline:
            self._thread.wait(QDeadlineTimer(20))
            QCoreApplication.processEvents()
        return self._thread is None

    # -- for subclasses ------------------------------------------------------
    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

    def _launch(self, fn: Callable[[JobControl, Callable[[Any], None]], Any]) -> JobControl:
        assert self._thread is None, "one thread per job at a time"
        control = JobControl()
        thread = QThread()
        thread.setObjectName(f"ganstyle-{self._name}")
        worker = _Worker(fn, control)
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
        self._handle_end(result, cancelled, failure)


# -- training ------------------------------------------------------------------------


class JobBusy(RuntimeError):
    """A training job is already running; only one at a time."""


@dataclass
class _PreviewSlot:
    """Latest-wins mailbox so previews never pile up when the GUI is busy."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latest: tuple[int, list[QImage], list[QImage]] | None = None
    in_flight: bool = False


class TrainingJob(_ThreadedJob):
    """Runs ``Trainer(config, control, resume=...).run()`` in a worker thread.

    Signals are emitted in the GUI thread. ``progress`` carries a dict with ``losses``,
    ``steps_per_second``, ``eta_seconds`` and ``learning_rate``.
    """

    started = Signal()
    progress = Signal(int, int, dict)
    preview_ready = Signal(list)  # list[QImage]: the generator's renderings of the fixed photos
    preview_inputs_ready = Signal(list)  # list[QImage]: the fixed photos themselves
    checkpoint_saved = Signal(str)
    best_checkpoint_saved = Signal(str)  # a checkpoint that is the best so far by style score
    metrics_computed = Signal(dict)
    quality_measured = Signal(int, dict)  # step, {"style_score": .., "edge_ssim": ..}
    log_message = Signal(str, str)  # level, message
    paused = Signal()
    resumed = Signal()
    engine_paused = Signal(int)  # the loop has stopped stepping, at this step
    finished = Signal(str)  # final model path ("" when the run produced none)
    failed = Signal(str)
    failed_details = Signal(str, str)
    cancelled = Signal()

    PROGRESS_INTERVAL_S = 0.05  # a visible change at most ~20 times a second

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent, "training")
        self.run_dir: Path | None = None
        self.last_step = 0
        self.total_steps = 0
        self.last_checkpoint: Path | None = None
        self.preview_step = 0
        self._slot = _PreviewSlot()
        self._inputs_sent = False

    def start(self, config: Any, resume: bool = False) -> None:
        """Start training ``config`` (an engine TrainConfig). Raises JobBusy if one runs."""
        if self.is_running():
            raise JobBusy("A training run is already in progress; stop it first.")
        config.validate()
        self.run_dir = Path(config.out_dir)
        self.last_step, self.total_steps = 0, int(config.steps)
        self.last_checkpoint = None
        self._inputs_sent = False
        self._slot = _PreviewSlot()
        slot = self._slot

        def work(control: JobControl, emit: Callable[[Any], None]) -> Any:
            _limit_torch_threads()
            from ganstyle_desktop.engine import events as ev
            from ganstyle_desktop.engine.trainer import Trainer

            trainer = Trainer(config, control, resume=resume)
            emit(("device", trainer.plan.label))
            last_emit = 0.0
            pending: Any = None
            finished: Any = None
            for event in trainer.run():
                if isinstance(event, ev.StepCompleted):
                    now = time.monotonic()
                    if (
                        now - last_emit >= self.PROGRESS_INTERVAL_S
                        or event.step == event.total_steps
                    ):
                        emit(event)
                        last_emit, pending = now, None
                    else:
                        pending = event
                    continue
                if pending is not None:  # never leave a stale count behind another event
                    emit(pending)
                    pending = None
                if isinstance(event, ev.Resumed):
                    last_emit = 0.0  # show the first step after a resume at once
                if isinstance(event, ev.PreviewReady):
                    outputs = [qimage_from_array(a) for a in event.outputs]
                    inputs = [qimage_from_array(a) for a in event.inputs]
                    with slot.lock:
                        slot.latest = (event.step, inputs, outputs)
                        send = not slot.in_flight
                        slot.in_flight = True
                    if send:
                        emit("preview")
                elif isinstance(event, ev.TrainingFinished):
                    finished = event
                    emit(event)
                else:
                    emit(event)
            if pending is not None:
                emit(pending)
            if finished is not None and finished.cancelled:
                raise JobCancelled()
            return finished

        self._launch(work)
        self.started.emit()

    def pause(self) -> None:
        if self._control is not None and self.state == "running":
            self._control.pause()
            self._set_state("paused")
            self.paused.emit()

    def resume(self) -> None:
        if self._control is not None and self.state == "paused":
            self._control.resume()
            self._set_state("running")
            self.resumed.emit()

    def _handle_event(self, event: Any) -> None:
        from ganstyle_desktop.engine import events as ev

        if event == "preview":
            with self._slot.lock:
                latest, self._slot.latest = self._slot.latest, None
                self._slot.in_flight = False
            if latest is not None:
                step, inputs, outputs = latest
                self.preview_step = step
                if not self._inputs_sent:
                    self._inputs_sent = True
                    self.preview_inputs_ready.emit(inputs)
                self.preview_ready.emit(outputs)
        elif isinstance(event, tuple) and event[0] == "device":
            self.log_message.emit("info", f"Training on {event[1]}")
        elif isinstance(event, ev.TrainingStarted):
            self.total_steps = event.total_steps
            self.last_step = event.start_step
            self.run_dir = Path(event.run_dir)
        elif isinstance(event, ev.StepCompleted):
            self.last_step, self.total_steps = event.step, event.total_steps
            sps = 1.0 / event.seconds_per_step if event.seconds_per_step > 0 else 0.0
            self.progress.emit(
                event.step,
                event.total_steps,
                {
                    "losses": dict(event.losses),
                    "steps_per_second": sps,
                    "images_per_second": event.images_per_second,
                    "eta_seconds": event.eta_seconds,
                    "learning_rate": event.learning_rate,
                },
            )
        elif isinstance(event, ev.CheckpointSaved):
            self.last_checkpoint = Path(event.path)
            self.checkpoint_saved.emit(str(event.path))
            if event.is_best:
                self.best_checkpoint_saved.emit(str(event.path))
        elif isinstance(event, ev.MetricsComputed):
            self.metrics_computed.emit(dict(event.metrics))
            self.quality_measured.emit(int(event.step), dict(event.metrics))
        elif isinstance(event, ev.LogMessage):
            self.log_message.emit(event.level, event.message)
        elif isinstance(event, ev.Paused):
            if self.state == "running":
                self._set_state("paused")
            self.engine_paused.emit(event.step)
        elif isinstance(event, ev.Resumed):
            if self.state == "paused":
                self._set_state("running")

    def _handle_end(self, result: Any, cancelled: bool, failure: tuple[str, str] | None) -> None:
        if failure is not None:
            self.failed_details.emit(*failure)
            self.failed.emit(failure[0])
        elif cancelled:
            self.cancelled.emit()
        else:
            model = getattr(result, "model_path", None)
            self.finished.emit(str(model) if model else "")


# -- stylizing -----------------------------------------------------------------------


@dataclass(frozen=True)
class StylizeRequest:
    model_path: Path
    photo_path: Path
    strength: float = 1.0
    blend: dict[str, float] | None = None
    device: str = "auto"
    preview_side: int = 2048


@dataclass(frozen=True)
class StylizeResult:
    request: StylizeRequest
    preview: QImage  # scaled for the screen
    array: Any  # full-resolution HxWx3 numpy array, for export
    seconds: float
    tiled: bool


_model_cache_lock = threading.Lock()
_model_cache: dict[tuple[str, float], Any] = {}


def _load_model_cached(path: Path, device: str) -> Any:
    """Models are reused across stylize requests (worker threads only, one at a time)."""
    from ganstyle_desktop.engine.modelfile import load_model

    key = (str(path.resolve()), path.stat().st_mtime)
    with _model_cache_lock:
        model = _model_cache.get(key)
        if model is None:
            _model_cache.clear()  # keep one model in memory
            model = load_model(path, device="cpu")
            _model_cache[key] = model
    return model


class StylizeJob(_ThreadedJob):
    """Stylizes a photo at full resolution in a worker; the newest request wins."""

    started = Signal()
    progress = Signal(int, int)
    finished = Signal(object)  # StylizeResult
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent, "stylize")
        self._pending: StylizeRequest | None = None
        self.current: StylizeRequest | None = None

    def request(self, request: StylizeRequest) -> None:
        """Run ``request``; a running one is cancelled and replaced."""
        if self.is_running():
            self._pending = request
            self.cancel()
            return
        self._start(request)

    def cancel_all(self) -> None:
        self._pending = None
        self.cancel()

    def _start(self, request: StylizeRequest) -> None:
        self.current = request

        def work(control: JobControl, emit: Callable[[Any], None]) -> StylizeResult:
            _limit_torch_threads()
            import numpy as np

            from ganstyle_desktop.engine import events as ev
            from ganstyle_desktop.engine.imageio import load_rgb
            from ganstyle_desktop.engine.stylize import stylize_steps

            started = time.monotonic()
            control.raise_if_cancelled()
            model = _load_model_cached(request.model_path, request.device)
            control.raise_if_cancelled()
            image = np.asarray(load_rgb(request.photo_path))
            output, tiled = None, False
            for event in stylize_steps(
                model,
                image,
                strength=request.strength,
                blend=request.blend,
                device=request.device,
                control=control,
            ):
                control.raise_if_cancelled()
                if isinstance(event, ev.StylizeProgress):
                    emit(event)
                elif isinstance(event, ev.StylizeFinished):
                    output, tiled = event.output, event.tiled
            if output is None:
                raise RuntimeError("the stylizer ended without a result")
            preview = qimage_from_array(output, max_side=request.preview_side)
            return StylizeResult(request, preview, output, time.monotonic() - started, tiled)

        self._launch(work)
        self.started.emit()

    def _handle_event(self, event: Any) -> None:
        done, total = getattr(event, "done", 0), getattr(event, "total", 0)
        self.progress.emit(int(done), int(total))

    def _handle_end(self, result: Any, cancelled: bool, failure: tuple[str, str] | None) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:  # a newer request replaced this one: run it, say nothing
            self._start(pending)
            return
        if failure is not None:
            self.failed.emit(failure[0])
        elif cancelled:
            self.cancelled.emit()
        else:
            self.finished.emit(result)


# -- one-off background tasks ------------------------------------------------------


class BackgroundTask(_ThreadedJob):
    """Runs one plain function in a worker thread (export, device probe, model cards)."""

    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    progress = Signal(object)

    def __init__(self, parent: QObject | None = None, name: str = "task") -> None:
        super().__init__(parent, name)

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Call ``fn(*args, **kwargs)`` in a thread. ``fn`` may accept ``control`` and
        ``report`` keyword arguments (when it names them) to check cancel and report."""
        import inspect

        params = inspect.signature(fn).parameters

        def work(control: JobControl, emit: Callable[[Any], None]) -> Any:
            extra: dict[str, Any] = {}
            if "control" in params:
                extra["control"] = control
            if "report" in params:
                extra["report"] = emit
            return fn(*args, **kwargs, **extra)

        self._launch(work)

    def _handle_event(self, event: Any) -> None:
        self.progress.emit(event)

    def _handle_end(self, result: Any, cancelled: bool, failure: tuple[str, str] | None) -> None:
        if failure is not None:
            self.failed.emit(failure[0])
        elif cancelled:
            self.cancelled.emit()
        else:
            self.finished.emit(result)
