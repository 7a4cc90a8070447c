"""Undoable edits of the dataset library, as QUndoCommands.

Each command calls a library edit that returns what it replaced and undoes with that.
``changed(kind)`` is called after every redo and undo ("images" or "datasets") so the
panel refreshes its views.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from PySide6.QtGui import QUndoCommand

from ganstyle_desktop.library.catalog import Catalog

Changed = Callable[..., None]  # changed(kind) or changed("images", image_ids)


class EditImageFieldsCommand(QUndoCommand):
    def __init__(
        self,
        catalog: Catalog,
        image_ids: Iterable[int],
        fields: Mapping[str, Any],
        changed: Changed,
    ) -> None:
        self.image_ids = list(image_ids)
        n = len(self.image_ids)
        super().__init__(f"Edit {', '.join(fields)} of {n} image{'s' if n != 1 else ''}")
        self.catalog, self.fields, self.changed = catalog, dict(fields), changed
        self._old: dict[int, dict[str, Any]] = {}

    def redo(self) -> None:
        self._old = self.catalog.update_image_fields(self.image_ids, self.fields)
        self.changed("images", self.image_ids)

    def undo(self) -> None:
        self.catalog.set_image_fields(self._old)
        self.changed("images", self.image_ids)


class DeleteImagesCommand(QUndoCommand):
    """Moves images to the trash; undo restores them."""

    def __init__(self, catalog: Catalog, image_ids: Iterable[int], changed: Changed) -> None:
        self.image_ids = list(image_ids)
        n = len(self.image_ids)
        super().__init__(f"Delete {n} image{'s' if n != 1 else ''}")
        self.catalog, self.changed = catalog, changed
        self._moved: list[int] = []

    def redo(self) -> None:
        self._moved = self.catalog.delete_images(self.image_ids)
        self.changed("datasets")

    def undo(self) -> None:
        self.catalog.restore_images(self._moved)
        self.changed("datasets")


class EditDatasetCommand(QUndoCommand):
    """Dataset fields or its pipeline."""

    def __init__(
        self, catalog: Catalog, dataset_id: int, fields: Mapping[str, Any], changed: Changed
    ) -> None:
        label = "pipeline" if set(fields) == {"pipeline"} else ", ".join(fields)
        super().__init__(f"Edit dataset {label}")
        self.catalog, self.dataset_id, self.fields, self.changed = (
            catalog,
            dataset_id,
            dict(fields),
            changed,
        )
        self._old: dict[str, Any] = {}

    def redo(self) -> None:
        self._old = self.catalog.update_dataset(self.dataset_id, **self.fields)
        self.changed("datasets")

    def undo(self) -> None:
        self.catalog.update_dataset(self.dataset_id, **self._old)
        self.changed("datasets")


class CreateDatasetCommand(QUndoCommand):
    """Creates a dataset; undo moves it to the trash, redo brings the same one back."""

    def __init__(self, catalog: Catalog, fields: Mapping[str, Any], changed: Changed) -> None:
        super().__init__(f"New dataset {fields.get('name', '')!r}")
        self.catalog, self.fields, self.changed = catalog, dict(fields), changed
        self.dataset_id: int | None = None

    def redo(self) -> None:
        if self.dataset_id is None:
            self.dataset_id = self.catalog.create_dataset(**self.fields)
        else:
            self.catalog.restore_dataset(self.dataset_id)
        self.changed("datasets")

    def undo(self) -> None:
        if self.dataset_id is not None:
            self.catalog.delete_dataset(self.dataset_id)
        self.changed("datasets")


class DeleteDatasetCommand(QUndoCommand):
    def __init__(self, catalog: Catalog, dataset_id: int, changed: Changed) -> None:
        super().__init__(f"Delete dataset {catalog.get_dataset(dataset_id).name!r}")
        self.catalog, self.dataset_id, self.changed = catalog, dataset_id, changed

    def redo(self) -> None:
        self.catalog.delete_dataset(self.dataset_id)
        self.changed("datasets")

    def undo(self) -> None:
        self.catalog.restore_dataset(self.dataset_id)
        self.changed("datasets")


class KeepDuplicatesCommand(QUndoCommand):
    """Keeps near duplicates (they are trained on after all), or leaves them out again."""

    def __init__(
        self, catalog: Catalog, image_ids: Iterable[int], kept: bool, changed: Changed
    ) -> None:
        self.image_ids = list(image_ids)
        n = len(self.image_ids)
        what = "Keep" if kept else "Leave out"
        super().__init__(f"{what} {n} near duplicate{'s' if n != 1 else ''}")
        self.catalog, self.kept, self.changed = catalog, kept, changed
        self._old: dict[int, bool] = {}

    def redo(self) -> None:
        self._old = self.catalog.set_duplicate_kept(self.image_ids, self.kept)
        self.changed("images", self.image_ids)

    def undo(self) -> None:
        self.catalog.restore_duplicate_kept(self._old)
        self.changed("images", self.image_ids)
