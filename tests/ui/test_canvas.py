"""The canvas: photos opened by the engine in a worker, stylize in a worker, export with
the photo's metadata, drag and drop, shared zoom, split view."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from ganstyle_desktop.engine.blend import Blend
from ganstyle_desktop.engine.export import read_image_with_metadata
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


def _open(qtbot, canvas, path: Path) -> None:
    with qtbot.waitSignal(canvas.photo_opened, timeout=30_000):
        assert canvas.open_photo(path)


def _stylized(qtbot, canvas) -> None:
    with qtbot.waitSignal(canvas.result_ready, timeout=60_000):
        assert canvas.stylize()


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
    assert canvas.open_photo(photo)  # still opening: Stylize waits for it
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
    _open(qtbot, canvas, photo)
    canvas.set_model(tiny_model)
    _stylized(qtbot, canvas)
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


def test_dropping_a_photo_opens_it(qtbot, canvas, photo) -> None:
    with qtbot.waitSignal(canvas.photo_opened, timeout=30_000):
        _drop(canvas, photo)
    assert canvas.photo_path == photo
    assert (canvas.content_pane.full_size.width(), canvas.content_pane.full_size.height()) == (
        101,
        75,
    )


def test_dropping_a_non_image_explains_and_keeps_the_photo(qtbot, canvas, photo, tmp_path):
    _open(qtbot, canvas, photo)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo")
    _drop(canvas, notes)
    assert canvas.photo_path == photo
    assert "notes.txt" in canvas.message_text() and "not a photo" in canvas.message_text()
    fake = tmp_path / "broken.jpg"
    fake.write_bytes(b"this is not jpeg data at all")
    with qtbot.waitSignal(canvas.photo_failed, timeout=30_000):
        _drop(canvas, fake)
    assert canvas.photo_path == photo
    assert "broken.jpg" in canvas.message_text()


def test_a_truncated_photo_is_refused_and_never_made_current(qtbot, canvas, photo, tmp_path):
    _open(qtbot, canvas, photo)
    data = photo.read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])  # what an interrupted copy leaves
    with qtbot.waitSignal(canvas.photo_failed, timeout=30_000) as failed:
        canvas.open_photo(cut)
    assert "cut.jpg" in failed.args[0] and "truncated" in failed.args[0]
    assert canvas.photo_path == photo


def test_zoom_and_pan_stay_in_step_across_panes(qtbot, canvas, photo) -> None:
    _open(qtbot, canvas, photo)
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
    _open(qtbot, canvas, photo)
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
    first = StylizeRequest(tiny_model, photo)  # a file: the worker decodes it
    second = StylizeRequest(tiny_model, other)
    job.request(first)
    job.request(second)  # arrives while the first runs: latest wins
    qtbot.waitUntil(lambda: bool(results) and not job.is_running(), timeout=60_000)
    assert [r.request.photo_path for r in results] == [other]
    assert results[0].array.shape == (48, 64, 3)


def test_stylize_can_be_cancelled(qtbot, canvas, photo, tiny_model) -> None:
    _open(qtbot, canvas, photo)
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


# -- one Blend, the photo at strength 0, a model switch -------------------------------------


@pytest.mark.parametrize("blend", [Blend.photo(), Blend.of({"x": 0.0}), Blend(None, 0.0)])
def test_stylize_and_export_at_zero_give_the_photo(
    qtbot, canvas, photo, tiny_model, tmp_path, blend
) -> None:
    _open(qtbot, canvas, photo)
    canvas.set_model(tiny_model)
    canvas.state.set_blend(blend)
    _stylized(qtbot, canvas)
    pixels = read_image_with_metadata(photo)[0]
    assert (canvas.result.array == pixels).all()  # exactly, not "first tradition"
    for suffix in (".png", ".jpg"):
        target = tmp_path / f"zero{suffix}"
        with qtbot.waitSignal(canvas.export_finished, timeout=30_000):
            assert canvas.export_result(target)
        written = read_image_with_metadata(target)[0].astype(float)
        assert abs(written - pixels).mean() <= 0.5
    assert (tmp_path / "zero.jpg").read_bytes() == photo.read_bytes()  # no re-encoding loss


def test_a_model_switch_cancels_the_stylize_and_its_result_never_shows(
    qtbot, canvas, photo, tiny_model, model_factory, tmp_path
) -> None:
    other = model_factory(tmp_path / "other.safetensors", name="Other")
    _open(qtbot, canvas, photo)
    canvas.set_model(tiny_model)
    shown = []
    canvas.state.result_changed.connect(shown.append)
    job = canvas.stylize_job
    assert canvas.stylize() and job.is_running()
    control = job._control
    canvas.set_model(other)  # while the old model paints
    assert control.cancelled  # the running stylize was told to stop
    qtbot.waitUntil(lambda: not job.is_running(), timeout=60_000)
    assert shown == [] and canvas.result is None
    assert not canvas.export_result(tmp_path / "old.png")
    assert "stylize a photo first" in canvas.message_text()
    # and a result made for the old model is refused outright
    late = canvas.state.stylize_request()
    from ganstyle_desktop.ui.jobs import StylizeResult

    stale = StylizeResult(
        StylizeRequest(tiny_model, late.photo, late.blend), None, None, 0.0, False
    )
    assert not canvas.state.set_result(stale)


def test_16_bit_photos_stay_16_bit_and_exports_keep_fitting_metadata(
    qtbot, canvas, tiny_model, tmp_path
) -> None:
    import numpy as np
    from PIL import PngImagePlugin

    from ganstyle_desktop.engine.tiff16 import write_tiff16

    rng = np.random.default_rng(1)
    deep = rng.integers(0, 65536, (24, 36, 3), dtype=np.uint16)
    tiff = tmp_path / "deep.tif"
    write_tiff16(tiff, deep, None)
    _open(qtbot, canvas, tiff)
    assert canvas.photo.bit_depth == 16
    canvas.set_model(tiny_model)
    canvas.state.set_blend(Blend.photo())
    _stylized(qtbot, canvas)
    assert canvas.result.array.dtype == np.uint16
    out = tmp_path / "deep-out.tif"
    with qtbot.waitSignal(canvas.export_finished, timeout=30_000):
        canvas.export_result(out)
    written, _ = read_image_with_metadata(out)
    assert written.dtype == np.uint16 and (written == deep).all()

    # An RGB photo carrying a CMYK profile and PNG text: the text stays, the profile
    # (which would misdescribe RGB pixels) does not; a real RGB profile does.
    header = bytearray(128)
    for space, name in ((b"CMYK", "cmyk"), (b"RGB ", "rgb")):
        header[16:20] = space
        info = PngImagePlugin.PngInfo()
        info.add_text("Description", f"a {name} test")
        src = tmp_path / f"{name}.png"
        Image.fromarray(rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)).save(
            src, pnginfo=info, icc_profile=bytes(header)
        )
        _open(qtbot, canvas, src)
        canvas.state.set_blend(Blend())  # painted by the model: written afresh
        _stylized(qtbot, canvas)
        target = tmp_path / f"{name}-out.png"
        with qtbot.waitSignal(canvas.export_finished, timeout=30_000):
            canvas.export_result(target)
        with Image.open(target) as im:
            assert im.text.get("Description") == f"a {name} test"
            assert (im.info.get("icc_profile") is not None) == (name == "rgb")
