"""Render what stylizing like an image app and keeping datasets clean look like.

Offscreen, in a throwaway settings folder and workspace, with the shipped starter model
and the shared sample data (``../shared/data``). Writes PNGs to ``--out`` (default
``screenshots/imageapp``, not committed):

- ``1-quick-preview.png``: a 6000x4000 photo seconds after Stylize, the quick preview
  in the Output pane while the full resolution is painted;
- ``2-cancelled.png``: one click on Cancel, mid-tile;
- ``3-too-large.png``: a photo over the pixel limit, refused with how to raise it;
- ``4-save-dialog.png``: Export Result, next to the photo, format and quality;
- ``5-batch.png``: Batch Stylize of a folder (one damaged file) into another folder;
- ``6-manifest-offer.png``: Import folder on the shared data: one dataset per tradition;
- ``7-duplicate-review.png``: a near-duplicate pair, as thumbnails named by file;
- ``8-library.png``: the full-window library.

    python tools/make_imageapp_screenshots.py [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
STARTER = REPO / "models" / "ganstyle-traditions.safetensors"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "screenshots" / "imageapp")
    args = parser.parse_args()
    if not SHARED.is_dir():
        print(f"needs the shared sample data at {SHARED}", file=sys.stderr)
        return 2
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="ganstyle-imageapp-"))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["GANSTYLE_DATA_DIR"] = str(tmp / "data")
    os.environ["GANSTYLE_CONFIG_DIR"] = str(tmp / "config")
    sys.path.insert(0, str(REPO))

    import numpy as np
    from PIL import Image
    from PySide6.QtWidgets import QApplication

    app = QApplication([])

    from ganstyle_desktop.library import Catalog, import_paths
    from ganstyle_desktop.library.importer import import_manifest
    from ganstyle_desktop.ui import jobs
    from ganstyle_desktop.ui.batch_dialog import open_batch_dialog
    from ganstyle_desktop.ui.errors import set_presenter
    from ganstyle_desktop.ui.library_view import library_mode
    from ganstyle_desktop.ui.main_window import MainWindow
    from ganstyle_desktop.ui.save_dialog import SaveResultDialog
    from ganstyle_desktop.ui.settings import PIXEL_LIMIT_KEY, app_settings

    set_presenter(lambda _parent, error: print(f"[error dialog] {error.title}: {error.what}"))
    app_settings().setValue("startup/first_result_shown", True)

    def spin(seconds: float = 0.3) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    def until(predicate, timeout: float = 300.0) -> None:
        end = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > end:
                raise TimeoutError("the window did not get there in time")
            app.processEvents()
            time.sleep(0.01)

    # Photos: a large one made from a shared content photo, a folder for the batch.
    photos = sorted((SHARED / "content").glob("*.jpg"))
    big = tmp / "photos" / "harbour-6000x4000.jpg"
    big.parent.mkdir(parents=True)
    with Image.open(photos[0]) as im:
        im.convert("RGB").resize((6000, 4000), Image.Resampling.BICUBIC).save(big, quality=92)
    batch_in = tmp / "shoot"
    batch_in.mkdir()
    for p in photos[1:5]:
        (batch_in / p.name).write_bytes(p.read_bytes())
    (batch_in / "IMG_0007.jpg").write_bytes(photos[5].read_bytes()[:3000])  # cut short

    # A workspace with three traditions and the photos, and one near duplicate.
    ws = tmp / "workspace"
    with Catalog.open(ws) as catalog:
        import_manifest(
            catalog,
            SHARED / "MANIFEST.csv",
            only={"japanese-ukiyo-e", "dutch-golden-age", "content"},
        )
        ukiyo = next(d for d in catalog.list_datasets() if d.name == "japanese-ukiyo-e")
        first = catalog.list_images(ukiyo.id)[0]
        copy = tmp / f"{Path(first.original_name).stem}-rescan.jpg"
        with Image.open(catalog.image_path(first)) as im:
            im.convert("RGB").resize((im.width * 3 // 4, im.height * 3 // 4)).save(copy, quality=80)
        import_paths(catalog, ukiyo.id, [copy])

    window = MainWindow(workspace=ws)
    window.resize(1280, 800)
    window.show()
    until(window.is_started)
    canvas = window.canvas
    canvas.set_model(STARTER)

    # 1, 2: the quick preview, then Cancel mid-tile.
    shown: list[float] = []
    canvas.preview_shown.connect(shown.append)
    canvas.open_photo(big)
    until(lambda: canvas.photo_path == big)
    canvas.stylize()
    until(lambda: bool(shown))
    spin(1.0)
    window.grab().save(str(out / "1-quick-preview.png"))
    print(f"quick preview after {shown[0]:.2f} s (quick side {canvas.quick_preview_side()} px)")
    canvas.cancel_button.click()
    spin(0.3)
    window.grab().save(str(out / "2-cancelled.png"))
    until(lambda: not canvas.stylize_job.is_running())

    # 3: too large for the limit the person set.
    app_settings().setValue(PIXEL_LIMIT_KEY, 20_000_000)
    canvas.open_photo(big)
    until(lambda: bool(canvas.message_text()) and "Preferences" in canvas.message_text())
    spin(0.3)
    window.grab().save(str(out / "3-too-large.png"))
    app_settings().remove(PIXEL_LIMIT_KEY)

    # 4: the Save dialog for a stylized photo.
    small = photos[0]
    canvas.open_photo(small)
    until(lambda: canvas.photo_path == small)
    canvas.stylize()
    until(lambda: canvas.result is not None)
    dialog = SaveResultDialog(window, canvas.photo_path, STARTER.stem, canvas.photo.bit_depth)
    dialog.formats.set_format("jpg", 90)
    dialog.show()
    spin(0.3)
    dialog.grab().save(str(out / "4-save-dialog.png"))
    dialog.close()

    # 5: a batch with one damaged photo.
    batch = open_batch_dialog(window, window.state, "cpu")
    batch.add_inputs([batch_in])
    batch.set_output_folder(tmp / "shoot-stylized")
    batch.formats.set_format("jpg", 90)
    batch.start()
    until(lambda: batch.last_report is not None)
    spin(0.3)
    batch.grab().save(str(out / "5-batch.png"))
    print(batch.last_report.summary(), "|", batch.last_report.failure_text())
    batch.close()

    # 6: Import folder on the shared data.
    panel = window.datasets_panel
    offered: list = []
    panel.manifest_offered.connect(offered.append)
    panel.import_paths([SHARED])
    until(lambda: bool(offered))
    spin(0.3)
    offered[0].grab().save(str(out / "6-manifest-offer.png"))
    offered[0].reject()

    # 7: the near-duplicate review.
    row = panel.dataset_model.row_of(ukiyo.id)
    panel.dataset_view.setCurrentIndex(panel.dataset_model.index(row))
    review = panel.review_near_duplicates()
    until(lambda: review._shown >= 2)
    spin(0.3)
    review.grab().save(str(out / "7-duplicate-review.png"))
    review.close()

    # 8: the full-window library.
    library_mode(window).enter()
    until(lambda: panel.image_model.rowCount() > 0)
    spin(3.0)  # thumbnails
    window.grab().save(str(out / "8-library.png"))
    library_mode(window).leave()

    window.close()
    jobs.wait_for_all(30_000)
    print(f"screenshots in {out}")
    del np
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
