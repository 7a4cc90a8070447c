"""Compare traditions: the current photo rendered in every tradition of a model (or of
every installed model), as a labelled grid, exportable as one sheet PNG.

Rendering and the sheet's composition run in workers through the engine
(:mod:`ganstyle_desktop.engine.contact_sheet`), so the exported sheet is the same picture
the CLI makes. Cells appear one by one as they are rendered; asking for a new comparison
while one renders cancels it and starts over (the newest request wins).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
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

from .jobs import BackgroundTask

log = logging.getLogger(__name__)

CELL_SIDE = 256
COLUMNS = 3


@dataclass(frozen=True)
class CompareRequest:
    model_paths: tuple[Path, ...]
    photo_path: Path
    cell_side: int = CELL_SIDE


@dataclass(frozen=True)
class CompareCell:
    """A rendered cell as the GUI holds it: the label, a QImage and the engine's array."""

    label: str
    image: QImage
    array: Any  # HxWx3 uint8 numpy array (kept for the sheet export)
    model: str = ""
    tradition: str = ""


# -- worker functions (off the GUI thread; they may import torch) ---------------------------


def render_cells(request: CompareRequest, control: Any, report: Any) -> CompareRequest:
    """Render the comparison, reporting each cell as it lands."""
    from ganstyle_desktop.engine.blend import load_photo
    from ganstyle_desktop.engine.contact_sheet import render_comparison

    from .qimage import qimage_from_array

    photo = load_photo(request.photo_path, request.cell_side * 2)

    def landed(cell) -> None:
        report(
            CompareCell(
                cell.label, qimage_from_array(cell.image), cell.image, cell.model, cell.tradition
            )
        )

    render_comparison(
        list(request.model_paths),
        photo,
        max_side=request.cell_side,
        control=control,
        progress=landed,
    )
    return request


def write_sheet(cells: list[tuple[str, Any]], path: Path, cell_side: int, title: str) -> str:
    from ganstyle_desktop.engine.contact_sheet import Rendering, compose_sheet, save_sheet

    sheet = compose_sheet(
        [Rendering(label, array) for label, array in cells],
        columns=min(COLUMNS, len(cells)),
        cell_side=cell_side,
        title=title,
    )
    return str(save_sheet(sheet, path))


# -- the view -------------------------------------------------------------------------------


class _Cell(QWidget):
    def __init__(self, cell: CompareCell, side: int) -> None:
        super().__init__()
        self.cell = cell
        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setFixedSize(side, side)
        self.picture.setPixmap(
            QPixmap.fromImage(cell.image).scaled(
                side,
                side,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )
        self.caption = QLabel(cell.label)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.caption.setWordWrap(True)
        tip = f"{cell.model}: {cell.label}" if cell.model else cell.label
        self.setToolTip(tip)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.picture)
        layout.addWidget(self.caption)


class CompareView(QWidget):
    """A grid of the photo in every tradition.

    Signals: ``cell_added(str)`` label of each cell as it lands; ``rendering_finished(int)``
    number of cells once the comparison is complete; ``sheet_exported(str)`` path of a
    saved sheet; ``failed(str)`` a message for people.
    """

    cell_added = Signal(str)
    rendering_finished = Signal(int)
    sheet_exported = Signal(str)
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None, cell_side: int = CELL_SIDE) -> None:
        super().__init__(parent)
        self.cell_side = cell_side
        self.model_paths: list[Path] = []
        self.photo_path: Path | None = None
        self.cells: list[CompareCell] = []
        self._pending: CompareRequest | None = None
        self._render_task = BackgroundTask(self, "compare")
        self._render_task.progress.connect(self._on_cell)
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
        self._grid = QGridLayout(self._grid_host)
        self._grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._grid_host)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(scroll, 1)

    # -- public -------------------------------------------------------------------------
    def set_photo(self, path: str | Path | None) -> None:
        self.photo_path = Path(path) if path else None

    def set_models(self, paths: list[str | Path]) -> None:
        """One model (its traditions) or several (every installed model)."""
        self.model_paths = [Path(p) for p in paths]

    def render(self) -> bool:
        """Start rendering; a comparison in progress is cancelled and replaced."""
        if self.photo_path is None or not self.model_paths:
            self.status.setText("Open a photo and choose at least one model first.")
            return False
        request = CompareRequest(tuple(self.model_paths), self.photo_path, self.cell_side)
        if self._render_task.is_running():
            self._pending = request
            self._render_task.cancel()
            return True
        self._start(request)
        return True

    def cell_labels(self) -> list[str]:
        return [c.label for c in self.cells]

    def export_sheet(self, path: str | Path, title: str = "") -> bool:
        """Compose the rendered cells into one PNG at ``path`` (in a worker)."""
        if not self.cells:
            self.failed.emit("Nothing to export yet: render the comparison first.")
            return False
        if self._export_task.is_running():
            return False
        if not title and self.photo_path is not None:
            title = f"{self.photo_path.name} in {len(self.cells) - 1} traditions"
        cells = [(c.label, c.array) for c in self.cells]
        self._export_task.run(write_sheet, cells, Path(path), self.cell_side, title)
        return True

    def is_busy(self) -> bool:
        return self._render_task.is_running() or self._export_task.is_running()

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self._pending = None
        self._render_task.cancel()
        self._render_task.wait(timeout_ms)
        self._export_task.wait(timeout_ms)

    # -- internals ----------------------------------------------------------------------
    def _start(self, request: CompareRequest) -> None:
        self._clear()
        self.status.setText("Rendering…")
        self.export_button.setEnabled(False)
        self._render_task.run(render_cells, request)

    def _clear(self) -> None:
        self.cells = []
        while self._grid.count():
            item = self._grid.takeAt(0)
            widget = item.widget()
            if widget is not None:
                widget.deleteLater()

    def _on_cell(self, cell: Any) -> None:
        if not isinstance(cell, CompareCell) or self._pending is not None:
            return  # cells of a comparison that is being replaced
        row, col = divmod(len(self.cells), COLUMNS)
        self.cells.append(cell)
        self._grid.addWidget(_Cell(cell, self.cell_side), row, col)
        self.cell_added.emit(cell.label)

    def _next(self) -> bool:
        pending, self._pending = self._pending, None
        if pending is not None:
            self._start(pending)
            return True
        return False

    def _on_rendered(self, _request: Any) -> None:
        if self._next():
            return
        n = len(self.cells)
        self.status.setText(
            f"{n - 1} renderings of {self.photo_path.name if self.photo_path else ''}"
        )
        self.export_button.setEnabled(n > 0)
        self.rendering_finished.emit(n)

    def _on_cancelled(self) -> None:
        if not self._next():
            self.status.setText("Cancelled.")

    def _on_failed(self, message: str) -> None:
        if self._next():
            return
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
