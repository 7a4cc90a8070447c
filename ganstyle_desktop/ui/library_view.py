"""The full-window library: the Datasets panel as a photo library, filling the window.

View > Library (Ctrl+L) moves the one Datasets panel out of its dock into the window's
central area and hides the docks: the dataset list, a thumbnail grid that fills the
width, and the editor side by side, with a zoom for the thumbnails. "Back to the canvas"
(or Ctrl+L again) puts the panel back in its dock and the docks back as they were.

It is the same panel (one catalog, one undo stack, one selection), moved, never a copy.
The window needs no code of its own for it: :class:`LibraryMode` wraps the window's
central widget in a stack the first time it is used.

Drivable from tests: ``mode = library_mode(window)``, ``mode.enter()``, ``mode.leave()``,
``mode.is_active()``, ``mode.view.zoom`` (a slider of thumbnail sizes).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSlider,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from .settings import app_settings

THUMB_SIZES = (96, 128, 192, 256)
DEFAULT_LIBRARY_THUMB = 192


class LibraryView(QWidget):
    """The page: a bar (title, thumbnail zoom, Back) above the panel it hosts."""

    back_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("<b>Library</b>")
        self.zoom = QSlider(Qt.Orientation.Horizontal)
        self.zoom.setRange(0, len(THUMB_SIZES) - 1)
        self.zoom.setPageStep(1)
        self.zoom.setFixedWidth(160)
        self.zoom.setToolTip("Thumbnail size")
        self.back_button = QPushButton("Back to the canvas")
        self.back_button.setToolTip("Put the library back in its dock (Ctrl+L)")
        self.back_button.clicked.connect(self.back_requested.emit)
        bar = QHBoxLayout()
        bar.addWidget(self.title, 1)
        bar.addWidget(QLabel("Thumbnails"))
        bar.addWidget(self.zoom)
        bar.addWidget(self.back_button)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(8, 6, 8, 8)
        self._layout.addLayout(bar)
        self.panel: QWidget | None = None

    def host(self, panel: QWidget) -> None:
        self.panel = panel
        self._layout.addWidget(panel, 1)
        panel.show()

    def release(self) -> QWidget | None:
        panel, self.panel = self.panel, None
        if panel is not None:
            self._layout.removeWidget(panel)
        return panel


class LibraryMode(QObject):
    """Switches a main window between its canvas and the full-window library."""

    toggled = Signal(bool)  # True: the library fills the window

    def __init__(self, window: QMainWindow, panel: QWidget, dock: QDockWidget) -> None:
        super().__init__(window)
        self.window, self.panel, self.dock = window, panel, dock
        self.view = LibraryView()
        self.view.back_requested.connect(self.leave)
        self.view.zoom.valueChanged.connect(self._zoom_changed)
        self._stack: QStackedWidget | None = None
        self._hidden_docks: list[QDockWidget] = []
        self._dock_thumb = 128
        self._dock_sizes: list[int] = []

    def is_active(self) -> bool:
        return self._stack is not None and self._stack.currentWidget() is self.view

    def toggle(self) -> None:
        self.leave() if self.is_active() else self.enter()

    def _ensure_stack(self) -> QStackedWidget:
        if self._stack is None:
            canvas = self.window.takeCentralWidget()
            stack = QStackedWidget()
            stack.setObjectName("central-stack")
            if canvas is not None:
                stack.addWidget(canvas)
            stack.addWidget(self.view)
            self.window.setCentralWidget(stack)
            self._stack = stack
        return self._stack

    def enter(self) -> None:
        if self.is_active():
            return
        stack = self._ensure_stack()
        holder = self.dock.widget()
        if isinstance(holder, QScrollArea) and holder.widget() is self.panel:
            holder.takeWidget()
        self.view.host(self.panel)
        workspace = getattr(self.panel, "workspace", None)
        self.view.title.setText(f"<b>Library</b> — {workspace}" if workspace else "<b>Library</b>")
        self._dock_thumb = int(getattr(self.panel, "thumb_size", lambda: 128)())
        size = int(app_settings().value("library/thumb_size", DEFAULT_LIBRARY_THUMB))
        index = min(range(len(THUMB_SIZES)), key=lambda i: abs(THUMB_SIZES[i] - size))
        self.view.zoom.blockSignals(True)
        self.view.zoom.setValue(index)
        self.view.zoom.blockSignals(False)
        self._set_thumb(THUMB_SIZES[index])
        self._hidden_docks = [d for d in self.window.findChildren(QDockWidget) if d.isVisible()]
        for d in self._hidden_docks:
            d.hide()
        stack.setCurrentWidget(self.view)
        roomy = getattr(self.panel, "give_the_grid_the_room", None)
        if callable(roomy):
            self._dock_sizes = roomy(self.window.width())
        self.toggled.emit(True)

    def leave(self) -> None:
        if not self.is_active() or self._stack is None:
            return
        panel = self.view.release()
        self._set_thumb(self._dock_thumb)
        restore = getattr(self.panel, "restore_layout_sizes", None)
        if callable(restore):
            restore(self._dock_sizes)
        holder = self.dock.widget()
        if panel is not None and isinstance(holder, QScrollArea):
            holder.setWidget(panel)
        self._stack.setCurrentIndex(0)
        for d in self._hidden_docks:
            d.show()
        self._hidden_docks = []
        self.dock.raise_()
        self.toggled.emit(False)

    def _zoom_changed(self, index: int) -> None:
        size = THUMB_SIZES[index]
        app_settings().setValue("library/thumb_size", size)
        self._set_thumb(size)

    def _set_thumb(self, size: int) -> None:
        setter = getattr(self.panel, "set_thumb_size", None)
        if callable(setter):
            setter(size)


def library_mode(window: QMainWindow) -> LibraryMode | None:
    """The window's library mode (made on first use); None without a dataset library."""
    mode = getattr(window, "_library_mode", None)
    if mode is None:
        panel = getattr(window, "datasets_panel", None)
        dock = getattr(window, "datasets_dock", None)
        if not getattr(window, "has_library", False) or panel is None or dock is None:
            return None
        mode = LibraryMode(window, panel, dock)
        action = getattr(window, "library_action", None)
        if action is not None:  # the menu's tick follows the mode, however it changed
            mode.toggled.connect(action.setChecked)
        window._library_mode = mode  # type: ignore[attr-defined]
    return mode
