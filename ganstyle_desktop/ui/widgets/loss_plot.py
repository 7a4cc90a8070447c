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

    def __init__(
        self,
        parent: QWidget | None = None,
        smoothing: float = 0.9,
        placeholder: str = "Loss curves appear here while training",
    ) -> None:
        super().__init__(parent)
        self.smoothing = smoothing
        self.placeholder = placeholder
        self.series: dict[str, list[tuple[int, float]]] = {}
        self._ema: dict[str, float] = {}
        self._stride: dict[str, int] = {}
        self._seen: dict[str, int] = {}
        self.log_scale = False
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

    def _legend_layout(self, fm, left: float, right: float) -> list[tuple[str, float, int]]:
        """(label, x, row) per series, wrapping onto more rows when the plot is narrow."""
        out, x, row = [], left, 0
        for name, pts in sorted(self.series.items()):
            label = f"{name} {pts[-1][1]:.3g}" if pts else name
            width = fm.horizontalAdvance(label) + 26
            if x + width > right and x > left:
                x, row = left, row + 1
            out.append((label, x, row))
            x += width
        return out

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
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            painter.end()
            return
        legend = self._legend_layout(fm, plot.left() + 6, self.width() - 8)
        legend_rows = max((y for _, _, y in legend), default=0) + 1
        plot.setTop(plot.top() + legend_rows * (fm.height() + 2) + 2)
        steps = [s for pts in self.series.values() for s, _ in pts]
        values = [v for pts in self.series.values() for _, v in pts]
        x0, x1 = min(steps), max(max(steps), min(steps) + 1)
        # GAN losses differ by orders of magnitude (NCE ~20, D ~0.3): a log axis keeps
        # every curve readable when they are all positive and far apart.
        self.log_scale = min(values) > 0 and max(values) / min(values) > 20
        fy = math.log10 if self.log_scale else (lambda v: v)
        y0, y1 = fy(min(values)), fy(max(values))
        if y1 - y0 < 1e-9:
            y0, y1 = y0 - 0.5, y1 + 0.5
        pad = (y1 - y0) * 0.05
        y0, y1 = y0 - pad, y1 + pad
        if not self.log_scale and min(values) >= 0:
            y0 = max(0.0, y0)  # no negative ticks for losses that cannot be negative

        def to_screen(s: float, v: float) -> QPointF:
            return QPointF(
                plot.left() + (s - x0) / (x1 - x0) * plot.width(),
                plot.bottom() - (fy(v) - y0) / (y1 - y0) * plot.height(),
            )

        grid = pal.color(QPalette.ColorRole.Mid)
        for i in range(5):
            y = plot.top() + i * plot.height() / 4
            painter.setPen(QPen(grid, 1, Qt.PenStyle.DotLine))
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.setPen(text_colour)
            value = y1 - i * (y1 - y0) / 4
            if self.log_scale:
                value = 10**value
            painter.drawText(
                QRectF(0, y - fm.height() / 2, plot.left() - 4, fm.height()),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                f"{value:.3g}",
            )
        painter.setPen(text_colour)
        axis = QRectF(plot.left(), plot.bottom() + 2, plot.width(), fm.height() + 4)
        painter.drawText(axis, Qt.AlignmentFlag.AlignRight, f"step {x1}")
        painter.drawText(axis, Qt.AlignmentFlag.AlignLeft, f"{x0}")
        if self.log_scale:
            painter.drawText(axis, Qt.AlignmentFlag.AlignHCenter, "log scale")

        for i, (_name, pts) in enumerate(sorted(self.series.items())):
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
            label, x, row = legend[i]
            y = 6 + row * (fm.height() + 2)
            painter.fillRect(QRectF(x, y + (fm.height() - 10) / 2, 10, 10), colour)
            painter.setPen(text_colour)
            painter.drawText(QPointF(x + 14, y + fm.ascent()), label)
        painter.end()
