"""One canvas state read by every view: the Blend panel's sliders are the blend the canvas
stylizes and exports with, and at zero that is the photo itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_blend_panel import make_multistyle_model  # tests/ui is on sys.path

from ganstyle_desktop.engine.blend import Blend
from ganstyle_desktop.engine.export import read_image_with_metadata

TRADITIONS = ["ukiyo-e", "shan-shui", "impressionism"]


def _with_multistyle_model(qtbot, window, tmp_path: Path) -> Path:
    model = make_multistyle_model(tmp_path / "multi.safetensors", TRADITIONS)
    with qtbot.waitSignal(window.blend_panel.model_loaded, timeout=30_000):
        window.state.set_model(model)  # what "Stylize with" and the Models list do
    return model


@pytest.mark.parametrize("sliders", ["weights", "strength"])
def test_all_sliders_at_zero_stylize_and_export_the_photo(
    qtbot, window, tmp_path: Path, sliders: str
) -> None:
    panel, canvas = window.blend_panel, window.canvas
    model = _with_multistyle_model(qtbot, window, tmp_path)
    assert canvas.model_path == model and panel.model_path == model  # one model
    if sliders == "weights":
        for slug in TRADITIONS:
            panel.slider(slug).setValue(0)
    else:
        panel.strength.setValue(0)
    assert window.state.blend.is_photo and canvas.state is panel.state
    with qtbot.waitSignal(canvas.result_ready, timeout=60_000):
        window.stylize_action.trigger()
    assert canvas.result.blend == window.state.blend  # the very value the sliders made
    photo = canvas.photo
    pixels = read_image_with_metadata(photo.path)[0]
    assert (canvas.result.array == pixels).all()
    for suffix in (".png", photo.path.suffix):
        target = tmp_path / f"export{suffix}"
        with qtbot.waitSignal(canvas.export_finished, timeout=30_000):
            assert canvas.export_result(target)
        written = read_image_with_metadata(target)[0].astype(np.float64)
        assert np.abs(written - pixels).mean() <= 0.5


def test_a_slider_move_after_stylizing_marks_the_result_as_an_earlier_blend(
    qtbot, window, tmp_path: Path
) -> None:
    panel, canvas = window.blend_panel, window.canvas
    _with_multistyle_model(qtbot, window, tmp_path)
    with qtbot.waitSignal(canvas.result_ready, timeout=60_000):
        window.stylize_action.trigger()
    made_with = canvas.result.blend
    panel.slider("shan-shui").setValue(100)
    assert canvas.result is not None and canvas.result.blend == made_with
    assert not window.state.result_matches_blend()
    assert "earlier blend" in canvas.output_pane.title
    with qtbot.waitSignal(canvas.result_ready, timeout=60_000):
        window.stylize_action.trigger()
    assert window.state.result_matches_blend()
    assert canvas.output_pane.title == f"Output · {window.state.model_name}"
    assert canvas.result.blend.shares() == pytest.approx({"ukiyo-e": 0.5, "shan-shui": 0.5})


def test_every_view_follows_one_model(qtbot, window, tmp_path: Path, model_factory) -> None:
    from ganstyle_desktop import paths

    first = model_factory(paths.user_models_dir() / "first.safetensors", name="First")
    second = model_factory(paths.user_models_dir() / "second.safetensors", name="Second")
    with qtbot.waitSignal(window.models_panel.models_listed, timeout=60_000):
        window.models_panel.refresh()
    window.state.set_model(second)  # e.g. "Stylize with" from the Training panel
    assert window.models_panel.current_path() == str(second)
    window.models_panel.select_path(first)  # a click in the Models list
    assert window.state.model == first == window.canvas.model_path
    assert window.blend_panel.model_path == first
    assert window.state.blend == Blend.default()  # a new model starts from its own style
