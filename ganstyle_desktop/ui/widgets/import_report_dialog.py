"""The end-of-import report: what was imported, every skipped file and why, near duplicates
flagged for review. Non-modal, so the panel (and tests) never block on it."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ganstyle_desktop.library.importer import ImportReport


class ImportReportDialog(QDialog):
    review_requested = Signal()  # the person wants to see the near duplicates

    def __init__(self, report: ImportReport, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import report")
        self.report = report
        self.summary = QLabel(report.summary())
        font = QFont(self.summary.font())
        font.setBold(True)
        self.summary.setFont(font)
        self.text = QPlainTextEdit(report.to_text())
        self.text.setReadOnly(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        self.review_button: QPushButton | None = None
        if report.near_duplicates:
            self.review_button = buttons.addButton(
                "Review near duplicates…", QDialogButtonBox.ButtonRole.ActionRole
            )
            self.review_button.clicked.connect(self.review_requested.emit)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.resize(640, 420)
