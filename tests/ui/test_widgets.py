"""The hand-drawn loss plot and preview strip."""

from __future__ import annotations

import math

from PySide6.QtGui import QImage

from ganstyle_desktop.ui.widgets.loss_plot import LossPlot
from ganstyle_desktop.ui.widgets.preview_strip import PreviewStrip


def test_loss_plot_keeps_long_runs_cheap_and_smooths(qtbot) -> None:
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(400, 200)
    for step in range(1, 10_001):
        plot.add_point(step, {"d": 0.3 + 0.1 * math.sin(step), "nce": 20.0, "bad": float("nan")})
    assert "bad" not in plot.series  # non-finite values are skipped, not drawn
    assert len(plot.series["d"]) <= LossPlot.MAX_POINTS
    assert plot.series["d"][-1][0] > 9_000  # decimated, but still reaching the latest step
    values = [v for _, v in plot.series["d"][100:]]
    assert max(values) - min(values) < 0.1  # EMA smoothing tames the +-0.1 noise
    image = plot.grab().toImage()
    assert not image.isNull()
    assert plot.log_scale  # 0.3 vs 20: a log axis keeps both readable
    plot.clear()
    assert not plot.series


def test_preview_strip_redraws_as_previews_arrive(qtbot) -> None:
    strip = PreviewStrip()
    qtbot.addWidget(strip)
    strip.resize(300, 150)
    image = QImage(32, 32, QImage.Format.Format_RGB32)
    image.fill(0xFF336699)
    strip.set_inputs([image] * 4)
    strip.set_outputs([image] * 4, step=50)
    strip.set_outputs([image] * 4, step=100)
    assert strip.updates == 2 and strip.step == 100
    assert not strip.grab().toImage().isNull()
