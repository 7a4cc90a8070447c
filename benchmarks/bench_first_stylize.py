"""The first Stylize after launch, as a new user meets it: the window opens on the sample
photo and the starter model; how long until the model is ready in the background, and
how long the first Stylize takes (with and without that preparation).

    python benchmarks/bench_first_stylize.py [--no-prepare]

A fresh cache folder is used, so the model's ONNX export is made in this run (the cold
case a first launch sees). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-prepare", action="store_true",
                        help="switch the background preparation off (the old behaviour)")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="ganstyle-first-")
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ["GANSTYLE_CACHE_DIR"] = os.path.join(tmp, "cache")
    os.environ["GANSTYLE_DATA_DIR"] = os.path.join(tmp, "data")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    t0 = time.monotonic()
    import ganstyle_desktop.ui.main_window as mw

    if args.no_prepare:
        mw.PrepareModelJob.request = lambda self, request: None
    window = mw.MainWindow()
    window.resize(1200, 800)
    window.show()

    def wait(signal, timeout_s: float = 180) -> None:
        loop = QEventLoop()
        signal.connect(loop.quit)
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
        loop.exec()

    wait(window.startup_finished)
    started = time.monotonic() - t0
    ready = None
    if not args.no_prepare:
        wait(window.prepare_job.finished)
        ready = time.monotonic() - t0
    t1 = time.monotonic()
    window.stylize_action.trigger()
    wait(window.canvas.result_ready)
    first = time.monotonic() - t1
    print(json.dumps({
        "benchmark": "bench_first_stylize", "prepare": not args.no_prepare,
        "window_started_s": round(started, 2),
        "model_ready_s": None if ready is None else round(ready, 2),
        "first_stylize_s": round(first, 2),
        "model": str(window.state.model), "photo": str(window.state.photo_path),
        "threads": os.environ["OMP_NUM_THREADS"],
    }), flush=True)
    window.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
