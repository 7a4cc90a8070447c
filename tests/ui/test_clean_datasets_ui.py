"""Datasets that stay clean, in the window: a folder's manifest offered as one dataset per
tradition, near duplicates reviewed as thumbnail pairs named by file, the full-window
library, and the training choosers reading datasets by kind."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtWidgets import QScrollArea

from ganstyle_desktop.library import Catalog, import_paths
from ganstyle_desktop.ui.panels.datasets_panel import DatasetsPanel

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")  # offscreen, on show()


def _art(path: Path, seed: int, size=(64, 48)) -> Path:
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC).save(path)
    return path


@pytest.fixture
def collection(tmp_path: Path) -> Path:
    """A folder as a museum or the shared data hands it over: styles, photos, MANIFEST."""
    folder = tmp_path / "collection"
    rows = []
    for i in range(3):
        rows.append((f"styles/ukiyo/u{i}.png", "ukiyo", "Japan, Edo", "public domain"))
    for i in range(2):
        rows.append((f"styles/persian/p{i}.png", "persian", "Iran", "CC-BY-NC-SA-ND"))
    for i in range(2):
        rows.append((f"content/c{i}.png", "content", "photo (Kodak test suite)", "CC0"))
    for n, (path, *_r) in enumerate(rows):
        _art(folder / path, n * 11)
    with open(folder / "MANIFEST.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "style_or_content", "culture_or_region", "license_note"])
        writer.writerows(rows)
    return folder


@pytest.fixture
def panel(qtbot, tmp_path: Path):
    ws = tmp_path / "ws"
    with Catalog.open(ws) as catalog:
        catalog.create_dataset("scratch")
    widget = DatasetsPanel(show_report_dialog=False)
    qtbot.addWidget(widget)
    widget.resize(1100, 700)
    widget.open_workspace(ws)
    yield widget
    widget.shutdown()


def _offer(qtbot, panel: DatasetsPanel, folder: Path):
    with qtbot.waitSignal(panel.manifest_offered, timeout=30_000) as offered:
        assert panel.import_paths([folder])  # what Import folder… does with the choice
    return offered.args[0]


def test_import_folder_offers_one_dataset_per_tradition_from_its_manifest(
    qtbot, panel, collection
) -> None:
    dialog = _offer(qtbot, panel, collection)
    assert [p.slug for p in dialog.plans] == ["ukiyo", "persian", "content"]
    # Photos become a content dataset; a non-commercial set is flagged and left unticked.
    assert dialog.kind_boxes[dialog.row_of("content")].currentData() == "content"
    assert dialog.kind_boxes[dialog.row_of("ukiyo")].currentData() == "style"
    assert not dialog.is_included("persian") and dialog.is_included("ukiyo")
    assert "Non-commercial" in dialog.table.item(dialog.row_of("persian"), 5).text()
    dialog.set_included("persian", True)
    assert "non-commercial" in dialog.warning.text()
    dialog.set_name("content", "Test photos")
    assert "3 dataset(s), 7 files" in dialog.import_button.text()
    with qtbot.waitSignal(panel.import_finished, timeout=60_000) as done:
        assert dialog.accept_choice()
    report = done.args[0]
    assert len(report.imported) == 7 and report.skipped == []
    kinds = {d.name: (d.kind, d.image_count) for d in panel.dataset_model.datasets()}
    assert kinds["ukiyo"] == ("style", 3) and kinds["persian"] == ("style", 2)
    assert kinds["Test photos"] == ("content", 2)
    assert kinds["scratch"] == ("style", 0)  # nothing poured into the selected dataset


def test_the_old_way_stays_one_click_away(qtbot, panel, collection) -> None:
    dialog = _offer(qtbot, panel, collection)
    with qtbot.waitSignal(panel.import_finished, timeout=60_000) as done:
        dialog.into_button.click()  # every file into the selected dataset ("scratch")
    assert len(done.args[0].imported) == 7
    assert {d.name for d in panel.dataset_model.datasets()} == {"scratch"}


def test_a_folder_without_a_manifest_imports_at_once(qtbot, panel, tmp_path) -> None:
    for i in range(2):
        _art(tmp_path / "plain" / f"a{i}.png", i)
    offered = []
    panel.manifest_offered.connect(offered.append)
    with qtbot.waitSignal(panel.import_finished, timeout=30_000) as done:
        panel.import_paths([tmp_path / "plain"])
    assert len(done.args[0].imported) == 2 and offered == []


def test_the_shared_collection_is_offered_per_tradition(qtbot, panel, shared_data) -> None:
    dialog = _offer(qtbot, panel, shared_data)
    plans = {p.slug: p for p in dialog.plans}
    assert plans["content"].kind == "content"
    assert not dialog.is_included("persian-miniature")  # non-commercial
    assert not dialog.is_included("japanese-ukiyo-e-wikiart")  # tests only
    assert dialog.is_included("japanese-ukiyo-e")
    dialog.reject()


# -- near duplicates ----------------------------------------------------------------------------


def _with_near_duplicate(panel: DatasetsPanel, tmp_path: Path) -> tuple[int, Path]:
    original = _art(tmp_path / "prints" / "wave.png", 7, (96, 64))
    _art(tmp_path / "prints" / "other.png", 99, (96, 64))
    catalog = panel.catalog
    did = catalog.create_dataset("prints")
    import_paths(catalog, did, [tmp_path / "prints"])
    Image.open(original).resize((80, 53)).save(tmp_path / "wave-small.jpg", quality=70)
    report = import_paths(catalog, did, [tmp_path / "wave-small.jpg"])
    assert len(report.near_duplicates) == 1
    panel.refresh_datasets(select=did)
    return did, original


def _trained_names(panel: DatasetsPanel, did: int) -> set[str]:
    from ganstyle_desktop.library.training import training_source

    return {p["original_name"] for p in training_source(panel.catalog, did)[0].provenance}


def test_near_duplicates_are_reviewed_as_named_thumbnail_pairs(qtbot, panel, tmp_path) -> None:
    did, _original = _with_near_duplicate(panel, tmp_path)
    assert panel.review_button.isEnabled() and "1" in panel.review_button.text()
    dialog = panel.review_near_duplicates()
    qtbot.waitUntil(lambda: dialog._shown == 2, timeout=30_000)  # both thumbnails
    assert dialog.pairs() == [("wave-small.jpg", "wave.png", False)]
    row = dialog.row_for("wave-small.jpg")
    assert all(not t.pixmap().isNull() for t in row.thumbs.values())
    assert "#" not in dialog.intro.text()
    assert "wave-small.jpg" not in _trained_names(panel, did)  # left out
    dialog.keep(row.copy.id)
    assert dialog.pairs() == [("wave-small.jpg", "wave.png", True)]
    assert "wave-small.jpg" in _trained_names(panel, did)  # kept: trained on
    panel.undo_stack.undo()  # Edit > Undo reaches the decision
    assert dialog.pairs() == [("wave-small.jpg", "wave.png", False)]
    dialog.remove(dialog.row_for("wave.png").original.id)  # remove the original instead
    assert dialog.pairs() == [] and "No near duplicates" in dialog.intro.text()
    assert _trained_names(panel, did) == {"wave-small.jpg", "other.png"}
    panel.undo_stack.undo()
    assert dialog.pairs() == [("wave-small.jpg", "wave.png", False)]
    dialog.close()


def test_the_grid_names_the_look_alike_by_file(qtbot, panel, tmp_path) -> None:
    from PySide6.QtCore import Qt

    _with_near_duplicate(panel, tmp_path)
    model = panel.image_model
    row = next(r for r in range(model.rowCount()) if model.image_at(r).near_duplicate_of)
    tip = model.data(model.index(row), Qt.ItemDataRole.ToolTipRole)
    assert "looks like wave.png" in tip and "left out of training" in tip and "#" not in tip


def test_the_import_report_offers_the_review(qtbot, tmp_path) -> None:
    ws = tmp_path / "ws"
    with Catalog.open(ws) as catalog:
        catalog.create_dataset("prints")
    panel = DatasetsPanel(workspace=ws)
    qtbot.addWidget(panel)
    original = _art(tmp_path / "in" / "wave.png", 7, (96, 64))
    Image.open(original).resize((80, 53)).save(tmp_path / "in" / "wave-small.jpg", quality=70)
    with qtbot.waitSignal(panel.import_finished, timeout=30_000):
        panel.import_paths([tmp_path / "in"])
    report_dialog = panel.report_dialog
    assert report_dialog is not None and report_dialog.review_button is not None
    assert "looks like" in report_dialog.text.toPlainText()
    assert "#" not in report_dialog.text.toPlainText()
    report_dialog.review_button.click()
    assert panel.review_dialog is not None and len(panel.review_dialog.pairs()) == 1
    panel.review_dialog.close()
    report_dialog.close()
    panel.shutdown()


# -- the full-window library ---------------------------------------------------------------------


def test_the_library_fills_the_window_and_goes_back_to_its_dock(qtbot, tmp_path) -> None:
    from ganstyle_desktop.ui.library_view import library_mode
    from ganstyle_desktop.ui.main_window import MainWindow

    ws = tmp_path / "ws"
    with Catalog.open(ws) as catalog:
        did = catalog.create_dataset("prints")
        for i in range(12):
            _art(tmp_path / "many" / f"p{i:02d}.png", i)
        import_paths(catalog, did, [tmp_path / "many"])
    window = MainWindow(workspace=ws)
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    with qtbot.waitSignal(window.startup_finished, timeout=60_000):
        pass
    try:
        panel = window.datasets_panel
        docks_before = [d for d in (window.models_dock, window.training_dock) if d.isVisible()]
        window.library_action.trigger()
        mode = library_mode(window)
        assert mode.is_active() and window.library_action.isChecked()
        assert panel.parentWidget() is mode.view  # the same panel, moved
        assert not any(d.isVisible() for d in docks_before)
        # A grid that fills the width, like a photo library: most of the window.
        qtbot.waitUntil(lambda: panel.grid.width() > window.width() / 2, timeout=10_000)
        assert panel.grid.viewport().width() // panel.grid.gridSize().width() >= 3
        assert panel.thumb_size() == 192  # larger thumbnails than in the dock
        mode.view.zoom.setValue(mode.view.zoom.maximum())
        assert panel.thumb_size() == 256 and panel.grid.iconSize().width() == 256
        grab = window.grab()
        assert not grab.isNull()
        mode.view.back_button.click()
        assert not mode.is_active() and not window.library_action.isChecked()
        holder = window.datasets_dock.widget()
        assert isinstance(holder, QScrollArea) and holder.widget() is panel
        assert panel.thumb_size() == 128
        assert all(d.isVisible() for d in docks_before)
        assert window.centralWidget().currentWidget() is window.canvas
    finally:
        window.close()


# -- what the training choosers read ---------------------------------------------------------


def test_training_choosers_get_datasets_by_kind(qtbot, tmp_path) -> None:
    from ganstyle_desktop.ui.jobs.library import (
        build_training_sources,
        dataset_choices,
        dataset_training_sources,
    )

    ws = tmp_path / "ws"
    with Catalog.open(ws) as catalog:
        style = catalog.create_dataset("Ink wash", kind="style")
        photos = catalog.create_dataset("Photos", kind="content")
        secret = catalog.create_dataset("Museum set", kind="style")
        for i in range(2):
            import_paths(catalog, style, [_art(tmp_path / "ink" / f"i{i}.png", i)])
            import_paths(catalog, photos, [_art(tmp_path / "ph" / f"p{i}.png", 10 + i)])
        import_paths(catalog, secret, [_art(tmp_path / "m" / "m.png", 20)])
        (image,) = catalog.list_images(secret)
        catalog.update_image_fields(image.id, {"license": "CC BY-NC 4.0"})
    assert list(dataset_training_sources(ws, kind="style")) == [
        "Dataset: Ink wash",
        "Dataset: Museum set",
    ]
    assert list(dataset_training_sources(ws, kind="content")) == ["Dataset: Photos"]
    assert len(dataset_training_sources(ws)) == 3  # no kind: all, as before
    choices = {c.name: c for c in dataset_choices(ws)}
    assert choices["Ink wash"].kind == "style" and choices["Photos"].kind == "content"
    assert choices["Ink wash"].trained_count == 2
    assert choices["Museum set"].restriction == "non-commercial"
    sources = build_training_sources(ws, [style, secret], [photos])
    assert sources.method == "multistyle" and len(sources.content_paths) == 2
