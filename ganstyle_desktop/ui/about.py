"""Help > About: version, what the app does, where its data and log live."""

from __future__ import annotations

import platform

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ganstyle_desktop import __version__, paths

from .errors import log_file
from .sample import app_icon_path


def about_text() -> str:
    return (
        f"<h3>GANStyle Desktop {__version__}</h3>"
        "<p>Paint photos in the manner of a cultural tradition with GANs you train yourself, "
        "entirely on this computer: nothing is sent over the network.</p>"
        f"<p>Your models and runs: {paths.user_data_dir()}<br>Log file: {log_file()}</p>"
        f"<p><small>Python {platform.python_version()}, PySide6 {pyside_version}</small></p>"
    )


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About GANStyle Desktop")
        icon = QLabel()
        pix = QPixmap(str(app_icon_path()))
        if not pix.isNull():
            icon.setPixmap(
                pix.scaled(
                    96,
                    96,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )
        self.text = QLabel(about_text())
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.text, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(buttons)
        self.resize(480, 260)
