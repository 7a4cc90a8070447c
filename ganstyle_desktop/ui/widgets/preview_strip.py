"""A strip of the fixed preview photos (top row) and the model's current renderings of them
(bottom row), redrawn whenever a new preview arrives."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget


class PreviewStrip(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.inputs: list[QImage] = []
        self.outputs: list[QImage] = []
        self.step = 0
        self.updates = 0  # how many previews were drawn (tests and status use it)
        self.setMinimumHeight(110)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(320, 150)

    def clear(self) -> None:
        self.inputs, self.outputs, self.step, self.updates = [], [], 0, 0
        self.update()

    def set_inputs(self, images: list[QImage]) -> None:
        self.inputs = list(images)
        self.update()

    def set_outputs(self, images: list[QImage], step: int = 0) -> None:
        self.outputs = list(images)
        self.step = step
        self.updates += 1
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        pal = self.palette()
        painter.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))
        count = max(len(self.inputs), len(self.outputs))
        if not count:
            painter.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(
                QRectF(self.rect()).adjusted(8, 0, -8, 0),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                "Previews of fixed photos appear here as the model learns",
            )
            painter.end()
            return
        fm = painter.fontMetrics()
        label_h = fm.height() + 2
        rows = [r for r in (self.inputs, self.outputs) if r]
        gap = 4
        cell = min(
            (self.width() - gap * (count + 1)) / count,
            (self.height() - label_h - gap * (len(rows) + 1)) / len(rows),
        )
        cell = max(8.0, cell)
        x_start = (self.width() - (cell * count + gap * (count - 1))) / 2
        for r, images in enumerate(rows):
            y = label_h + gap + r * (cell + gap)
            for i, image in enumerate(images):
                target = QRectF(x_start + i * (cell + gap), y, cell, cell)
                painter.drawImage(target, image)
        painter.setPen(pal.color(QPalette.ColorRole.WindowText))
        caption = "Photos (top), the model's rendering (bottom)"
        if self.step:
            caption = f"Step {self.step}: " + caption.lower()
        caption = painter.fontMetrics().elidedText(  # a narrow dock: elide, never clip
            caption, Qt.TextElideMode.ElideMiddle, max(10, self.width() - 8)
        )
        painter.drawText(QRectF(0, 0, self.width(), label_h), Qt.AlignmentFlag.AlignCenter, caption)
        painter.end()
