"""One error path: job failures and uncaught exceptions reach the dialog and the log."""

from __future__ import annotations

import sys
import threading

from ganstyle_desktop.ui import errors


def test_a_failing_stylize_shows_its_error(qtbot, window, photo, tmp_path, recorded_errors) -> None:
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    window.canvas.open_photo(photo)
    window.canvas.set_model(broken)
    with qtbot.waitSignal(window.canvas.stylize_failed, timeout=60_000):
        window.stylize()
    assert recorded_errors[-1].title == "Could not stylize the photo"
    assert "broken.safetensors" in recorded_errors[-1].what
    assert recorded_errors[-1].todo  # it says what to do


def test_uncaught_exceptions_reach_the_dialog_and_the_log(qtbot, qapp, recorded_errors) -> None:
    errors.setup_logging()
    old_hook, old_thread_hook = sys.excepthook, threading.excepthook
    errors.install_exception_hooks()
    try:
        # an exception in the GUI thread (as from a slot)
        try:
            raise ValueError("gui thread went wrong")
        except ValueError:
            sys.excepthook(*sys.exc_info())
        qtbot.waitUntil(lambda: len(recorded_errors) >= 1, timeout=5000)

        # an exception in a plain Python thread
        def boom() -> None:
            raise RuntimeError("worker thread went wrong")

        thread = threading.Thread(target=boom, name="boom")
        thread.start()
        thread.join()
        qtbot.waitUntil(lambda: len(recorded_errors) >= 2, timeout=5000)
    finally:
        sys.excepthook, threading.excepthook = old_hook, old_thread_hook
    first, second = recorded_errors[0], recorded_errors[1]
    assert "gui thread went wrong" in first.what and "Traceback" in first.details
    assert "worker thread went wrong" in second.what
    assert first.todo and "log" in first.todo.lower()
    for handler in __import__("logging").getLogger().handlers:
        handler.flush()
    logged = errors.log_file().read_text(encoding="utf-8")
    assert "gui thread went wrong" in logged and "worker thread went wrong" in logged


def test_show_error_uses_the_message_box_by_default(qtbot, monkeypatch) -> None:
    """The real presenter builds a dialog with title, text, what to do and details."""
    from PySide6.QtWidgets import QMessageBox

    shown = {}

    def fake_exec(box: QMessageBox) -> int:
        shown.update(
            title=box.windowTitle(), info=box.informativeText(), details=box.detailedText()
        )
        return 0

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    errors.set_presenter(None)
    errors.show_error(None, "Export failed", "disk full", "Free some space.", "Traceback: ...")
    assert shown == {
        "title": "Export failed",
        "info": "disk full\n\nWhat to do: Free some space.",
        "details": "Traceback: ...",
    }
