"""Fixtures for GUI tests: recorded errors instead of modal dialogs, no quit question,
tiny image folders and model files, and a check that no job thread outlives its test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganstyle_desktop.ui import errors, jobs


@pytest.fixture(autouse=True)
def recorded_errors() -> list[errors.UserError]:
    """Errors that would have been shown in a dialog; a test never blocks on one."""
    seen: list[errors.UserError] = []
    errors.set_presenter(lambda _parent, error: seen.append(error))
    yield seen
    errors.set_presenter(None)


@pytest.fixture(autouse=True)
def no_thread_left(qapp):
    yield
    leftover = jobs.live_threads()
    # Give a finishing job its chance to be reaped by the event loop, then insist.
    if leftover:
        jobs.wait_for_all(15_000)
    still = [t.objectName() for t in jobs.live_threads()]
    assert not leftover, (
        f"test left job threads running: {[t.objectName() for t in leftover]} ({still})"
    )


@pytest.fixture(autouse=True)
def _no_quit_question(qapp):
    from ganstyle_desktop.ui.settings import app_settings

    app_settings().setValue("confirm_quit_while_training", False)
    # Tests set their own sizes; a goal ("Good: ~30 min") would time real steps of the
    # default network in the background. Tests of the goals choose one themselves.
    app_settings().setValue("training/outcome", "custom")
    yield


def _write_images(folder: Path, count: int, seed: int, kind: str, size: int = 40) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:size, 0:size]
    for i in range(count):
        if kind == "style":  # bold stripes in a saturated palette
            colour = rng.integers(0, 255, 3)
            stripes = ((xx + yy * (i % 3)) // 4) % 2
            img = np.where(stripes[..., None] == 1, colour, 255 - colour)
        else:  # smooth gradients with a blob, photo-like
            img = np.stack([xx * 6, yy * 6, (xx + yy) * 3], axis=-1) + rng.integers(0, 60, 3)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / f"{kind}_{i}.png")
    return folder


@pytest.fixture
def image_folders(tmp_path: Path) -> tuple[Path, Path]:
    """(style folder, content folder) of tiny generated images."""
    return (
        _write_images(tmp_path / "style", 6, 1, "style"),
        _write_images(tmp_path / "content", 6, 2, "content"),
    )


def make_tiny_model(
    path: Path, name: str = "Test stripes", data_provenance: list[dict] | None = None
) -> Path:
    import torch

    from ganstyle_desktop.engine.modelfile import ModelCard, save_model
    from ganstyle_desktop.engine.nets import ResnetGenerator
    from ganstyle_desktop.engine.presets import get_preset

    torch.manual_seed(0)
    generator = ResnetGenerator(get_preset("tiny").generator).eval()
    card = ModelCard(
        name=name,
        method="fastcut",
        preset="tiny",
        training_size=32,
        steps=10,
        traditions=[{"slug": "test-stripes", "name": "Test stripes", "culture": "none"}],
        data_provenance=list(data_provenance or []),
    )
    return save_model(path, generator, card)


@pytest.fixture
def model_factory():
    """``model_factory(path, name=...)`` writes a tiny untrained model file."""
    return make_tiny_model


@pytest.fixture
def tiny_model(tmp_path: Path) -> Path:
    return make_tiny_model(tmp_path / "models" / "tiny.safetensors")


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    """A small photo (odd size, so sizes are checked honestly)."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:75, 0:101]
    img = np.stack([xx * 2, yy * 3, (xx + yy)], axis=-1) + rng.integers(0, 20, (75, 101, 3))
    path = tmp_path / "photo.jpg"
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path, quality=92)
    return path


@pytest.fixture
def window(qtbot):
    from ganstyle_desktop.ui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    with qtbot.waitSignal(win.startup_finished, timeout=60_000):
        pass
    yield win
    win.close()


@pytest.fixture(autouse=True)
def _no_shipped_starter_models(tmp_path_factory, monkeypatch):
    """GUI tests see no shipped starter models (models/ now holds one) unless a test
    points ``paths.starter_models_dir`` somewhere itself."""
    from ganstyle_desktop import paths

    empty = tmp_path_factory.mktemp("starter-models")
    monkeypatch.setattr(paths, "starter_models_dir", lambda: empty)
    yield
