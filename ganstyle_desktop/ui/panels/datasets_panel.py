"""The datasets panel: style and content datasets of a workspace, their images and
metadata, imports, and each dataset's preprocessing pipeline with a preview grid.

Every edit is a QUndoCommand on ``undo_stack`` (the main window adds it to its undo group).
Imports, augmentation previews and thumbnails run through ui/jobs (a background task, a
newest-wins preview job and the grid model's work queue). The panel never imports torch:
the workers import the engine when they run.
"""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QImage, QUndoStack
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListView,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ganstyle_desktop.engine.config import PipelineConfig
from ganstyle_desktop.library.catalog import Catalog, CatalogError
from ganstyle_desktop.library.importer import ImportOptions, ImportReport
from ganstyle_desktop.library.records import Dataset, ImageRecord
from ganstyle_desktop.ui.dataset_commands import (
    CreateDatasetCommand,
    DeleteDatasetCommand,
    DeleteImagesCommand,
    EditDatasetCommand,
    EditImageFieldsCommand,
)
from ganstyle_desktop.ui.dataset_models import DatasetListModel, DatasetRole, ImageGridModel
from ganstyle_desktop.ui.errors import show_error
from ganstyle_desktop.ui.jobs import BackgroundTask, Progress, apply_pixel_limit
from ganstyle_desktop.ui.jobs.library import (
    AugmentPreviewJob,
    AugmentRequest,
    folder_manifest,
    import_into_dataset,
    import_manifest_datasets,
    plan_folder_manifest,
)
from ganstyle_desktop.ui.qimage import qimage_from_array
from ganstyle_desktop.ui.settings import pixel_limit_setting
from ganstyle_desktop.ui.widgets.dataset_pipeline_editor import DatasetPipelineEditor
from ganstyle_desktop.ui.widgets.duplicate_review_dialog import DuplicateReviewDialog
from ganstyle_desktop.ui.widgets.image_metadata_editor import ImageMetadataEditor
from ganstyle_desktop.ui.widgets.import_report_dialog import ImportReportDialog
from ganstyle_desktop.ui.widgets.manifest_import_dialog import (
    ManifestChoice,
    ManifestImportDialog,
)
from ganstyle_desktop.ui.widgets.thumbnail_grid import ThumbnailGrid

log = logging.getLogger(__name__)

_ANY = ""  # item data of the "any" entry in the filter menus
_TABS = ("Image", "Dataset", "Pipeline")


class DatasetsPanel(QWidget):
    """``open_workspace(path)``, then browse, import, edit (undoable), filter, preview."""

    datasets_changed = Signal()
    dataset_selected = Signal(int)
    import_started = Signal()
    import_progress = Signal(int, int, str)
    import_finished = Signal(object)  # ImportReport, after the worker thread has ended
    import_failed = Signal(str)
    images_shown = Signal(int)  # the grid was refilled with this many images
    preview_ready = Signal(list)  # list[QImage]
    manifest_offered = Signal(object)  # the ManifestImportDialog a folder's manifest opened
    library_changed = Signal()  # an edit (or its undo) changed the catalog

    def __init__(
        self,
        parent: QWidget | None = None,
        workspace: Path | str | None = None,
        thumb_size: int = 128,
        show_report_dialog: bool = True,
    ) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.catalog: Catalog | None = None
        self.import_options = ImportOptions()
        self.show_report_dialog = show_report_dialog
        self.report_dialog: ImportReportDialog | None = None
        self.last_report: ImportReport | None = None
        self._dataset_id: int | None = None
        self._reloading = False
        self.import_task = BackgroundTask(self, "dataset-import")
        self.import_task.progress.connect(self._on_import_progress)
        self.import_task.finished.connect(self._on_import_report)
        self.import_task.failed.connect(self._on_import_error)
        self.import_task.cancelled.connect(
            lambda: self._on_import_error("the import was cancelled")
        )
        self.plan_task = BackgroundTask(self, "dataset-manifest-plan")
        self.plan_task.finished.connect(self._on_manifest_planned)
        self.plan_task.failed.connect(self._on_import_error)
        self.manifest_dialog: ManifestImportDialog | None = None
        self._manifest_paths: list[Path] = []
        self.preview_job = AugmentPreviewJob(self)
        self.preview_job.finished.connect(self._on_previews)
        self.preview_job.failed.connect(
            lambda message: self.pipeline_editor.status.setText(f"Preview failed: {message}")
        )
        self._preview_seed = 0

        self.dataset_model = DatasetListModel(self)
        self.image_model = ImageGridModel(self, thumb_size=thumb_size)
        self._build_ui(thumb_size)
        self.setAcceptDrops(True)
        self._search_timer = QTimer(self, singleShot=True, interval=200)
        self._search_timer.timeout.connect(self.refresh_images)
        self._preview_timer = QTimer(self, singleShot=True, interval=300)
        self._preview_timer.timeout.connect(self.request_preview)
        self._set_enabled(False)
        # One limit for import, training, thumbnails and stylizing (Preferences).
        apply_pixel_limit(pixel_limit_setting())
        app = QCoreApplication.instance()
        if app is not None:  # a safety net: workers never outlive the application
            app.aboutToQuit.connect(self.shutdown)
        if workspace is not None:
            self.open_workspace(workspace)

    # -- layout ----------------------------------------------------------
    def _build_ui(self, thumb_size: int) -> None:
        self.tradition_combo = QComboBox()
        self.tradition_combo.setToolTip("Show the datasets of one tradition")
        self.tradition_combo.currentIndexChanged.connect(lambda _: self.refresh_datasets())
        self.dataset_view = QListView()
        self.dataset_view.setModel(self.dataset_model)
        self.dataset_view.setWordWrap(True)
        self.dataset_view.setSpacing(3)
        self.dataset_view.selectionModel().currentChanged.connect(self._on_dataset_changed)
        self.new_dataset_button = QPushButton("New…")
        self.new_dataset_button.clicked.connect(self._ask_new_dataset)
        self.delete_dataset_button = QPushButton("Delete")
        self.delete_dataset_button.clicked.connect(self.delete_current_dataset)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.tradition_combo)
        left_layout.addWidget(self.dataset_view, 1)
        row = QHBoxLayout()
        row.addWidget(self.new_dataset_button)
        row.addWidget(self.delete_dataset_button)
        left_layout.addLayout(row)

        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search title, artist, tags, license…")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(lambda _: self._search_timer.start())
        self.tag_combo, self.artist_combo, self.license_combo = (
            QComboBox(),
            QComboBox(),
            QComboBox(),
        )
        for combo in (self.tag_combo, self.artist_combo, self.license_combo):
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(8)
            combo.currentIndexChanged.connect(lambda _: self.refresh_images())
        self.flagged_box = QCheckBox("Near duplicates")
        self.flagged_box.setToolTip("Show only images flagged as near duplicates, to review")
        self.flagged_box.toggled.connect(lambda _: self.refresh_images())
        self.review_button = QPushButton("Review…")
        self.review_button.setToolTip(
            "See each pair of near duplicates side by side and decide: keep both, or remove one"
        )
        self.review_button.clicked.connect(self.review_near_duplicates)
        self.review_dialog: DuplicateReviewDialog | None = None
        filters = QHBoxLayout()
        filters.addWidget(self.search_edit, 2)
        filters.addWidget(self.tag_combo, 1)
        filters.addWidget(self.artist_combo, 1)
        filters.addWidget(self.license_combo, 1)
        filters.addWidget(self.flagged_box)
        filters.addWidget(self.review_button)

        self.grid = ThumbnailGrid(thumb_size=thumb_size)
        self.grid.setModel(self.image_model)
        self.grid.selectionModel().selectionChanged.connect(self._on_image_selection)

        self.import_files_button = QPushButton("Import files…")
        self.import_files_button.clicked.connect(self._ask_import_files)
        self.import_folder_button = QPushButton("Import folder…")
        self.import_folder_button.clicked.connect(self._ask_import_folder)
        self.import_zip_button = QPushButton("Import zip…")
        self.import_zip_button.clicked.connect(self._ask_import_zip)
        self.progress_bar = QProgressBar()
        self.progress_bar.setVisible(False)
        self.progress_label = QLabel()
        self.progress_label.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_import)
        imports = QHBoxLayout()
        imports.addWidget(self.import_files_button)
        imports.addWidget(self.import_folder_button)
        imports.addWidget(self.import_zip_button)
        imports.addWidget(self.progress_bar, 1)
        imports.addWidget(self.progress_label)
        imports.addWidget(self.cancel_button)
        self.drop_hint = QLabel("Drop images, folders or zip files here to import them.")
        self.drop_hint.setEnabled(False)
        center = QWidget()
        center_layout = QVBoxLayout(center)
        center_layout.setContentsMargins(0, 0, 0, 0)
        center_layout.addLayout(filters)
        center_layout.addWidget(self.grid, 1)
        center_layout.addWidget(self.drop_hint)
        center_layout.addLayout(imports)

        self.metadata_editor = ImageMetadataEditor()
        self.metadata_editor.fields_edited.connect(self.edit_selected_images)
        self.metadata_editor.delete_requested.connect(self.delete_selected_images)
        self.dataset_editor = self._build_dataset_editor()
        self.pipeline_editor = DatasetPipelineEditor()
        self.pipeline_editor.pipeline_changed.connect(lambda _: self._preview_timer.start())
        self.pipeline_editor.pipeline_applied.connect(self.set_pipeline)
        self.pipeline_editor.preview_button.clicked.connect(self._new_preview_samples)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.metadata_editor, _TABS[0])
        self.tabs.addTab(self.dataset_editor, _TABS[1])
        self.tabs.addTab(self.pipeline_editor, _TABS[2])
        self.tabs.currentChanged.connect(self._on_tab_changed)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(center)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        self._splitter = splitter
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    WIDE_LAYOUT_MIN_WIDTH = 760  # below this, list, grid and editor stack vertically

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        # Docked beside the canvas the panel is narrow: three side-by-side columns would
        # each be a sliver, so stack them; undocked or widened, put them side by side.
        # Inside a scroll area the panel is never narrower than its minimum size, so judge
        # by the room the parent (the scroll area's viewport) actually has.
        parent = self.parentWidget()
        available = parent.width() if parent is not None else event.size().width()
        wide = available >= self.WIDE_LAYOUT_MIN_WIDTH
        wanted = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self._splitter.orientation() != wanted:
            self._splitter.setOrientation(wanted)
        super().resizeEvent(event)

    def _build_dataset_editor(self) -> QWidget:
        widget = QWidget()
        self.dataset_fields: dict[str, QLineEdit] = {}
        form = QFormLayout()
        for name, label in (
            ("name", "Name"),
            ("tradition", "Tradition / culture"),
            ("region", "Region"),
            ("era", "Era"),
        ):
            edit = QLineEdit()
            self.dataset_fields[name] = edit
            form.addRow(label, edit)
        self.kind_combo = QComboBox()
        self.kind_combo.addItems(["style", "content"])
        form.addRow("Kind", self.kind_combo)
        self.description_edit = QPlainTextEdit()
        self.description_edit.setMaximumHeight(90)
        form.addRow("Description", self.description_edit)
        self.licenses_label = QLabel()
        self.licenses_label.setWordWrap(True)
        form.addRow("Licenses", self.licenses_label)
        self.apply_dataset_button = QPushButton("Apply")
        self.apply_dataset_button.clicked.connect(self.apply_dataset_fields)
        layout = QVBoxLayout(widget)
        layout.addLayout(form)
        layout.addWidget(self.apply_dataset_button, 0, Qt.AlignmentFlag.AlignRight)
        layout.addStretch(1)
        return widget

    def _set_enabled(self, enabled: bool) -> None:
        for w in (
            self.import_files_button,
            self.import_folder_button,
            self.import_zip_button,
            self.new_dataset_button,
            self.delete_dataset_button,
            self.tabs,
        ):
            w.setEnabled(enabled)

    # -- workspace -------------------------------------------------------
    @property
    def workspace(self) -> Path | None:
        return self.catalog.workspace if self.catalog is not None else None

    def open_workspace(self, path: Path | str) -> None:
        """Open (or create) the workspace; raises CatalogError if it cannot be opened."""
        catalog = Catalog.open(path)
        self.shutdown()
        if self.catalog is not None:
            self.catalog.close()
        self.catalog = catalog
        self.undo_stack.clear()
        self._dataset_id = None
        self.image_model.set_workspace(catalog.workspace)
        self._set_enabled(True)
        self.refresh_datasets()

    def refresh_datasets(self, select: int | None = None) -> None:
        """Reload the dataset list (and tradition menu), keeping (or moving) the selection."""
        if self.catalog is None:
            return
        wanted = self.tradition_combo.currentData() or None
        self.tradition_combo.blockSignals(True)
        self.tradition_combo.clear()
        self.tradition_combo.addItem("All traditions", _ANY)
        for t in self.catalog.traditions():
            self.tradition_combo.addItem(t, t)
        index = self.tradition_combo.findData(wanted) if wanted else 0
        self.tradition_combo.setCurrentIndex(max(index, 0))
        self.tradition_combo.blockSignals(False)
        tradition = self.tradition_combo.currentData() or None
        target = select if select is not None else self._dataset_id
        self._reloading = True  # one load below, not one per selection signal
        try:
            self.dataset_model.set_datasets(self.catalog.list_datasets(tradition=tradition))
            row = self.dataset_model.row_of(target) if target is not None else -1
            if row < 0 and self.dataset_model.rowCount() > 0:
                row = 0
            if row >= 0:
                self.dataset_view.setCurrentIndex(self.dataset_model.index(row))
        finally:
            self._reloading = False
        dataset = self.dataset_model.datasets()[row] if row >= 0 else None
        self._select_dataset_id(dataset.id if dataset else None, force_load=True)
        self.datasets_changed.emit()

    def current_dataset_id(self) -> int | None:
        return self._dataset_id

    def current_dataset(self) -> Dataset | None:
        if self.catalog is None or self._dataset_id is None:
            return None
        try:
            return self.catalog.get_dataset(self._dataset_id)
        except CatalogError:
            return None

    def select_dataset(self, dataset_id: int) -> bool:
        row = self.dataset_model.row_of(dataset_id)
        if row < 0:
            return False
        self.dataset_view.setCurrentIndex(self.dataset_model.index(row))
        return True

    def _on_dataset_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._reloading:
            return
        dataset = current.data(DatasetRole) if current.isValid() else None
        self._select_dataset_id(dataset.id if dataset is not None else None)

    def _select_dataset_id(self, dataset_id: int | None, force_load: bool = False) -> None:
        changed = dataset_id != self._dataset_id
        self._dataset_id = dataset_id
        if changed or force_load:
            self._load_dataset(self.current_dataset())
        if changed and dataset_id is not None:
            self.dataset_selected.emit(dataset_id)

    def _load_dataset(self, dataset: Dataset | None) -> None:
        for name, edit in self.dataset_fields.items():
            edit.setText(getattr(dataset, name) if dataset else "")
        self.kind_combo.setCurrentText(dataset.kind if dataset else "style")
        self.description_edit.setPlainText(dataset.description if dataset else "")
        self.licenses_label.setText("; ".join(dataset.licenses) if dataset else "")
        self.pipeline_editor.set_pipeline(dataset.pipeline if dataset else PipelineConfig())
        self.dataset_editor.setEnabled(dataset is not None)
        self.pipeline_editor.setEnabled(dataset is not None)
        self._refresh_filter_menus()
        self.refresh_images()
        if self.tabs.currentIndex() == _TABS.index("Pipeline"):
            self._preview_timer.start()

    # -- images and filters ------------------------------------------------
    def _refresh_filter_menus(self) -> None:
        for combo, field, label in (
            (self.tag_combo, "tag", "Any tag"),
            (self.artist_combo, "artist", "Any artist"),
            (self.license_combo, "license", "Any license"),
        ):
            wanted = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(label, _ANY)
            if self.catalog is not None and self._dataset_id is not None:
                for value in self.catalog.distinct_values(field, self._dataset_id):
                    combo.addItem(value[:60], value)
            combo.setCurrentIndex(max(combo.findData(wanted), 0) if wanted else 0)
            combo.blockSignals(False)

    def set_filters(
        self,
        *,
        search: str | None = None,
        tag: str | None = None,
        artist: str | None = None,
        license: str | None = None,
    ) -> None:
        """Set filters programmatically (an unknown tag/artist/license selects nothing)."""
        for combo, value in (
            (self.tag_combo, tag),
            (self.artist_combo, artist),
            (self.license_combo, license),
        ):
            if value is not None:
                combo.blockSignals(True)
                index = combo.findData(value) if value else 0
                if index < 0:
                    combo.addItem(value, value)
                    index = combo.count() - 1
                combo.setCurrentIndex(index)
                combo.blockSignals(False)
        if search is not None:
            self.search_edit.blockSignals(True)
            self.search_edit.setText(search)
            self.search_edit.blockSignals(False)
        self.refresh_images()

    def refresh_images(self) -> None:
        """Refill the grid from the catalog with the current filters, keeping the selection."""
        self._search_timer.stop()
        keep = set(self.selected_image_ids())
        images: list[ImageRecord] = []
        if self.catalog is not None and self._dataset_id is not None:
            images = self.catalog.list_images(
                self._dataset_id,
                search=self.search_edit.text(),
                tag=self.tag_combo.currentData() or None,
                artist=self.artist_combo.currentData() or None,
                license=self.license_combo.currentData() or None,
            )
            if self.flagged_box.isChecked():
                images = [i for i in images if i.near_duplicate_of is not None]
        self.image_model.set_images(images)
        self._update_review_button()
        self.select_images([i.id for i in images if i.id in keep])
        self._on_image_selection()
        self.images_shown.emit(len(images))

    def selected_image_ids(self) -> list[int]:
        rows = sorted(i.row() for i in self.grid.selectionModel().selectedIndexes())
        return [img.id for r in rows if (img := self.image_model.image_at(r)) is not None]

    def select_images(self, image_ids: list[int]) -> None:
        selection = self.grid.selectionModel()
        selection.clearSelection()
        for image_id in image_ids:
            row = self.image_model.row_of(image_id)
            if row >= 0:
                selection.select(
                    self.image_model.index(row), QItemSelectionModel.SelectionFlag.Select
                )

    def _on_image_selection(self, *_: object) -> None:
        if self.catalog is None:
            self.metadata_editor.set_images([])
            return
        ids = set(self.selected_image_ids())
        self.metadata_editor.set_images([i for i in self.image_model.images() if i.id in ids])

    # -- undoable edits --------------------------------------------------
    def _changed(self, kind: str, image_ids: list[int] | None = None) -> None:
        """Called by undo commands after they touch the catalog."""
        if kind == "images" and self.catalog is not None:
            ids = image_ids if image_ids is not None else [i.id for i in self.image_model.images()]
            self.image_model.refresh_rows([self.catalog.get_image(i) for i in ids])
            self._refresh_filter_menus()
            self._on_image_selection()
        else:
            self.refresh_datasets()
        self._update_review_button()
        self.library_changed.emit()

    def _push(self, command) -> bool:
        try:
            self.undo_stack.push(command)
        except CatalogError as exc:
            show_error(
                self, "Could not change the dataset", str(exc), "Correct the value and try again."
            )
            return False
        return True

    def edit_selected_images(self, fields: dict) -> bool:
        ids = self.selected_image_ids()
        if self.catalog is None or not ids or not fields:
            return False
        return self._push(EditImageFieldsCommand(self.catalog, ids, fields, self._changed))

    def delete_selected_images(self) -> bool:
        ids = self.selected_image_ids()
        if self.catalog is None or not ids:
            return False
        return self._push(DeleteImagesCommand(self.catalog, ids, self._changed))

    def apply_dataset_fields(self) -> bool:
        dataset = self.current_dataset()
        if dataset is None or self.catalog is None:
            return False
        values = {name: edit.text().strip() for name, edit in self.dataset_fields.items()}
        values["kind"] = self.kind_combo.currentText()
        values["description"] = self.description_edit.toPlainText().strip()
        changed = {k: v for k, v in values.items() if getattr(dataset, k) != v}
        if not changed:
            return False
        return self._push(EditDatasetCommand(self.catalog, dataset.id, changed, self._changed))

    def set_pipeline(self, pipeline: PipelineConfig) -> bool:
        dataset = self.current_dataset()
        if dataset is None or self.catalog is None or dataset.pipeline == pipeline:
            return False
        return self._push(
            EditDatasetCommand(self.catalog, dataset.id, {"pipeline": pipeline}, self._changed)
        )

    def create_dataset(
        self, name: str, kind: str = "style", tradition: str = "", **fields
    ) -> int | None:
        if self.catalog is None:
            return None
        command = CreateDatasetCommand(
            self.catalog,
            {"name": name, "kind": kind, "tradition": tradition, **fields},
            self._changed,
        )
        if not self._push(command) or command.dataset_id is None:
            return None
        self.refresh_datasets(select=command.dataset_id)
        return command.dataset_id

    def delete_current_dataset(self) -> bool:
        if self.catalog is None or self._dataset_id is None:
            return False
        return self._push(DeleteDatasetCommand(self.catalog, self._dataset_id, self._changed))

    def _ask_new_dataset(self) -> None:
        name, ok = QInputDialog.getText(self, "New dataset", "Name of the new dataset:")
        if ok and name.strip():
            self.create_dataset(name.strip())

    # -- imports ---------------------------------------------------------
    def is_busy(self) -> bool:
        return (
            self.import_task.is_running()
            or self.plan_task.is_running()
            or self.preview_job.is_running()
        )

    def import_paths(self, paths: list[Path | str], *, offer_manifest: bool = True) -> bool:
        """Import files, folders and zips into the current dataset in a worker thread.

        A single zip made by ``library export`` becomes a new dataset; a single CSV/JSON
        manifest (like the sample data's MANIFEST.csv) makes one dataset per value of its
        dataset column; a single folder with a MANIFEST.csv at its top is offered as one
        dataset per tradition first (``manifest_offered`` carries the dialog). Returns
        False (and says why) when an import is already running or there is nowhere to
        import to.
        """
        paths = [Path(p) for p in paths]
        if self.catalog is None or not paths:
            return False
        if self.import_task.is_running() or self.plan_task.is_running():
            show_error(self, "An import is running", "Wait for it to finish or cancel it.")
            return False
        if offer_manifest and len(paths) == 1 and paths[0].is_dir():
            manifest = folder_manifest(paths[0])
            if manifest is not None:
                self._manifest_paths = paths
                self.progress_label.setText(f"Reading {manifest.name}…")
                self.progress_label.setVisible(True)
                self.plan_task.run(plan_folder_manifest, self.catalog.workspace, manifest)
                return True
        dataset_id = self._dataset_id
        if len(paths) == 1 and (
            _is_dataset_archive(paths[0]) or paths[0].suffix.lower() in (".csv", ".json")
        ):
            dataset_id = None  # a new dataset from the archive, or datasets from the manifest
        elif dataset_id is None:
            show_error(
                self,
                "No dataset selected",
                "There is no dataset to import into.",
                "Create a dataset with New…, then import again.",
            )
            return False
        self.progress_bar.setRange(0, 0)
        for w in (self.progress_bar, self.progress_label, self.cancel_button):
            w.setVisible(True)
        self.cancel_button.setEnabled(True)
        self.progress_label.setText("Preparing…")
        self.import_task.run(
            import_into_dataset, self.catalog.workspace, dataset_id, paths, self.import_options
        )
        self.import_started.emit()
        return True

    def _on_manifest_planned(self, plans: list) -> None:
        self.progress_label.setVisible(False)
        if not self._manifest_paths or self.catalog is None:
            return
        folder = self._manifest_paths[0]
        manifest = folder_manifest(folder)
        if manifest is None:  # it went away while it was read
            self.import_paths(self._manifest_paths, offer_manifest=False)
            return
        current = self.current_dataset()
        if self.manifest_dialog is not None:
            self.manifest_dialog.close()
        dialog = ManifestImportDialog(
            manifest, plans, self, current.name if current is not None else None
        )
        dialog.chosen.connect(self.import_manifest_choice)
        dialog.into_current.connect(
            lambda paths=list(self._manifest_paths): self.import_paths(paths, offer_manifest=False)
        )
        self.manifest_dialog = dialog
        dialog.show()
        self.manifest_offered.emit(dialog)

    def import_manifest_choice(self, choice: ManifestChoice) -> bool:
        """Import the datasets a person chose from a manifest (in a worker)."""
        if self.catalog is None or self.import_task.is_running() or not choice.only:
            return False
        self.progress_bar.setRange(0, 0)
        for w in (self.progress_bar, self.progress_label, self.cancel_button):
            w.setVisible(True)
        self.cancel_button.setEnabled(True)
        self.progress_label.setText("Preparing…")
        self.import_task.run(
            import_manifest_datasets,
            self.catalog.workspace,
            choice.manifest,
            choice.only,
            dict(choice.names),
            dict(choice.kinds),
            self.import_options,
        )
        self.import_started.emit()
        return True

    def thumb_size(self) -> int:
        return self.image_model.thumb_size

    def set_thumb_size(self, size: int) -> None:
        """Thumbnails ``size`` pixels wide, in the grid and its model (kept selection)."""
        keep = self.selected_image_ids()
        self.image_model.set_thumb_size(size)
        self.grid.set_thumb_size(size)
        self.select_images(keep)

    def give_the_grid_the_room(self, width: int) -> list[int]:
        """Side by side, with the list and the editor narrow and the grid taking the rest
        of ``width`` (the full-window library); returns the sizes it had, to restore."""
        before = self._splitter.sizes()
        self._splitter.setOrientation(Qt.Orientation.Horizontal)
        side, editor = 220, 300
        self._splitter.setSizes([side, max(300, width - side - editor), editor])
        return before

    def restore_layout_sizes(self, sizes: list[int]) -> None:
        if sizes:
            self._splitter.setSizes(sizes)

    def near_duplicate_count(self) -> int:
        """Pairs of near duplicates in the current dataset (kept ones included)."""
        if self.catalog is None or self._dataset_id is None:
            return 0
        return len(self.catalog.near_duplicate_pairs(self._dataset_id))

    def _update_review_button(self) -> None:
        count = self.near_duplicate_count()
        self.review_button.setEnabled(count > 0)
        self.review_button.setText(f"Review {count}…" if count else "Review…")

    def review_near_duplicates(self) -> DuplicateReviewDialog | None:
        """Open the side-by-side review of the current dataset's near duplicates."""
        if self.catalog is None or self._dataset_id is None:
            return None
        if self.review_dialog is not None:
            self.review_dialog.shutdown(0)
            self.review_dialog.close()
            self.review_dialog.deleteLater()
        self.review_dialog = DuplicateReviewDialog(self)
        self.review_dialog.show()
        return self.review_dialog

    def cancel_import(self) -> None:
        if self.import_task.is_running():
            self.import_task.cancel()
            self.cancel_button.setEnabled(False)
            self.progress_label.setText("Cancelling…")

    def _on_import_progress(self, progress: Progress) -> None:
        done, total, name = progress.done, progress.total, progress.stage
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(done)
        self.progress_label.setText(f"{done}/{total} {name[:30]}")
        self.import_progress.emit(done, total, name)

    def _import_ended(self) -> None:
        for w in (self.progress_bar, self.progress_label, self.cancel_button):
            w.setVisible(False)

    def _on_import_error(self, message: str) -> None:
        self._import_ended()
        show_error(
            self, "Import failed", message, "Check the files and the workspace, then try again."
        )
        self.import_failed.emit(message)

    def _on_import_report(self, report: ImportReport) -> None:
        self._import_ended()
        self.last_report = report
        self.refresh_datasets(
            select=report.datasets_created[-1] if report.datasets_created else None
        )
        if self.show_report_dialog and (
            report.skipped or report.near_duplicates or report.cancelled
        ):
            if self.report_dialog is not None:
                self.report_dialog.close()
            self.report_dialog = ImportReportDialog(report, self)
            self.report_dialog.review_requested.connect(self.review_near_duplicates)
            self.report_dialog.show()
        self.import_finished.emit(report)

    def _ask_import_files(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(
            self, "Import images", "", "Images (*.jpg *.jpeg *.png *.webp *.tif *.tiff *.bmp *.gif)"
        )
        if names:
            self.import_paths(names)

    def _ask_import_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a folder of images")
        if folder:
            self.import_paths([folder])

    def _ask_import_zip(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, "Import a zip archive", "", "Zip archives (*.zip)"
        )
        if name:
            self.import_paths([name])

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if self.catalog is not None and _local_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = _local_paths(event.mimeData())
        if paths and self.import_paths(paths):
            event.acceptProposedAction()
        else:
            event.ignore()

    # -- pipeline preview --------------------------------------------------
    def _on_tab_changed(self, index: int) -> None:
        if index == _TABS.index("Pipeline"):
            self.request_preview()

    def _new_preview_samples(self) -> None:
        self._preview_seed += 1
        self.request_preview()

    def request_preview(self) -> bool:
        """Render augmented samples of the selected (or first) image with the edited pipeline.

        The newest request wins: while one runs, only the latest request waits for it.
        """
        self._preview_timer.stop()
        images = self.image_model.images()
        if self.catalog is None or not images:
            self.pipeline_editor.show_previews([])
            self.pipeline_editor.status.setText("No image to preview.")
            return False
        ids = self.selected_image_ids()
        image = next((i for i in images if ids and i.id == ids[0]), images[0])
        request = AugmentRequest(
            self.catalog.image_path(image),
            self.pipeline_editor.pipeline(),
            n=8,
            size=96,
            seed=self._preview_seed,
        )
        self.pipeline_editor.status.setText("Rendering samples…")
        self.preview_job.request(request)  # the newest request wins
        return True

    def _on_previews(self, result: tuple[AugmentRequest, list]) -> None:
        request, arrays = result
        images: list[QImage] = [qimage_from_array(a) for a in arrays]
        self.pipeline_editor.show_previews(images)
        self.pipeline_editor.status.setText(
            f"{len(images)} samples as training would see them ({request.size} px)."
        )
        self.preview_ready.emit(images)

    # -- lifetime --------------------------------------------------------
    def shutdown(self, timeout_ms: int = 15_000) -> None:
        """Cancel the import, wait for workers and thumbnail tasks (call before closing)."""
        self._preview_timer.stop()
        self._search_timer.stop()
        self.import_task.cancel()
        self.plan_task.cancel()
        self.preview_job.cancel_all()
        if self.review_dialog is not None:
            self.review_dialog.shutdown(timeout_ms)
        self.import_task.wait(timeout_ms)
        self.plan_task.wait(timeout_ms)
        self.preview_job.wait(timeout_ms)
        self.image_model.shutdown(timeout_ms)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.shutdown()
        super().closeEvent(event)


def _local_paths(mime) -> list[Path]:
    if not mime.hasUrls():
        return []
    return [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]


def _is_dataset_archive(path: Path) -> bool:
    if path.suffix.lower() != ".zip":
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            return "dataset.json" in zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
