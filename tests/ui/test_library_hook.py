"""The window with the dataset library: its undo stack joins Edit > Undo, and its
datasets become training sources in the Training panel."""

from __future__ import annotations

import pytest

pytest.importorskip("ganstyle_desktop.ui.panels.datasets_panel")


def test_library_datasets_are_offered_as_training_sources(qtbot, tmp_path, image_folders) -> None:
    from ganstyle_desktop.library.catalog import Catalog
    from ganstyle_desktop.library.importer import import_paths
    from ganstyle_desktop.ui.main_window import MainWindow

    style, _content = image_folders
    workspace = tmp_path / "workspace"
    with Catalog.open(workspace) as catalog:
        dataset_id = catalog.create_dataset("Bold stripes", kind="style", tradition="test")
        report = import_paths(catalog, dataset_id, [style])
    # Near duplicates (the fixture's stripes repeat every third image) are not trained on.
    flagged = len(report.near_duplicates)

    window = MainWindow(workspace=workspace)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.startup_finished, timeout=60_000):
        pass
    try:
        assert window.has_library
        assert window.datasets_undo is not None
        assert window.datasets_undo in window.undo_group.stacks()
        combo = window.training_panel.style_field.combo
        labels = [combo.itemText(i) for i in range(combo.count())]
        assert "Dataset: Bold stripes" in labels
        combo.setCurrentIndex(labels.index("Dataset: Bold stripes"))
        window.training_panel.content_field.edit.setText(str(_content))
        config = window.training_panel.build_config(tmp_path / "run")
        assert config.styles[0].display_name == "Bold stripes"
        assert len(config.styles[0].paths) == 6 - flagged
        assert config.styles[0].provenance  # provenance travels into the run and its model card
    finally:
        window.close()
