"""Models panel: every model file in the user's models folder and the shipped starter
models, with its card and a thumbnail (a stylized sample, rendered in a worker and cached).
Import (safetensors only), export, rename and delete-to-trash, with undo.

Reading a card uses engine.modelfile, which imports torch, so cards are read in a worker
too: the panel never blocks the window on torch.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import time
from dataclasses import dataclass, field
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
from ganstyle_desktop.ui.jobs import BackgroundTask
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


@dataclass
class ModelEntry:
    path: Path
    card: dict | None  # ModelCard.to_dict(), None when unreadable
    name: str
    starter: bool = False
    error: str = ""
    style_files: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        if self.card is None:
            return f"Unreadable: {self.error}"
        c = self.card
        names = [
            str(t.get("name") or t.get("slug"))
            for t in c.get("traditions", [])
            if isinstance(t, dict)
        ]
        # A long list of traditions belongs in the tooltip, not in every row.
        traditions = ", ".join(names) if len(names) <= 2 else f"{len(names)} traditions"
        date = str(c.get("created", ""))[:10]
        bits = [
            traditions or "style not named",
            c.get("method") or "?",
            f"{c.get('steps', 0)} steps",
        ]
        if date:
            bits.append(date)
        return " · ".join(str(b) for b in bits)


def sidecar(path: Path) -> Path:
    return path.with_suffix(".json")


def _move_with_sidecar(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    src.replace(dst) if src.parent.anchor == dst.parent.anchor else shutil.move(str(src), dst)
    if sidecar(src).exists():
        shutil.move(str(sidecar(src)), sidecar(dst))


# -- worker functions (run off the GUI thread; they may import torch) ----------------


def scan_models(folders: list[tuple[Path, bool]]) -> list[ModelEntry]:
    from ganstyle_desktop.engine.modelfile import ModelFileError, model_display_name, read_card

    entries: list[ModelEntry] = []
    for folder, starter in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.safetensors")):
            if any(part.startswith(".") for part in path.relative_to(folder).parts):
                continue
            try:
                card = read_card(path)
            except (ModelFileError, OSError) as exc:
                entries.append(ModelEntry(path, None, path.stem, starter, str(exc)))
                continue
            styles = []
            for row in card.data_provenance:
                p = row.get("path") or row.get("file") if isinstance(row, dict) else None
                if p and Path(p).is_file() and row.get("role", "style") == "style":
                    styles.append(Path(p))
            entries.append(
                ModelEntry(path, card.to_dict(), model_display_name(card), starter, "", styles[:4])
            )
    return entries


def thumbnail_cache_key(path: Path) -> str:
    stat = path.stat()
    return hashlib.sha1(f"{path.resolve()}|{stat.st_mtime_ns}|{stat.st_size}".encode()).hexdigest()


def render_thumbnails(
    model_paths: list[Path], sample: Path, cache_dir: Path, report, control
) -> int:
    """Stylize a small copy of the sample with each model; report (model, png) as each lands."""
    import numpy as np
    from PIL import Image

    from ganstyle_desktop.engine.imageio import load_rgb
    from ganstyle_desktop.engine.modelfile import load_model
    from ganstyle_desktop.engine.stylize import stylize_array

    cache_dir.mkdir(parents=True, exist_ok=True)
    small = load_rgb(sample)
    small.thumbnail((THUMB_SIDE * 2, THUMB_SIDE * 2))
    pixels = np.asarray(small)
    made = 0
    for path in model_paths:
        control.raise_if_cancelled()
        try:
            target = cache_dir / f"{thumbnail_cache_key(path)}.png"
            if not target.exists():
                model = load_model(path)
                out = stylize_array(model, pixels, device="cpu", control=control)
                Image.fromarray(out).save(target)
                made += 1
            report((str(path), str(target)))
        except Exception as exc:  # noqa: BLE001 - one bad model must not stop the rest
            log.warning("thumbnail for %s failed: %s", path.name, exc)
    return made


def import_model_file(src: Path, dest_dir: Path) -> str:
    from ganstyle_desktop.engine.atomic import atomic_path
    from ganstyle_desktop.engine.modelfile import verify_model_file

    verify_model_file(src)  # refuses pickles (UnsafeModelFile) and broken files with the reason
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / src.name
    n = 2
    while dest.exists():
        dest = dest_dir / f"{src.stem}-{n}{src.suffix}"
        n += 1
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)
    if sidecar(src).exists():
        shutil.copyfile(sidecar(src), sidecar(dest))
    return str(dest)


def export_model_file(src: Path, dest: Path) -> str:
    from ganstyle_desktop.engine.atomic import atomic_path

    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)
    if sidecar(src).exists():
        shutil.copyfile(sidecar(src), sidecar(dest))
    return str(dest)


# -- undoable edits ----------------------------------------------------------------------


class RenameModelCommand(QUndoCommand):
    def __init__(self, panel: ModelsPanel, path: Path, new_path: Path) -> None:
        super().__init__(f"Rename model {path.stem} to {new_path.stem}")
        self.panel, self.path, self.new_path = panel, path, new_path

    def redo(self) -> None:
        _move_with_sidecar(self.path, self.new_path)
        self.panel.refresh()

    def undo(self) -> None:
        _move_with_sidecar(self.new_path, self.path)
        self.panel.refresh()


class DeleteModelCommand(QUndoCommand):
    """Moves the model (and its card sidecar) to the trash folder; undo brings it back."""

    def __init__(self, panel: ModelsPanel, path: Path) -> None:
        super().__init__(f"Delete model {path.stem}")
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
    """Signals: ``model_selected(str)`` a model file to stylize with (empty: none);
    ``models_listed(int)`` after each scan; ``error_raised(title, message)``."""

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
        self._thumbs = BackgroundTask(self, "model-thumbnails")
        self._thumbs.progress.connect(self._on_thumbnail)
        self._thumbs.finished.connect(lambda _n: self.thumbnails_done.emit())
        self._thumbs.failed.connect(lambda m: log.warning("thumbnails failed: %s", m))
        self._file_tasks: list[BackgroundTask] = []
        self._rescan_wanted = False
        self._selected_path = ""

        self.list = QListWidget()
        self.list.setIconSize(QSize(THUMB_SIDE, THUMB_SIDE))
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        self.list.currentItemChanged.connect(self._on_current)
        self.list.itemDoubleClicked.connect(
            lambda item: self.model_selected.emit(item.data(PATH_ROLE))
        )
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

    def refresh(self) -> None:
        """Re-read the model folders in a worker (coalesced while one scan runs)."""
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
        current = self.current_path() or self._selected_path
        self.entries = {str(e.path): e for e in entries}
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
        empty = not entries
        self.list.setVisible(not empty)
        self.empty_label.setVisible(empty)
        self._update_buttons()
        if to_render and not self._thumbs.is_running():
            self._thumbs.run(render_thumbnails, to_render, sample_photo_path(), cache)
        self.models_listed.emit(len(entries))

    def _placeholder_icon(self) -> QIcon:
        image = QImage(THUMB_SIDE, THUMB_SIDE, QImage.Format.Format_RGB32)
        image.fill(self.palette().mid().color())
        return QIcon(QPixmap.fromImage(image))

    def _on_thumbnail(self, item: Any) -> None:
        model, png = item
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
        self._selected_path = dest
        self.imported.emit(dest)
        self.refresh()

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
        self._selected_path = str(new_path)
        self.undo_stack.push(RenameModelCommand(self, path, new_path))
        return True

    def delete_selected(self) -> bool:
        entry = self.current_entry()
        if entry is None or entry.starter:
            return False
        self.undo_stack.push(DeleteModelCommand(self, entry.path))
        return True

    def shutdown(self, timeout_ms: int = 5000) -> None:
        tasks = [self._scan, self._thumbs, *self._file_tasks]
        for task in tasks:
            task.cancel()
        for task in tasks:
            task.wait(timeout_ms)
