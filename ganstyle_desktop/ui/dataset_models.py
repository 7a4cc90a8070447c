"""Qt models over the dataset library: the dataset list and the lazy thumbnail grid.

The grid model never decodes an image in the GUI thread. ``data(DecorationRole)`` is only
asked for rows the view shows (the view uses uniform item sizes), so only visible rows
request a thumbnail: the model's :class:`~.jobs.WorkQueue` makes (or finds) the cached
``thumbs/<sha>_<size>.jpg`` in its worker and loads it as a QImage, which becomes a pixmap
in a small LRU cache in the GUI thread. Until then the row shows a placeholder. Newer
requests run first, so scrolling fast does not queue behind rows already gone from view.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap

from ganstyle_desktop.library.records import Dataset, ImageRecord
from ganstyle_desktop.ui.jobs import WorkQueue
from ganstyle_desktop.ui.jobs.library import dataset_thumbnail

log = logging.getLogger(__name__)

DatasetRole = Qt.ItemDataRole.UserRole + 1
ImageRole = Qt.ItemDataRole.UserRole + 2
ThumbnailReadyRole = Qt.ItemDataRole.UserRole + 3

_Index = QModelIndex | QPersistentModelIndex


class DatasetListModel(QAbstractListModel):
    """Datasets with their image counts and tradition (``DatasetRole`` gives the record)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._datasets: list[Dataset] = []

    def set_datasets(self, datasets: list[Dataset]) -> None:
        self.beginResetModel()
        self._datasets = list(datasets)
        self.endResetModel()

    def datasets(self) -> list[Dataset]:
        return list(self._datasets)

    def row_of(self, dataset_id: int) -> int:
        for row, d in enumerate(self._datasets):
            if d.id == dataset_id:
                return row
        return -1

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._datasets)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._datasets):
            return None
        d = self._datasets[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            tradition = d.tradition or "no tradition set"
            kind = " · content" if d.kind == "content" else ""
            return f"{d.name} ({d.image_count}){kind}\n{tradition}"
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [d.name, d.tradition, d.region, d.era, d.description]
            if d.licenses:
                lines.append("Licenses: " + "; ".join(d.licenses))
            return "\n".join(x for x in lines if x)
        if role == DatasetRole:
            return d
        return None


class ImageGridModel(QAbstractListModel):
    """Images of the current selection with lazily made thumbnails.

    ``thumbnail_ready(row)`` fires when a row's real thumbnail arrives.
    """

    thumbnail_ready = Signal(int)

    def __init__(
        self, parent: QObject | None = None, thumb_size: int = 128, cache_size: int = 4000
    ) -> None:
        super().__init__(parent)
        self.thumb_size = thumb_size
        self._cache_size = cache_size
        self._workspace: Path | None = None
        self._images: list[ImageRecord] = []
        self._names: dict[int, str] = {}  # image id -> file name, for "looks like"
        self._rows_by_sha: dict[str, list[int]] = {}
        self._cache: OrderedDict[str, QPixmap] = OrderedDict()
        self._pending: set[str] = set()
        self._broken: dict[str, str] = {}
        self.queue = WorkQueue(self, "dataset-thumbnails")
        self.queue.item_ready.connect(self._on_loaded)
        self.queue.item_failed.connect(self._on_failed)
        self._placeholder = self._make_placeholder(QColor(70, 70, 76))
        self._broken_pixmap = self._make_placeholder(QColor(120, 40, 40))

    def _make_placeholder(self, colour: QColor) -> QPixmap:
        pixmap = QPixmap(self.thumb_size, self.thumb_size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        inset = self.thumb_size // 8
        painter.fillRect(
            inset, inset, self.thumb_size - 2 * inset, self.thumb_size - 2 * inset, colour
        )
        painter.end()
        return pixmap

    # -- contents --------------------------------------------------------
    def set_workspace(self, workspace: Path | None) -> None:
        self.queue.clear()
        self._workspace = Path(workspace) if workspace else None
        self._cache.clear()
        self._pending.clear()
        self._broken.clear()
        self.set_images([])

    def set_images(self, images: list[ImageRecord]) -> None:
        self.queue.clear()  # queued requests for the old rows are no longer wanted
        self._pending.clear()
        self.beginResetModel()
        self._images = list(images)
        self._names = {i.id: i.original_name or i.title for i in self._images}
        self._rows_by_sha = {}
        for row, image in enumerate(self._images):
            self._rows_by_sha.setdefault(image.sha256, []).append(row)
        self.endResetModel()

    def refresh_rows(self, images: list[ImageRecord]) -> None:
        """Replace records with the same ids in place (after an edit), keeping thumbnails."""
        by_id = {i.id: i for i in images}
        for row, old in enumerate(self._images):
            if old.id in by_id:
                self._images[row] = by_id[old.id]
                index = self.index(row)
                self.dataChanged.emit(index, index)

    def images(self) -> list[ImageRecord]:
        return list(self._images)

    def image_at(self, row: int) -> ImageRecord | None:
        return self._images[row] if 0 <= row < len(self._images) else None

    def row_of(self, image_id: int) -> int:
        for row, image in enumerate(self._images):
            if image.id == image_id:
                return row
        return -1

    def set_thumb_size(self, size: int) -> None:
        """Show thumbnails ``size`` pixels wide (the full-window library's zoom)."""
        if size == self.thumb_size:
            return
        self.queue.clear()
        self.beginResetModel()
        self.thumb_size = size
        self._cache.clear()
        self._pending.clear()
        self._placeholder = self._make_placeholder(QColor(70, 70, 76))
        self._broken_pixmap = self._make_placeholder(QColor(120, 40, 40))
        self.endResetModel()

    def has_thumbnail(self, row: int) -> bool:
        image = self.image_at(row)
        return image is not None and image.sha256 in self._cache

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Drop queued thumbnail work and wait for the running one (call before deleting)."""
        self.queue.stop()
        return self.queue.wait(timeout_ms)

    # -- Qt model API ----------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._images)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._images):
            return None
        image = self._images[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return image.title or image.original_name
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbnail(image.sha256)
        if role == Qt.ItemDataRole.ToolTipRole:
            parts = [
                image.title,
                image.artist,
                image.year,
                image.license,
                f"{image.width}x{image.height}",
            ]
            if image.near_duplicate_of:
                like = self._names.get(image.near_duplicate_of) or "another image"
                decision = "kept: trained on" if image.duplicate_kept else "left out of training"
                parts.append(f"looks like {like} ({decision}); Review… to decide")
            if image.notes:
                parts.append(image.notes)
            if image.sha256 in self._broken:
                parts.append(f"thumbnail failed: {self._broken[image.sha256]}")
            return "\n".join(p for p in parts if p)
        if role == Qt.ItemDataRole.SizeHintRole:
            return QSize(self.thumb_size + 16, self.thumb_size + 36)
        if role == ImageRole:
            return image
        if role == ThumbnailReadyRole:
            return image.sha256 in self._cache
        return None

    # -- thumbnails ------------------------------------------------------
    def _thumbnail(self, sha: str) -> QPixmap:
        pixmap = self._cache.get(sha)
        if pixmap is not None:
            self._cache.move_to_end(sha)
            return pixmap
        if sha in self._broken:
            return self._broken_pixmap
        if sha not in self._pending and self._workspace is not None:
            self._pending.add(sha)
            # The queue runs newest first: the most recently shown rows win.
            self.queue.submit(sha, dataset_thumbnail, self._workspace, sha, self.thumb_size)
        return self._placeholder

    @Slot(object, object)
    def _on_loaded(self, sha: str, image: QImage) -> None:
        self._pending.discard(sha)
        self._cache[sha] = QPixmap.fromImage(image)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        self._notify(sha)

    @Slot(object, str)
    def _on_failed(self, sha: str, reason: str) -> None:
        self._pending.discard(sha)
        self._broken[sha] = reason
        log.warning("thumbnail for %s failed: %s", sha[:12], reason)
        self._notify(sha)

    def _notify(self, sha: str) -> None:
        for row in self._rows_by_sha.get(sha, []):
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])
            self.thumbnail_ready.emit(row)
