"""Models panel: every model file in the user's models folder and the shipped starter
models, with its card and a thumbnail (a stylized sample, rendered in a worker and cached).
Import (safetensors only), export, rename and delete-to-trash, with undo.

Cards, thumbnails, imports and exports run through ui/jobs (the engine imports torch), so
the panel never blocks the window.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ganstyle_desktop import paths
from ganstyle_desktop.ui.jobs import BackgroundTask, WorkQueue
from ganstyle_desktop.ui.jobs.models import (
    ModelEntry,
    export_model_file,
    import_model_file,
    render_model_thumbnail,
    scan_models,
    sidecar,
    thumbnail_cache_key,
)
from ganstyle_desktop.ui.sample import sample_photo_path
from ganstyle_desktop.ui.settings import last_folder, remember_folder

log = logging.getLogger(__name__)

PATH_ROLE = Qt.ItemDataRole.UserRole
MODEL_FILTER = "GANStyle models (*.safetensors);;All files (*)"
THUMB_SIDE = 96
EMPTY_TEXT = (
    "<b>No models yet.</b><br>Train one in the <i>Training</i> panel (a tiny run takes a "
    "minute), or add a <i>.safetensors</i> model file with <i>File &gt; Import Model…</i>"
)


def _move_with_sidecar(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    src.replace(dst) if src.parent.anchor == dst.parent.anchor else shutil.move(str(src), dst)
    if sidecar(src).exists():
        shutil.move(str(sidecar(src)), sidecar(dst))


# -- undoable edits ----------------------------------------------------------------------


class RenameModelCommand(QUndoCommand):
    def __init__(self, panel: ModelsPanel, path: Path, new_path: Path, name: str = "") -> None:
        super().__init__(f"Rename model “{name or path.stem}” to {new_path.stem}")
        self.panel, self.path, self.new_path = panel, path, new_path

    def redo(self) -> None:
        _move_with_sidecar(self.path, self.new_path)
        self.panel.refresh()

    def undo(self) -> None:
        _move_with_sidecar(self.new_path, self.path)
        self.panel.refresh()


class DeleteModelCommand(QUndoCommand):
    """Moves the model (and its card sidecar) to the trash folder; undo brings it back."""

    def __init__(self, panel: ModelsPanel, path: Path, name: str = "") -> None:
        super().__init__(f"Delete model “{name or path.stem}”")
        self.panel, self.path = panel, path
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.trashed = paths.trash_dir() / "models" / f"{stamp}-{path.name}"

    def redo(self) -> None:
        _move_with_sidecar(self.path, self.trashed)
        self.panel.refresh()

    def undo(self) -> None:
        _move_with_sidecar(self.trashed, self.path)
        self.panel.refresh()


# -- the panel -----------------------------------------------------------------------------


class ModelsPanel(QWidget):
    """The one place a model is chosen: its selection is the canvas' active model.

    Signals: ``model_selected(str)`` a model file to stylize with (empty: none), also
    when the selected row is clicked again; ``models_listed(int)`` after each scan;
    ``error_raised(title, message)``."""

    model_selected = Signal(str)
    models_listed = Signal(int)
    thumbnails_done = Signal()
    error_raised = Signal(str, str)
    imported = Signal(str)
    exported = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.entries: dict[str, ModelEntry] = {}
        self._scan = BackgroundTask(self, "model-cards")
        self._scan.finished.connect(self._on_scanned)
        self._scan.failed.connect(lambda m: self.error_raised.emit("Could not list models", m))
        self._thumbs = WorkQueue(self, "model-thumbnails")
        self._thumbs.item_ready.connect(self._on_thumbnail)
        self._thumbs.item_failed.connect(
            lambda model, m: log.warning("thumbnail for %s failed: %s", model, m)
        )
        self._thumbs.drained.connect(self.thumbnails_done.emit)
        self._file_tasks: list[BackgroundTask] = []
        self._rescan_wanted = False
        self._selected_path = ""
        self._select_after_scan = ""

        self.list = QListWidget()
        self.list.setIconSize(QSize(THUMB_SIDE, THUMB_SIDE))
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        self.list.currentItemChanged.connect(self._on_current)
        self.list.itemDoubleClicked.connect(
            lambda item: self.model_selected.emit(item.data(PATH_ROLE))
        )
        # Clicking the selected row makes it the active model again (after another
        # model was used from elsewhere, the starter included).
        self.list.itemClicked.connect(self._on_clicked)
        self.empty_label = QLabel(EMPTY_TEXT)
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setTextFormat(Qt.TextFormat.RichText)
        self.empty_label.setMargin(12)
        self.empty_label.setVisible(False)

        self.import_button = QPushButton("Import…")
        self.export_button = QPushButton("Export…")
        self.rename_button = QPushButton("Rename…")
        self.delete_button = QPushButton("Delete")
        self.import_button.clicked.connect(self.choose_import)
        self.export_button.clicked.connect(self.choose_export)
        self.rename_button.clicked.connect(self.choose_rename)
        self.delete_button.clicked.connect(self.delete_selected)
        row = QGridLayout()  # two by two, so the dock can be narrow
        for i, b in enumerate(
            (self.import_button, self.export_button, self.rename_button, self.delete_button)
        ):
            row.addWidget(b, i // 2, i % 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty_label, 1)
        layout.addLayout(row)
        self._update_buttons()

    # -- listing ---------------------------------------------------------------------
    def folders(self) -> list[tuple[Path, bool]]:
        return [(paths.user_models_dir(), False), (paths.starter_models_dir(), True)]

    def refresh(self, select: str | Path | None = None) -> None:
        """Re-read the model folders in a worker (coalesced while one scan runs);
        ``select`` is the model to select once listed (a model just added)."""
        if select:
            self._select_after_scan = str(select)
        if self._scan.is_running():
            self._rescan_wanted = True
            return
        self._scan.run(scan_models, self.folders())

    def is_busy(self) -> bool:
        running = [t for t in (self._scan, self._thumbs, *self._file_tasks) if t.is_running()]
        return bool(running)

    def _on_scanned(self, entries: list[ModelEntry]) -> None:
        if self._rescan_wanted:
            self._rescan_wanted = False
            self.refresh()
            return
        previous = self.current_path()
        current = self._select_after_scan or previous or self._selected_path
        self._select_after_scan = ""
        self.entries = {str(e.path): e for e in entries}
        # Rebuilt quietly: a rescan must not flip the active model through the first row
        # on the way (that would cancel a stylize); only a real change is announced.
        self.list.blockSignals(True)
        self.list.clear()
        cache = paths.user_data_dir() / "cache" / "thumbnails"
        to_render: list[Path] = []
        for e in entries:
            item = QListWidgetItem(f"{e.name}{'  (starter)' if e.starter else ''}\n{e.summary()}")
            item.setData(PATH_ROLE, str(e.path))
            item.setToolTip(self._tooltip(e))
            cached = None
            if e.card is not None:
                try:
                    cached = cache / f"{thumbnail_cache_key(e.path)}.png"
                except OSError:
                    cached = None
            if cached is not None and cached.exists():
                item.setIcon(QIcon(QPixmap(str(cached))))
            elif e.card is not None:
                item.setIcon(self._placeholder_icon())
                to_render.append(e.path)
            self.list.addItem(item)
            if str(e.path) == current:
                self.list.setCurrentItem(item)
        if self.list.currentItem() is not None and self.current_path() != current:
            self.list.setCurrentRow(-1)  # no row chosen by default: nothing looks active
        self.list.blockSignals(False)
        if self.current_path() != previous:
            self._on_current()
        empty = not entries
        self.list.setVisible(not empty)
        self.empty_label.setVisible(empty)
        self._update_buttons()
        # Oldest first in the queue: it runs newest first, so the list's top comes last;
        # reversed, the first rows of the list get their thumbnails first.
        self._thumbs.clear()
        for path in reversed(to_render):
            self._thumbs.submit(
                str(path), render_model_thumbnail, path, sample_photo_path(), cache, THUMB_SIDE
            )
        self.models_listed.emit(len(entries))

    def _placeholder_icon(self) -> QIcon:
        image = QImage(THUMB_SIDE, THUMB_SIDE, QImage.Format.Format_RGB32)
        image.fill(self.palette().mid().color())
        return QIcon(QPixmap.fromImage(image))

    def _on_thumbnail(self, model: str, png: str) -> None:
        for i in range(self.list.count()):
            row = self.list.item(i)
            if row.data(PATH_ROLE) == model:
                row.setIcon(QIcon(QPixmap(png)))

    @staticmethod
    def _tooltip(e: ModelEntry) -> str:
        if e.card is None:
            return f"{e.path}\n{e.error}"
        c = e.card
        lines = [str(e.path), f"Method: {c.get('method')}  Preset: {c.get('preset')}"]
        for t in c.get("traditions", []):
            if isinstance(t, dict):
                extra = ", ".join(str(t[k]) for k in ("culture", "region", "era") if t.get(k))
                lines.append(
                    f"Tradition: {t.get('name') or t.get('slug')}{f' ({extra})' if extra else ''}"
                )
        lines.append(
            f"Trained {c.get('steps')} steps at {c.get('training_size')} px, {c.get('created', '')[:19]}"
        )
        return "\n".join(lines)

    # -- selection ----------------------------------------------------------------------
    def current_path(self) -> str:
        item = self.list.currentItem()
        return item.data(PATH_ROLE) if item is not None else ""

    def current_entry(self) -> ModelEntry | None:
        return self.entries.get(self.current_path())

    def select_path(self, path: str | Path) -> bool:
        for i in range(self.list.count()):
            if Path(self.list.item(i).data(PATH_ROLE)) == Path(path):
                self.list.setCurrentRow(i)
                return True
        self._selected_path = str(path)
        return False

    def _on_clicked(self, item: QListWidgetItem) -> None:
        entry = self.entries.get(item.data(PATH_ROLE))
        if entry is not None and entry.card is not None and item is self.list.currentItem():
            self.model_selected.emit(str(entry.path))

    def name_of(self, path: str | Path | None) -> str:
        """The name the list shows for ``path`` ("" when it is not listed)."""
        entry = self.entries.get(str(path)) if path else None
        return entry.name if entry is not None else ""

    def clear_selection(self) -> None:
        """No row selected: the active model is not one of the listed ones."""
        self.list.blockSignals(True)
        self.list.setCurrentRow(-1)
        self.list.clearSelection()
        self.list.blockSignals(False)
        self._update_buttons()

    def _on_current(self, *_: Any) -> None:
        self._update_buttons()
        entry = self.current_entry()
        if entry is not None and entry.card is not None:
            self._selected_path = str(entry.path)
            self.model_selected.emit(str(entry.path))

    def _update_buttons(self) -> None:
        entry = self.current_entry()
        own = entry is not None and not entry.starter
        self.export_button.setEnabled(entry is not None and entry.card is not None)
        self.rename_button.setEnabled(own)
        self.delete_button.setEnabled(own)

    # -- file actions --------------------------------------------------------------------
    def choose_import(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, "Import a model", last_folder("models"), MODEL_FILTER
        )
        if name:
            remember_folder("models", name)
            self.import_model(Path(name))

    def _file_job(self, title: str, on_done, fn, *args: Any) -> BackgroundTask:
        """One task per file operation; it is dropped once its thread has ended."""
        task = BackgroundTask(self, "model-file")
        self._file_tasks.append(task)
        task.finished.connect(on_done)
        task.failed.connect(lambda m: self.error_raised.emit(title, m))
        task.state_changed.connect(
            lambda state: (
                self._file_tasks.remove(task)
                if state == "idle" and task in self._file_tasks
                else None
            )
        )
        task.run(fn, *args)
        return task

    def import_model(self, src: Path) -> BackgroundTask:
        """Copy a model file into the user's models folder after the engine checks it."""
        return self._file_job(
            "Model not imported",
            self._on_imported,
            import_model_file,
            Path(src),
            paths.user_models_dir(),
        )

    def _on_imported(self, dest: str) -> None:
        self.imported.emit(dest)
        self.refresh(select=dest)

    def choose_export(self) -> None:
        entry = self.current_entry()
        if entry is None:
            return
        start = str(Path(last_folder("export")) / entry.path.name)
        name, _ = QFileDialog.getSaveFileName(self, "Export model", start, MODEL_FILTER)
        if name:
            remember_folder("export", name)
            self.export_model(entry.path, Path(name))

    def export_model(self, src: Path, dest: Path) -> BackgroundTask:
        if dest.suffix != ".safetensors":
            dest = dest.with_suffix(".safetensors")
        return self._file_job(
            "Model not exported", self.exported.emit, export_model_file, Path(src), dest
        )

    def choose_rename(self) -> None:
        entry = self.current_entry()
        if entry is None or entry.starter:
            return
        name, ok = QInputDialog.getText(
            self, "Rename model", "New file name:", text=entry.path.stem
        )
        if ok and name.strip():
            self.rename_model(entry.path, name.strip())

    def rename_model(self, path: Path, new_stem: str) -> bool:
        bad = set('/\\:*?"<>|')
        if any(ch in bad for ch in new_stem) or new_stem.startswith("."):
            self.error_raised.emit(
                "Model not renamed",
                f'“{new_stem}” cannot be a file name; avoid / \\ : * ? " < > |.',
            )
            return False
        new_path = path.with_name(new_stem + path.suffix)
        if new_path.exists():
            self.error_raised.emit(
                "Model not renamed", f"A model named {new_path.name} already exists."
            )
            return False
        self._select_after_scan = str(new_path)
        self.undo_stack.push(RenameModelCommand(self, path, new_path, self.name_of(path)))
        return True

    def delete_selected(self) -> bool:
        entry = self.current_entry()
        if entry is None or entry.starter:
            return False
        self.undo_stack.push(DeleteModelCommand(self, entry.path, entry.name))
        return True

    def shutdown(self, timeout_ms: int = 5000) -> None:
        tasks = [self._scan, self._thumbs, *self._file_tasks]
        for task in tasks:
            task.stop()
        for task in tasks:
            task.wait(timeout_ms)
