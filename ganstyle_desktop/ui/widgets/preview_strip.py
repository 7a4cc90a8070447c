"""A strip of the fixed preview photos (top row) and the model's current renderings of them
(a row per tradition of a multi-style run, labelled), redrawn whenever a preview arrives."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget


class PreviewStrip(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.inputs: list[QImage] = []
        self.outputs: list[QImage] = []  # the first tradition's renderings
        self.rows: list[tuple[str, list[QImage]]] = []  # (tradition, renderings) each
        self.step = 0
        self.updates = 0  # how many previews were drawn (tests and status use it)
        self.setMinimumHeight(110)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(320, 150)

    def clear(self) -> None:
        self.inputs, self.outputs, self.rows, self.step, self.updates = [], [], [], 0, 0
        self.update()

    def set_inputs(self, images: list[QImage]) -> None:
        self.inputs = list(images)
        self.update()

    def set_outputs(self, images: list[QImage], step: int = 0) -> None:
        self.set_rows([("", list(images))], step)

    def set_rows(self, rows: list[tuple[str, list[QImage]]], step: int = 0) -> None:
        """One row of renderings per tradition (a single unnamed row for one style)."""
        self.rows = [(name, list(images)) for name, images in rows]
        self.outputs = self.rows[0][1] if self.rows else []
        self.step = step
        self.updates += 1
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        pal = self.palette()
        painter.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))
        count = max([len(self.inputs)] + [len(images) for _, images in self.rows])
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
        named = len(self.rows) > 1
        rows = [("", self.inputs)] if self.inputs else []
        rows += [(name, images) for name, images in self.rows if images]
        gap = 4
        side_label = (fm.horizontalAdvance("M" * 7) + gap) if named else 0
        cell = min(
            (self.width() - side_label - gap * (count + 1)) / count,
            (self.height() - label_h - gap * (len(rows) + 1)) / len(rows),
        )
        cell = max(8.0, cell)
        x_start = side_label + (self.width() - side_label - (cell * count + gap * (count - 1))) / 2
        painter.setPen(pal.color(QPalette.ColorRole.WindowText))
        for r, (name, images) in enumerate(rows):
            y = label_h + gap + r * (cell + gap)
            if named and name:
                text = fm.elidedText(name, Qt.TextElideMode.ElideRight, side_label - gap)
                painter.drawText(
                    QRectF(2, y, side_label - gap, cell),
                    Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                    text,
                )
            for i, image in enumerate(images):
                target = QRectF(x_start + i * (cell + gap), y, cell, cell)
                painter.drawImage(target, image)
        caption = (
            "Photos (top), each tradition's rendering below"
            if named
            else "Photos (top), the model's rendering (bottom)"
        )
        if self.step:
            caption = f"Step {self.step}: " + caption.lower()
        caption = painter.fontMetrics().elidedText(  # a narrow dock: elide, never clip
            caption, Qt.TextElideMode.ElideMiddle, max(10, self.width() - 8)
        )
        painter.drawText(QRectF(0, 0, self.width(), label_h), Qt.AlignmentFlag.AlignCenter, caption)
        painter.end()
