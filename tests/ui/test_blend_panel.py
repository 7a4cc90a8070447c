"""Blend panel: a slider per tradition, coalesced live previews where the latest wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganstyle_desktop.engine.blend import Blend


def make_multistyle_model(path: Path, traditions: list[str]) -> Path:
    import torch

    from ganstyle_desktop.engine.modelfile import ModelCard, save_model
    from ganstyle_desktop.engine.multistyle_nets import MultiStyleGenerator
    from ganstyle_desktop.engine.presets import get_preset

    torch.manual_seed(0)
    gen = MultiStyleGenerator(get_preset("tiny").generator, traditions, style_dim=8, mlp_hidden=8)
    with torch.no_grad():  # a visible difference between traditions
        for p in gen.mapping.parameters():
            p.normal_(0, 0.5)
    card = ModelCard(
        name="Tiny blend",
        kind="multistyle",
        method="multistyle",
        preset="tiny",
        architecture=gen.architecture(),
        training_size=32,
        traditions=[{"slug": t, "name": t.replace("-", " ").title()} for t in traditions],
    )
    return save_model(path, gen.eval(), card)


@pytest.fixture
def multistyle_model(tmp_path: Path) -> Path:
    return make_multistyle_model(
        tmp_path / "multi.safetensors", ["ukiyo-e", "shan-shui", "impressionism"]
    )


@pytest.fixture
def panel(qtbot):
    from ganstyle_desktop.ui.panels.blend_panel import BlendPanel

    widget = BlendPanel()
    qtbot.addWidget(widget)
    widget.resize(400, 500)
    widget.show()
    yield widget
    widget.shutdown()


def _load(qtbot, panel, model: Path, photo: Path) -> None:
    panel.set_photo(photo)
    with qtbot.waitSignal(panel.preview_updated, timeout=30_000):
        with qtbot.waitSignal(panel.model_loaded, timeout=30_000) as loaded:
            panel.set_model(model)
    assert [slug for slug, _ in loaded.args[0]] == ["ukiyo-e", "shan-shui", "impressionism"]


def _pixels(image) -> bytes:
    from ganstyle_desktop.ui.qimage import array_from_qimage

    return array_from_qimage(image).tobytes()


def test_a_slider_per_tradition_and_a_preview(qtbot, panel, multistyle_model, photo) -> None:
    _load(qtbot, panel, multistyle_model, photo)
    assert set(panel.weights()) == {"ukiyo-e", "shan-shui", "impressionism"}
    assert panel.current_blend().mix() == {"ukiyo-e": 1.0}  # the model's own style
    assert panel.state.blend == Blend.default()  # nothing moved yet: the state is untouched
    first = panel.preview_image()
    assert first is not None and not first.isNull()

    with qtbot.waitSignal(panel.preview_updated, timeout=30_000) as updated:
        with qtbot.waitSignal(panel.blend_changed, timeout=5_000) as changed:
            panel.slider("shan-shui").setValue(100)
    blend = changed.args[0]
    assert isinstance(blend, Blend) and blend is panel.state.blend  # one value, shared
    assert blend.shares() == pytest.approx({"ukiyo-e": 0.5, "shan-shui": 0.5})
    assert _pixels(updated.args[0]) != _pixels(first)


@pytest.mark.parametrize("how", ["strength", "weights"])
def test_strength_or_weights_at_zero_show_the_photo(
    qtbot, panel, multistyle_model, photo, how
) -> None:
    from ganstyle_desktop.engine.blend import load_photo
    from ganstyle_desktop.ui.qimage import array_from_qimage

    _load(qtbot, panel, multistyle_model, photo)
    with qtbot.waitSignal(panel.preview_updated, timeout=30_000) as updated:
        if how == "strength":
            panel.strength.setValue(0)
        else:
            panel.set_weights({"ukiyo-e": 0.0, "shan-shui": 0.0, "impressionism": 0.0})
    assert panel.state.blend.is_photo  # the photo, explicitly, not "first tradition"
    assert panel.state.blend.mix() == {}
    expected = load_photo(photo, panel.preview_side())
    assert (array_from_qimage(updated.args[0]) == expected).all()
    assert "photo itself" in panel.status.text()


def test_rapid_slider_moves_coalesce_and_the_latest_wins(
    qtbot, panel, multistyle_model, photo
) -> None:
    _load(qtbot, panel, multistyle_model, photo)
    started = panel.job.started_requests
    results = []
    panel.job.finished.connect(results.append)
    # Many moves within one event-loop pass: one render, of the last position.
    for value in range(0, 101, 10):
        panel.slider("impressionism").setValue(value)
    panel.slider("ukiyo-e").setValue(0)
    with qtbot.waitSignal(panel.preview_updated, timeout=30_000):
        pass
    assert panel.job.started_requests == started + 1
    assert results[-1].blend.mix() == {"impressionism": 1.0}
    assert panel.current_blend().mix() == {"impressionism": 1.0}


def test_the_job_drops_superseded_requests(qtbot, multistyle_model, photo) -> None:
    from ganstyle_desktop.ui.panels.blend_panel import BlendPreviewJob, BlendRequest

    job = BlendPreviewJob()
    emitted = []
    job.finished.connect(lambda preview: emitted.append(preview.blend))
    first = BlendRequest(multistyle_model, photo, Blend.of({"ukiyo-e": 1.0}), 256)
    middle = BlendRequest(multistyle_model, photo, Blend.of({"shan-shui": 1.0}), 256)
    last = BlendRequest(multistyle_model, photo, Blend.of({"impressionism": 1.0}, 0.5), 256)
    job.request(first)  # starts at once
    job.request(middle)  # pending, replaced by the next one
    with qtbot.waitSignal(job.finished, timeout=30_000) as ready:
        job.request(last)
    assert ready.args[0].blend == last.blend
    job.wait()
    assert emitted == [last.blend]
    assert job.started_requests == 2  # the middle one never ran


def test_a_single_style_model_gets_the_strength_slider(qtbot, panel, tiny_model, photo) -> None:
    panel.set_photo(photo)
    with qtbot.waitSignal(panel.model_loaded, timeout=30_000) as loaded:
        panel.set_model(tiny_model)
    assert len(loaded.args[0]) == 1 and panel.weights() == {}
    assert "one style" in panel.title.text()
    with qtbot.waitSignal(panel.preview_updated, timeout=30_000):
        panel.strength.setValue(40)
    assert panel.state.blend == Blend.default().with_strength(0.4)


def test_a_new_model_starts_from_its_own_style(qtbot, panel, multistyle_model, tmp_path, photo):
    _load(qtbot, panel, multistyle_model, photo)
    panel.set_weights({"impressionism": 1.0}, strength=0.3)
    assert panel.state.blend.shares() == pytest.approx({"ukiyo-e": 0.3 / 2, "impressionism": 0.15})
    other = make_multistyle_model(tmp_path / "other.safetensors", ["a", "b"])
    with qtbot.waitSignal(panel.model_loaded, timeout=30_000):
        panel.set_model(other)
    assert panel.state.blend == Blend.default()  # a blend belongs to the model it was made for
    assert panel.strength.value() == 100 and panel.weights() == {"a": 1.0, "b": 0.0}


def test_the_brush_size_is_part_of_the_blend_and_outlives_a_model_change(
    qtbot, panel, multistyle_model, tmp_path, photo
) -> None:
    _load(qtbot, panel, multistyle_model, photo)
    native = _pixels(panel.preview_image())
    assert panel.state.blend.is_auto_brush and panel.brush_value() == 0.0  # auto at first
    with qtbot.waitSignal(panel.preview_updated, timeout=30_000) as updated:
        with qtbot.waitSignal(panel.blend_changed, timeout=5_000) as changed:
            panel.brush.setCurrentIndex(panel.brush.findData(2.0))
    assert changed.args[0].brush == 2.0 and panel.state.blend.brush == 2.0
    assert _pixels(updated.args[0]) != native  # the preview paints with it
    assert "strokes x2" in panel.status.text()

    # a blend set elsewhere (a saved one) with a size the list lacks: shown, and offered
    panel.state.set_blend(Blend.of({"shan-shui": 1.0}, 1.0, 2.5))
    assert panel.brush_value() == 2.5 and panel.current_blend().brush == 2.5
    assert panel.current_blend().mix() == {"shan-shui": 1.0}

    other = make_multistyle_model(tmp_path / "other.safetensors", ["a", "b"])
    with qtbot.waitSignal(panel.model_loaded, timeout=30_000):
        panel.set_model(other)
    assert panel.state.blend == Blend(None, 1.0, 2.5)  # weights reset, the brush kept
    assert panel.brush_value() == 2.5
