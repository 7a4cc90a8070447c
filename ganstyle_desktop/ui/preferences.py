"""Edit > Preferences: theme, default device, the largest image the app opens, confirm
before quitting mid-training.

The device choices are the engine's (the window reads them in a worker at start-up)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QSpinBox,
    QWidget,
)

from .jobs import apply_pixel_limit, default_pixel_limit
from .settings import PIXEL_LIMIT_KEY, app_settings, pixel_limit_setting, setting_bool
from .theme import THEMES

MEGAPIXEL = 1_000_000


class PreferencesDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, devices: Sequence[str] = ("auto",)) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        s = app_settings()
        self.theme = QComboBox()
        self.theme.addItems(list(THEMES))
        self.theme.setCurrentText(str(s.value("view/theme", "system")))
        self.device = QComboBox()
        self.device.addItems(list(dict.fromkeys(["auto", *devices])))
        saved = str(s.value("stylize/device", "auto"))
        if self.device.findText(saved) < 0:
            self.device.addItem(saved)  # a choice saved before the engine listed devices
        self.device.setCurrentText(saved)
        self.max_megapixels = QSpinBox()
        self.max_megapixels.setRange(1, 4000)
        self.max_megapixels.setSingleStep(50)
        self.max_megapixels.setSuffix(" MP")
        chosen = pixel_limit_setting()
        apply_pixel_limit(chosen)  # the default shown is the engine's, not a stale one
        self._default_megapixels = default_pixel_limit() // MEGAPIXEL
        self.max_megapixels.setValue(
            chosen // MEGAPIXEL if chosen is not None else self._default_megapixels
        )
        self.max_megapixels.setToolTip(
            "Photos and artworks with more pixels are refused before they are decoded, a "
            "guard against files that would exhaust the memory. Raise it for genuine large "
            f"scans (the default is {self._default_megapixels:,} MP; every megapixel costs "
            "about 3 MB while a photo is open, far more while it is stylized)."
        )
        self.confirm_quit = QCheckBox("Ask before quitting while training runs")
        self.confirm_quit.setChecked(setting_bool("confirm_quit_while_training", True))
        form = QFormLayout(self)
        form.addRow("Theme", self.theme)
        form.addRow("Stylize on", self.device)
        form.addRow("Largest image", self.max_megapixels)
        form.addRow(self.confirm_quit)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def save(self) -> None:
        s = app_settings()
        s.setValue("view/theme", self.theme.currentText())
        s.setValue("stylize/device", self.device.currentText())
        s.setValue("confirm_quit_while_training", self.confirm_quit.isChecked())
        megapixels = self.max_megapixels.value()
        if pixel_limit_setting() is not None or megapixels != self._default_megapixels:
            s.setValue(PIXEL_LIMIT_KEY, megapixels * MEGAPIXEL)
            apply_pixel_limit(megapixels * MEGAPIXEL)  # at once, for every reader
