"""The datasets panel: open a workspace, import in a worker, lazy thumbnails, undoable
edits and deletes, filters, pipeline edits and the augmentation preview. Waits on signals."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent

from ganstyle_desktop.library import Catalog
from ganstyle_desktop.ui.panels.datasets_panel import DatasetsPanel


def _write(folder: Path, n: int, offset: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        rng = np.random.default_rng(offset + i)
        coarse = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
        img = Image.fromarray(coarse).resize((48, 40), Image.Resampling.BICUBIC)
        img.save(folder / f"art_{offset + i:02d}.png")
    return folder


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    with Catalog.open(ws) as catalog:
        catalog.create_dataset("ukiyo-e", tradition="Japan, Edo")
        catalog.create_dataset("shan shui", tradition="China, Song")
    return ws


@pytest.fixture
def panel(qtbot, workspace: Path):
    widget = DatasetsPanel(show_report_dialog=False)
    qtbot.addWidget(widget)
    widget.resize(1100, 700)
    widget.open_workspace(workspace)
    yield widget
    widget.shutdown()
    assert not widget.is_busy()


def _import(qtbot, panel: DatasetsPanel, paths: list[Path]):
    with qtbot.waitSignal(panel.import_finished, timeout=30_000) as blocker:
        assert panel.import_paths(paths)
    return blocker.args[0]


def test_lists_datasets_with_counts_and_tradition(qtbot, panel: DatasetsPanel) -> None:
    model = panel.dataset_model
    texts = [model.data(model.index(r)) for r in range(model.rowCount())]
    assert texts == ["shan shui (0)\nChina, Song", "ukiyo-e (0)\nJapan, Edo"]
    first, second = (d.id for d in model.datasets())
    assert panel.current_dataset_id() == first
    with qtbot.waitSignal(panel.dataset_selected, timeout=5_000) as blocker:
        panel.dataset_view.setCurrentIndex(model.index(1))
    assert blocker.args == [second] and panel.current_dataset_id() == second
    assert panel.dataset_fields["tradition"].text() == "Japan, Edo"


def test_import_edit_undo_delete_and_filter(qtbot, panel: DatasetsPanel, tmp_path: Path) -> None:
    assert panel.select_dataset(2) or panel.select_dataset(1)
    did = panel.current_dataset_id()
    folder = _write(tmp_path / "drop", 5)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    progress = []
    panel.import_progress.connect(lambda *a: progress.append(a))
    with qtbot.waitSignal(panel.datasets_changed, timeout=30_000):
        report = _import(qtbot, panel, [folder])
    assert report.summary() == "5 imported, 1 skipped"
    assert "broken.png" in report.skipped[0].source
    assert progress and progress[-1][:2] == (6, 6)
    assert panel.image_model.rowCount() == 5
    assert "(5)" in panel.dataset_model.data(
        panel.dataset_model.index(panel.dataset_model.row_of(did))
    )

    # lazy thumbnails: a placeholder first, the real one from the pool, cached on disk
    model = panel.image_model
    index = model.index(0)
    with qtbot.waitSignal(model.thumbnail_ready, timeout=20_000):
        model.data(index, Qt.ItemDataRole.DecorationRole)
    qtbot.waitUntil(lambda: model.has_thumbnail(0), timeout=20_000)
    sha = model.image_at(0).sha256
    assert (panel.workspace / "thumbs" / f"{sha}_128.jpg").is_file()

    # edit through the metadata editor, then undo and redo
    first = model.image_at(0)
    panel.select_images([first.id])
    editor = panel.metadata_editor
    assert editor.edits["title"].text() == first.title
    editor.edits["title"].setText("Red Fuji")
    editor.edits["tags"].setText("mountain, red")
    editor.apply_button.click()
    catalog = panel.catalog
    assert catalog.get_image(first.id).title == "Red Fuji"
    assert catalog.get_image(first.id).tags == ["mountain", "red"]
    assert panel.undo_stack.count() == 1
    panel.undo_stack.undo()
    assert catalog.get_image(first.id).title == first.title
    assert catalog.get_image(first.id).tags == []
    assert model.image_at(0).title == first.title  # the grid shows the undone value
    panel.undo_stack.redo()
    assert catalog.get_image(first.id).title == "Red Fuji"

    # filters: search, tag
    with qtbot.waitSignal(panel.images_shown, timeout=5_000) as shown:
        panel.search_edit.setText("red fuji")
    assert shown.args == [1]
    panel.set_filters(search="")
    assert model.rowCount() == 5
    panel.set_filters(tag="mountain")
    assert [model.image_at(r).id for r in range(model.rowCount())] == [first.id]
    panel.set_filters(tag="")

    # several images at once, then delete and undo the delete
    second, third = model.image_at(1), model.image_at(2)
    panel.select_images([second.id, third.id])
    editor.edits["artist"].setText("Hokusai")
    editor.apply_button.click()
    assert {catalog.get_image(i).artist for i in (second.id, third.id)} == {"Hokusai"}
    panel.set_filters(artist="Hokusai")
    assert model.rowCount() == 2
    panel.set_filters(artist="")
    panel.select_images([second.id])
    editor.delete_button.click()
    assert model.rowCount() == 4 and catalog.get_dataset(did).image_count == 4
    panel.undo_stack.undo()
    assert model.rowCount() == 5 and catalog.get_dataset(did).image_count == 5


def test_tradition_filter_and_dataset_edits_are_undoable(qtbot, panel: DatasetsPanel) -> None:
    index = panel.tradition_combo.findData("China, Song")
    panel.tradition_combo.setCurrentIndex(index)
    model = panel.dataset_model
    assert [d.name for d in model.datasets()] == ["shan shui"]
    panel.tradition_combo.setCurrentIndex(0)
    assert model.rowCount() == 2

    panel.select_dataset(model.datasets()[0].id)
    did = panel.current_dataset_id()
    panel.dataset_fields["era"].setText("10th-13th c.")
    with qtbot.waitSignal(panel.datasets_changed, timeout=5_000):
        panel.apply_dataset_button.click()
    assert panel.catalog.get_dataset(did).era == "10th-13th c."
    panel.undo_stack.undo()
    assert panel.catalog.get_dataset(did).era == ""
    assert panel.dataset_fields["era"].text() == ""

    new_id = panel.create_dataset("impressionism", tradition="France")
    assert panel.current_dataset_id() == new_id and model.rowCount() == 3
    panel.undo_stack.undo()
    assert model.rowCount() == 2
    panel.undo_stack.redo()
    assert model.row_of(new_id) >= 0


def test_pipeline_edit_and_augmentation_preview(qtbot, panel: DatasetsPanel, tmp_path) -> None:
    _import(qtbot, panel, [_write(tmp_path / "p", 2)])
    did = panel.current_dataset_id()
    editor = panel.pipeline_editor
    editor.rotation_boxes[90].setChecked(True)
    editor.crop_combo.setCurrentText("center")
    editor.apply_button.click()
    pipeline = panel.catalog.get_dataset(did).pipeline
    assert pipeline.rotations == (90,) and pipeline.crop == "center"
    panel.undo_stack.undo()
    assert panel.catalog.get_dataset(did).pipeline.rotations == ()
    assert not editor.rotation_boxes[90].isChecked()

    with qtbot.waitSignal(panel.preview_ready, timeout=90_000) as blocker:
        panel.tabs.setCurrentIndex(2)  # showing the pipeline tab renders samples
    images = blocker.args[0]
    assert len(images) == 8 and all(im.width() == 96 and im.height() == 96 for im in images)
    qtbot.waitUntil(lambda: not panel.is_busy(), timeout=30_000)


def test_drop_of_a_dataset_archive_creates_it(qtbot, panel: DatasetsPanel, tmp_path) -> None:
    from ganstyle_desktop.library import export_dataset, import_paths

    with Catalog.open(tmp_path / "other") as other:
        did = other.create_dataset("dutch", tradition="Dutch Republic")
        import_paths(other, did, [_write(tmp_path / "d", 3, offset=20)])
        archive = export_dataset(other, did, tmp_path / "dutch.zip")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(archive))])
    event = QDropEvent(
        QPoint(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with (
        qtbot.waitSignal(panel.import_finished, timeout=30_000) as blocker,
        qtbot.waitSignal(panel.dataset_selected, timeout=30_000) as selected,
    ):
        panel.dropEvent(event)
    assert blocker.args[0].summary() == "3 imported, 0 skipped"
    dataset = panel.current_dataset()
    assert selected.args == [dataset.id]
    assert (dataset.name, dataset.tradition, dataset.image_count) == ("dutch", "Dutch Republic", 3)
    assert panel.image_model.rowCount() == 3


def test_cancel_stops_the_import(qtbot, panel: DatasetsPanel, tmp_path) -> None:
    folder = _write(tmp_path / "many", 40)
    panel.import_progress.connect(lambda done, total, name: panel.cancel_import())
    report = _import(qtbot, panel, [folder])
    assert report.cancelled and len(report.imported) < 40
    assert panel.catalog.check().ok


@pytest.mark.qt_log_ignore("propagateSizeHints")  # the offscreen platform, on show()
def test_report_dialog_lists_skipped_files(qtbot, workspace: Path, tmp_path) -> None:
    widget = DatasetsPanel(workspace=workspace)
    qtbot.addWidget(widget)
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "empty.jpg").write_bytes(b"")
    buf = io.BytesIO()
    Image.new("RGB", (20, 20), (1, 2, 3)).save(buf, "PNG")
    (folder / "ok.png").write_bytes(buf.getvalue())
    _import(qtbot, widget, [folder])
    assert widget.report_dialog is not None and widget.report_dialog.isVisible()
    assert "empty.jpg: the file is empty (0 bytes)" in widget.report_dialog.text.toPlainText()
    widget.report_dialog.close()
    widget.shutdown()


def test_dropping_a_manifest_imports_the_sample_data(qtbot, panel: DatasetsPanel, shared_data):
    report = _import(qtbot, panel, [shared_data / "MANIFEST.csv"])
    # Every manifest row imports (the shared data grows, so count its rows, not a constant).
    with open(shared_data / "MANIFEST.csv", encoding="utf-8") as fh:
        rows = sum(1 for _ in csv.DictReader(fh))
    assert report.skipped == [] and len(report.imported) == rows
    names = {d.name for d in panel.dataset_model.datasets()}
    assert {"japanese-ukiyo-e", "persian-miniature", "content"} <= names
    assert (
        panel.tradition_combo.findData("Japan, Edo period (ukiyo-e woodblock prints, 18th-19th c.)")
        > 0
    )
