"""Training from the panel in a worker thread: previews, progress, pause/resume/stop,
checkpoints to stylize with, closing mid-run, and a GUI that never freezes."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer

from ganstyle_desktop.ui import jobs


def _configure(panel, style: Path, content: Path, steps: int = 100_000) -> None:
    panel.style_field.edit.setText(str(style))
    panel.content_field.edit.setText(str(content))
    panel.method.setCurrentText("fastcut")
    panel.preset.setCurrentIndex(panel.preset.findData("tiny"))
    panel.size.setValue(32)
    panel.steps.setValue(steps)
    panel.batch.setValue(1)


def test_train_pause_resume_stop_then_stylize_with_the_checkpoint(
    qtbot, window, image_folders
) -> None:
    panel = window.training_panel
    job = panel.job
    _configure(panel, *image_folders)
    confirmed_pause: list[int] = []

    with qtbot.waitSignals([job.preview_ready, job.progress], timeout=120_000):
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert job.is_running() and job.state == "running"
    assert panel.preview_strip.updates >= 1 and panel.preview_strip.outputs
    assert panel.progress.value() > 0
    assert panel.loss_plot.series  # losses were plotted
    assert "steps/s" in panel.rate_label.text() and "left" in panel.rate_label.text()
    assert not panel.start_button.isEnabled() and panel.pause_button.isEnabled()

    # Pause: the loop reports it has stopped stepping (the engine's Paused event).
    with qtbot.waitSignal(job.engine_paused, timeout=60_000) as paused:
        qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    confirmed_pause.append(paused.args[0])
    assert job.state == "paused" and panel.resume_button.isEnabled()
    assert window.train_pause_action.text() == "&Resume Training"

    # Resume: the next step is the one after the pause, so nothing ran while paused.
    steps_after: list[int] = []
    job.progress.connect(lambda step, total, info: steps_after.append(step))
    with qtbot.waitSignal(job.progress, timeout=60_000):
        qtbot.mouseClick(panel.resume_button, Qt.MouseButton.LeftButton)
    assert steps_after[0] == confirmed_pause[0] + 1

    # Stop: the trainer saves a checkpoint on the way out; the thread is gone.
    with qtbot.waitSignal(job.cancelled, timeout=60_000):
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert not job.is_running() and "ganstyle-training" not in _thread_names()
    assert panel.checkpoints.count() >= 1
    assert panel.start_button.isEnabled()
    checkpoint = Path(job.last_checkpoint)
    assert (checkpoint / "model.safetensors").is_file()

    # Stylize the canvas photo with the last checkpoint: it joins the Models list (named
    # after its style and step) and is the one active model there and on the canvas.
    from ganstyle_desktop import paths
    from ganstyle_desktop.engine.modelfile import read_card

    panel.checkpoints.setCurrentRow(panel.checkpoints.count() - 1)
    with qtbot.waitSignal(window.canvas.result_ready, timeout=60_000):
        qtbot.mouseClick(panel.use_button, Qt.MouseButton.LeftButton)
    active = window.canvas.model_path
    assert active.parent == paths.user_models_dir()
    card = read_card(active)
    step = int(checkpoint.name.removeprefix("step_"))
    assert card.training["checkpoint_step"] == step and card.steps == step
    assert card.name == f"style · step {step:,}"
    assert window.models_panel.current_path() == str(active)
    assert window.state.model_name == card.name
    result = window.canvas.result
    assert result.array.shape[:2] == (
        window.canvas.content_pane.full_size.height(),
        window.canvas.content_pane.full_size.width(),
    )


def _thread_names() -> list[str]:
    return [t.objectName() for t in jobs.live_threads()]


def _listed_steps(panel) -> list[int]:
    from ganstyle_desktop.ui.panels.training_panel import FINAL_ROLE, STEP_ROLE

    items = [panel.checkpoints.item(r) for r in range(panel.checkpoints.count())]
    return [i.data(STEP_ROLE) for i in items if not i.data(FINAL_ROLE)]


def test_resume_from_a_selected_older_checkpoint_continues_from_that_step(
    qtbot, window, image_folders
) -> None:
    panel = window.training_panel
    job = panel.job
    _configure(panel, *image_folders, steps=20)  # a checkpoint every 4 steps, 3 kept
    with qtbot.waitSignal(job.finished, timeout=120_000):
        panel.start()
    qtbot.waitUntil(lambda: _listed_steps(panel) == [12, 16, 20], timeout=30_000)
    run_dir = job.run_dir
    panel.checkpoints.setCurrentRow(0)  # step 12, not the newest
    assert "Resume" in panel.resume_from_button.text() and panel.resume_from_button.isEnabled()
    first_steps: list[int] = []
    job.progress.connect(lambda step, total, info: first_steps.append(step))
    with qtbot.waitSignal(job.run_started, timeout=120_000) as started:
        qtbot.mouseClick(panel.resume_from_button, Qt.MouseButton.LeftButton)
    assert started.args == [12, 20]  # the run starts at the chosen checkpoint's step
    with qtbot.waitSignal(job.finished, timeout=120_000):
        pass
    assert job.run_dir == run_dir
    assert first_steps[0] == 13  # continued from step 12: neither restarted nor from 20
    # The checkpoints 16 and 20 of the abandoned future were set aside, then made anew.
    assert sorted(p.name for p in (run_dir / "superseded").glob("*/step_*")) == [
        "step_0000016",
        "step_0000020",
    ]
    qtbot.waitUntil(lambda: _listed_steps(panel) == [12, 16, 20], timeout=30_000)


def test_the_final_model_resumes_the_run_from_its_newest_checkpoint(
    qtbot, window, image_folders
) -> None:
    panel = window.training_panel
    job = panel.job
    _configure(panel, *image_folders)
    with qtbot.waitSignal(job.progress, timeout=120_000):
        panel.start()
    with qtbot.waitSignal(job.cancelled, timeout=60_000):
        panel.stop()
    stopped_at = job.last_step
    qtbot.waitUntil(lambda: bool(_listed_steps(panel)), timeout=30_000)
    panel.checkpoints.setCurrentRow(panel.checkpoints.count() - 1)  # the newest
    with qtbot.waitSignal(job.run_started, timeout=120_000) as started:
        assert panel.resume_selected()
    assert started.args[0] == stopped_at  # continued, not restarted
    with qtbot.waitSignal(job.cancelled, timeout=60_000):
        panel.stop()


def _close_and_wait(qtbot, window) -> list[list[str]]:
    """Close the window (the user says yes) and wait until it has; returns the job
    threads that were still alive at the moment it closed."""
    at_close: list[list[str]] = []
    window.closed.connect(lambda: at_close.append(_thread_names()))
    window.confirm_stop_training = lambda: True
    window.close()
    qtbot.waitUntil(lambda: bool(at_close), timeout=60_000)
    return at_close


def test_closing_mid_training_keeps_a_loadable_checkpoint(qtbot, window, image_folders) -> None:
    from ganstyle_desktop.engine.modelfile import load_model

    panel = window.training_panel
    job = panel.job
    _configure(panel, *image_folders)
    with qtbot.waitSignal(job.progress, timeout=120_000):
        panel.start()
    run_dir = job.run_dir
    asked: list[bool] = []
    window.confirm_stop_training = lambda: asked.append(True) or True  # the user says yes
    assert window.close()  # Stop is honoured at once: the window closes in place
    assert asked == [True]
    assert not job.is_running() and not jobs.live_threads()
    checkpoints = sorted((run_dir / "checkpoints").glob("step_*"))
    assert checkpoints, "no checkpoint was kept"
    model = load_model(checkpoints[-1] / "model.safetensors")
    assert model.card.steps >= 1


@pytest.mark.parametrize("phase", ["stepping", "loading"])
def test_closing_mid_training_leaves_no_worker_thread(
    qtbot, window, image_folders, monkeypatch, phase
) -> None:
    """The window closes only once every worker has ended (it stays open, saying so,
    while the trainer saves): no thread outlives it, in any phase."""
    panel = window.training_panel
    job = panel.job
    _configure(panel, *image_folders)
    window.CLOSE_AT_ONCE_MS = 0  # never wait in place: the window must wait open
    if phase == "loading":
        import threading

        from ganstyle_desktop.engine import data

        loading, release = threading.Event(), threading.Event()
        real = data.load_rgb

        def slow_load(path, *args, **kwargs):  # the first image takes until released
            if not loading.is_set():
                loading.set()
                release.wait(30)
            return real(path, *args, **kwargs)

        monkeypatch.setattr(data, "load_rgb", slow_load)
        panel.start()
        qtbot.waitUntil(loading.is_set, timeout=120_000)
        QTimer.singleShot(200, release.set)
    else:
        with qtbot.waitSignal(job.progress, timeout=120_000):
            panel.start()
    run_dir = job.run_dir
    at_close = _close_and_wait(qtbot, window)
    assert at_close == [[]], f"threads alive when the window closed: {at_close}"
    assert not window.isVisible() and not job.is_running()
    kept = sorted((run_dir / "checkpoints").glob("step_*"))
    assert bool(kept) == (phase == "stepping")  # a checkpoint once there is one to keep


def test_closing_can_be_refused_while_training(qtbot, window, image_folders) -> None:
    panel = window.training_panel
    _configure(panel, *image_folders)
    with qtbot.waitSignal(panel.job.progress, timeout=120_000):
        panel.start()
    window.confirm_stop_training = lambda: False  # the user says no
    assert not window.close()
    assert window.isVisible() and panel.job.is_running()
    with qtbot.waitSignal(panel.job.cancelled, timeout=60_000):
        panel.stop()


def test_a_failing_training_shows_its_error(qtbot, window, tmp_path, recorded_errors) -> None:
    panel = window.training_panel
    empty_style = tmp_path / "empty-style"
    empty_style.mkdir()
    (empty_style / "broken.jpg").write_bytes(b"not an image")
    content = tmp_path / "content"
    content.mkdir()
    from PIL import Image

    Image.new("RGB", (40, 40), (10, 200, 30)).save(content / "a.png")
    _configure(panel, empty_style, content, steps=10)
    with qtbot.waitSignal(panel.job.failed, timeout=120_000) as failed:
        panel.start()
    assert not panel.job.is_running()
    assert recorded_errors and recorded_errors[-1].title == "Training failed"
    assert recorded_errors[-1].what == failed.args[0]
    assert (
        "empty-style" in failed.args[0]
        or "broken.jpg" in failed.args[0]
        or "image" in failed.args[0]
    )
    assert panel.start_button.isEnabled()


def test_invalid_settings_are_reported_without_starting(window, recorded_errors) -> None:
    panel = window.training_panel
    panel.style_field.edit.setText("")
    assert not panel.start()
    assert not panel.job.is_running()
    assert "style" in recorded_errors[-1].what.lower()


def test_the_gui_thread_stays_responsive_while_training(qtbot, window, image_folders) -> None:
    """A 10 ms timer on the GUI thread never waits more than 150 ms during training."""
    panel = window.training_panel
    job = panel.job
    _configure(panel, *image_folders)
    with qtbot.waitSignal(job.progress, timeout=120_000):
        panel.start()
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000)
        last[0] = now

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(tick)
    start_step = job.last_step
    timer.start(10)
    # ~3 s of ticks that also span several previews being drawn
    qtbot.waitUntil(lambda: len(gaps) >= 300 and panel.preview_strip.updates >= 2, timeout=120_000)
    timer.stop()
    steps_done = job.last_step - start_step
    with qtbot.waitSignal(job.cancelled, timeout=60_000):
        panel.stop()
    worst = max(gaps)
    p99 = float(np.percentile(gaps, 99))
    print(
        f"\nGUI timer gaps while training: n={len(gaps)} worst={worst:.1f} ms "
        f"p99={p99:.1f} ms median={float(np.median(gaps)):.1f} ms; {steps_done} steps trained"
    )
    assert steps_done > 0
    assert worst < 150.0


def test_quality_is_measured_on_held_apart_photos_and_plotted(qtbot, window, tmp_path) -> None:
    from PIL import Image

    rng = np.random.default_rng(3)
    folders = []
    for name, count in (("q-style", 4), ("q-content", 10)):
        folder = tmp_path / name
        folder.mkdir()
        for i in range(count):
            pixels = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{name}_{i}.png")
        folders.append(folder)
    panel = window.training_panel
    job = panel.job
    _configure(panel, *folders, steps=4)
    panel.quality_every.setValue(2)

    with qtbot.waitSignal(job.quality_measured, timeout=120_000) as measured:
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    step, metrics = measured.args
    assert step == 2 and 0.0 <= metrics["edge_ssim"] <= 1.0
    assert "edge SSIM" in panel.quality_plot.series
    qtbot.waitUntil(lambda: not job.is_running(), timeout=120_000)
    assert "ganstyle-training" not in _thread_names()
    qtbot.waitUntil(lambda: not jobs.live_threads(), timeout=30_000)  # the list refresh
