"""``ganstyle``: the desktop app's entry point.

The window is shown before torch is imported anywhere: everything that needs the engine
runs in worker threads started after the first frame. ``--screenshot PATH`` renders the
window offscreen once start-up work is done, saves it and exits (for docs and checks).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from . import __version__

log = logging.getLogger(__name__)
_T0 = time.perf_counter()
STARTUP_TIMEOUT_MS = 120_000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ganstyle", description="GANStyle Desktop")
    parser.add_argument("photo", nargs="?", type=Path, help="a photo to open")
    parser.add_argument(
        "--screenshot",
        type=Path,
        metavar="PATH",
        help="render the window offscreen after start-up, save it as PNG and exit",
    )
    parser.add_argument(
        "--workspace", type=Path, metavar="DIR", help="dataset workspace folder to open"
    )
    parser.add_argument(
        "--size", default="1440x900", metavar="WxH", help="window size for --screenshot"
    )
    parser.add_argument(
        "--reset-settings", action="store_true", help="forget saved layout and choices"
    )
    parser.add_argument("--version", action="version", version=f"GANStyle Desktop {__version__}")
    # Qt's own options (-style, -platform ...) pass through untouched.
    args, _qt_args = parser.parse_known_args(argv)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.screenshot is not None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtCore import QCoreApplication, Qt, QTimer
    from PySide6.QtGui import QGuiApplication, QIcon
    from PySide6.QtWidgets import QApplication

    from .ui.errors import install_exception_hooks, setup_logging
    from .ui.sample import app_icon_path
    from .ui.settings import APPLICATION, ORGANIZATION, reset_settings

    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    QCoreApplication.setApplicationVersion(__version__)
    if QApplication.instance() is None:
        from .qt_check import check_platform_libraries

        # Qt aborts without saying what is missing: say it first.
        problem = check_platform_libraries()
        if problem:
            print(problem, file=sys.stderr, flush=True)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    QGuiApplication.setDesktopFileName("io.github.ganstyle.GANStyle")
    if app_icon_path().exists():
        app.setWindowIcon(QIcon(str(app_icon_path())))
    log_path = setup_logging()
    install_exception_hooks()
    log.info("GANStyle Desktop %s starting; log at %s", __version__, log_path)
    if args.reset_settings:
        reset_settings()

    from .ui.jobs import shutdown_all
    from .ui.main_window import MainWindow

    # A safety net: however the application ends, no job thread outlives it.
    app.aboutToQuit.connect(lambda: shutdown_all(30_000))
    window = MainWindow(workspace=args.workspace)
    if args.photo is not None:
        QTimer.singleShot(0, lambda: window.canvas.open_photo(args.photo))
    if args.screenshot is not None:
        try:
            w, h = (int(v) for v in args.size.lower().split("x"))
        except ValueError:
            print(f"--size {args.size!r}: use WIDTHxHEIGHT, e.g. 1440x900", file=sys.stderr)
            return 2
        window.resize(w, h)
    window.show()
    shown_ms = (time.perf_counter() - _T0) * 1000
    log.info(
        "window shown %.0f ms after start (torch loaded: %s)", shown_ms, "torch" in sys.modules
    )
    if os.environ.get("GANSTYLE_REPORT_STARTUP"):
        print(f"window_shown_ms={shown_ms:.0f} torch_loaded={'torch' in sys.modules}", flush=True)

    if args.screenshot is not None:
        return _run_screenshot(app, window, args.screenshot)
    return app.exec()


def _run_screenshot(app, window, target: Path) -> int:
    """Wait for start-up work (sample photo, models, device, thumbnails), then grab."""
    from PySide6.QtCore import QTimer

    result = {"code": 1}

    def grab() -> None:
        # Thumbnails still rendering, or the first-run stylize still painting.
        if window.models_panel.is_busy() or window.canvas.stylize_job.is_running():
            QTimer.singleShot(100, grab)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        ok = window.grab().save(str(target), "PNG")
        if not ok:
            print(f"could not write {target}", file=sys.stderr)
        result["code"] = 0 if ok else 1
        close_then_quit()

    def timed_out() -> None:
        print("start-up did not finish in time; saving what is shown", file=sys.stderr)
        grab_now()

    def grab_now() -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        result["code"] = 0 if window.grab().save(str(target), "PNG") else 1
        close_then_quit()

    def close_then_quit() -> None:
        # The window closes once its jobs have stopped; quit only then.
        window.closed.connect(app.quit)
        window.close()

    if window.is_started():
        QTimer.singleShot(0, grab)
    else:
        window.startup_finished.connect(lambda: QTimer.singleShot(50, grab))
    QTimer.singleShot(STARTUP_TIMEOUT_MS, timed_out)
    app.exec()
    return result["code"]


if __name__ == "__main__":
    sys.exit(main())
