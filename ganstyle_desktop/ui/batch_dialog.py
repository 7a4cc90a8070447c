"""File > Batch Stylize: many photos (files or folders) into one folder, with the model
and blend on the canvas, in a chosen format and quality, with progress, Cancel and a
summary of what failed and why.

The work runs through ui/jobs (:func:`~.jobs.batch.stylize_batch` in a
:class:`~.jobs.BackgroundTask` owned by this dialog, so closing the window stops it).

Driving it from a test (or a script)::

    dialog = BatchDialog(window, window.state, device="cpu")
    dialog.add_inputs([folder])            # files and/or folders
    dialog.set_output_folder(out)
    dialog.formats.set_format("jpg", 90)   # png | jpg | webp | tif, quality 1-100
    with qtbot.waitSignal(dialog.batch_finished, timeout=...) as done:
        assert dialog.start()
    report = done.args[0]                  # jobs.batch.BatchReport

:meth:`problem` says why Start is not possible; ``file_done`` carries each photo's
:class:`~.jobs.batch.BatchFileDone` as it lands.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .canvas_state import CanvasState
from .jobs import BackgroundTask, Progress
from .jobs.batch import BatchFileDone, BatchReport, BatchRequest, stylize_batch
from .settings import app_settings, last_folder, pixel_limit_setting, remember_folder
from .widgets.format_chooser import FormatChooser

log = logging.getLogger(__name__)

PHOTO_FILES = "Photos (*.jpg *.jpeg *.png *.webp *.tif *.tiff *.bmp);;All files (*)"
EXISTING = (
    ("number", "Add a number to the new name"),
    ("replace", "Replace it"),
    ("skip", "Skip the photo"),
)


class BatchDialog(QDialog):
    batch_started = Signal()
    batch_progress = Signal(int, int, str)  # photos done, photos in all, what it is doing
    file_done = Signal(object)  # BatchFileDone
    batch_finished = Signal(object)  # BatchReport, after the worker thread has ended
    batch_failed = Signal(str)

    def __init__(self, parent: QWidget | None, state: CanvasState, device: str = "auto") -> None:
        super().__init__(parent)
        self.setWindowTitle("Batch stylize")
        self.setMinimumSize(560, 480)
        self.state = state
        self.device = device
        self.last_report: BatchReport | None = None
        self.task = BackgroundTask(self, "batch-stylize")
        self.task.progress.connect(self._on_progress)
        self.task.finished.connect(self._on_finished)
        self.task.failed.connect(self._on_failed)
        self.task.cancelled.connect(lambda: self._on_failed("the batch was cancelled"))

        self.inputs = QListWidget()
        self.inputs.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.inputs.setToolTip("Photos and folders to stylize; drop them here too")
        self.add_files_button = QPushButton("Add photos…")
        self.add_folder_button = QPushButton("Add folder…")
        self.remove_button = QPushButton("Remove")
        self.add_files_button.clicked.connect(self._ask_files)
        self.add_folder_button.clicked.connect(self._ask_folder)
        self.remove_button.clicked.connect(self._remove_selected)
        self.recursive = QCheckBox("Include subfolders")
        self.recursive.setChecked(True)
        input_buttons = QHBoxLayout()
        for w in (self.add_files_button, self.add_folder_button, self.remove_button):
            input_buttons.addWidget(w)
        input_buttons.addStretch(1)
        input_buttons.addWidget(self.recursive)

        self.output_edit = QLineEdit(str(app_settings().value("batch/output", "")))
        self.output_edit.setPlaceholderText("Folder the stylized photos go to")
        self.output_button = QPushButton("Browse…")
        self.output_button.clicked.connect(self._ask_output)
        output_row = QHBoxLayout()
        output_row.addWidget(self.output_edit, 1)
        output_row.addWidget(self.output_button)
        self.formats = FormatChooser()
        self.formats.restore("jpg")
        self.suffix_edit = QLineEdit()
        self.suffix_edit.setToolTip("Added to each photo's name: IMG_1234<suffix>.jpg")
        self.existing = QComboBox()
        for key, label in EXISTING:
            self.existing.addItem(label, key)
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Paints with", self.model_label)
        form.addRow("Output folder", output_row)
        form.addRow("Format", self.formats)
        form.addRow("Name suffix", self.suffix_edit)
        form.addRow("If a file exists", self.existing)

        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.failures = QPlainTextEdit()
        self.failures.setReadOnly(True)
        self.failures.setPlaceholderText("Photos that could not be stylized are listed here.")
        self.failures.setMaximumHeight(120)
        self.failures.setVisible(False)

        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        self.open_output_button = QPushButton("Open output folder")
        self.open_output_button.clicked.connect(self._open_output)
        self.open_output_button.setEnabled(False)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_output_button)
        buttons.addStretch(1)
        for b in (self.start_button, self.cancel_button, self.close_button):
            buttons.addWidget(b)

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Photos"))
        layout.addWidget(self.inputs, 1)
        layout.addLayout(input_buttons)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.failures)
        layout.addLayout(buttons)
        self.setAcceptDrops(True)

        state.model_changed.connect(lambda _m: self._update())
        state.blend_changed.connect(lambda _b: self._update())
        state.model_name_changed.connect(lambda _n: self._update())
        for signal in (
            self.output_edit.textChanged,
            self.inputs.model().rowsInserted,
            self.inputs.model().rowsRemoved,
        ):
            signal.connect(lambda *_: self._update())
        self._update()

    # -- choosing ------------------------------------------------------------------------
    def add_inputs(self, paths: list[Path | str]) -> int:
        """Add photos and folders (each once); returns how many were new."""
        have = set(self.input_paths())
        added = 0
        for p in paths:
            path = Path(p)
            if path in have:
                continue
            item = QListWidgetItem(f"{path}{'/' if path.is_dir() else ''}")
            item.setData(Qt.ItemDataRole.UserRole, str(path))
            self.inputs.addItem(item)
            have.add(path)
            added += 1
        if added and not self.output_edit.text().strip():
            first = Path(paths[0])
            base = first if first.is_dir() else first.parent
            self.output_edit.setText(str(base.parent / f"{base.name}-stylized"))
        return added

    def input_paths(self) -> list[Path]:
        return [
            Path(self.inputs.item(i).data(Qt.ItemDataRole.UserRole))
            for i in range(self.inputs.count())
        ]

    def set_output_folder(self, folder: Path | str) -> None:
        self.output_edit.setText(str(folder))

    def output_folder(self) -> Path:
        return Path(self.output_edit.text().strip()).expanduser()

    def _default_suffix(self) -> str:
        model = self.state.model
        return f"-{model.stem}" if model is not None and not self.state.blend.is_photo else ""

    def _ask_files(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(
            self, "Photos to stylize", last_folder("photos"), PHOTO_FILES
        )
        if names:
            remember_folder("photos", names[0])
            self.add_inputs(names)

    def _ask_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "A folder of photos to stylize", last_folder("photos")
        )
        if folder:
            remember_folder("photos", Path(folder) / ".")
            self.add_inputs([folder])

    def _ask_output(self) -> None:
        start = self.output_edit.text().strip() or last_folder("export")
        folder = QFileDialog.getExistingDirectory(self, "Save the stylized photos in", start)
        if folder:
            self.output_edit.setText(folder)

    def _remove_selected(self) -> None:
        for item in self.inputs.selectedItems():
            self.inputs.takeItem(self.inputs.row(item))

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.mimeData().hasUrls() and not self.is_running():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.add_inputs(paths)
            event.acceptProposedAction()

    # -- running -----------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self.task.is_running()

    def problem(self) -> str:
        """Why Start cannot go ahead ("" when it can)."""
        if self.state.model is None and not self.state.blend.is_photo:
            return "Choose a model first (in the Models panel)."
        if not self.input_paths():
            return "Add photos or a folder of photos."
        missing = [p for p in self.input_paths() if not p.exists()]
        if missing:
            return f"{missing[0]} is not there any more; remove it from the list."
        if not self.output_edit.text().strip():
            return "Choose the folder the stylized photos go to."
        out = self.output_folder()
        if out.exists() and not out.is_dir():
            return f"{out} is a file; choose a folder."
        return ""

    def request(self) -> BatchRequest:
        suffix = self.suffix_edit.text()
        return BatchRequest(
            model_path=self.state.model or Path(),
            inputs=tuple(self.input_paths()),
            output_dir=self.output_folder(),
            blend=self.state.blend,
            image_format=self.formats.suffix(),
            quality=self.formats.quality_value(),
            suffix=suffix if suffix else self._default_suffix(),
            existing=str(self.existing.currentData()),
            recursive=self.recursive.isChecked(),
            device=self.device,
            max_pixels=pixel_limit_setting(),
        )

    def start(self) -> bool:
        problem = self.problem()
        if problem or self.is_running():
            self.status.setText(problem or "A batch is running.")
            return False
        request = self.request()
        self.formats.remember()
        app_settings().setValue("batch/output", str(request.output_dir))
        self.last_report = None
        self.failures.clear()
        self.failures.setVisible(False)
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.status.setText("Preparing…")
        self._set_running(True)
        self.task.run(stylize_batch, request)
        self.batch_started.emit()
        return True

    def cancel(self) -> None:
        if self.is_running():
            self.task.cancel()
            self.cancel_button.setEnabled(False)
            self.status.setText("Cancelling: the photo being painted stops at once…")

    def _set_running(self, running: bool) -> None:
        for w in (
            self.start_button,
            self.add_files_button,
            self.add_folder_button,
            self.remove_button,
            self.output_edit,
            self.output_button,
            self.formats,
            self.suffix_edit,
            self.existing,
            self.recursive,
        ):
            w.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        if not running:
            self._update()

    def _on_progress(self, event: object) -> None:
        if isinstance(event, BatchFileDone):
            if not event.ok:
                self.failures.setVisible(True)
                self.failures.appendPlainText(f"{event.source.name}: {event.reason}")
            self.file_done.emit(event)
            return
        if not isinstance(event, Progress):
            return
        if event.total:
            self.progress.setRange(0, event.total)
            self.progress.setValue(event.done)
        if event.stage not in ("preparing", "done"):
            self.status.setText(
                f"Photo {min(event.done + 1, event.total)} of {event.total}: {event.stage}"
            )
        self.batch_progress.emit(event.done, event.total, event.stage)

    def _on_finished(self, report: BatchReport) -> None:
        self.last_report = report
        self._set_running(False)
        self.progress.setRange(0, max(report.total, 1))
        self.progress.setValue(len(report.written) + len(report.failed) + len(report.skipped))
        self.status.setText(f"{report.summary()} in {report.seconds:.0f} s.")
        details = report.failure_text()
        self.failures.setPlainText(details)
        self.failures.setVisible(bool(details))
        self.open_output_button.setEnabled(bool(report.written))
        self.batch_finished.emit(report)

    def _on_failed(self, message: str) -> None:
        self._set_running(False)
        self.progress.setVisible(False)
        self.status.setText(f"The batch stopped: {message}.")
        self.batch_failed.emit(message)

    def _open_output(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.output_folder())))

    def _update(self) -> None:
        model = self.state.model
        if self.state.blend.is_photo:
            painter = "the photo itself (every Blend slider is at zero)"
        elif model is None:
            painter = "no model chosen"
        else:
            painter = self.state.model_name  # as the canvas and Models list name it
            weights = self.state.blend.weights
            if weights:
                mix = ", ".join(f"{k} {v:g}" for k, v in weights if v)
                painter += f" ({mix})"
            if self.state.blend.strength < 1:
                painter += f", strength {self.state.blend.strength:.0%}"
            if self.state.blend.brush > 1:
                painter += f", strokes x{self.state.blend.brush:g}"
        self.model_label.setText(painter)
        self.suffix_edit.setPlaceholderText(self._default_suffix() or "(none)")
        if not self.is_running():
            problem = self.problem()
            self.start_button.setEnabled(not problem)
            self.start_button.setToolTip(problem)

    # -- lifetime ------------------------------------------------------------------------------
    def shutdown(self, timeout_ms: int = 10_000) -> None:
        self.task.cancel()
        self.task.wait(timeout_ms)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.is_running():
            self.cancel()  # the report of what was done arrives; the dialog can close
        super().closeEvent(event)


def open_batch_dialog(window: QWidget, state: CanvasState, device: str = "auto") -> BatchDialog:
    """The window's one Batch dialog (made on first use, kept while the window lives)."""
    dialog = getattr(window, "_batch_dialog", None)
    if dialog is None:
        dialog = BatchDialog(window, state, device)
        window._batch_dialog = dialog  # type: ignore[attr-defined]
    dialog.device = device
    dialog.show()
    dialog.raise_()
    return dialog
