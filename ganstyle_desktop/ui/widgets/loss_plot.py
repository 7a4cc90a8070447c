"""Live loss curves drawn with QPainter (no plotting dependency).

Each named series keeps every point up to a cap, then halves its resolution, so a
100k-step run draws as cheaply as a 1k-step one. Curves are lightly smoothed (EMA) so
GAN noise does not hide the trend.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

PALETTE = ["#e0794a", "#4a90d9", "#5bb36a", "#b46ad6", "#d4b13a", "#46b5b0", "#d6566e"]


class LossPlot(QWidget):
    MAX_POINTS = 2000

    def __init__(self, parent: QWidget | None = None, smoothing: float = 0.9) -> None:
        super().__init__(parent)
        self.smoothing = smoothing
        self.series: dict[str, list[tuple[int, float]]] = {}
        self._ema: dict[str, float] = {}
        self._stride: dict[str, int] = {}
        self._seen: dict[str, int] = {}
        self.setMinimumSize(220, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(320, 160)

    def clear(self) -> None:
        self.series.clear()
        self._ema.clear()
        self._stride.clear()
        self._seen.clear()
        self.update()

    def add_point(self, step: int, losses: dict[str, float]) -> None:
        for name, value in losses.items():
            if value is None or not math.isfinite(value):
                continue
            prev = self._ema.get(name)
            smooth = value if prev is None else self.smoothing * prev + (1 - self.smoothing) * value
            self._ema[name] = smooth
            self._seen[name] = self._seen.get(name, 0) + 1
            stride = self._stride.setdefault(name, 1)
            if self._seen[name] % stride:
                continue
            points = self.series.setdefault(name, [])
            points.append((step, smooth))
            if len(points) > self.MAX_POINTS:
                self.series[name] = points[::2]
                self._stride[name] = stride * 2
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        painter.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))
        text_colour = pal.color(QPalette.ColorRole.WindowText)
        fm = painter.fontMetrics()
        plot = QRectF(self.rect()).adjusted(
            fm.horizontalAdvance("0.000") + 10, 8, -8, -fm.height() - 8
        )
        if not any(self.series.values()):
            painter.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(
                self.rect(), Qt.AlignmentFlag.AlignCenter, "Loss curves appear here while training"
            )
            painter.end()
            return
        steps = [s for pts in self.series.values() for s, _ in pts]
        values = [v for pts in self.series.values() for _, v in pts]
        x0, x1 = min(steps), max(max(steps), min(steps) + 1)
        y0, y1 = min(values), max(values)
        if y1 - y0 < 1e-9:
            y0, y1 = y0 - 0.5, y1 + 0.5
        pad = (y1 - y0) * 0.05
        y0, y1 = y0 - pad, y1 + pad

        def to_screen(s: float, v: float) -> QPointF:
            return QPointF(
                plot.left() + (s - x0) / (x1 - x0) * plot.width(),
                plot.bottom() - (v - y0) / (y1 - y0) * plot.height(),
            )

        grid = pal.color(QPalette.ColorRole.Mid)
        painter.setPen(QPen(grid, 1, Qt.PenStyle.DotLine))
        for i in range(5):
            y = plot.top() + i * plot.height() / 4
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.setPen(text_colour)
            value = y1 - i * (y1 - y0) / 4
            painter.drawText(
                QRectF(0, y - fm.height() / 2, plot.left() - 4, fm.height()),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                f"{value:.3g}",
            )
            painter.setPen(QPen(grid, 1, Qt.PenStyle.DotLine))
        painter.setPen(text_colour)
        painter.drawText(
            QRectF(plot.left(), plot.bottom() + 2, plot.width(), fm.height() + 4),
            Qt.AlignmentFlag.AlignRight,
            f"step {x1}",
        )
        painter.drawText(
            QRectF(plot.left(), plot.bottom() + 2, plot.width(), fm.height() + 4), 0, f"{x0}"
        )

        legend_x = plot.left() + 6
        for i, (name, pts) in enumerate(sorted(self.series.items())):
            colour = QColor(PALETTE[i % len(PALETTE)])
            path = QPainterPath()
            for j, (s, v) in enumerate(pts):
                p = to_screen(s, v)
                if j == 0:
                    path.moveTo(p)
                else:
                    path.lineTo(p)
            painter.setPen(QPen(colour, 1.6))
            painter.drawPath(path)
            label = f"{name} {pts[-1][1]:.3f}" if pts else name
            painter.fillRect(QRectF(legend_x, plot.top() + 4, 10, 10), colour)
            painter.setPen(text_colour)
            painter.drawText(QPointF(legend_x + 14, plot.top() + 4 + fm.ascent() - 1), label)
            legend_x += fm.horizontalAdvance(label) + 26
        painter.end()
