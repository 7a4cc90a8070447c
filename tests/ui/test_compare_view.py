"""Compare view: the photo in every tradition, a labelled grid, one exported sheet PNG."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from test_blend_panel import make_multistyle_model  # tests/ui is on sys.path (rootdir conftest)

TRADITIONS = ["ukiyo-e", "shan-shui", "impressionism"]


@pytest.fixture
def view(qtbot):
    from ganstyle_desktop.ui.compare_view import CompareView

    widget = CompareView(cell_side=64)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()


def test_renders_a_labelled_cell_per_tradition_and_exports_a_sheet(
    qtbot, view, tmp_path: Path, photo: Path
) -> None:
    model = make_multistyle_model(tmp_path / "multi.safetensors", TRADITIONS)
    view.set_photo(photo)
    view.set_models([model])
    with qtbot.waitSignal(view.rendering_finished, timeout=30_000) as done:
        assert view.render()
    assert done.args[0] == 4
    assert view.cell_labels() == ["Original photo", "Ukiyo E", "Shan Shui", "Impressionism"]
    # each cell shows its own rendering, and the traditions differ
    pixels = [c.array.tobytes() for c in view.cells]
    assert len(set(pixels)) == 4
    captions = [w.caption.text() for w in view._grid_host.findChildren(_cell_type())]
    assert sorted(captions) == sorted(view.cell_labels())

    target = tmp_path / "out" / "sheet.png"
    with qtbot.waitSignal(view.sheet_exported, timeout=30_000) as exported:
        assert view.export_sheet(target)
    assert Path(exported.args[0]) == target
    with Image.open(target) as sheet:
        assert sheet.format == "PNG"
        # 3 columns x 2 rows of 64 px cells plus gaps, labels and a title
        assert sheet.width >= 3 * 64 and sheet.height >= 2 * 64


def _cell_type():
    from ganstyle_desktop.ui.compare_view import _Cell

    return _Cell


def test_every_installed_model_single_style_included(
    qtbot, view, tmp_path: Path, photo: Path, tiny_model: Path
) -> None:
    multi = make_multistyle_model(tmp_path / "m2.safetensors", ["a", "b"])
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a model")
    view.set_photo(photo)
    view.set_models([multi, broken, tiny_model])
    with qtbot.waitSignal(view.rendering_finished, timeout=30_000) as done:
        view.render()
    # original + 2 traditions + the single-style model; the broken file is skipped
    assert done.args[0] == 4
    assert view.cell_labels()[-1] == "Test stripes"


def test_a_new_request_replaces_the_running_one(qtbot, view, tmp_path: Path, photo: Path) -> None:
    first = make_multistyle_model(tmp_path / "first.safetensors", TRADITIONS)
    second = make_multistyle_model(tmp_path / "second.safetensors", ["x", "y"])
    view.set_photo(photo)
    view.set_models([first])
    finished = []
    view.rendering_finished.connect(finished.append)
    view.render()
    view.set_models([second])
    with qtbot.waitSignal(view.rendering_finished, timeout=30_000):
        view.render()
    assert view.cell_labels() == ["Original photo", "X", "Y"]
    assert finished == [3]  # the replaced comparison never reported


def test_export_without_cells_says_what_to_do(qtbot, view, tmp_path: Path) -> None:
    with qtbot.waitSignal(view.failed, timeout=5_000) as failed:
        assert not view.export_sheet(tmp_path / "x.png")
    assert "render" in failed.args[0].lower()


def test_contact_sheet_from_the_engine_alone(tmp_path: Path, photo: Path) -> None:
    """The CLI/docs path: no Qt, same composition."""
    from ganstyle_desktop.engine.contact_sheet import compare_sheet

    model = make_multistyle_model(tmp_path / "multi.safetensors", TRADITIONS)
    out = compare_sheet([model], photo, tmp_path / "sheet.png", cell_side=48, title="Test")
    with Image.open(out) as sheet:
        assert sheet.size[0] >= 2 * 48
