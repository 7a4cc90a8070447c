"""Format and quality of a written image, as the Save and Batch dialogs offer them.

PNG and TIFF are lossless (TIFF keeps 16-bit photos at 16 bits); JPEG and WebP take a
quality from 1 to 100. The last choice is remembered (``export/format``,
``export/quality``) so the next Save or Batch starts from it.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QWidget

from ganstyle_desktop.ui.settings import app_settings

# suffix, label, lossy
FORMATS = (
    ("png", "PNG (lossless)", False),
    ("jpg", "JPEG", True),
    ("webp", "WebP", True),
    ("tif", "TIFF (lossless, keeps 16 bits)", False),
)
SUFFIX_ALIASES = {"jpeg": "jpg", "tiff": "tif"}
DEFAULT_QUALITY = 95


def normal_suffix(suffix: str) -> str:
    """``".JPEG"`` -> ``"jpg"``; "" when it is no format we write."""
    key = suffix.lower().lstrip(".")
    key = SUFFIX_ALIASES.get(key, key)
    return key if any(key == s for s, _l, _q in FORMATS) else ""


class FormatChooser(QWidget):
    """A format menu and a quality box (enabled for the lossy formats)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.format_combo = QComboBox()
        for suffix, label, _lossy in FORMATS:
            self.format_combo.addItem(label, suffix)
        self.quality = QSpinBox()
        self.quality.setRange(1, 100)
        self.quality.setValue(DEFAULT_QUALITY)
        self.quality.setToolTip("1 is the smallest file, 100 the finest detail")
        self.quality_label = QLabel("Quality")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.format_combo, 1)
        row.addWidget(self.quality_label)
        row.addWidget(self.quality)
        self.format_combo.currentIndexChanged.connect(self._on_format)
        self.quality.valueChanged.connect(lambda _v: self.changed.emit())
        self._on_format()

    def suffix(self) -> str:
        return str(self.format_combo.currentData())

    def set_format(self, suffix: str, quality: int | None = None) -> bool:
        key = normal_suffix(suffix)
        index = self.format_combo.findData(key) if key else -1
        if index >= 0:
            self.format_combo.setCurrentIndex(index)
        if quality is not None:
            self.quality.setValue(int(quality))
        return index >= 0

    def is_lossy(self) -> bool:
        return any(s == self.suffix() and lossy for s, _l, lossy in FORMATS)

    def quality_value(self) -> int:
        return self.quality.value()

    def restore(self, fallback_suffix: str = "png") -> None:
        """The last format and quality used (or ``fallback_suffix`` the first time)."""
        s = app_settings()
        if not self.set_format(str(s.value("export/format", ""))):
            self.set_format(fallback_suffix) or self.set_format("png")
        try:
            self.quality.setValue(int(s.value("export/quality", DEFAULT_QUALITY)))
        except (TypeError, ValueError):
            self.quality.setValue(DEFAULT_QUALITY)

    def remember(self) -> None:
        s = app_settings()
        s.setValue("export/format", self.suffix())
        s.setValue("export/quality", self.quality.value())

    def _on_format(self) -> None:
        lossy = self.is_lossy()
        self.quality.setEnabled(lossy)
        self.quality_label.setEnabled(lossy)
        self.changed.emit()
