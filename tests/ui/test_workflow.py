"""An artist's whole workflow in the window, offscreen (issue 12):

Import folder with a manifest (a dataset per tradition, one of photos) -> the Training
panel picks up the
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


def make_collection(root: Path, per_tradition: int = 6) -> Path:
    """A folder of artworks by tradition and of photos, with a MANIFEST.csv at its top.
    Every picture differs in layout, so none is a near duplicate of another."""
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:48, 0:48]
    rows = []
    for t, slug in enumerate(TRADITIONS):
        culture, licence = TRADITIONS[slug]
        for i in range(per_tradition):
            colour = rng.integers(0, 255, 3)
            period = 3 + i
            if t == 0:  # stripes at a different angle and pitch each
                mask = ((xx * (i % 3 + 1) + yy * (i % 2 + 1)) // period) % 2 == 1
            else:  # dots on a different grid each
                mask = ((xx % (period + 3) - 3) ** 2 + (yy % (period + 4) - 3) ** 2) < 5 + i
            pixels = np.where(mask[..., None], colour, 255 - colour)
            rel = f"styles/{slug}/{slug}_{i}.png"
            _write(root / rel, pixels)
            rows.append([rel, slug, culture, f"{slug} {i}", "test", licence])
    for i in range(6):  # random 6x6 blocks, smooth-ish after a gradient: photo-like
        blocks = rng.integers(0, 255, (6, 6, 3)).repeat(8, axis=0).repeat(8, axis=1)
        grad = 0.6 * blocks + np.stack([xx * 2, yy * 2, (xx + yy)], axis=-1)
        rel = f"photos/photo_{i}.png"
        _write(root / rel, grad)
        rows.append([rel, "content", "", f"photo {i}", "", "CC0 1.0"])
    with open(root / "MANIFEST.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["path", "style_or_content", "culture_or_region", "title_if_known",
             "artist_if_known", "license_note"]
        )  # fmt: skip
        writer.writerows(rows)
    return root


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

    collection = make_collection(tmp_path / "collection")
    photos = collection / "photos"
    workspace = tmp_path / "workspace"
    window = _open_window(qtbot, workspace)
    datasets, tp, job = window.datasets_panel, window.training_panel, window.training_job

    # 1. Import folder: its manifest is offered as one dataset per tradition (the
    #    non-commercial one unticked until chosen) and the photos as a content dataset.
    with qtbot.waitSignal(datasets.manifest_offered, timeout=30_000) as offered:
        assert datasets.import_paths([collection])
    dialog = offered.args[0]
    assert sorted(p.slug for p in dialog.plans) == sorted([*TRADITIONS, "content"])
    assert not dialog.is_included("soft-dots")
    dialog.set_included("soft-dots", True)
    with qtbot.waitSignal(datasets.import_finished, timeout=60_000) as imported:
        assert dialog.accept_choice()
    assert len(imported.args[0].imported) == 18
    kinds = {d.name: (d.kind, d.image_count) for d in datasets.catalog.list_datasets()}
    assert kinds == {
        "bold-stripes": ("style", 6),
        "soft-dots": ("style", 6),
        "content": ("content", 6),
    }

    # 2. The dataset selected in the Datasets panel is what the Training panel learns
    #    from (a content dataset: the photos); its check counts the images and warns
    #    about the non-commercial set.
    _tiny_settings(tp, steps=6)

    def offered(field) -> list[str]:
        return [field.combo.itemText(i) for i in range(1, field.combo.count())]

    # Style datasets are offered as styles, the content dataset as photos, never crossed.
    qtbot.waitUntil(lambda: len(offered(tp.style_field)) >= 2, timeout=30_000)
    assert offered(tp.style_field) == ["Dataset: bold-stripes", "Dataset: soft-dots"]
    assert offered(tp.content_field) == ["Dataset: content"]
    _select_dataset(window, "content")
    assert tp.content_field.dataset_label() == "Dataset: content"
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
    assert tp.content_field.dataset_label() == "Dataset: content"
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
    assert name in dialog.model_label.text()  # the model's name, as everywhere else
    out = tmp_path / "stylized"
    dialog.add_inputs([photos])
    dialog.set_output_folder(out)
    with qtbot.waitSignal(dialog.batch_finished, timeout=120_000) as batched:
        assert dialog.start()
    report = batched.args[0]
    assert not report.failed, report.failed
    written = sorted(p.name for p in out.rglob("*") if p.is_file())
    assert len(written) == 6 and len(report.written) == 6
    for photo_file, name in zip(sorted(photos.glob("*.png")), written, strict=True):
        assert name.startswith(photo_file.stem + "-")  # <photo>-<model>.<format>
    with Image.open(out / written[0]) as first:
        assert first.size == (48, 48)  # full resolution
    window.close()
