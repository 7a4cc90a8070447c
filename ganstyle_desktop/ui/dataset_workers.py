"""Background work for the datasets panel: imports and augmentation previews.

Each is a QThread subclass created in the GUI thread, so its signals belong to the GUI
thread and reach slots (and ``qtbot.waitSignal``) by queued connection. Workers open their
own catalog connection, never touch widgets, and stop cooperatively through JobControl.
The preview imports the engine (and so torch) inside ``run``: off the GUI thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal

from ganstyle_desktop.engine.config import PipelineConfig
from ganstyle_desktop.engine.control import JobControl
from ganstyle_desktop.library.catalog import Catalog
from ganstyle_desktop.library.importer import Importer, ImportOptions

log = logging.getLogger(__name__)


class ImportThread(QThread):
    """Imports ``paths`` into a dataset; with no dataset, ``paths[0]`` is a dataset archive
    (recreated as a new dataset) or a CSV/JSON manifest (one dataset per dataset column)."""

    progress_changed = Signal(int, int, str)
    report_ready = Signal(object)  # ImportReport
    import_failed = Signal(str)

    def __init__(
        self,
        workspace: Path,
        dataset_id: int | None,
        paths: list[Path],
        options: ImportOptions | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("dataset-import")
        self.workspace, self.dataset_id, self.paths = Path(workspace), dataset_id, list(paths)
        self.options = options or ImportOptions()
        self.control = JobControl()
        self._last_percent = -1

    def cancel(self) -> None:
        self.control.cancel()

    def _progress(self, done: int, total: int, name: str) -> None:
        percent = int(100 * done / total) if total else 100
        if percent != self._last_percent or done == total:  # emit only on visible change
            self._last_percent = percent
            self.progress_changed.emit(done, total, Path(name).name if name else "")

    def run(self) -> None:
        try:
            with Catalog.open(self.workspace, create=False) as catalog:
                importer = Importer(catalog, self.options, self._progress, self.control)
                if self.dataset_id is None and self.paths[0].suffix.lower() in (".csv", ".json"):
                    report = importer.import_manifest(self.paths[0])
                elif self.dataset_id is None:
                    report = importer.import_dataset_archive(self.paths[0])
                else:
                    report = importer.import_paths(self.dataset_id, self.paths)
        except Exception as exc:  # noqa: BLE001 - shown to the person, with the reason
            log.exception("import failed")
            self.import_failed.emit(str(exc))
            return
        self.report_ready.emit(report)


@dataclass(frozen=True)
class PreviewRequest:
    image_path: Path
    pipeline: PipelineConfig
    n: int = 8
    size: int = 96
    seed: int = 0


class AugmentPreviewThread(QThread):
    """Runs ``engine.data.augment_preview`` for one request; the panel keeps only the newest."""

    previews_ready = Signal(object, object)  # (PreviewRequest, list[np.ndarray])
    preview_failed = Signal(str)

    def __init__(self, request: PreviewRequest, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dataset-augment-preview")
        self.request = request

    def run(self) -> None:
        try:
            from ganstyle_desktop.engine.data import augment_preview
            from ganstyle_desktop.engine.imageio import load_rgb

            r = self.request
            image = load_rgb(r.image_path)
            arrays = augment_preview(image, r.pipeline, r.n, r.size, r.seed)
        except Exception as exc:  # noqa: BLE001
            log.exception("augmentation preview failed")
            self.preview_failed.emit(str(exc))
            return
        self.previews_ready.emit(self.request, arrays)
