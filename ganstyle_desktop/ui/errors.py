"""The single path that shows errors to people: title, what happened, what to do, details.

Uncaught exceptions (``sys.excepthook`` and ``threading.excepthook``) are logged to the
log file in the user data folder and shown in the same dialog, marshalled to the GUI thread
through a queued signal, so nothing ever crashes silently.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from ganstyle_desktop import paths

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UserError:
    title: str
    what: str  # what happened, in plain words
    todo: str = ""  # what the person can do about it
    details: str = ""  # traceback or raw messages, shown collapsed


def log_dir() -> Path:
    return paths.user_data_dir() / "logs"


def log_file() -> Path:
    return log_dir() / "ganstyle.log"


def setup_logging(level: int = logging.INFO) -> Path:
    """Log to a rotating file in the user data folder (and stderr); returns the file."""
    target = log_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_ganstyle", False):
            root.removeHandler(handler)
            handler.close()
    file_handler = logging.handlers.RotatingFileHandler(
        target, maxBytes=2_000_000, backupCount=2, encoding="utf-8"
    )
    file_handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    )
    file_handler._ganstyle = True  # type: ignore[attr-defined]
    root.addHandler(file_handler)
    root.setLevel(level)
    return target


def _default_presenter(parent: QWidget | None, error: UserError) -> None:
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(error.title)
    box.setText(f"<b>{error.title}</b>")
    text = error.what
    if error.todo:
        text += f"\n\nWhat to do: {error.todo}"
    box.setInformativeText(text)
    if error.details:
        box.setDetailedText(error.details)  # Qt shows it behind a "Show Details..." button
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.exec()


# Tests replace the presenter to record errors instead of blocking on a modal dialog.
_presenter: Callable[[QWidget | None, UserError], None] = _default_presenter


def set_presenter(presenter: Callable[[QWidget | None, UserError], None] | None) -> None:
    global _presenter
    _presenter = presenter or _default_presenter


def show_error(
    parent: QWidget | None, title: str, what: str, todo: str = "", details: str = ""
) -> None:
    """Show an error to the person (GUI thread only) and log it."""
    error = UserError(title, what, todo, details)
    log.error("%s: %s%s", title, what, f"\n{details}" if details else "")
    _presenter(parent, error)


class _ExceptionRelay(QObject):
    """Lives in the GUI thread; a queued signal carries exceptions from any thread to it."""

    raised = Signal(str, str, str)

    def __init__(self) -> None:
        super().__init__()
        self.raised.connect(self._present, Qt.ConnectionType.QueuedConnection)
        self._showing = False

    @Slot(str, str, str)
    def _present(self, kind: str, message: str, details: str) -> None:
        if self._showing:  # one dialog at a time; the rest are in the log
            return
        self._showing = True
        try:
            show_error(
                QApplication.activeWindow(),
                "Something went wrong",
                f"An unexpected error happened ({kind}: {message}). Your work is kept; the "
                "app keeps running.",
                f"If it happens again, send the log file (Help > Open Log Folder, {log_file()}) "
                "with a note of what you were doing.",
                details,
            )
        finally:
            self._showing = False


_relay: _ExceptionRelay | None = None


def _report(exc_type: type[BaseException], exc: BaseException, tb, where: str) -> None:
    details = "".join(traceback.format_exception(exc_type, exc, tb))
    logging.getLogger("ganstyle_desktop.uncaught").error(
        "Uncaught exception %s\n%s", where, details
    )
    if _relay is not None:
        _relay.raised.emit(exc_type.__name__, str(exc), details)


def install_exception_hooks() -> None:
    """Route uncaught exceptions from every thread to the log and the error dialog."""
    global _relay
    app = QApplication.instance()
    if app is None:
        raise RuntimeError("create the QApplication before installing exception hooks")
    if _relay is None:
        _relay = _ExceptionRelay()
        if _relay.thread() is not app.thread():
            _relay.moveToThread(app.thread())

    def excepthook(exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        where = "in the GUI thread" if QThread.currentThread() is app.thread() else "in a thread"
        _report(exc_type, exc, tb, where)

    def thread_excepthook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread else "?"
        _report(args.exc_type, args.exc_value, args.exc_traceback, f"in thread {name}")

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook
