"""Training in a worker thread: the trainer's events as Qt signals, and the checkpoints of
a run listed from disk."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from ganstyle_desktop.engine.control import JobCancelled, JobControl
from ganstyle_desktop.ui.qimage import qimage_from_array

from .core import Job, JobBusy, LatestRequestJob, limit_torch_threads

__all__ = ["CheckpointInfo", "CheckpointListJob", "TrainingJob", "list_checkpoints"]


@dataclass
class _PreviewSlot:
    """Latest-wins mailbox so previews never pile up when the GUI is busy."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latest: tuple[int, list[QImage], list[tuple[str, list[QImage]]]] | None = None
    in_flight: bool = False


class TrainingJob(Job):
    """Runs ``Trainer(config, control, resume=..., resume_from=...).run()`` in a worker.

    Signals are emitted in the GUI thread. ``progress`` carries a dict with ``losses``,
    ``steps_per_second``, ``eta_seconds`` and ``learning_rate``. ``run_started(start_step,
    total_steps)`` says where the run begins (the chosen checkpoint's step on a resume).
    """

    started = Signal()
    run_started = Signal(int, int)
    progress = Signal(int, int, dict)
    preview_ready = Signal(list)  # list[QImage]: the first tradition's renderings
    preview_rows_ready = Signal(list)  # [(tradition name, list[QImage])] for every tradition
    preview_inputs_ready = Signal(list)  # list[QImage]: the fixed photos themselves
    # The live photo (set_live_photo) as the model paints it now, at this step
    live_preview_ready = Signal(QImage, int)
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
    LIVE_SIDE = 512  # the live preview's longer side: large on screen, cheap to paint

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent, "training")
        self.run_dir: Path | None = None
        self.start_step = 0
        self.last_step = 0
        self.total_steps = 0
        self.last_checkpoint: Path | None = None
        self.preview_step = 0
        self._slot = _PreviewSlot()
        self._inputs_sent = False
        self.config: Any = None  # the TrainConfig of the run going (or last run)
        self._live_lock = threading.Lock()
        self._live_photo: Any = None  # a ui.jobs Photo, or None

    def set_live_photo(self, photo: Any) -> None:
        """Paint ``photo`` (a decoded :class:`~.images.Photo`; None: stop) with the model
        being trained at every preview, as ``live_preview_ready``. Safe while running."""
        with self._live_lock:
            self._live_photo = photo

    def _live_pixels(self) -> Any:
        with self._live_lock:
            photo = self._live_photo
        return photo.downscaled(self.LIVE_SIDE) if photo is not None else None

    def start(
        self, config: Any, resume: bool = False, resume_from: Path | str | None = None
    ) -> None:
        """Start training ``config`` (an engine TrainConfig); ``resume_from`` continues
        the run from that checkpoint (``resume`` alone: from its newest). Raises JobBusy
        if a run is going."""
        if self.is_running():
            raise JobBusy("A training run is already in progress; stop it first.")
        config.validate()
        self.config = config
        self.run_dir = Path(config.out_dir)
        self.start_step = self.last_step = 0
        self.total_steps = int(config.steps)
        self.last_checkpoint = None
        self._inputs_sent = False
        self._slot = _PreviewSlot()
        slot = self._slot
        interval = self.PROGRESS_INTERVAL_S

        def work(control: JobControl, emit: Callable[[Any], None]) -> Any:
            limit_torch_threads()  # the first call imports torch: seconds, not stoppable
            control.raise_if_cancelled()
            from ganstyle_desktop.engine import events as ev
            from ganstyle_desktop.engine.trainer import Trainer

            trainer = Trainer(config, control, resume=resume, resume_from=resume_from)
            emit(("device", trainer.plan.label))
            last_emit = 0.0
            pending: Any = None
            finished: Any = None
            for event in trainer.run():
                if isinstance(event, ev.StepCompleted):
                    now = time.monotonic()
                    if now - last_emit >= interval or event.step == event.total_steps:
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
                    rows = [
                        (name, [qimage_from_array(a) for a in outs])
                        for name, outs in event.traditions
                    ] or [("", outputs)]
                    with slot.lock:
                        slot.latest = (event.step, inputs, rows)
                        send = not slot.in_flight
                        slot.in_flight = True
                    if send:
                        emit("preview")
                    live = self._live_pixels()
                    if live is not None:
                        emit(("live", event.step, _paint_live(trainer, live)))
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
                step, inputs, rows = latest
                self.preview_step = step
                if not self._inputs_sent:
                    self._inputs_sent = True
                    self.preview_inputs_ready.emit(inputs)
                self.preview_rows_ready.emit(rows)
                self.preview_ready.emit(rows[0][1])
        elif isinstance(event, tuple) and event[0] == "live":
            self.live_preview_ready.emit(event[2], event[1])
        elif isinstance(event, tuple) and event[0] == "device":
            self.log_message.emit("info", f"Training on {event[1]}")
        elif isinstance(event, ev.TrainingStarted):
            self.total_steps = event.total_steps
            self.start_step = self.last_step = event.start_step
            self.run_dir = Path(event.run_dir)
            self.run_started.emit(event.start_step, event.total_steps)
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


def _paint_live(trainer: Any, pixels: Any) -> QImage:
    """``pixels`` painted by the generator as it is now (the EMA copy the previews use),
    in the training thread between steps, so the networks are never shared."""
    from ganstyle_desktop.engine.stylize import stylize_array

    generator = trainer.method.export_generator()
    out = stylize_array(generator, pixels, device=str(trainer.plan.device), tiling="whole")
    return qimage_from_array(out)


# -- the checkpoints of a run, from disk ---------------------------------------------------


@dataclass(frozen=True)
class CheckpointInfo:
    """A checkpoint (or the run's final model) that can be stylized with or resumed from."""

    step: int
    path: Path  # the checkpoint folder, or the final model file
    model_path: Path  # the stylizable model file
    is_best: bool = False
    is_final: bool = False  # the run's exported model, not a resumable checkpoint


def list_checkpoints(run_dir: Path | str) -> list[CheckpointInfo]:
    """Complete checkpoints of ``run_dir`` oldest first, then its final model if any
    (worker only: the engine's checkpoint module imports torch)."""
    from ganstyle_desktop.engine.checkpoints import best_step, find_checkpoints
    from ganstyle_desktop.engine.trainer import MODEL_FILE

    run_dir = Path(run_dir)
    best = best_step(run_dir)
    found: list[CheckpointInfo] = []
    for folder in find_checkpoints(run_dir):
        step = int(folder.name.removeprefix("step_"))
        found.append(CheckpointInfo(step, folder, folder / MODEL_FILE, is_best=step == best))
    final = run_dir / MODEL_FILE
    if final.is_file():
        step = found[-1].step if found else 0
        found.append(CheckpointInfo(step, final, final, is_final=True))
    return found


class CheckpointListJob(LatestRequestJob):
    """``request(run_dir)``; ``finished`` carries ``(run_dir, [CheckpointInfo])``."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(
            lambda run_dir, _control, _report: (Path(run_dir), list_checkpoints(run_dir)),
            parent,
            "checkpoint-list",
        )
