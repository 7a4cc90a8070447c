"""Blend panel: a slider per tradition, coalesced live previews where the latest wins."""

from __future__ import annotations

from pathlib import Path

import pytest


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
    assert panel.current_blend() == {"ukiyo-e": 1.0}
    first = panel.preview_image()
    assert first is not None and not first.isNull()

    with qtbot.waitSignal(panel.preview_updated, timeout=30_000) as updated:
        with qtbot.waitSignal(panel.blend_changed, timeout=5_000) as changed:
            panel.slider("shan-shui").setValue(100)
    assert changed.args[0] == pytest.approx({"ukiyo-e": 0.5, "shan-shui": 0.5})
    assert _pixels(updated.args[0]) != _pixels(first)


def test_strength_zero_shows_the_photo(qtbot, panel, multistyle_model, photo) -> None:
    from ganstyle_desktop.engine.blend import load_photo

    _load(qtbot, panel, multistyle_model, photo)
    with qtbot.waitSignal(panel.preview_updated, timeout=30_000) as updated:
        with qtbot.waitSignal(panel.blend_changed, timeout=5_000) as changed:
            panel.strength.setValue(0)
    assert changed.args[0] == {}
    expected = load_photo(photo, panel.preview_side())
    from ganstyle_desktop.ui.qimage import array_from_qimage

    assert (array_from_qimage(updated.args[0]) == expected).all()


def test_rapid_slider_moves_coalesce_and_the_latest_wins(
    qtbot, panel, multistyle_model, photo
) -> None:
    _load(qtbot, panel, multistyle_model, photo)
    started = panel.job.started_requests
    results = []
    panel.job.preview_ready.connect(lambda request, image, blend: results.append(request))
    # Many moves within one event-loop pass: one render, of the last position.
    for value in range(0, 101, 10):
        panel.slider("impressionism").setValue(value)
    panel.slider("ukiyo-e").setValue(0)
    with qtbot.waitSignal(panel.preview_updated, timeout=30_000):
        pass
    assert panel.job.started_requests == started + 1
    assert results[-1].weights == {"ukiyo-e": 0.0, "shan-shui": 0.0, "impressionism": 1.0}
    assert panel.current_blend() == {"impressionism": 1.0}


def test_the_job_drops_superseded_requests(qtbot, multistyle_model, photo) -> None:
    from ganstyle_desktop.ui.panels.blend_panel import BlendPreviewJob, BlendRequest

    job = BlendPreviewJob()
    emitted = []
    job.preview_ready.connect(lambda request, image, blend: emitted.append(blend))
    first = BlendRequest(multistyle_model, photo, {"ukiyo-e": 1.0}, 1.0, 256)
    middle = BlendRequest(multistyle_model, photo, {"shan-shui": 1.0}, 1.0, 256)
    last = BlendRequest(multistyle_model, photo, {"impressionism": 1.0}, 0.5, 256)
    job.request(first)  # starts at once
    job.request(middle)  # pending, replaced by the next one
    with qtbot.waitSignal(job.preview_ready, timeout=30_000) as ready:
        job.request(last)
    assert ready.args[2] == {"impressionism": 0.5}
    job.wait()
    assert emitted == [{"impressionism": 0.5}]
    assert job.started_requests == 2  # the middle one never ran


def test_a_single_style_model_is_refused_with_the_reason(qtbot, panel, tiny_model) -> None:
    with qtbot.waitSignal(panel.failed, timeout=30_000) as failed:
        panel.set_model(tiny_model)
    assert "multi-style" in failed.args[0]
    assert panel.weights() == {}
