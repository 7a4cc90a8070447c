"""Compare traditions: the current photo rendered in every tradition of every installed
model, grouped under each model's name, exportable as one sheet PNG. Double-clicking a
cell applies that model and tradition to the canvas (``cell_activated``).

Rendering and the sheet's composition run in workers (ui/jobs, through the engine's
contact sheet), so the exported sheet is the same picture the CLI makes. Cells appear one
by one as they are rendered (the job's partial results); asking for a new comparison while
one renders cancels it and starts over (the newest request wins).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from .jobs import BackgroundTask, Photo
from .jobs.models import CompareCell, CompareJob, CompareRequest, write_sheet

log = logging.getLogger(__name__)

CELL_SIDE = 256
COLUMNS = 3


# -- the view -------------------------------------------------------------------------------


class _Cell(QWidget):
    """One rendering; a double-click asks for its model and tradition on the canvas."""

    activated = Signal(object)  # the CompareCell

    def __init__(self, cell: CompareCell, side: int) -> None:
        super().__init__()
        self.cell = cell
        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        pixmap = QPixmap.fromImage(cell.image).scaled(
            side,
            side,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        # As tall as the picture: landscape photos leave no empty bands between groups.
        self.picture.setFixedSize(side, max(1, pixmap.height()))
        self.picture.setPixmap(pixmap)
        self.caption = QLabel(cell.label)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.caption.setWordWrap(True)
        tip = f"{cell.model}: {cell.label}" if cell.model else cell.label
        if cell.model_path:
            tip += "\nDouble-click to paint the canvas photo like this"
        self.setToolTip(tip)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.picture)
        layout.addWidget(self.caption)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self.cell.model_path:
            self.activated.emit(self.cell)
        event.accept()


class CompareView(QWidget):
    """A grid of the photo in every tradition.

    Signals: ``cell_added(str)`` label of each cell as it lands; ``rendering_finished(int)``
    number of cells once the comparison is complete; ``sheet_exported(str)`` path of a
    saved sheet; ``failed(str)`` a message for people; ``cell_activated(str, str)`` the
    model file and tradition slug of a double-clicked cell ("" for a single-style model).
    """

    cell_activated = Signal(str, str)
    cell_added = Signal(str)
    rendering_finished = Signal(int)
    sheet_exported = Signal(str)
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None, cell_side: int = CELL_SIDE) -> None:
        super().__init__(parent)
        self.cell_side = cell_side
        self.model_paths: list[Path] = []
        self.photo: Photo | Path | None = None
        self.cells: list[CompareCell] = []
        self._render_task = CompareJob(self)
        self._render_task.started.connect(self._on_started)
        self._render_task.partial.connect(self._on_cell)
        self._render_task.finished.connect(self._on_rendered)
        self._render_task.failed.connect(self._on_failed)
        self._render_task.cancelled.connect(self._on_cancelled)
        self._export_task = BackgroundTask(self, "compare-export")
        self._export_task.finished.connect(self._on_exported)
        self._export_task.failed.connect(self._on_failed)

        self.status = QLabel("Open a photo and choose models to compare their traditions.")
        self.status.setWordWrap(True)
        self.render_button = QPushButton("Render")
        self.render_button.setToolTip("Render the photo in every tradition")
        self.render_button.clicked.connect(self.render)
        self.export_button = QPushButton("Export Sheet…")
        self.export_button.setToolTip("Save the grid as one PNG image")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self._ask_export)
        bar = QHBoxLayout()
        bar.addWidget(self.status, 1)
        bar.addWidget(self.render_button)
        bar.addWidget(self.export_button)

        self._grid_host = QWidget()
        self._grid = QVBoxLayout(self._grid_host)  # a header and a grid per model
        self._grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self._groups: dict[str, tuple[QLabel, QGridLayout, list[CompareCell]]] = {}
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._grid_host)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(scroll, 1)

    # -- public -------------------------------------------------------------------------
    def set_photo(self, photo: Photo | str | Path | None) -> None:
        """The canvas photo (already decoded), or a photo file."""
        self.photo = photo if isinstance(photo, Photo) or photo is None else Path(photo)

    @property
    def photo_path(self) -> Path | None:
        if isinstance(self.photo, Photo):
            return self.photo.path
        return self.photo

    def set_models(self, paths: list[str | Path]) -> None:
        """One model (its traditions) or several (every installed model)."""
        self.model_paths = [Path(p) for p in paths]

    def render(self) -> bool:
        """Start rendering; a comparison in progress is cancelled and replaced."""
        if self.photo is None or not self.model_paths:
            self.status.setText("Open a photo and choose at least one model first.")
            return False
        self._render_task.request(
            CompareRequest(tuple(self.model_paths), self.photo, self.cell_side)
        )
        return True

    def cell_labels(self) -> list[str]:
        return [c.label for c in self.cells]

    def group_titles(self) -> list[str]:
        """The headers of the grid, one per model (after the photo's), in order."""
        return [label.text() for label, _grid, _cells in self._groups.values()]

    def cell_widgets(self) -> list[_Cell]:
        return self._grid_host.findChildren(_Cell)

    def export_sheet(self, path: str | Path, title: str = "") -> bool:
        """Compose the rendered cells into one PNG at ``path`` (in a worker)."""
        if not self.cells:
            self.failed.emit("Nothing to export yet: render the comparison first.")
            return False
        if self._export_task.is_running():
            return False
        if not title and self.photo_path is not None:
            title = f"{self.photo_path.name} in {len(self.cells) - 1} traditions"
        models = {c.model_path for c in self.cells if c.model_path}
        cells = [
            (f"{c.model} · {c.label}" if len(models) > 1 and c.model else c.label, c.array)
            for c in self.cells
        ]
        self._export_task.run(write_sheet, cells, Path(path), self.cell_side, title)
        return True

    def is_busy(self) -> bool:
        return self._render_task.is_running() or self._export_task.is_running()

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self._render_task.cancel_all()
        self._render_task.wait(timeout_ms)
        self._export_task.wait(timeout_ms)

    # -- internals ----------------------------------------------------------------------
    def _on_started(self, _request: CompareRequest) -> None:
        self._clear()
        self.status.setText("Rendering…")
        self.export_button.setEnabled(False)

    def _clear(self) -> None:
        self.cells = []
        self._groups = {}
        while self._grid.count():
            item = self._grid.takeAt(0)
            widget = item.widget()
            if widget is not None:
                widget.deleteLater()

    def _group(self, cell: CompareCell) -> tuple[QLabel, QGridLayout, list[CompareCell]]:
        key = cell.model_path or ""
        if key not in self._groups:
            title = QLabel(f"<b>{cell.model}</b>" if key else "<b>The photo</b>")
            title.setTextFormat(Qt.TextFormat.RichText)
            title.setToolTip(key or "the photo itself")
            host = QWidget()
            grid = QGridLayout(host)
            grid.setContentsMargins(0, 0, 0, 8)
            grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            self._grid.addWidget(title)
            self._grid.addWidget(host)
            self._groups[key] = (title, grid, [])
        return self._groups[key]

    def _on_cell(self, cell: Any) -> None:
        if not isinstance(cell, CompareCell):
            return
        _title, grid, members = self._group(cell)
        row, col = divmod(len(members), COLUMNS)
        members.append(cell)
        self.cells.append(cell)
        widget = _Cell(cell, self.cell_side)
        widget.activated.connect(lambda c: self.cell_activated.emit(c.model_path, c.tradition))
        grid.addWidget(widget, row, col)
        self.cell_added.emit(cell.label)

    def _on_rendered(self, _request: Any) -> None:
        n = len(self.cells)
        name = self.photo_path.name if self.photo_path else ""
        models = len({c.model_path for c in self.cells if c.model_path})
        self.status.setText(
            f"{n - 1} renderings of {name} by {models} model{'s' if models != 1 else ''}; "
            "double-click one to paint the canvas with it"
        )
        self.export_button.setEnabled(n > 0)
        self.rendering_finished.emit(n)

    def _on_cancelled(self) -> None:
        self.status.setText("Cancelled.")

    def _on_failed(self, message: str) -> None:
        self.status.setText(message)
        self.failed.emit(message)

    def _ask_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export Comparison Sheet", "compare-traditions.png", "PNG (*.png)"
        )
        if path:
            if not path.lower().endswith(".png"):
                path += ".png"
            self.export_sheet(path)

    def _on_exported(self, path: str) -> None:
        self.status.setText(f"Saved {Path(path).name}")
        self.sheet_exported.emit(path)
