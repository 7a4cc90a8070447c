"""Render the main window mid-training for the README (docs/screenshot-training.png).

Trains a small model (the default painter preset) on a public-domain style from the shared sample data (or,
without it, on generated stripes), stylizes the sample photo with the newest checkpoint
while training goes on, grabs the window offscreen and stops cleanly. Run from the
repository root:

    python tools/make_training_screenshot.py [--out docs/screenshot-training.png]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
STYLE = "japanese-ukiyo-e"  # public domain; never a non-commercial set for shipped files


def _fallback_images(root: Path) -> tuple[Path, Path]:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    style, content = root / "style", root / "content"
    style.mkdir()
    content.mkdir()
    yy, xx = np.mgrid[0:128, 0:128]
    for i in range(8):
        colour = rng.integers(0, 255, 3)
        stripes = ((xx + yy * (i % 3)) // 6) % 2
        img = np.where(stripes[..., None] == 1, colour, 255 - colour).astype(np.uint8)
        Image.fromarray(img).save(style / f"s{i}.png")
        grad = np.stack([xx * 2, yy * 2, (xx + yy)], -1) + rng.integers(0, 60, 3)
        Image.fromarray(np.clip(grad, 0, 255).astype(np.uint8)).save(content / f"c{i}.png")
    return style, content


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshot-training.png")
    parser.add_argument("--steps-before-shot", type=int, default=120)
    parser.add_argument("--preset", default="painter")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--theme", default="light", choices=("light", "dark", "system"))
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="ganstyle-shot-"))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["GANSTYLE_DATA_DIR"] = str(tmp / "data")
    os.environ["GANSTYLE_CONFIG_DIR"] = str(tmp / "config")
    sys.path.insert(0, str(REPO))

    from PySide6.QtCore import QCoreApplication, QTimer
    from PySide6.QtWidgets import QApplication

    from ganstyle_desktop.ui.main_window import MainWindow
    from ganstyle_desktop.ui.settings import app_settings

    QCoreApplication.setApplicationName("GANStyle Desktop")
    app = QApplication([sys.argv[0]])
    app_settings().setValue("view/theme", args.theme)
    app_settings().setValue("confirm_quit_while_training", False)
    app_settings().setValue("startup/first_result_shown", True)  # no first-run stylize
    window = MainWindow()
    window.resize(1440, 900)
    window.show()

    if (SHARED / "styles" / STYLE).is_dir():
        style, content = SHARED / "styles" / STYLE, SHARED / "content"
    else:
        style, content = _fallback_images(tmp)
    panel = window.training_panel
    state = {"stylized": False, "code": 1}

    def start() -> None:
        panel.style_field.edit.setText(str(style))
        panel.content_field.edit.setText(str(content))
        panel.method.setCurrentText("multistyle" if args.preset == "painter" else "fastcut")
        panel.preset.setCurrentIndex(panel.preset.findData(args.preset))
        panel.size.setValue(args.size)
        panel.steps.setValue(args.steps_before_shot * 10)
        panel.quality_every.setValue(max(10, args.steps_before_shot // 4))
        if not panel.start():
            print("training did not start", file=sys.stderr)
            app.quit()

    def on_progress(step: int, _total: int, _info: dict) -> None:
        if step >= args.steps_before_shot and not state["stylized"] and panel.checkpoints.count():
            state["stylized"] = True
            panel.checkpoints.setCurrentRow(panel.checkpoints.count() - 1)
            panel.stylize_with_selected()

    def on_result() -> None:
        QTimer.singleShot(200, shoot)  # let the next preview and loss points land

    def shoot() -> None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        image = window.grab().toImage()
        ok = image.save(str(args.out), "PNG")
        if ok:  # a README image: 256 colours keep the UI crisp at a fraction of the bytes
            from PIL import Image

            with Image.open(args.out) as im:
                small = im.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE)
            small.save(args.out, optimize=True)
        state["code"] = 0 if ok else 1
        print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)" if ok else "save failed")
        window.close()  # cancels training, keeps the checkpoint, waits for the thread
        app.quit()

    def on_failed(message: str) -> None:
        print(f"failed: {message}", file=sys.stderr)
        window.close()
        app.quit()

    panel.job.progress.connect(on_progress)
    panel.job.failed.connect(on_failed)
    window.canvas.result_ready.connect(on_result)
    window.canvas.stylize_failed.connect(on_failed)
    window.startup_finished.connect(start)
    QTimer.singleShot(600_000, lambda: on_failed("timed out"))
    app.exec()
    return state["code"]


if __name__ == "__main__":
    sys.exit(main())
