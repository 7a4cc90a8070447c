"""A grid of image thumbnails that stays smooth with thousands of images.

Icon mode with uniform item sizes: Qt lays out rows without asking every item for its size,
and only paints (so only asks thumbnails for) the rows in view. Batched layout keeps the
first paint quick when a big dataset is opened.
"""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QAbstractItemView, QListView, QWidget


class ThumbnailGrid(QListView):
    def __init__(self, parent: QWidget | None = None, thumb_size: int = 128) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(200)
        self.set_thumb_size(thumb_size)
        self.setSpacing(4)
        self.setWordWrap(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        # Drops of files are handled by the panel (imports), not by moving items here.
        self.setDragDropMode(QAbstractItemView.DragDropMode.NoDragDrop)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setUniformItemSizes(True)

    def set_thumb_size(self, thumb_size: int) -> None:
        self.setIconSize(QSize(thumb_size, thumb_size))
        self.setGridSize(QSize(thumb_size + 16, thumb_size + 36))
