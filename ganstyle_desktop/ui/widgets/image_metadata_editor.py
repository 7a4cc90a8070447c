"""A form for the metadata of the selected images (title, artist, year, source, license,
tags). Applying emits ``fields_edited(dict)`` with only the fields the person changed, so
editing several images at once leaves their other fields alone."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ganstyle_desktop.library.records import IMAGE_FIELDS, ImageRecord

_MIXED = "(several values)"


class ImageMetadataEditor(QWidget):
    fields_edited = Signal(dict)
    delete_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel("No image selected")
        self.summary.setWordWrap(True)
        self.edits: dict[str, QLineEdit] = {}
        form = QFormLayout()
        for name in IMAGE_FIELDS:
            edit = QLineEdit()
            edit.setObjectName(f"image_{name}")
            edit.returnPressed.connect(self.apply)
            if name == "tags":
                edit.setToolTip("Comma-separated tags")
            self.edits[name] = edit
            form.addRow(name.capitalize(), edit)
        self.apply_button = QPushButton("Apply")
        self.apply_button.clicked.connect(self.apply)
        self.delete_button = QPushButton("Move to trash")
        self.delete_button.clicked.connect(self.delete_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        buttons.addWidget(self.apply_button)
        self.details = QLabel()
        self.details.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(form)
        layout.addWidget(self.details)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self._shown: dict[str, str] = {}
        self.set_images([])

    def set_images(self, images: list[ImageRecord]) -> None:
        """Show the selection; a field that differs between images shows as mixed."""
        self._shown = {}
        for name, edit in self.edits.items():
            values = {_text(getattr(i, name)) for i in images}
            text = values.pop() if len(values) == 1 else ""
            edit.setPlaceholderText(_MIXED if len(images) > 1 and text == "" and values else "")
            edit.setText(text)
            edit.setCursorPosition(0)  # long titles and licenses read from their start
            self._shown[name] = text
            edit.setEnabled(bool(images))
        self.apply_button.setEnabled(bool(images))
        self.delete_button.setEnabled(bool(images))
        if not images:
            self.summary.setText("No image selected")
            self.details.clear()
        elif len(images) == 1:
            i = images[0]
            self.summary.setText(f"{i.original_name} · {i.width}x{i.height} · {i.format}")
            extra = []
            if i.near_duplicate_of:
                extra.append(f"Looks like image #{i.near_duplicate_of}: review it.")
            if i.notes:
                extra.append(i.notes)
            self.details.setText("\n".join(extra))
        else:
            self.summary.setText(f"{len(images)} images selected")
            self.details.clear()

    def changed_fields(self) -> dict:
        changed: dict = {}
        for name, edit in self.edits.items():
            text = edit.text().strip()
            if text != self._shown.get(name, ""):
                changed[name] = (
                    [t.strip() for t in text.split(",") if t.strip()] if (name == "tags") else text
                )
        return changed

    def apply(self) -> None:
        changed = self.changed_fields()
        if changed:
            self.fields_edited.emit(changed)


def _text(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value or "")
