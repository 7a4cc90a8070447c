"""Models panel: cards and thumbnails from worker threads, import/export, rename and
delete with undo, and the empty state."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganstyle_desktop import paths
from ganstyle_desktop.ui.panels.models_panel import ModelsPanel


@pytest.fixture
def panel(qtbot):
    widget = ModelsPanel()
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()


def _refresh(qtbot, panel) -> int:
    with qtbot.waitSignal(panel.models_listed, timeout=60_000) as listed:
        panel.refresh()
    return listed.args[0]


def test_lists_models_with_card_and_thumbnail(qtbot, panel, model_factory) -> None:
    model_factory(paths.user_models_dir() / "stripes.safetensors")
    with qtbot.waitSignal(panel.thumbnails_done, timeout=60_000):
        assert _refresh(qtbot, panel) == 1
    item = panel.list.item(0)
    assert "Test stripes" in item.text() and "fastcut" in item.text() and "10 steps" in item.text()
    assert not item.icon().isNull()
    cached = list((paths.user_data_dir() / "cache" / "thumbnails").glob("*.png"))
    assert len(cached) == 1
    assert not panel.empty_label.isVisible()


def test_empty_state_says_how_to_get_a_model(qtbot, panel) -> None:
    assert _refresh(qtbot, panel) == 0
    assert panel.empty_label.isVisible() and not panel.list.isVisible()
    assert "Training" in panel.empty_label.text()


def test_rename_and_delete_to_trash_with_undo(qtbot, panel, model_factory) -> None:
    original = model_factory(paths.user_models_dir() / "stripes.safetensors")
    _refresh(qtbot, panel)
    panel.list.setCurrentRow(0)

    with qtbot.waitSignal(panel.models_listed, timeout=60_000):
        assert panel.rename_model(original, "bold stripes")
    renamed = original.with_name("bold stripes.safetensors")
    assert renamed.is_file() and renamed.with_suffix(".json").is_file() and not original.exists()
    with qtbot.waitSignal(panel.models_listed, timeout=60_000):
        panel.undo_stack.undo()
    assert original.is_file() and not renamed.exists()

    panel.list.setCurrentRow(0)
    with qtbot.waitSignal(panel.models_listed, timeout=60_000):
        assert panel.delete_selected()
    assert not original.exists()
    trashed = list((paths.trash_dir() / "models").glob("*stripes.safetensors"))
    assert len(trashed) == 1
    assert panel.list.count() == 0
    with qtbot.waitSignal(panel.models_listed, timeout=60_000):
        panel.undo_stack.undo()
    assert original.is_file() and original.with_suffix(".json").is_file()
    assert panel.list.count() == 1


def test_import_accepts_safetensors_and_refuses_pickles(
    qtbot, panel, model_factory, tmp_path, recorded_errors
) -> None:
    source = model_factory(tmp_path / "incoming.safetensors")
    with qtbot.waitSignal(panel.models_listed, timeout=60_000):
        panel.import_model(source)
    assert (paths.user_models_dir() / "incoming.safetensors").is_file()
    assert panel.list.count() == 1

    pickle = tmp_path / "model.pt"
    pickle.write_bytes(b"\x80\x04\x95 fake pickle")
    messages = []
    panel.error_raised.connect(lambda title, m: messages.append((title, m)))
    task = panel.import_model(pickle)
    with qtbot.waitSignal(task.failed, timeout=30_000):
        pass
    assert messages and messages[-1][0] == "Model not imported"
    assert "pickle" in messages[-1][1] and "model.pt" in messages[-1][1]
    assert not (paths.user_models_dir() / "model.pt").exists()


def test_export_copies_the_model(qtbot, panel, model_factory, tmp_path) -> None:
    source = model_factory(paths.user_models_dir() / "stripes.safetensors")
    target = tmp_path / "out" / "copy.safetensors"
    target.parent.mkdir()
    with qtbot.waitSignal(panel.exported, timeout=30_000):
        panel.export_model(source, target)
    assert target.read_bytes() == Path(source).read_bytes()
    assert target.with_suffix(".json").is_file()


def test_starter_models_are_listed_read_only(
    qtbot, panel, model_factory, tmp_path, monkeypatch
) -> None:
    starter_dir = tmp_path / "starter"
    model_factory(starter_dir / "starter.safetensors", name="Starter")
    monkeypatch.setattr(paths, "starter_models_dir", lambda: starter_dir)
    _refresh(qtbot, panel)
    panel.list.setCurrentRow(0)
    assert "(starter)" in panel.list.item(0).text()
    assert not panel.delete_button.isEnabled() and not panel.rename_button.isEnabled()
    assert panel.export_button.isEnabled()
    assert not panel.delete_selected()


def test_a_run_model_trained_on_folders_shows_its_artworks(tmp_path, model_factory) -> None:
    """A card lists no files for a run on plain folders; the run's settings name them, so
    the style strip can show them for the run's model and its kept checkpoints."""
    import json

    from PIL import Image

    from ganstyle_desktop.ui.jobs.models import scan_models

    styles = []
    for name in ("prints", "ink"):
        folder = tmp_path / "art" / name
        folder.mkdir(parents=True)
        for i in range(5):
            Image.new("RGB", (8, 8), (40 * i, 20, 90)).save(folder / f"{name}_{i}.png")
        styles.append({"name": name, "paths": [str(folder)]})
    run = tmp_path / "runs" / "my-run"
    (run / "checkpoints" / "step_0000010").mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"styles": styles}))
    model_factory(run / "model.safetensors")
    model_factory(run / "checkpoints" / "step_0000010" / "model.safetensors")
    lone = tmp_path / "elsewhere"
    model_factory(lone / "alone.safetensors")
    # ... and the copy "Add to Models" makes, whose card names the run
    from ganstyle_desktop.engine.runs import add_to_library

    library = tmp_path / "library"
    copy = add_to_library(run / "model.safetensors", library)
    entries = {e.path: e for e in scan_models(
        [(tmp_path / "runs", False), (lone, False), (library, False)])}
    for path in (run / "model.safetensors", copy,
                 run / "checkpoints" / "step_0000010" / "model.safetensors"):
        files = entries[path].style_files
        assert len(files) == 4 and all(f.is_file() for f in files)
        assert {f.parent.name for f in files} == {"prints", "ink"}  # both traditions
    assert entries[lone / "alone.safetensors"].style_files == []
