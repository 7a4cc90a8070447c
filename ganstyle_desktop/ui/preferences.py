"""Edit > Preferences: theme, default device, confirm before quitting mid-training.

The device choices are the engine's (the window reads them in a worker at start-up)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QWidget

from .settings import app_settings, setting_bool
from .theme import THEMES


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
        self.confirm_quit = QCheckBox("Ask before quitting while training runs")
        self.confirm_quit.setChecked(setting_bool("confirm_quit_while_training", True))
        form = QFormLayout(self)
        form.addRow("Theme", self.theme)
        form.addRow("Stylize on", self.device)
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
