"""An artist's whole workflow in the window, offscreen (issue 12):

datasets from a folder's manifest (one per tradition) -> the Training panel picks up the
selected dataset and checks it -> a tiny run -> its model in the Models list, active ->
a second run, watched live on the canvas, paused, then the window quit mid-run -> a new
window on the same workspace remembers the sources and resumes the run from the Runs view
-> a folder batch-stylized into another folder (the Batch dialog of issue 12 point 5).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from ganstyle_desktop.ui import jobs

pytest.importorskip("ganstyle_desktop.ui.panels.datasets_panel")

TRADITIONS = {
    "bold-stripes": ("Testland, 21st c. (stripe prints)", "CC0 1.0"),
    "soft-dots": ("Dotland", "CC BY-NC 4.0 -> NON-COMMERCIAL"),
}


def _write(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path)
    return path


def make_collection(root: Path, per_tradition: int = 6) -> tuple[Path, Path]:
    """A folder of artworks by tradition with a MANIFEST.csv, and a folder of photos."""
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:40, 0:40]
    rows = []
    for t, slug in enumerate(TRADITIONS):
        for i in range(per_tradition):
            colour = rng.integers(0, 255, 3)
            if t == 0:
                mask = ((xx + yy * (i % 3)) // 4) % 2 == 1
            else:
                mask = ((xx % 8 - 4) ** 2 + (yy % 8 - 4) ** 2) < 6
            pixels = np.where(mask[..., None], colour, 255 - colour)
            rel = f"styles/{slug}/{slug}_{i}.png"
            _write(root / rel, pixels)
            culture, licence = TRADITIONS[slug]
            rows.append([rel, slug, culture, f"{slug} {i}", "test", licence])
    with open(root / "MANIFEST.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["path", "style_or_content", "culture_or_region", "title_if_known",
             "artist_if_known", "license_note"]
        )  # fmt: skip
        writer.writerows(rows)
    photos = root / "photos"
    for i in range(6):
        grad = np.stack([xx * 6, yy * 6, (xx + yy) * 3], axis=-1) + rng.integers(0, 60, 3)
        _write(photos / f"photo_{i}.png", grad)
    return root / "MANIFEST.csv", photos


def _open_window(qtbot, workspace: Path):
    from ganstyle_desktop.ui.main_window import MainWindow

    window = MainWindow(workspace=workspace)
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    with qtbot.waitSignal(window.startup_finished, timeout=60_000):
        pass
    return window


def _tiny_settings(panel, steps: int) -> None:
    panel.set_outcome("custom")
    panel.method.setCurrentText("fastcut")
    panel.preset.setCurrentIndex(panel.preset.findData("tiny"))
    panel.size.setValue(32)
    panel.steps.setValue(steps)
    panel.batch.setValue(1)
    panel.quality_every.setValue(0)


def _select_dataset(window, name: str) -> None:
    panel = window.datasets_panel
    datasets = {d.name: d.id for d in panel.catalog.list_datasets()}
    assert panel.select_dataset(datasets[name])


def _close(qtbot, window) -> None:
    closed: list[bool] = []
    window.closed.connect(lambda: closed.append(True))
    window.confirm_stop_training = lambda: True  # the person says yes
    window.close()
    qtbot.waitUntil(lambda: bool(closed), timeout=60_000)


def test_the_whole_workflow(qtbot, tmp_path: Path, recorded_errors) -> None:
    from ganstyle_desktop import paths
    from ganstyle_desktop.engine.modelfile import read_card

    manifest, photos = make_collection(tmp_path / "collection")
    workspace = tmp_path / "workspace"
    window = _open_window(qtbot, workspace)
    datasets, tp, job = window.datasets_panel, window.training_panel, window.training_job

    # 1. A folder's manifest becomes one style dataset per tradition. (The manifest file
    #    is imported: "Import folder" offers the same once issue 12 point 4 lands.)
    with qtbot.waitSignal(datasets.import_finished, timeout=60_000) as imported:
        assert datasets.import_paths([manifest])
    report = imported.args[0]
    assert sorted(d.name for d in datasets.catalog.list_datasets()) == sorted(TRADITIONS)
    assert len(report.imported) == 12

    # 2. The dataset selected in the Datasets panel is what the Training panel learns;
    #    its check counts the images and warns about a non-commercial set.
    tp.content_field.edit.setText(str(photos))
    _tiny_settings(tp, steps=6)
    _select_dataset(window, "soft-dots")
    assert tp.style_field.dataset_label() == "Dataset: soft-dots"
    with qtbot.waitSignal(tp.check_finished, timeout=60_000) as checked:
        tp.run_check()
    check = checked.args[0]
    assert check.style_counts == {"soft-dots": 6} and check.content_count == 6
    assert len(check.noncommercial) == 6
    assert "non-commercial" in tp.check_label.text() and "only 6 images" in tp.check_label.text()
    _select_dataset(window, "bold-stripes")
    assert tp.style_field.dataset_label() == "Dataset: bold-stripes"
    with qtbot.waitSignal(tp.check_finished, timeout=60_000) as checked:
        tp.run_check()
    assert not checked.args[0].noncommercial

    # 3. A tiny run; its model joins the Models list at once, named after the dataset
    #    and tradition, and is the one active model (list, canvas, Blend panel).
    with qtbot.waitSignal(job.finished, timeout=120_000) as finished:
        qtbot.mouseClick(tp.start_button, Qt.MouseButton.LeftButton)
    run_model = Path(finished.args[0])
    first_run = run_model.parent
    assert set(tp.loss_plot.series) >= {"critic", "fooling the critic", "structure drift"}
    name = "bold-stripes · Testland"
    qtbot.waitUntil(lambda: window.state.model_name == name, timeout=60_000)
    active = window.state.model
    assert active.parent == paths.user_models_dir()
    assert read_card(active).name == name and read_card(active).training["run"] == str(first_run)
    assert window.models_panel.current_path() == str(active)
    assert window.models_panel.list.currentItem().text().startswith(name)
    assert window.canvas.output_pane.title.startswith(f"Output · {name}")
    qtbot.waitUntil(lambda: window.blend_panel.styles is not None, timeout=30_000)
    assert window.blend_panel.styles.name == name
    assert name in window.windowTitle()
    qtbot.waitUntil(lambda: window.canvas.result is not None, timeout=60_000)  # painted

    # 4. A longer run: the canvas shows the photo as the model paints it now; Pause is
    #    plain to see; then the window is quit mid-run.
    tp.steps.setValue(200)
    assert tp.start()
    qtbot.waitUntil(window.canvas.showing_live_preview, timeout=120_000)
    assert window.canvas.output_pane.title.startswith("Training preview · step")
    assert window.canvas.output_pane.image is not None
    with qtbot.waitSignal(job.engine_paused, timeout=60_000) as paused:
        qtbot.mouseClick(tp.pause_button, Qt.MouseButton.LeftButton)
    assert tp.paused_banner.isVisible()
    assert f"Paused at step {paused.args[0]:,}" in tp.paused_banner.text()
    assert tp.progress.format().startswith("Paused")
    assert window.job_label.text().startswith("Training paused")
    second_run = job.run_dir
    window.runs_panel.refresh()
    qtbot.waitUntil(lambda: window.runs_panel.status_of(second_run) == "paused", timeout=30_000)
    _close(qtbot, window)
    assert not jobs.live_threads()
    stopped_at = max(
        int(p.name.removeprefix("step_")) for p in (second_run / "checkpoints").glob("step_*")
    )
    assert 1 <= stopped_at < 200

    # 5. A new window on the same workspace: the sources are remembered, the Runs view
    #    lists both runs, and the interrupted one resumes with one click.
    window = _open_window(qtbot, workspace)
    tp, job, runs = window.training_panel, window.training_job, window.runs_panel
    assert tp.style_field.dataset_label() == "Dataset: bold-stripes"
    assert tp.content_field.folder() == str(photos)
    qtbot.waitUntil(lambda: len(runs.entries) == 2, timeout=30_000)
    assert runs.status_of(first_run) == "finished"
    assert runs.status_of(second_run) == "interrupted"
    assert runs.entries[str(second_run)].summary.last_step == stopped_at
    assert not runs.entries[str(first_run)].thumbnail.isNull()  # its newest preview
    assert runs.select_run(second_run)
    assert runs.resume_button.isEnabled() and not runs.add_button.isEnabled()
    with qtbot.waitSignal(job.run_started, timeout=120_000) as started:
        qtbot.mouseClick(runs.resume_button, Qt.MouseButton.LeftButton)
    assert started.args == [stopped_at, 200]  # continued where it stopped, not restarted
    assert job.run_dir == second_run
    qtbot.waitUntil(lambda: runs.status_of(second_run) == "running", timeout=30_000)
    with qtbot.waitSignal(job.cancelled, timeout=60_000):
        tp.stop()

    # 6. A folder of photos batch-stylized into another folder with the active model.
    #    (The Batch dialog is issue 12 point 5, built beside this work.)
    assert runs.select_run(first_run)
    with qtbot.waitSignal(window.models_panel.models_listed, timeout=60_000):
        qtbot.mouseClick(runs.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.state.model_name == name, timeout=30_000)
    assert not recorded_errors, [e.what for e in recorded_errors]
    batch_dialog = pytest.importorskip(
        "ganstyle_desktop.ui.batch_dialog", reason="the Batch dialog (issue 12 point 5)"
    )
    assert batch_dialog is not None
    dialog = window.show_batch()
    out = tmp_path / "stylized"
    dialog.add_inputs([photos])
    dialog.set_output_folder(out)
    with qtbot.waitSignal(dialog.batch_finished, timeout=120_000) as batched:
        assert dialog.start()
    assert not getattr(batched.args[0], "failed", [])
    assert sorted(p.stem for p in out.rglob("*.*")) == sorted(p.stem for p in photos.glob("*"))
    window.close()
