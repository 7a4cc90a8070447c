"""Start-up: the window is built and shown without torch; --screenshot writes a PNG."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        GANSTYLE_DATA_DIR=str(tmp_path / "data"),
        GANSTYLE_CONFIG_DIR=str(tmp_path / "config"),
        PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    return env


def test_building_the_window_does_not_import_torch(tmp_path: Path) -> None:
    script = (
        "import sys, json\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "import ganstyle_desktop.ui.main_window as mw\n"
        "w = mw.MainWindow()\n"
        "w.show()\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'visible': w.isVisible()}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    state = json.loads(out.stdout.strip().splitlines()[-1])
    assert state == {"torch": False, "visible": True}


def test_screenshot_writes_a_png_of_the_started_window(tmp_path: Path) -> None:
    target = tmp_path / "shot.png"
    env = _env(tmp_path)
    env["GANSTYLE_REPORT_STARTUP"] = "1"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "ganstyle_desktop.app",
            "--screenshot",
            str(target),
            "--size",
            "1200x800",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr
    assert "torch_loaded=False" in out.stdout  # the window was shown before torch loaded
    print(out.stdout.strip())
    with Image.open(target) as im:
        assert im.format == "PNG"
        assert im.size[0] >= 1200 and im.size[1] >= 800
        # not a blank grey rectangle: the sample photo and the panels are drawn
        extrema = im.convert("L").getextrema()
        assert extrema[1] - extrema[0] > 100


def test_version_flag_prints_the_package_version(tmp_path: Path) -> None:
    from ganstyle_desktop import __version__

    out = subprocess.run(
        [sys.executable, "-m", "ganstyle_desktop.app", "--version"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0
    assert __version__ in out.stdout


def test_window_opens_the_sample_photo_on_first_run(window) -> None:
    from ganstyle_desktop.ui.sample import sample_photo_path

    assert window.canvas.photo_path == sample_photo_path()
    assert window.canvas.content_pane.full_size.width() > 0
    assert window.device_label.text().startswith("Device: ")
    assert "detecting" not in window.device_label.text()
    # no models anywhere: the panel says how to get one instead of an empty list
    assert window.models_panel.empty_label.isVisible()
    assert "Import Model" in window.models_panel.empty_label.text()


def test_layout_and_choices_survive_a_restart(qtbot, window) -> None:
    from ganstyle_desktop.ui.main_window import MainWindow

    window.training_dock.hide()
    window.split_action.trigger()
    assert window.canvas.split_mode()
    window.theme_actions["dark"].trigger()
    window.close()
    again = MainWindow()
    qtbot.addWidget(again)
    again.show()
    with qtbot.waitSignal(again.startup_finished, timeout=60_000):
        pass
    assert again.split_action.isChecked() and again.canvas.split_mode()
    assert not again.training_dock.isVisible()
    assert again.theme_actions["dark"].isChecked()
    again.close()


def test_a_new_user_gets_a_stylized_sample_in_one_click(
    qtbot, tmp_path, monkeypatch, model_factory
) -> None:
    """With a starter model shipped, the sample photo and model are ready: one Stylize."""
    from ganstyle_desktop import paths
    from ganstyle_desktop.ui.main_window import MainWindow

    starter = tmp_path / "starter-models"
    model_factory(starter / "starter.safetensors", name="Starter stripes")
    monkeypatch.setattr(paths, "starter_models_dir", lambda: starter)
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.startup_finished, timeout=60_000):
        pass
    try:
        assert window.canvas.model_path == starter / "starter.safetensors"
        assert window.stylize_action.isEnabled()
        with qtbot.waitSignal(window.canvas.result_ready, timeout=60_000):
            window.stylize_action.trigger()  # the one click
        assert window.export_action.isEnabled()
        assert window.canvas.output_pane.image is not None
    finally:
        window.close()


def test_a_shipped_model_says_what_it_learned_from_when_its_artworks_are_elsewhere(
    qtbot, tmp_path, monkeypatch, model_factory
) -> None:
    """A starter's card names its artworks (relative to data the user does not have): the
    style strip says what the model learned from instead of a bare "no references"."""
    from ganstyle_desktop import paths
    from ganstyle_desktop.ui.main_window import MainWindow

    rows = [{"file": f"styles/x/{i}.jpg", "artist": artist}
            for i, artist in enumerate(["Hokusai", "Hiroshige", "Hokusai", "Unknown"])]
    rows.append({"file": "prior.safetensors", "role": "pretrained weights"})
    starter = tmp_path / "starter-models"
    model_factory(starter / "starter.safetensors", name="Starter", data_provenance=rows)
    monkeypatch.setattr(paths, "starter_models_dir", lambda: starter)
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.canvas.style_strip.references_shown, timeout=60_000) as shown:
        pass
    try:
        assert shown.args == [0]
        text = window.canvas.style_strip._empty.text()
        assert text.startswith("Trained on 4 artworks, most by Hokusai, Hiroshige.")
        assert window.canvas.style_strip._empty.isVisibleTo(window.canvas.style_strip)
    finally:
        window.close()


def test_the_active_model_is_made_ready_before_the_first_stylize(
    qtbot, tmp_path, monkeypatch, model_factory
) -> None:
    """Choosing a model loads it and exports it for ONNX Runtime in the background, so the
    first Stylize does not start with a torch import and an export."""
    from ganstyle_desktop import paths
    from ganstyle_desktop.engine import onnx_backend
    from ganstyle_desktop.ui.main_window import MainWindow

    starter = tmp_path / "starter-models"
    model = model_factory(starter / "starter.safetensors", name="Starter stripes")
    monkeypatch.setattr(paths, "starter_models_dir", lambda: starter)
    monkeypatch.setenv("GANSTYLE_CACHE_DIR", str(tmp_path / "cache"))
    window = MainWindow()
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.prepare_job.finished, timeout=120_000) as ready:
        window.show()
    try:
        expected = "onnx" if onnx_backend.available() and onnx_backend.can_export() else "torch"
        assert ready.args == [expected]
        if expected == "onnx":
            assert onnx_backend.cached_runtime(model) is not None
    finally:
        window.close()
