"""Render the artist's whole workflow offscreen, one PNG per step (issue 12):

 01  Import folder: the folder's MANIFEST.csv offered as one dataset per tradition
 02  the Training panel checks the dataset selected in the Datasets panel (non-commercial)
 03  the check for a public-domain set, with the goal's measured time
 04  training, the open photo painted live on the canvas
 05  training paused
 06  the finished run's model in the Models list, active, the photo painted with it
 07  a new window after quitting mid-run: the Runs view with the interrupted run
 08  the run resumed from the Runs view
 09  a folder batch-stylized into another folder
 10  Compare Traditions over every installed model
 11+ the window at 1280x720 with each dock in front (Datasets, Models, Runs, Training
     with its settings open, Blend)
 16  the Training panel's Advanced section (the style recipe's knobs) at 1280x720

Uses the public-domain sets of ``../shared/data`` (and one non-commercial set, only to
show the warning; nothing trained on it), linked into a temporary folder with a manifest;
without them, generated pictures. Everything is written under a temporary data folder,
never the user's. Run from the repository root:

    python tools/make_workflow_screenshots.py --out docs/workflow
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
STYLES = {  # slug: files used (public domain, and one non-commercial set for the warning)
    "japanese-ukiyo-e": 16,
    "italo-byzantine": 11,
    "persian-miniature": 8,
}


def _collection(root: Path) -> Path:
    """A folder with a MANIFEST.csv: styles by tradition and photos, linked from the
    shared data (rows copied from its manifest), or generated without it."""
    folder = root / "collection"
    folder.mkdir(parents=True)
    rows: list[list[str]] = []
    header = ["path", "style_or_content", "culture_or_region", "title_if_known",
              "artist_if_known", "license_note"]  # fmt: skip
    if (SHARED / "MANIFEST.csv").is_file():
        with open(SHARED / "MANIFEST.csv", newline="", encoding="utf-8-sig") as fh:
            shared = list(csv.DictReader(fh))
        taken: dict[str, int] = {}
        for row in shared:
            slug = row["style_or_content"]
            limit = STYLES.get(slug, 12 if slug == "content" else 0)
            if taken.get(slug, 0) >= limit:
                continue
            taken[slug] = taken.get(slug, 0) + 1
            target = folder / row["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(SHARED / row["path"], target)
            rows.append([row["path"], slug, row["culture_or_region"], row["title_if_known"],
                         row["artist_if_known"], row["license_note"]])  # fmt: skip
    else:
        import numpy as np
        from PIL import Image

        rng = np.random.default_rng(0)
        yy, xx = np.mgrid[0:128, 0:128]
        for slug, note in (("stripes", "CC0"), ("dots", "CC BY-NC 4.0 NON-COMMERCIAL")):
            for i in range(12):
                colour = rng.integers(0, 255, 3)
                mask = ((xx * (i % 3 + 1) + yy) // (4 + i)) % 2 == 1
                rel = f"styles/{slug}/{slug}_{i}.png"
                (folder / rel).parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(np.where(mask[..., None], colour, 255 - colour).astype("uint8")).save(folder / rel)  # fmt: skip
                rows.append([rel, slug, "Generated", f"{slug} {i}", "", note])
        for i in range(12):
            blocks = rng.integers(0, 255, (8, 8, 3)).repeat(16, 0).repeat(16, 1)
            rel = f"content/photo_{i}.png"
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(blocks.astype("uint8")).save(folder / rel)
            rows.append([rel, "content", "", f"photo {i}", "", "CC0"])
    with open(folder / "MANIFEST.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "workflow")
    parser.add_argument("--preset", default="lite")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=150, help="steps of the first run")
    parser.add_argument("--theme", default="light", choices=("light", "dark", "system"))
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="ganstyle-workflow-"))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["GANSTYLE_DATA_DIR"] = str(tmp / "data")
    os.environ["GANSTYLE_CONFIG_DIR"] = str(tmp / "config")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.path.insert(0, str(REPO))
    collection = _collection(tmp)
    workspace = tmp / "workspace"
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from ganstyle_desktop.ui.main_window import MainWindow
    from ganstyle_desktop.ui.settings import app_settings

    QCoreApplication.setApplicationName("GANStyle Desktop")
    app = QApplication([sys.argv[0]])
    settings = app_settings()
    settings.setValue("view/theme", args.theme)
    settings.setValue("confirm_quit_while_training", False)
    settings.setValue("startup/first_result_shown", True)

    def wait(condition, seconds: float = 600, what: str = "") -> None:
        """Run the event loop until ``condition()``. A QEventLoop, not QTest.qWait: qWait
        keeps the interpreter lock while it polls, which starves the worker threads (a
        training step took 15x longer under it)."""
        deadline = time.monotonic() + seconds
        loop = QEventLoop()
        timer = QTimer()
        timer.setInterval(50)

        def check() -> None:
            if condition() or time.monotonic() > deadline:
                loop.quit()

        timer.timeout.connect(check)
        timer.start()
        if not condition():
            loop.exec()
        timer.stop()
        if not condition():
            raise TimeoutError(f"timed out waiting for {what or condition}")

    def pause(ms: int) -> None:
        until = time.monotonic() + ms / 1000
        wait(lambda: time.monotonic() >= until, what="a pause")

    shots: list[str] = []

    def shoot(widget, name: str, settle_ms: int = 300) -> None:
        pause(settle_ms)
        path = out / f"{name}.png"
        widget.grab().save(str(path), "PNG")
        shots.append(path.name)
        print(f"wrote {path}", file=sys.stderr)

    def open_window() -> MainWindow:
        window = MainWindow(workspace=workspace)
        window.resize(1440, 900)
        window.show()
        wait(window.is_started, what="start-up")
        return window

    def select_dataset(window: MainWindow, name: str) -> None:
        panel = window.datasets_panel
        ids = {d.name: d.id for d in panel.catalog.list_datasets()}
        panel.select_dataset(ids[name])
        pause(50)

    window = open_window()
    panel, tp, job = window.datasets_panel, window.training_panel, window.training_job
    window.datasets_dock.raise_()

    # 01: Import folder offers one dataset per tradition from the manifest.
    offered: list = []
    panel.manifest_offered.connect(offered.append)
    panel.import_paths([collection])
    wait(lambda: bool(offered), what="the manifest offer")
    dialog = offered[0]
    dialog.resize(900, 420)
    shoot(dialog, "01-import-folder-manifest")
    reports: list = []
    panel.import_finished.connect(reports.append)
    names = {p.slug for p in dialog.plans}
    for slug in names:
        dialog.set_included(slug, True)
    dialog.accept_choice()
    wait(lambda: bool(reports), what="the import")

    # 02/03: the check for the dataset selected in the Datasets panel.
    style_names = [n for n in names if n != "content"]
    restricted = next((n for n in style_names if "persian" in n or n == "dots"), None)
    public = next(n for n in style_names if n != restricted)
    select_dataset(window, "content")
    tp.set_outcome("quick")
    tp.details_button.setChecked(False)
    checks: list = []
    tp.check_finished.connect(checks.append)
    if restricted:
        select_dataset(window, restricted)
        tp.run_check()
        wait(lambda: bool(checks) and checks[-1].noncommercial, what="the check")
        window.training_dock.raise_()
        shoot(window, "02-check-noncommercial")
    select_dataset(window, public)
    wait(lambda: tp.plan is not None, what="the goal's speed measurement")
    checks.clear()
    tp.run_check()
    wait(lambda: bool(checks) and checks[-1].estimated_seconds is not None, what="the check")
    shoot(window, "03-check-and-goal")

    # 04/05: training, painted live on the canvas; then paused.
    tp.set_outcome("custom")
    tp.preset.setCurrentIndex(tp.preset.findData(args.preset))
    tp.size.setValue(args.size)
    tp.steps.setValue(args.steps)
    tp.quality_every.setValue(0)
    tp.details_button.setChecked(False)
    finished: list = []
    job.finished.connect(finished.append)
    tp.start()
    wait(window.canvas.showing_live_preview, what="the live preview")
    wait(lambda: job.last_step >= args.steps // 2, what="half the run")
    tp.tabs.setCurrentIndex(1)  # the curves
    shoot(window, "04-training-live-preview")
    job.pause()
    wait(lambda: tp.paused_banner.isVisible(), what="the pause")
    tp.tabs.setCurrentIndex(0)
    shoot(window, "05-training-paused")
    job.resume()
    wait(lambda: bool(finished), what="the end of the run")

    # 06: the finished run's model, active in the Models list.
    wait(lambda: window.state.result is not None and window.state.model is not None
         and "data/models" in str(window.state.model), what="the new model painting")  # fmt: skip
    window.models_dock.raise_()
    shoot(window, "06-model-in-the-list-and-active")

    # 07/08: a second run quit mid-way; a new window resumes it from the Runs view.
    tp.steps.setValue(args.steps * 20)
    tp.start()
    wait(lambda: job.last_step >= 3, what="the second run")
    closed: list = []
    window.closed.connect(lambda: closed.append(True))
    window.close()
    wait(lambda: bool(closed), what="the window to close")
    window = open_window()
    tp, job, runs = window.training_panel, window.training_job, window.runs_panel
    window.runs_dock.raise_()
    wait(lambda: len(runs.entries) == 2, what="the runs")
    interrupted = next(p for p, e in runs.entries.items() if e.summary.status == "interrupted")
    runs.select_run(interrupted)
    shoot(window, "07-runs-after-restart")
    runs.resume_selected()
    wait(lambda: job.last_step > 0 and runs.status_of(interrupted) == "running", what="resume")
    shoot(window, "08-run-resumed")
    tp.stop()
    wait(lambda: job.state == "idle", what="the stop")

    # 09: a folder of photos batch-stylized into another folder.
    window.models_dock.raise_()
    first = next(p for p, e in runs.entries.items() if e.summary.status == "finished")
    runs.select_run(first)
    runs.add_selected_model()
    wait(lambda: window.state.model is not None and "data/models" in str(window.state.model))
    batch = window.show_batch()
    batch.add_inputs([collection / "content"])
    batch.set_output_folder(tmp / "stylized")
    done: list = []
    batch.batch_finished.connect(done.append)
    batch.start()
    wait(lambda: bool(done), what="the batch")
    shoot(batch, "09-batch-stylized")
    batch.close()

    # 10: Compare Traditions over every installed model.
    window.show_compare()
    rendered: list = []
    window.compare_view.rendering_finished.connect(rendered.append)
    wait(lambda: bool(rendered), what="the comparison")
    window._compare_dialog.resize(1000, 760)
    shoot(window._compare_dialog, "10-compare-every-model")
    window._compare_dialog.close()

    # 11+: 1280x720, each dock in front.
    window.resize(1280, 720)
    tp.details_button.setChecked(True)
    for index, dock in enumerate(
        (
            window.datasets_dock,
            window.models_dock,
            window.runs_dock,
            window.training_dock,
            window.blend_dock,
        ),  # fmt: skip
        start=11,
    ):
        dock.show()
        dock.raise_()
        shoot(window, f"{index}-1280x720-{dock.windowTitle().lower()}")
    # 16: the Training panel's Advanced section (the recipe knobs), one knob changed.
    window.training_dock.raise_()
    tp.details_button.setChecked(False)
    tp.advanced_button.setChecked(True)
    tp.recipe.controls["lambda_gan"].editor.setValue(2.0)
    pause(300)
    window.training_dock.widget().ensureWidgetVisible(tp.recipe_defaults_button)
    shoot(window, "16-1280x720-training-advanced")
    tp.recipe.reset()

    closed.clear()
    window.closed.connect(lambda: closed.append(True))
    window.close()
    wait(lambda: bool(closed), what="the window to close")
    app.quit()
    print("\n".join(shots))
    return 0


if __name__ == "__main__":
    sys.exit(main())
