"""File > Export Result: where to save, in which format and quality.

It opens next to the photo (its folder, when that can be written to; else the folder
last saved to), with the name ``<photo>-<model>`` and the format and quality last used
(the photo's own format the first time). Changing the format changes the name's suffix,
and typing a suffix changes the format. An existing file is replaced only when the
person says so.

Drivable from tests: set :attr:`folder_edit`, :attr:`name_edit` and the
:attr:`formats` chooser, then :meth:`try_accept`; :attr:`confirm_replace` is the
question asked before replacing a file (a callable, so tests can answer it).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .settings import last_folder, remember_folder
from .widgets.format_chooser import FormatChooser, normal_suffix


def _writable_folder(folder: Path | None) -> bool:
    return folder is not None and folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def _safe_stem(text: str) -> str:
    cleaned = "".join("-" if c in '/\\:*?"<>|' else c for c in text).strip(" .")
    return cleaned or "result"


class SaveResultDialog(QDialog):
    def __init__(
        self,
        parent: QWidget | None = None,
        photo_path: Path | None = None,
        model_name: str = "",
        bit_depth: int = 8,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export result")
        self.setMinimumWidth(520)
        photo_folder = photo_path.parent if photo_path is not None else None
        folder = photo_folder if _writable_folder(photo_folder) else Path(last_folder("export"))
        stem = photo_path.stem if photo_path is not None else "result"
        name = _safe_stem(f"{stem}-{model_name}" if model_name else f"{stem}-styled")
        self.bit_depth = bit_depth
        self.confirm_replace: Callable[[Path], bool] = self._ask_replace

        self.folder_edit = QLineEdit(str(folder))
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(self.browse_button)
        self.name_edit = QLineEdit()
        self.formats = FormatChooser()
        photo_format = normal_suffix(photo_path.suffix) if photo_path is not None else ""
        self.formats.restore(photo_format or "png")
        self.name_edit.setText(f"{name}.{self.formats.suffix()}")
        self.note = QLabel()
        self.note.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Folder", folder_row)
        form.addRow("Name", self.name_edit)
        form.addRow("Format", self.formats)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.try_accept)
        buttons.rejected.connect(self.reject)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(buttons)

        self.formats.changed.connect(self._format_changed)
        self.name_edit.textEdited.connect(self._name_edited)
        self.folder_edit.textChanged.connect(lambda _t: self._update_note())
        self._update_note()

    # -- reading ---------------------------------------------------------------------
    def path(self) -> Path:
        return Path(self.folder_edit.text().strip()).expanduser() / self.name_edit.text().strip()

    def quality(self) -> int:
        return self.formats.quality_value()

    # -- keeping name and format in step -------------------------------------------------
    def _format_changed(self) -> None:
        name = self.name_edit.text().strip()
        stem = Path(name).stem if normal_suffix(Path(name).suffix) else name
        wanted = f"{stem or 'result'}.{self.formats.suffix()}"
        if wanted != name:
            self.name_edit.setText(wanted)
        self._update_note()

    def _name_edited(self, text: str) -> None:
        key = normal_suffix(Path(text.strip()).suffix)
        if key and key != self.formats.suffix():
            self.formats.blockSignals(True)
            self.formats.set_format(key)
            self.formats.blockSignals(False)
            self.formats._on_format()
        self._update_note()

    def _update_note(self) -> None:
        notes = []
        suffix = self.formats.suffix()
        if self.bit_depth == 16:
            notes.append(
                "The photo has 16 bits per channel: TIFF keeps them, the other formats save 8 bits."
                if suffix != "tif"
                else "16 bits per channel are kept."
            )
        folder = Path(self.folder_edit.text().strip()).expanduser()
        if not folder.is_dir():
            notes.append(f"The folder {folder} does not exist.")
        elif not _writable_folder(folder):
            notes.append(f"This app cannot write to {folder}; choose another folder.")
        elif self.path().exists():
            notes.append(f"{self.path().name} exists already: Save will ask before replacing it.")
        self.note.setText(" ".join(notes))
        self.note.setVisible(bool(notes))

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save into folder", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    # -- accepting ---------------------------------------------------------------------
    def problem(self) -> str:
        """Why Save cannot go ahead ("" when it can)."""
        folder = Path(self.folder_edit.text().strip()).expanduser()
        name = self.name_edit.text().strip()
        if not name or not Path(name).stem:
            return "Give the file a name."
        if Path(name).name != name:
            return "The name cannot hold a folder; choose the folder above."
        if not normal_suffix(Path(name).suffix):
            return "End the name with .png, .jpg, .webp or .tif (or pick a format)."
        if not folder.is_dir():
            return f"The folder {folder} does not exist."
        if not _writable_folder(folder):
            return f"This app cannot write to {folder}; choose another folder."
        return ""

    def try_accept(self) -> bool:
        problem = self.problem()
        if problem:
            self.note.setText(problem)
            self.note.setVisible(True)
            return False
        target = self.path()
        if target.exists() and not self.confirm_replace(target):
            return False
        self.formats.remember()
        remember_folder("export", target)
        self.accept()
        return True

    def _ask_replace(self, target: Path) -> bool:
        answer = QMessageBox.question(
            self,
            "Replace the file?",
            f"{target.name} exists already in {target.parent}. Replace it?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes
