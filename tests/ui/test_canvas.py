"""The canvas: stylize in a worker, export, drag and drop, shared zoom, split view."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from ganstyle_desktop.ui.canvas import Canvas
from ganstyle_desktop.ui.jobs import StylizeRequest


@pytest.fixture
def canvas(qtbot):
    widget = Canvas()
    qtbot.addWidget(widget)
    widget.resize(900, 500)
    widget.show()
    yield widget
    widget.shutdown()


def _drop(widget, path: Path) -> None:
    """What a window system does for a drop: drag enter (which must be accepted), then drop."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    args = (
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    enter = QDragEnterEvent(QPointF(100, 100), *args)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(widget, QDropEvent(QPointF(100, 100), *args))


def test_stylize_runs_in_a_worker_and_shows_the_result(qtbot, canvas, photo, tiny_model) -> None:
    assert canvas.open_photo(photo)
    canvas.set_model(tiny_model)
    with qtbot.waitSignal(canvas.result_ready, timeout=60_000):
        assert canvas.stylize()
    result = canvas.result
    assert result is not None
    assert result.array.shape == (75, 101, 3)  # full resolution, not the preview
    assert canvas.output_pane.image is not None and not canvas.output_pane.image.isNull()
    assert canvas.split_pane.after is not None
    assert not canvas._busy_row.isVisible()


@pytest.mark.parametrize(
    "suffix,fmt", [(".png", "PNG"), (".jpg", "JPEG"), (".webp", "WEBP"), (".tif", "TIFF")]
)
def test_export_writes_the_full_resolution_result(
    qtbot, canvas, photo, tiny_model, tmp_path, suffix, fmt
) -> None:
    canvas.open_photo(photo)
    canvas.set_model(tiny_model)
    with qtbot.waitSignal(canvas.result_ready, timeout=60_000):
        canvas.stylize()
    target = tmp_path / f"out{suffix}"
    with qtbot.waitSignal(canvas.export_finished, timeout=30_000) as blocker:
        assert canvas.export_result(target)
    assert blocker.args == [str(target)]
    with Image.open(target) as im:
        assert im.format == fmt
        assert im.size == (101, 75)


def test_export_without_a_result_says_so(canvas, tmp_path) -> None:
    assert not canvas.export_result(tmp_path / "x.png")
    assert "stylize a photo first" in canvas.message_text()
    assert not (tmp_path / "x.png").exists()


def test_dropping_a_photo_opens_it(canvas, photo) -> None:
    _drop(canvas, photo)
    assert canvas.photo_path == photo
    assert (canvas.content_pane.full_size.width(), canvas.content_pane.full_size.height()) == (
        101,
        75,
    )


def test_dropping_a_non_image_explains_and_keeps_the_photo(canvas, photo, tmp_path) -> None:
    canvas.open_photo(photo)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo")
    _drop(canvas, notes)
    assert canvas.photo_path == photo
    assert "notes.txt" in canvas.message_text() and "not a photo" in canvas.message_text()
    fake = tmp_path / "broken.jpg"
    fake.write_bytes(b"this is not jpeg data at all")
    _drop(canvas, fake)
    assert canvas.photo_path == photo
    assert "broken.jpg" in canvas.message_text()


def test_zoom_and_pan_stay_in_step_across_panes(qtbot, canvas, photo) -> None:
    canvas.open_photo(photo)
    content, output = canvas.content_pane, canvas.output_pane
    output.set_image(content.image, content.full_size)  # as after stylizing
    before = content.image_rect()
    wheel = QWheelEvent(
        QPointF(content.width() / 2, content.height() / 2),
        QPointF(content.mapToGlobal(QPoint(content.width() // 2, content.height() // 2))),
        QPoint(0, 0),
        QPoint(0, 240),  # two notches in
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(content, wheel)
    after = content.image_rect()
    assert after.width() == pytest.approx(before.width() * 1.25**2, rel=1e-3)
    assert output.image_rect().width() == pytest.approx(after.width(), rel=1e-6)
    # drag-pan the output pane: the content pane follows
    qtbot.mousePress(output, Qt.MouseButton.LeftButton, pos=QPoint(200, 200))
    qtbot.mouseMove(output, QPoint(150, 180))
    qtbot.mouseRelease(output, Qt.MouseButton.LeftButton, pos=QPoint(150, 180))
    assert content.view.center == output.view.center
    assert content.view.center.x() > 0.5
    canvas.zoom_actual()
    assert content.effective_zoom() * content.devicePixelRatioF() == pytest.approx(1.0)
    canvas.zoom_fit()
    assert content.view.fit


def test_split_divider_drags(qtbot, canvas, photo) -> None:
    canvas.open_photo(photo)
    canvas.set_split_mode(True)
    pane = canvas.split_pane
    rect = pane.image_rect()
    x = int(pane.divider_x())
    y = int(rect.center().y())
    qtbot.mousePress(pane, Qt.MouseButton.LeftButton, pos=QPoint(x, y))
    target = int(rect.left() + rect.width() * 0.25)
    qtbot.mouseMove(pane, QPoint(target, y))
    qtbot.mouseRelease(pane, Qt.MouseButton.LeftButton, pos=QPoint(target, y))
    assert pane.divider == pytest.approx(0.25, abs=0.02)


def test_a_new_stylize_request_replaces_the_running_one(
    qtbot, canvas, photo, tiny_model, tmp_path
) -> None:
    other = tmp_path / "other.png"
    Image.new("RGB", (64, 48), (200, 40, 40)).save(other)
    job = canvas.stylize_job
    results = []
    job.finished.connect(results.append)
    first = StylizeRequest(tiny_model, photo)
    second = StylizeRequest(tiny_model, other)
    job.request(first)
    job.request(second)  # arrives while the first runs: latest wins
    qtbot.waitUntil(lambda: bool(results) and not job.is_running(), timeout=60_000)
    assert [r.request for r in results] == [second]
    assert results[0].array.shape == (48, 64, 3)


def test_stylize_can_be_cancelled(qtbot, canvas, photo, tiny_model) -> None:
    canvas.open_photo(photo)
    canvas.set_model(tiny_model)
    job = canvas.stylize_job
    outcomes = []
    job.finished.connect(lambda r: outcomes.append("finished"))
    job.cancelled.connect(lambda: outcomes.append("cancelled"))
    canvas.stylize()
    canvas.cancel_stylize()
    qtbot.waitUntil(lambda: bool(outcomes), timeout=60_000)
    assert outcomes == ["cancelled"]
    assert not job.is_running()
    assert canvas.result is None
