"""One-off measurements of the dataset library; prints JSON (not a test).

    python benchmarks/bench_library.py [--n 5000] [--data ../shared/data]

1. Import throughput: all of the sample data with its manifest into a fresh workspace.
2. A grid of N thumbnails: N tiny generated images imported into a temp workspace, then the
   datasets panel (offscreen) is opened on them and timed until the visible thumbnails are
   shown, with a cold thumbnail cache (made on demand) and a warm one (cached on disk), and
   after scrolling to the end.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from ganstyle_desktop.library import Catalog, import_manifest, import_paths  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def bench_import(data: Path, root: Path) -> dict:
    files = sum(1 for p in (data / "styles").rglob("*.jpg")) + sum(
        1 for p in (data / "content").glob("*.jpg")
    )
    size_mb = sum(p.stat().st_size for p in data.rglob("*.jpg")) / 1e6
    with Catalog.open(root / "import-ws") as catalog:
        start = time.perf_counter()
        report = import_manifest(catalog, data / "MANIFEST.csv")
        seconds = time.perf_counter() - start
        datasets = len(catalog.list_datasets())
    return {
        "files": files,
        "megabytes": round(size_mb, 1),
        "imported": len(report.imported),
        "skipped": len(report.skipped),
        "datasets": datasets,
        "seconds": round(seconds, 3),
        "images_per_second": round(len(report.imported) / seconds, 1),
        "megabytes_per_second": round(size_mb / seconds, 1),
    }


def make_tiny_images(folder: Path, n: int) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        coarse = rng.integers(0, 256, (3, 3, 3), dtype=np.uint8)
        im = Image.fromarray(coarse).resize((64, 48), Image.Resampling.BILINEAR)
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=80)
        (folder / f"tiny_{i:05d}.jpg").write_bytes(buf.getvalue())


def _visible_rows(panel) -> list[int]:
    view, model = panel.grid, panel.image_model
    viewport = view.viewport().rect()
    first = view.indexAt(viewport.topLeft())
    start = first.row() if first.isValid() else 0
    rows = []
    for row in range(start, model.rowCount()):
        rect = view.visualRect(model.index(row))
        if rect.intersects(viewport):
            rows.append(row)
        elif rows and rect.top() > viewport.bottom():
            break
    return rows


def _wait_visible(app, panel, timeout: float = 120.0) -> tuple[float, int]:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        app.processEvents()
        rows = _visible_rows(panel)
        if rows and all(panel.image_model.has_thumbnail(r) for r in rows):
            return time.perf_counter() - start, len(rows)
        time.sleep(0.002)
    raise TimeoutError("thumbnails did not arrive")


def bench_grid(n: int, root: Path) -> dict:
    from PySide6.QtWidgets import QApplication

    from ganstyle_desktop.ui.panels.datasets_panel import DatasetsPanel

    folder = root / "tiny"
    t0 = time.perf_counter()
    make_tiny_images(folder, n)
    generate_s = time.perf_counter() - t0
    ws = root / "grid-ws"
    with Catalog.open(ws) as catalog:
        did = catalog.create_dataset("tiny")
        t0 = time.perf_counter()
        report = import_paths(catalog, did, [folder])
        import_s = time.perf_counter() - t0
        assert len(report.imported) == n, report.summary()

    app = QApplication.instance() or QApplication([])
    results: dict = {
        "images": n,
        "generate_seconds": round(generate_s, 2),
        "import_seconds": round(import_s, 2),
        "import_images_per_second": round(n / import_s, 1),
    }
    for label in ("cold_cache", "warm_cache"):
        panel = DatasetsPanel(show_report_dialog=False)
        panel.resize(1400, 900)
        panel.show()
        app.processEvents()
        t0 = time.perf_counter()
        panel.open_workspace(ws)  # lists the dataset and fills the grid model
        model_s = time.perf_counter() - t0
        app.processEvents()
        first_paint_s = time.perf_counter() - t0
        visible_s, visible = _wait_visible(app, panel)
        t_scroll = time.perf_counter()
        panel.grid.scrollToBottom()
        scroll_s, _ = _wait_visible(app, panel)
        results[label] = {
            "rows_in_model": panel.image_model.rowCount(),
            "open_and_fill_model_seconds": round(model_s, 3),
            "first_paint_seconds": round(first_paint_s, 3),
            "visible_thumbnails": visible,
            "all_visible_thumbnails_seconds": round(first_paint_s + visible_s, 3),
            "scroll_to_end_thumbnails_seconds": round(time.perf_counter() - t_scroll, 3),
            "scroll_wait_seconds": round(scroll_s, 3),
        }
        panel.shutdown()
        panel.close()
        panel.deleteLater()
        app.processEvents()
    thumbs = list((ws / "thumbs").glob("*.jpg"))
    results["thumbnails_made_on_disk"] = len(thumbs)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=5000, help="images in the grid benchmark")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    out: dict = {"cpu_count": os.cpu_count(), "python": sys.version.split()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if args.data.is_dir():
            out["import_shared_data"] = bench_import(args.data, root)
        out["grid"] = bench_grid(args.n, root)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
