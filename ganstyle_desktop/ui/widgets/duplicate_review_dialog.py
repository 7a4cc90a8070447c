"""Reviewing near duplicates: each pair side by side as thumbnails, named by file.

A near duplicate (an image that looks like another of its dataset: the same print
photographed twice, a resized copy) is left out of training, so one picture does not
teach its quirks twice. Here the person sees each pair and decides: keep both (the copy
is trained on too), remove the copy, or remove the original (the copy then stands for
it). Every decision is an undoable command on the Datasets panel's undo stack.

Drivable from tests: :meth:`pairs`, :meth:`keep`, :meth:`remove`; ``thumbnails_shown``
counts the thumbnails that arrived.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGridLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ganstyle_desktop.library.records import ImageRecord
from ganstyle_desktop.ui.dataset_commands import DeleteImagesCommand, KeepDuplicatesCommand
from ganstyle_desktop.ui.jobs import WorkQueue
from ganstyle_desktop.ui.jobs.library import dataset_thumbnail

THUMB = 160


def _file_name(image: ImageRecord) -> str:
    return image.original_name or image.title or "(no name)"


class _PairRow(QFrame):
    def __init__(self, copy: ImageRecord, original: ImageRecord) -> None:
        super().__init__()
        self.copy, self.original = copy, original
        self.setFrameShape(QFrame.Shape.StyledPanel)
        grid = QGridLayout(self)
        self.thumbs: dict[str, QLabel] = {}
        for column, (key, image, caption) in enumerate(
            (
                ("copy", copy, "This image"),
                ("original", original, "looks like"),
            )
        ):
            thumb = QLabel()
            thumb.setFixedSize(THUMB, THUMB)
            thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
            thumb.setStyleSheet("QLabel { background: rgba(128, 128, 128, 40); }")
            thumb.setToolTip(image.title or _file_name(image))
            self.thumbs[key] = thumb
            name = QLabel(
                f"{caption}<br><b>{_file_name(image)}</b><br>{image.width} x {image.height}"
            )
            name.setWordWrap(True)
            name.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            grid.addWidget(thumb, 0, column, Qt.AlignmentFlag.AlignHCenter)
            grid.addWidget(name, 1, column)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.keep_button = QPushButton()
        self.remove_copy_button = QPushButton(f"Remove {_file_name(copy)}")
        self.remove_original_button = QPushButton(f"Remove {_file_name(original)}")
        side = QVBoxLayout()
        side.addWidget(self.status)
        side.addWidget(self.keep_button)
        side.addWidget(self.remove_copy_button)
        side.addWidget(self.remove_original_button)
        side.addStretch(1)
        grid.addLayout(side, 0, 2, 2, 1)
        grid.setColumnStretch(2, 1)
        self.show_decision()

    def show_decision(self) -> None:
        kept = self.copy.duplicate_kept
        self.status.setText(
            "Kept: both are trained on." if kept else "Left out of training (the copy)."
        )
        self.keep_button.setText("Leave the copy out" if kept else "Keep both")


class DuplicateReviewDialog(QDialog):
    decided = Signal()
    thumbnails_shown = Signal(int)  # how many have arrived so far

    def __init__(self, panel: Any) -> None:
        super().__init__(panel)
        self.panel = panel
        self.setWindowTitle("Review near duplicates")
        self.resize(720, 560)
        self.rows: list[_PairRow] = []
        self._shown = 0
        self.queue = WorkQueue(self, "duplicate-thumbnails")
        self.queue.item_ready.connect(self._on_thumbnail)
        self._pending: dict[int, _PairRow] = {}
        panel.library_changed.connect(self._on_library_changed)
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self._list = QWidget()
        self._list_layout = QVBoxLayout(self._list)
        self._list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._list)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(scroll, 1)
        layout.addWidget(buttons)
        self.refresh()

    # -- contents ------------------------------------------------------------------------
    def refresh(self) -> None:
        catalog, dataset = self.panel.catalog, self.panel.current_dataset()
        pairs = catalog.near_duplicate_pairs(dataset.id) if catalog and dataset else []
        old = {(r.copy.id, r.original.id): r for r in self.rows}
        for row in self.rows:
            self._list_layout.removeWidget(row)
            row.hide()
        self.rows = []
        for copy, original in pairs:
            row = old.pop((copy.id, original.id), None)
            if row is None:
                row = _PairRow(copy, original)
                row.keep_button.clicked.connect(lambda _c=False, r=row: self._toggle_keep(r))
                row.remove_copy_button.clicked.connect(
                    lambda _c=False, r=row: self.remove(r.copy.id)
                )
                row.remove_original_button.clicked.connect(
                    lambda _c=False, r=row: self.remove(r.original.id)
                )
                self._request_thumbnails(row)
            else:
                row.copy, row.original = copy, original
                row.show_decision()
            self._list_layout.insertWidget(self._list_layout.count() - 1, row)
            row.show()
            self.rows.append(row)
        for row in old.values():
            row.deleteLater()
        name = dataset.name if dataset is not None else "this dataset"
        left_out = sum(1 for r in self.rows if not r.copy.duplicate_kept)
        self.intro.setText(
            f"<b>{len(self.rows)} pair(s) of near duplicates in {name}.</b> Each left-hand "
            f"image looks like the right-hand one, so it is left out of training "
            f"({left_out} left out now). Keep both when they are different works."
            if self.rows
            else f"No near duplicates left to review in {name}."
        )

    def _request_thumbnails(self, row: _PairRow) -> None:
        workspace = self.panel.workspace
        if workspace is None:
            return
        for key, image in (("copy", row.copy), ("original", row.original)):
            self.queue.submit((id(row), key), dataset_thumbnail, workspace, image.sha256, THUMB)
        self._pending[id(row)] = row

    def _on_thumbnail(self, key: tuple[int, str], image: QImage) -> None:
        row = self._pending.get(key[0])
        if row is None or row not in self.rows:
            return
        label = row.thumbs[key[1]]
        label.setPixmap(
            QPixmap.fromImage(image).scaled(
                THUMB,
                THUMB,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )
        self._shown += 1
        self.thumbnails_shown.emit(self._shown)

    # -- reading and deciding (the buttons, and tests) -------------------------------------
    def pairs(self) -> list[tuple[str, str, bool]]:
        """(the copy's file, the original's file, kept) for every pair shown."""
        return [
            (_file_name(r.copy), _file_name(r.original), r.copy.duplicate_kept) for r in self.rows
        ]

    def row_for(self, file_name: str) -> _PairRow:
        for row in self.rows:
            if file_name in (_file_name(row.copy), _file_name(row.original)):
                return row
        raise KeyError(file_name)

    def keep(self, copy_id: int, kept: bool = True) -> bool:
        catalog = self.panel.catalog
        if catalog is None:
            return False
        return self.panel._push(
            KeepDuplicatesCommand(catalog, [copy_id], kept, self.panel._changed)
        )

    def remove(self, image_id: int) -> bool:
        catalog = self.panel.catalog
        if catalog is None:
            return False
        return self.panel._push(DeleteImagesCommand(catalog, [image_id], self.panel._changed))

    def _toggle_keep(self, row: _PairRow) -> None:
        self.keep(row.copy.id, not row.copy.duplicate_kept)

    def _on_library_changed(self) -> None:
        # Any edit of the catalog (a decision here, its undo from Edit > Undo, a delete in
        # the grid) shows here: the commands refresh the panel, the panel tells us.
        self.refresh()
        self.decided.emit()

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self.queue.stop()
        self.queue.wait(timeout_ms)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.queue.clear()
        super().closeEvent(event)
