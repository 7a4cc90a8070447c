"""The Save dialog (next to the photo, format and quality) and the Batch dialog (many
photos into a folder through ui/jobs, progress, Cancel, a failure summary)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from ganstyle_desktop.engine.blend import Blend
from ganstyle_desktop.engine.export import read_image_with_metadata
from ganstyle_desktop.ui.batch_dialog import BatchDialog
from ganstyle_desktop.ui.canvas_state import CanvasState
from ganstyle_desktop.ui.save_dialog import SaveResultDialog
from ganstyle_desktop.ui.settings import app_settings


def _photo(path: Path, width: int = 64, height: int = 48, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)
    return path


# -- Save ------------------------------------------------------------------------------------


def test_save_opens_next_to_the_photo_in_its_format(qtbot, tmp_path) -> None:
    photo = _photo(tmp_path / "trip" / "harbour.jpg")
    dialog = SaveResultDialog(None, photo, "ukiyo-e")
    qtbot.addWidget(dialog)
    assert Path(dialog.folder_edit.text()) == photo.parent
    assert dialog.name_edit.text() == "harbour-ukiyo-e.jpg"
    assert dialog.formats.suffix() == "jpg" and dialog.formats.quality.isEnabled()
    assert dialog.path() == photo.parent / "harbour-ukiyo-e.jpg"


def test_format_and_name_keep_in_step(qtbot, tmp_path) -> None:
    photo = _photo(tmp_path / "harbour.png")
    dialog = SaveResultDialog(None, photo, "ink")
    qtbot.addWidget(dialog)
    assert dialog.name_edit.text() == "harbour-ink.png"
    assert not dialog.formats.quality.isEnabled()  # PNG is lossless
    dialog.formats.set_format("webp", 70)
    assert dialog.name_edit.text() == "harbour-ink.webp" and dialog.quality() == 70
    assert dialog.formats.quality.isEnabled()
    qtbot.keyClicks(dialog.name_edit, "")  # focus
    dialog.name_edit.setText("poster.tiff")
    dialog.name_edit.textEdited.emit("poster.tiff")
    assert dialog.formats.suffix() == "tif" and not dialog.formats.quality.isEnabled()


def test_save_remembers_format_and_quality_and_warns_about_16_bits(qtbot, tmp_path) -> None:
    photo = _photo(tmp_path / "a.jpg")
    first = SaveResultDialog(None, photo, "m", bit_depth=16)
    qtbot.addWidget(first)
    first.formats.set_format("png")
    assert "16 bits" in first.note.text() and "TIFF" in first.note.text()
    assert first.try_accept()
    again = SaveResultDialog(None, photo, "m")
    qtbot.addWidget(again)
    assert again.formats.suffix() == "png"  # the last choice, not the photo's format


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_a_read_only_photo_folder_falls_back_to_the_last_export_folder(qtbot, tmp_path) -> None:
    locked = tmp_path / "card"
    photo = _photo(locked / "p.jpg")
    exports = tmp_path / "exports"
    exports.mkdir()
    app_settings().setValue("folders/export", str(exports))
    locked.chmod(0o555)
    try:
        dialog = SaveResultDialog(None, photo, "m")
        qtbot.addWidget(dialog)
        assert Path(dialog.folder_edit.text()) == exports
    finally:
        locked.chmod(0o755)


def test_an_existing_file_is_replaced_only_when_the_person_says_so(qtbot, tmp_path) -> None:
    photo = _photo(tmp_path / "p.jpg")
    taken = _photo(tmp_path / "p-m.jpg")
    dialog = SaveResultDialog(None, photo, "m")
    qtbot.addWidget(dialog)
    assert dialog.path() == taken and "exists" in dialog.note.text()
    answers = [False, True]
    asked: list[Path] = []
    dialog.confirm_replace = lambda p: asked.append(p) or answers.pop(0)
    assert not dialog.try_accept()
    assert dialog.try_accept()
    assert asked == [taken, taken]
    dialog.name_edit.setText("sub/x.jpg")
    assert "folder" in dialog.problem()
    dialog.name_edit.setText("x.gif")
    assert ".png" in dialog.problem()


def _answer_modal(qtbot, handle) -> None:
    """Run ``handle(dialog)`` on the modal dialog once it is open."""

    def poll() -> None:
        modal = QApplication.activeModalWidget()
        if isinstance(modal, SaveResultDialog):
            handle(modal)
        else:
            QTimer.singleShot(20, poll)

    QTimer.singleShot(0, poll)


def test_export_from_the_window_writes_the_chosen_format_and_quality(
    qtbot, window, tiny_model, tmp_path
) -> None:
    photo = _photo(tmp_path / "shots" / "street.jpg", 96, 72)
    with qtbot.waitSignal(window.canvas.photo_opened, timeout=30_000):
        window.canvas.open_photo(photo)
    window.canvas.set_model(tiny_model)
    with qtbot.waitSignal(window.canvas.result_ready, timeout=60_000):
        window.canvas.stylize()
    sizes = {}
    for quality in (30, 95):

        def save(dialog: SaveResultDialog, quality=quality) -> None:
            assert Path(dialog.folder_edit.text()) == photo.parent  # next to the photo
            dialog.formats.set_format("jpg", quality)
            dialog.name_edit.setText(f"street-q{quality}.jpg")
            dialog.try_accept()

        _answer_modal(qtbot, save)
        with qtbot.waitSignal(window.canvas.export_finished, timeout=30_000) as done:
            window.choose_export()
        target = Path(done.args[0])
        assert target == photo.parent / f"street-q{quality}.jpg"
        with Image.open(target) as im:
            assert im.format == "JPEG" and im.size == (96, 72)
        sizes[quality] = target.stat().st_size
    assert sizes[30] < sizes[95]  # the quality reached the writer


# -- Batch ------------------------------------------------------------------------------------


@pytest.fixture
def state(tiny_model) -> CanvasState:
    s = CanvasState()
    s.set_model(tiny_model)
    return s


@pytest.fixture
def batch(qtbot, state) -> BatchDialog:
    dialog = BatchDialog(None, state, device="cpu")
    qtbot.addWidget(dialog)
    yield dialog
    dialog.shutdown()


def _folder_of_photos(folder: Path) -> Path:
    for i in range(3):
        _photo(folder / f"img_{i}.jpg", 40 + 8 * i, 32, seed=i)
    _photo(folder / "more" / "deep.png", 36, 36, seed=9)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (folder / "notes.txt").write_text("not a photo")
    return folder


def test_batch_stylizes_a_folder_into_another_and_lists_what_failed(qtbot, batch, tmp_path) -> None:
    source = _folder_of_photos(tmp_path / "shoot")
    out = tmp_path / "out"
    assert batch.add_inputs([source]) == 1
    batch.set_output_folder(out)
    batch.formats.set_format("jpg", 85)
    progress: list[tuple[int, int]] = []
    batch.batch_progress.connect(lambda d, t, _s: progress.append((d, t)))
    landed = []
    batch.file_done.connect(landed.append)
    with qtbot.waitSignal(batch.batch_finished, timeout=120_000) as done:
        assert batch.start()
        assert batch.is_running() and not batch.start_button.isEnabled()
    report = done.args[0]
    assert report.total == 5 and len(report.written) == 4 and not report.cancelled
    assert [src.name for src, _ in report.failed] == ["broken.jpg"]
    assert "broken.jpg" in batch.failures.toPlainText()
    assert not batch.failures.isHidden() and "4 of 5" in batch.status.text()
    assert len(landed) == 5 and progress[-1] == (5, 5)
    written = sorted(p.name for p in out.iterdir())
    assert written == ["deep-tiny.jpg", "img_0-tiny.jpg", "img_1-tiny.jpg", "img_2-tiny.jpg"]
    for src, dst in report.written:
        with Image.open(dst) as im, Image.open(src) as original:
            assert im.format == "JPEG" and im.size == original.size
    assert batch.start_button.isEnabled() and batch.open_output_button.isEnabled()


def test_batch_output_inside_the_input_is_not_fed_back_and_existing_files_are_kept(
    qtbot, batch, tmp_path
) -> None:
    source = tmp_path / "shoot"
    for i in range(2):
        _photo(source / f"p{i}.png", seed=i)
    out = source / "stylized"  # inside the folder being stylized
    batch.add_inputs([source])
    batch.set_output_folder(out)
    batch.formats.set_format("png")
    for expected in (["p0-tiny.png", "p1-tiny.png"], ["p0-tiny-2.png", "p1-tiny-2.png"]):
        with qtbot.waitSignal(batch.batch_finished, timeout=120_000) as done:
            batch.start()
        assert done.args[0].total == 2  # the first run's results are not inputs
        assert sorted(dst.name for _s, dst in done.args[0].written) == expected
    batch.existing.setCurrentIndex(batch.existing.findData("skip"))
    with qtbot.waitSignal(batch.batch_finished, timeout=120_000) as done:
        batch.start()
    assert done.args[0].written == [] and len(done.args[0].skipped) == 2
    assert len(list(out.iterdir())) == 4


def test_batch_paints_with_the_canvas_blend(qtbot, batch, state, tmp_path) -> None:
    photo = _photo(tmp_path / "in" / "p.png")
    state.set_blend(Blend.photo())  # every slider at zero: the photo itself
    batch.add_inputs([photo])
    batch.set_output_folder(tmp_path / "out")
    batch.formats.set_format("png")
    assert "photo itself" in batch.model_label.text()
    with qtbot.waitSignal(batch.batch_finished, timeout=60_000) as done:
        batch.start()
    ((_src, dst),) = done.args[0].written
    assert dst.name == "p.png"  # no model suffix for the photo itself
    assert (read_image_with_metadata(dst)[0] == read_image_with_metadata(photo)[0]).all()


def test_batch_cancel_stops_and_reports_what_was_done(qtbot, batch, tmp_path) -> None:
    source = tmp_path / "many"
    for i in range(6):
        _photo(source / f"p{i}.png", 48, 48, seed=i)
    out = tmp_path / "out"
    batch.add_inputs([source])
    batch.set_output_folder(out)
    batch.formats.set_format("png")
    batch.file_done.connect(lambda _e: batch.cancel())  # Cancel after the first photo
    with qtbot.waitSignal(batch.batch_finished, timeout=120_000) as done:
        batch.start()
    report = done.args[0]
    assert report.cancelled and 1 <= len(report.written) < 6
    assert "cancelled" in batch.status.text()
    assert sorted(p.name for p in out.iterdir()) == sorted(d.name for _s, d in report.written)


def test_batch_says_why_it_cannot_start(qtbot, tmp_path) -> None:
    empty = CanvasState()
    dialog = BatchDialog(None, empty)
    qtbot.addWidget(dialog)
    assert "model" in dialog.problem() and not dialog.start_button.isEnabled()
    assert not dialog.start()
    empty.set_blend(Blend.photo())
    assert "photos" in dialog.problem()
    dialog.add_inputs([_photo(tmp_path / "p.png")])
    assert Path(dialog.output_edit.text()) == tmp_path.parent / f"{tmp_path.name}-stylized"
    (tmp_path / "file").write_text("x")
    dialog.set_output_folder(tmp_path / "file")
    assert "is a file" in dialog.problem()


def test_the_window_opens_batch_from_the_file_menu(qtbot, window, tiny_model, tmp_path) -> None:
    window.canvas.set_model(tiny_model)
    window.batch_action.trigger()
    dialog = window._batch_dialog
    assert dialog.isVisible() and dialog.state is window.state
    assert tiny_model.stem in dialog.model_label.text()
    assert window.show_batch() is dialog  # one dialog per window
    dialog.close()
