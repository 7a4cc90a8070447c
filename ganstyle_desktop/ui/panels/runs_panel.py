"""Runs panel: every training run in the runs folder, whoever started it (this window,
another one, the CLI, a session before a restart): what it learns, running / paused /
interrupted / finished, its settings and progress, its best checkpoint and a thumbnail of
its newest preview.

An interrupted run resumes with one click (its own settings, from its newest checkpoint);
a run's model goes into the Models list with another. The list is read from disk in a
worker (ui/jobs/runs); the live run's state comes from the window's training job, so a
running or paused run says so while the files still say "interrupted".
"""

from __future__ import annotations

import html
import logging
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ganstyle_desktop import paths
from ganstyle_desktop.ui.jobs import TrainingJob
from ganstyle_desktop.ui.jobs.runs import RunEntry, RunListJob

log = logging.getLogger(__name__)

PATH_ROLE = Qt.ItemDataRole.UserRole
STATUS_ROLE = Qt.ItemDataRole.UserRole + 1
EMPTY_TEXT = (
    "<b>No training runs yet.</b><br>Start one in the <i>Training</i> panel: every run is "
    "listed here, and one that was interrupted resumes with one click."
)
STATUS_WORDS = {
    "running": "Running",
    "paused": "Paused",
    "stopping": "Stopping",
    "interrupted": "Interrupted",
    "finished": "Finished",
    "not started": "Not started",
}


class RunsPanel(QWidget):
    """Signals: ``resume_requested(str)`` a run folder to continue; ``run_selected(str)``
    the selected run (the Training panel lists its checkpoints); ``add_model_requested
    (str, str)`` a run's model file and its folder, for the Models list; ``runs_listed
    (int)`` after each refresh from disk."""

    resume_requested = Signal(str)
    run_selected = Signal(str)
    add_model_requested = Signal(str, str)
    runs_listed = Signal(int)
    REFRESH_DELAY_MS = 400

    def __init__(self, parent: QWidget | None = None, job: TrainingJob | None = None) -> None:
        super().__init__(parent)
        self.training_job = job
        self.entries: dict[str, RunEntry] = {}
        self._live_step = 0
        self.list_job = RunListJob(self)
        self.list_job.finished.connect(self._on_listed)
        self.list_job.failed.connect(lambda m: self.details.setText(html.escape(m)))
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(self.REFRESH_DELAY_MS)
        self._refresh_timer.timeout.connect(self.refresh)

        self.list = QListWidget()
        self.list.setIconSize(QSize(64, 64))
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        self.list.setMinimumHeight(80)
        self.list.currentItemChanged.connect(self._on_current)
        self.list.itemDoubleClicked.connect(lambda _i: self._double_clicked())
        self.empty_label = QLabel(EMPTY_TEXT)
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setTextFormat(Qt.TextFormat.RichText)
        self.empty_label.setMargin(12)
        self.empty_label.setVisible(False)
        self.details = QLabel("")
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.details.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the run from its newest checkpoint")
        self.add_button = QPushButton("Add to Models")
        self.add_button.setToolTip("Put the run's model in the Models list")
        self.folder_button = QPushButton("Open Folder")
        self.folder_button.setToolTip("Show the run's files")
        self.refresh_button = QPushButton("Refresh")
        self.resume_button.clicked.connect(self.resume_selected)
        self.add_button.clicked.connect(self.add_selected_model)
        self.folder_button.clicked.connect(self.open_selected_folder)
        self.refresh_button.clicked.connect(self.refresh)
        grid = QGridLayout()  # two by two, so the dock can be narrow
        for i, button in enumerate(
            (self.resume_button, self.add_button, self.folder_button, self.refresh_button)
        ):
            grid.addWidget(button, i // 2, i % 2)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.list, 1)
        top_layout.addWidget(self.empty_label, 1)
        details_scroll = QScrollArea()  # a narrow dock wraps the details onto many lines
        details_scroll.setWidget(self.details)
        details_scroll.setWidgetResizable(True)
        details_scroll.setFrameShape(QFrame.Shape.NoFrame)
        details_scroll.setMinimumHeight(90)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(details_scroll)
        split.setChildrenCollapsible(False)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(split, 1)
        layout.addLayout(grid)

        if job is not None:
            job.state_changed.connect(lambda _s: self._show_live())
            job.run_started.connect(lambda *_: self.schedule_refresh())
            job.checkpoint_saved.connect(lambda _p: self.schedule_refresh())
            job.finished.connect(lambda _p: self.schedule_refresh())
            job.cancelled.connect(self.schedule_refresh)
            job.failed.connect(lambda _m: self.schedule_refresh())
            job.progress.connect(self._on_progress)
        self._update_buttons()

    # -- listing ---------------------------------------------------------------------
    def roots(self) -> tuple[Path, ...]:
        return (paths.runs_dir(),)

    def refresh(self) -> None:
        """Read the runs folder again, in a worker (the newest request wins)."""
        self._refresh_timer.stop()
        self.list_job.request(self.roots())

    def schedule_refresh(self) -> None:
        self._refresh_timer.start()

    def is_busy(self) -> bool:
        return self.list_job.is_running()

    def _on_listed(self, entries: list[RunEntry]) -> None:
        current = self.current_path()
        self.entries = {str(e.path): e for e in entries}
        self.list.blockSignals(True)
        self.list.clear()
        for entry in entries:
            item = QListWidgetItem()
            item.setData(PATH_ROLE, str(entry.path))
            item.setIcon(self._icon(entry.thumbnail))
            self.list.addItem(item)
            self._describe(item, entry)
            if str(entry.path) == current:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        empty = not entries
        self.list.setVisible(not empty)
        self.empty_label.setVisible(empty)
        self._show_details()
        self._update_buttons()
        self.runs_listed.emit(len(entries))

    def _icon(self, thumbnail: QImage) -> QIcon:
        side = self.list.iconSize().width()
        if thumbnail.isNull():
            blank = QImage(side, side, QImage.Format.Format_RGB32)
            blank.fill(self.palette().mid().color())
            return QIcon(QPixmap.fromImage(blank))
        return QIcon(QPixmap.fromImage(thumbnail))

    # -- the live run --------------------------------------------------------------------
    def live_status(self, entry: RunEntry) -> str:
        """The run's status: the training job's state for the run it is running, else
        what its files say (finished, interrupted, not started)."""
        job = self.training_job
        if (
            job is not None
            and job.is_running()
            and job.run_dir is not None
            and Path(job.run_dir).resolve() == entry.path.resolve()
        ):
            return job.state if job.state in STATUS_WORDS else "running"
        return entry.summary.status

    def status_of(self, run_dir: Path | str) -> str:
        entry = self.entries.get(str(run_dir))
        return self.live_status(entry) if entry is not None else ""

    def _on_progress(self, step: int, _total: int, _info: dict) -> None:
        if step // 10 != self._live_step // 10:  # a visible change, not every step
            self._live_step = step
            self._show_live()
        self._live_step = step

    def _show_live(self) -> None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            entry = self.entries.get(item.data(PATH_ROLE))
            if entry is not None:
                self._describe(item, entry)
        self._show_details()
        self._update_buttons()

    def _describe(self, item: QListWidgetItem, entry: RunEntry) -> None:
        s = entry.summary
        status = self.live_status(entry)
        step = s.last_step
        if status in ("running", "paused", "stopping") and self._live_step:
            step = max(step, self._live_step)
        words = STATUS_WORDS.get(status, status.capitalize())
        line2 = f"{words} · {step:,} of {s.total_steps:,} steps"
        lines = [s.name, line2, f"{s.method} · {s.preset} · {s.size} px"]
        if s.best_step is not None:
            score = s.best_metrics.get("style_score")
            lines.append(f"Best: step {s.best_step:,}" + (f" (style {score:.2f})" if score else ""))
        item.setText("\n".join(lines))
        item.setData(STATUS_ROLE, status)
        item.setToolTip(str(entry.path))

    # -- selection ------------------------------------------------------------------------
    def current_path(self) -> str:
        item = self.list.currentItem()
        return item.data(PATH_ROLE) if item is not None else ""

    def current_entry(self) -> RunEntry | None:
        return self.entries.get(self.current_path())

    def select_run(self, run_dir: Path | str) -> bool:
        for row in range(self.list.count()):
            if Path(self.list.item(row).data(PATH_ROLE)) == Path(run_dir):
                self.list.setCurrentRow(row)
                return True
        return False

    def _on_current(self, *_: Any) -> None:
        self._show_details()
        self._update_buttons()
        path = self.current_path()
        if path:
            self.run_selected.emit(path)

    def _show_details(self) -> None:
        entry = self.current_entry()
        if entry is None:
            self.details.setText("")
            return
        s = entry.summary
        status = STATUS_WORDS.get(self.live_status(entry), s.status)
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.started))
        rows = [
            f"<b>{html.escape(s.name)}</b> — {status}",
            f"{html.escape(s.settings_text())}",
            f"Progress: {html.escape(s.progress_text())}; started {started}",
        ]
        if s.best_step is not None:
            metrics = ", ".join(f"{k} {v:.3f}" for k, v in sorted(s.best_metrics.items()))
            rows.append(
                f"Best checkpoint: step {s.best_step:,}" + (f" ({metrics})" if metrics else "")
            )
        if s.sources:
            rows.append("Style from: " + html.escape("; ".join(s.sources)))
        rows.append(f"<small>{html.escape(str(s.path))}</small>")
        self.details.setText("<br>".join(rows))

    def _update_buttons(self) -> None:
        entry = self.current_entry()
        job = self.training_job
        idle = job is None or job.state == "idle"
        status = self.live_status(entry) if entry is not None else ""
        self.resume_button.setEnabled(entry is not None and idle and status == "interrupted")
        self.add_button.setEnabled(
            entry is not None and entry.summary.model_path is not None and status == "finished"
        )
        self.folder_button.setEnabled(entry is not None)

    # -- actions -----------------------------------------------------------------------------
    def resume_selected(self) -> bool:
        entry = self.current_entry()
        if entry is None or self.live_status(entry) != "interrupted":
            return False
        self.resume_requested.emit(str(entry.path))
        return True

    def add_selected_model(self) -> bool:
        entry = self.current_entry()
        if entry is None or entry.summary.model_path is None:
            return False
        self.add_model_requested.emit(str(entry.summary.model_path), str(entry.path))
        return True

    def open_selected_folder(self) -> None:
        entry = self.current_entry()
        if entry is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(entry.path)))

    def _double_clicked(self) -> None:
        """Resume an interrupted run; put a finished one's model to use."""
        entry = self.current_entry()
        if entry is None:
            return
        status = self.live_status(entry)
        if status == "interrupted":
            self.resume_selected()
        elif status == "finished":
            self.add_selected_model()

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self._refresh_timer.stop()
        self.list_job.cancel_all()
        self.list_job.wait(timeout_ms)
