"""The main window: menus, toolbar, dock panels (Datasets, Models, Runs, Training, Blend),
the canvas and a status bar with the compute device, the job state and the memory in use.

One :class:`~.canvas_state.CanvasState` (photo, model, blend, result) is shared by the
canvas, the Blend panel, the window's title and actions and Compare Traditions. The
Models list is the hub: its selection is the one active model, and every model that
comes from elsewhere (a finished run, a checkpoint chosen in the Training panel or the
Runs panel, a cell of Compare Traditions) is added to it first, then selected there.

Nothing here imports torch: the engine's devices and presets, model cards, thumbnails,
training and stylizing all run in workers (ui/jobs), so the window shows at once.
Closing the window stops every job first (training saves a checkpoint as it stops) and
closes once the last worker thread has ended, never leaving one behind.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDesktopServices,
    QGuiApplication,
    QIcon,
    QKeySequence,
    QPainter,
    QPalette,
    QPixmap,
    QUndoGroup,
)
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDockWidget,
    QFileDialog,
    QFrame,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QStyle,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ganstyle_desktop import paths
from ganstyle_desktop.engine.blend import Blend

from . import jobs
from .about import AboutDialog
from .batch_dialog import BatchDialog, open_batch_dialog
from .canvas import Canvas
from .canvas_state import CanvasState
from .compare_view import CompareView
from .errors import log_dir, show_error
from .jobs import BackgroundTask, EngineFacts, read_engine_facts
from .jobs.library import dataset_references, dataset_training_sources
from .jobs.models import PrepareModelJob
from .jobs.runs import add_model_to_library, library_copy_of
from .library_view import library_mode
from .panels.blend_panel import BlendPanel
from .panels.models_panel import ModelsPanel
from .panels.runs_panel import RunsPanel
from .panels.training_panel import TrainingPanel, checkpoint_identity
from .preferences import PreferencesDialog
from .sample import app_icon_path, sample_photo_path
from .save_dialog import SaveResultDialog
from .settings import app_settings, last_folder, remember_folder, setting_bool
from .theme import THEMES, apply_theme

log = logging.getLogger(__name__)

# The window fits a 1366x768 laptop (and 1280x720) with every dock usable.
MIN_WINDOW = (1024, 640)
DEFAULT_WINDOW = (1440, 900)

PHOTO_FILTER = "Photos (*.jpg *.jpeg *.png *.webp *.tif *.tiff *.bmp);;All files (*)"


def process_memory_mb() -> float | None:
    """Resident memory of this process in MB, where the platform tells us cheaply."""
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/self/statm", encoding="ascii") as fh:
                resident_pages = int(fh.read().split()[1])
            return resident_pages * os.sysconf("SC_PAGE_SIZE") / 1e6
        except (OSError, ValueError, IndexError):
            return None
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak / 1e3  # bytes on macOS, KB elsewhere


def _make_datasets_panel() -> tuple[QWidget, QWidget | None]:
    """The library's DatasetsPanel when it is installed, else a label saying so."""
    try:
        from .panels.datasets_panel import DatasetsPanel
    except ImportError as exc:
        log.info("dataset library panel not available: %s", exc)
        label = QLabel("The dataset library is not available in this build.")
        label.setWordWrap(True)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        return label, None
    panel = DatasetsPanel()
    # The library panel is wide; scrolling keeps its dock from forcing a huge window.
    scroll = QScrollArea()
    scroll.setWidget(panel)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setMinimumSize(220, 160)  # overrides the panel's wide minimum size hint
    return panel, scroll


def _scrolling(panel: QWidget, min_height: int = 200) -> QScrollArea:
    """``panel`` in a scroll area: a short window scrolls it instead of growing past the
    screen (with its settings open the Training panel is taller than a 720 px laptop)."""
    scroll = QScrollArea()
    scroll.setWidget(panel)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    # As wide as the panel needs (nothing scrolls sideways), as short as is useful.
    bar = scroll.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
    scroll.setMinimumSize(panel.minimumSizeHint().width() + bar, min_height)
    return scroll


def _file_stem(name: str) -> str:
    """A model's name as part of a file name: "Ukiyo-e · Japan" -> "Ukiyo-e-Japan"."""
    stem = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name)
    while "--" in stem:
        stem = stem.replace("--", "-")
    return stem.strip("-.") or "styled"


class MainWindow(QMainWindow):
    """``startup_finished`` fires once the sample photo, model list and device are ready."""

    startup_finished = Signal()
    closed = Signal()  # every job of the window has ended and the window has closed
    CLOSE_AT_ONCE_MS = 3000  # how long a close waits in place before it waits open

    def __init__(self, workspace: Path | None = None) -> None:
        super().__init__()
        self.setWindowTitle("GANStyle Desktop")
        icon = app_icon_path()
        if icon.exists():
            self.setWindowIcon(QIcon(str(icon)))
        self.workspace = Path(workspace) if workspace else None
        self._startup_pending = {"photo", "models", "device"}
        self._startup_done = False
        self._closing = False  # stopping the jobs before the window closes
        self._closed = False
        self.engine_facts: EngineFacts | None = None

        self.state = CanvasState(self)
        self.canvas = Canvas(self, self.state)
        self.setCentralWidget(self.canvas)
        self.training_panel = TrainingPanel(self)
        self.models_panel = ModelsPanel(self)
        self.datasets_panel, datasets_scroll = _make_datasets_panel()
        self.has_library = datasets_scroll is not None
        self.training_job = self.training_panel.job
        # The active model is loaded and its fast path made ready in the background, so
        # the first Stylize paints at once (else: torch import and ONNX export first).
        self.prepare_job = PrepareModelJob(self)
        self.prepare_job.failed.connect(lambda reason: log.info("model not prepared: %s", reason))
        self.runs_panel = RunsPanel(self, self.training_job)
        self._model_tasks: list[BackgroundTask] = []
        self._after_listing: tuple[str, bool] | None = None  # (model, stylize) to activate
        self._live_suspended = False  # a result is being looked at during training
        self._opening_workspace = False
        self._dataset_to_pick_up: tuple[str, str] | None = None

        self.datasets_dock = self._dock(
            "Datasets",
            datasets_scroll if datasets_scroll is not None else self.datasets_panel,
            Qt.DockWidgetArea.LeftDockWidgetArea,
        )
        self.models_dock = self._dock(
            "Models", self.models_panel, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.training_dock = self._dock(
            "Training", _scrolling(self.training_panel), Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.runs_dock = self._dock("Runs", self.runs_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.tabifyDockWidget(self.datasets_dock, self.models_dock)
        self.tabifyDockWidget(self.models_dock, self.runs_dock)
        self.models_dock.raise_()
        # Blending traditions sits beside training: both act on the selected model.
        self.blend_panel = BlendPanel(self, self.state)
        self.blend_dock = self._dock(
            "Blend", self.blend_panel, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.tabifyDockWidget(self.training_dock, self.blend_dock)
        self.training_dock.raise_()
        self.setMinimumSize(*MIN_WINDOW)
        self._compare_dialog: QDialog | None = None
        self.compare_view: CompareView | None = None

        self.undo_group = QUndoGroup(self)
        self.undo_group.addStack(self.models_panel.undo_stack)
        self.datasets_undo = getattr(self.datasets_panel, "undo_stack", None)
        if self.datasets_undo is not None:
            self.undo_group.addStack(self.datasets_undo)
        self.undo_group.setActiveStack(self.models_panel.undo_stack)
        QApplication.instance().focusChanged.connect(self._on_focus_changed)

        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self._connect()
        self._restore_layout()
        theme = str(app_settings().value("view/theme", "system"))
        self.set_theme(theme if theme in THEMES else "system")
        hints = QGuiApplication.styleHints()
        if hasattr(hints, "colorSchemeChanged"):
            hints.colorSchemeChanged.connect(lambda _s: self._follow_system_theme())
        self._device_task = BackgroundTask(self, "engine-facts")
        self._device_task.finished.connect(self._on_engine_facts)
        self._device_task.failed.connect(lambda m: self._on_device(f"unknown ({m})"))
        QTimer.singleShot(0, self._startup)

    # -- construction -----------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title.lower()}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _action(
        self,
        text: str,
        slot: Any = None,
        shortcut: Any = None,
        icon: Any = None,
        checkable: bool = False,
        tip: str = "",
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon))
        action.setCheckable(checkable)
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        if slot is not None:
            action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        self.compare_action = QAction("&Compare Traditions…", self)
        self.compare_action.setShortcut(QKeySequence("Ctrl+Shift+C"))
        self.compare_action.setStatusTip(
            "Render the photo in every tradition of the selected model (or of every model)"
        )
        self.compare_action.triggered.connect(self.show_compare)
        self.library_action = QAction("&Library (full window)", self)
        self.library_action.setShortcut(QKeySequence("Ctrl+L"))
        self.library_action.setCheckable(True)
        self.library_action.setStatusTip(
            "Browse the datasets as a photo library filling the window"
        )
        self.library_action.triggered.connect(self.toggle_library)
        sp = QStyle.StandardPixmap
        ks = QKeySequence.StandardKey
        self.open_action = self._action(
            "&Open Photo…",
            self.choose_photo,
            ks.Open,
            sp.SP_DialogOpenButton,
            tip="Open a photo to stylize",
        )
        self.export_action = self._action(
            "&Export Result…",
            self.choose_export,
            "Ctrl+E",
            sp.SP_DialogSaveButton,
            tip="Save the stylized photo at full resolution",
        )
        self.batch_action = self._action(
            "&Batch Stylize…",
            self.show_batch,
            "Ctrl+Shift+B",
            tip="Stylize many photos into a folder with the current model and blend",
        )
        self.import_model_action = self._action(
            "&Import Model…",
            self.models_panel.choose_import,
            "Ctrl+I",
            tip="Add a .safetensors model file",
        )
        self.quit_action = self._action("&Quit", self.close, ks.Quit)
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.undo_action = self.undo_group.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence(ks.Undo))
        self.redo_action = self.undo_group.createRedoAction(self, "&Redo")
        self.redo_action.setShortcut(QKeySequence(ks.Redo))
        self.preferences_action = self._action(
            "&Preferences…", self.show_preferences, ks.Preferences
        )
        self.preferences_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.split_action = self._action(
            "&Before/After Split",
            None,
            "Ctrl+B",
            checkable=True,
            tip="Compare the photo and the result with a divider",
        )
        self.split_action.toggled.connect(self.canvas.set_split_mode)
        self.zoom_in_action = self._action("Zoom &In", self.canvas.zoom_in, ks.ZoomIn)
        self.zoom_out_action = self._action("Zoom &Out", self.canvas.zoom_out, ks.ZoomOut)
        self.zoom_fit_action = self._action(
            "Zoom to &Fit", self.canvas.zoom_fit, "Ctrl+0", tip="Fit the photo"
        )
        self.zoom_actual_action = self._action(
            "&Actual Size (100%)", self.canvas.zoom_actual, "Ctrl+1"
        )
        self.stylize_action = self._action(
            "&Stylize",
            self.stylize,
            "Ctrl+Return",
            sp.SP_MediaSeekForward,
            tip="Paint the photo with the selected model",
        )
        self.cancel_stylize_action = self._action(
            "Cancel Stylize", self.canvas.cancel_stylize, "Esc"
        )
        self.train_start_action = self._action(
            "&Start Training",
            self.training_panel.start,
            "F5",
            sp.SP_MediaPlay,
            tip="Start training with the Training panel's settings",
        )
        self.train_pause_action = self._action(
            "&Pause Training",
            self.toggle_pause,
            "F6",
            sp.SP_MediaPause,
            tip="Pause or resume training",
        )
        self.train_stop_action = self._action(
            "S&top Training",
            self.training_panel.stop,
            "Shift+F5",
            sp.SP_MediaStop,
            tip="Stop training, keeping the last checkpoint",
        )
        self.about_action = self._action("&About GANStyle Desktop", self.show_about)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.log_folder_action = self._action("Open &Log Folder", self.open_log_folder)
        self.theme_group = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for name in THEMES:
            act = self._action(name.capitalize(), checkable=True)
            act.triggered.connect(lambda _c=False, n=name: self.set_theme(n))
            self.theme_group.addAction(act)
            self.theme_actions[name] = act

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        for a in (
            self.open_action,
            self.export_action,
            self.batch_action,
            None,
            self.import_model_action,
            None,
            self.quit_action,
        ):
            file_menu.addSeparator() if a is None else file_menu.addAction(a)
        edit = bar.addMenu("&Edit")
        edit.addAction(self.undo_action)
        edit.addAction(self.redo_action)
        edit.addSeparator()
        edit.addAction(self.preferences_action)
        view = bar.addMenu("&View")
        panels = view.addMenu("&Panels")
        for dock in (
            self.datasets_dock,
            self.models_dock,
            self.runs_dock,
            self.training_dock,
            self.blend_dock,
        ):
            panels.addAction(dock.toggleViewAction())
        view.addAction(self.split_action)
        view.addAction(self.compare_action)
        view.addAction(self.library_action)
        view.addSeparator()
        for a in (
            self.zoom_in_action,
            self.zoom_out_action,
            self.zoom_fit_action,
            self.zoom_actual_action,
        ):
            view.addAction(a)
        view.addSeparator()
        theme = view.addMenu("&Theme")
        for a in self.theme_actions.values():
            theme.addAction(a)
        train = bar.addMenu("&Train")
        train.addAction(self.stylize_action)
        train.addAction(self.cancel_stylize_action)
        train.addSeparator()
        for a in (self.train_start_action, self.train_pause_action, self.train_stop_action):
            train.addAction(a)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.about_action)
        help_menu.addAction(self.log_folder_action)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main", self)
        bar.setObjectName("toolbar-main")
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for a in (
            self.open_action,
            self.stylize_action,
            self.export_action,
            None,
            self.split_action,
            self.zoom_fit_action,
            None,
            self.train_start_action,
            self.train_pause_action,
            self.train_stop_action,
        ):
            bar.addSeparator() if a is None else bar.addAction(a)
        self.addToolBar(bar)
        self.toolbar = bar

    def _build_status_bar(self) -> None:
        self.device_label = QLabel("Device: detecting…")
        self.job_label = QLabel("Idle")
        self.memory_label = QLabel("")
        status = self.statusBar()
        status.addWidget(self.job_label, 1)
        status.addPermanentWidget(self.device_label)
        status.addPermanentWidget(self.memory_label)
        self._memory_timer = QTimer(self)
        self._memory_timer.timeout.connect(self._update_memory)
        self._memory_timer.start(2000)
        self._update_memory()

    def _connect(self) -> None:
        tp, mp, cv = self.training_panel, self.models_panel, self.canvas
        job = self.training_job
        job.failed_details.connect(
            lambda message, details: self.report_error(
                "Training failed",
                message,
                "Check the setting or file it names, then start again.",
                details,
            )
        )
        job.state_changed.connect(self._update_actions)
        job.state_changed.connect(self._on_training_state)
        job.started.connect(self._feed_live_photo)
        job.live_preview_ready.connect(self._on_live_preview)
        job.finished.connect(self._on_training_finished)
        tp.status_changed.connect(self.set_job_state)
        tp.model_chosen.connect(lambda path: self.add_model_from_run(path, activate=True))
        tp.add_to_models.connect(lambda path: self.add_model_from_run(path, activate=False))
        tp.run_shown.connect(lambda _path: self.runs_panel.schedule_refresh())
        tp.live_preview.toggled.connect(self._on_live_toggled)
        rp = self.runs_panel
        rp.resume_requested.connect(self.resume_run)
        rp.run_selected.connect(tp.show_run)
        rp.add_model_requested.connect(
            lambda model, run: self.add_model_from_run(model, activate=True, run_dir=run)
        )
        tp.style_folder_changed.connect(
            lambda files: cv.set_style_references(files, "training style")
        )
        mp.model_selected.connect(self._on_model_selected)
        mp.models_listed.connect(self._on_models_listed)
        mp.error_raised.connect(
            lambda title, m: self.report_error(
                title, m, "Choose a GANStyle .safetensors model file."
            )
        )
        mp.imported.connect(lambda p: self.set_job_state(f"Imported {Path(p).name}"))
        cv.photo_opened.connect(self._on_photo_opened)
        cv.photo_failed.connect(lambda _m: self._startup_step("photo"))
        cv.photo_refused.connect(self._forget_refused_photo)
        self.state.model_changed.connect(self._on_state_model)
        self.state.photo_changed.connect(lambda _p: self._update_actions())
        self.state.photo_changed.connect(lambda _p: self._feed_live_photo())
        self.state.model_name_changed.connect(lambda _n: self._update_title())
        self.state.result_changed.connect(lambda _r: self._update_actions())
        self.blend_panel.failed.connect(lambda m: self.statusBar().showMessage(m, 8000))
        cv.result_ready.connect(self._on_result)
        cv.result_ready.connect(self._suspend_live_preview)
        cv.busy_changed.connect(lambda busy: self.set_job_state("Stylizing…" if busy else "Ready"))
        cv.stylize_failed.connect(
            lambda m: self.report_error(
                "Could not stylize the photo",
                m,
                "Try a smaller photo, another model, or the CPU device.",
            )
        )
        cv.export_failed.connect(
            lambda m: self.report_error(
                "Could not export the result", m, "Choose another folder or format and try again."
            )
        )
        cv.export_finished.connect(lambda p: self.set_job_state(f"Exported {Path(p).name}"))
        cv.message_shown.connect(lambda text: self.statusBar().showMessage(text, 8000))
        if self.has_library:
            panel = self.datasets_panel
            if hasattr(panel, "datasets_changed"):
                panel.datasets_changed.connect(self._refresh_dataset_sources)
            if hasattr(panel, "dataset_selected"):
                panel.dataset_selected.connect(self._on_dataset_selected)
        self._update_actions()

    # -- start-up ------------------------------------------------------------------------
    def _startup(self) -> None:
        if self._closing:
            return
        self._device_task.run(
            read_engine_facts, str(app_settings().value("stylize/device", "auto"))
        )
        self.models_panel.refresh()
        self.runs_panel.refresh()
        if self.has_library:
            ws = self.workspace or Path(
                str(app_settings().value("workspace/last", "") or paths.default_workspace_dir())
            )
            self.open_workspace(ws)
        last = str(app_settings().value("photo/last", ""))
        photo = Path(last) if last and Path(last).is_file() else sample_photo_path()
        if not (photo.is_file() and self.canvas.open_photo(photo)):
            self._startup_step("photo")  # else once it is open (or refused)

    def open_workspace(self, workspace: Path) -> None:
        self._opening_workspace = True
        try:
            self.datasets_panel.open_workspace(workspace)  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 - a broken workspace must not stop the app
            log.exception("workspace %s could not be opened", workspace)
            self.report_error(
                "Could not open the dataset workspace",
                f"{workspace}: {exc}",
                "Choose another workspace folder, or repair it with 'ganstyle-cli library check'.",
            )
            return
        finally:
            self._opening_workspace = False
        self.workspace = Path(workspace)
        app_settings().setValue("workspace/last", str(workspace))
        self._refresh_dataset_sources()

    def _startup_step(self, name: str) -> None:
        self._startup_pending.discard(name)
        if not self._startup_pending and not self._startup_done:
            self._startup_done = True
            self.startup_finished.emit()

    def is_started(self) -> bool:
        return self._startup_done

    def _on_engine_facts(self, facts: EngineFacts) -> None:
        self.engine_facts = facts
        self.training_panel.set_engine_choices(facts)
        self._on_device(facts.device_label)

    def _on_device(self, label: str) -> None:
        self.device_label.setText(f"Device: {label}")
        self._startup_step("device")

    def _on_models_listed(self, count: int) -> None:
        pending, self._after_listing = self._after_listing, None
        if pending is not None:
            model, stylize = pending
            if self.models_panel.select_path(model):
                if self.state.model != Path(model):  # it was selected already
                    self._on_model_selected(model)
                if stylize:
                    self.canvas.stylize()
        if count and not self.canvas.model_path:
            saved = str(app_settings().value("model/last", ""))
            if not (saved and self.models_panel.select_path(saved)):
                self.models_panel.list.setCurrentRow(0)
        if not count:
            self.canvas.set_model(None)
        self._update_actions()
        self._show_first_result()
        self._startup_step("models")

    def _show_first_result(self) -> None:
        """On the very first launch, paint the sample photo with the starter model at once,
        so a new user sees what the app does before touching anything."""
        if setting_bool("startup/first_result_shown", False) or not self.canvas.can_stylize():
            return
        app_settings().setValue("startup/first_result_shown", True)
        self.canvas.stylize()

    # -- library hook ------------------------------------------------------------------------
    def _refresh_dataset_sources(self, *_: Any) -> None:
        """Offer the workspace's datasets as training sources (when the library exists)."""
        if not self.has_library or self.workspace is None:
            return
        try:
            # Style datasets for the style, content datasets for the photos.
            sources = dataset_training_sources(self.workspace, "style")
            photos = dataset_training_sources(self.workspace, "content")
        except Exception as exc:  # noqa: BLE001
            log.info("no datasets offered for training: %s", exc)
            return
        self.training_panel.set_dataset_sources(sources, photos)
        pending, self._dataset_to_pick_up = self._dataset_to_pick_up, None
        if pending is not None:
            self.training_panel.use_dataset(*pending)

    def _on_dataset_selected(self, dataset: Any = None, *_: Any) -> None:
        dataset_id = getattr(dataset, "id", dataset)
        if not isinstance(dataset_id, int) or self.workspace is None:
            return
        try:
            name, files = dataset_references(self.workspace, dataset_id)
        except Exception as exc:  # noqa: BLE001
            log.info("dataset %s preview failed: %s", dataset_id, exc)
            return
        self.canvas.set_style_references(files, name)
        if self._opening_workspace:
            return  # the remembered training sources stand at start-up
        current = getattr(self.datasets_panel, "current_dataset", None)
        dataset = current() if callable(current) else None
        if dataset is not None and getattr(dataset, "id", None) == dataset_id:
            # The Training panel learns from what the person is looking at (once the
            # dataset is offered there: a new one is, after datasets_changed).
            kind = getattr(dataset, "kind", "style")
            if not self.training_panel.use_dataset(dataset.name, kind):
                self._dataset_to_pick_up = (dataset.name, kind)

    # -- models from training runs ----------------------------------------------------------
    def add_model_from_run(
        self,
        model_path: str | Path,
        activate: bool = True,
        run_dir: str | Path | None = None,
        stylize: bool | None = None,
    ) -> BackgroundTask | None:
        """Put a run's model (or a checkpoint's) into the Models list, named after its
        dataset and tradition; ``activate`` then makes it the active model (and, unless
        ``stylize`` says otherwise, paints the photo with it). A checkpoint already in
        the list is used as it is (a checkpoint never changes)."""
        guessed_run, step = checkpoint_identity(model_path)
        run = Path(run_dir) if run_dir else guessed_run
        stylize = activate if stylize is None else stylize
        if step is not None:
            existing = library_copy_of(paths.user_models_dir(), run, step)
            if existing.is_file():
                self._on_model_added(str(existing), activate, stylize)
                return None
        task = BackgroundTask(self, "add-model")
        self._model_tasks.append(task)
        task.finished.connect(lambda dest: self._on_model_added(dest, activate, stylize))
        task.failed.connect(
            lambda message: self.report_error(
                "Model not added to the Models list",
                message,
                "Check that the run folder is still there, then try again.",
            )
        )
        task.state_changed.connect(
            lambda state: (
                self._model_tasks.remove(task)
                if state == "idle" and task in self._model_tasks
                else None
            )
        )
        task.run(add_model_to_library, Path(model_path), paths.user_models_dir(), run, step)
        return task

    def _on_model_added(self, dest: str, activate: bool, stylize: bool) -> None:
        if activate:
            if self.state.model == Path(dest):
                self.state.set_model(None)  # the same file with new weights: show them
            self._after_listing = (dest, stylize)
        self.models_panel.refresh(select=dest if activate else None)
        self.set_job_state(f"Added “{Path(dest).stem}” to the Models list")

    def _on_training_finished(self, model_path: str) -> None:
        """A finished run's model joins the Models list at once and becomes active."""
        run_dir = self.training_job.run_dir
        if model_path:
            self.add_model_from_run(model_path, activate=True, run_dir=run_dir)
        self.runs_panel.schedule_refresh()

    def resume_run(self, run_dir: str | Path) -> bool:
        """Continue an interrupted run (from the Runs panel): its own settings, its
        newest checkpoint; the Training panel shows it."""
        self.training_dock.show()
        self.training_dock.raise_()
        return self.training_panel.resume_run(Path(run_dir))

    # -- training's live preview on the canvas --------------------------------------------
    def _feed_live_photo(self) -> None:
        job = self.training_job
        wanted = job.is_running() and self.training_panel.live_preview.isChecked()
        job.set_live_photo(self.state.photo if wanted else None)

    def _on_live_preview(self, image: Any, step: int) -> None:
        if not self.training_panel.live_preview.isChecked() or self._live_suspended:
            return
        if self.training_job.state == "idle":
            return
        total = self.training_job.total_steps
        self.canvas.show_live_preview(
            image, f"Training preview · step {step:,} of {total:,} (the model as it learns)"
        )

    def _on_live_toggled(self, on: bool) -> None:
        self._live_suspended = False
        self._feed_live_photo()
        if not on:
            self.canvas.show_live_preview(None)

    def _suspend_live_preview(self) -> None:
        """A result stylized during training stays on screen (the live preview waits)."""
        if self.training_job.is_running() and self.canvas.result is not None:
            self._live_suspended = True

    def _on_training_state(self, state: str) -> None:
        if state == "idle":
            self._live_suspended = False
            self.training_job.set_live_photo(None)
            self.canvas.show_live_preview(None)
        elif state == "running" and not self.training_job.last_step:
            self._live_suspended = False

    # -- actions -------------------------------------------------------------------------------
    def choose_photo(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, "Open a photo", last_folder("photos"), PHOTO_FILTER
        )
        if name:
            remember_folder("photos", name)
            self.canvas.open_photo(name)

    def choose_export(self) -> None:
        if self.canvas.result is None:
            self.canvas.show_message("Nothing to export yet: stylize a photo first.")
            return
        photo = self.canvas.photo
        model = _file_stem(self.state.model_name) if self.state.model else ""
        dialog = SaveResultDialog(
            self, self.canvas.photo_path, model, photo.bit_depth if photo is not None else 8
        )
        if dialog.exec():
            self.canvas.export_result(dialog.path(), dialog.quality())

    def toggle_library(self) -> None:
        mode = library_mode(self)
        if mode is None:
            self.library_action.setChecked(False)
            return
        mode.toggle()

    def show_batch(self) -> BatchDialog:
        return open_batch_dialog(self, self.state, self.canvas.device)

    def stylize(self) -> None:
        self.canvas.stylize()

    def stylize_with(self, model_path: str) -> None:
        self.canvas.set_model(model_path)
        self.canvas.stylize()

    def toggle_pause(self) -> None:
        job = self.training_job
        if job.state == "paused":
            job.resume()
        else:
            job.pause()

    def set_theme(self, name: str) -> None:
        app_settings().setValue("view/theme", name)
        if name in self.theme_actions:
            self.theme_actions[name].setChecked(True)
        apply_theme(QApplication.instance(), name)
        self._tint_icons()

    def _tint_icons(self) -> None:
        """The style's media icons are black: redraw them in the text colour of the theme
        so they stay visible on a dark toolbar."""
        colour = QApplication.instance().palette().color(QPalette.ColorRole.WindowText)
        sp = QStyle.StandardPixmap
        for action, pixmap in (
            (self.stylize_action, sp.SP_MediaSeekForward),
            (self.train_start_action, sp.SP_MediaPlay),
            (self.train_pause_action, sp.SP_MediaPause),
            (self.train_stop_action, sp.SP_MediaStop),
        ):
            base = self.style().standardIcon(pixmap).pixmap(32, 32)
            tinted = QPixmap(base.size())
            tinted.fill(Qt.GlobalColor.transparent)
            painter = QPainter(tinted)
            painter.drawPixmap(0, 0, base)
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
            painter.fillRect(tinted.rect(), colour)
            painter.end()
            action.setIcon(QIcon(tinted))

    def _follow_system_theme(self) -> None:
        if str(app_settings().value("view/theme", "system")) == "system":
            apply_theme(QApplication.instance(), "system")
            self._tint_icons()

    def show_preferences(self) -> None:
        devices = self.engine_facts.devices if self.engine_facts is not None else ("auto",)
        dialog = PreferencesDialog(self, devices=devices)
        if dialog.exec():
            dialog.save()
            self.set_theme(dialog.theme.currentText())
            self.canvas.device = dialog.device.currentText()

    def show_about(self) -> None:
        AboutDialog(self).exec()

    def open_log_folder(self) -> None:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def report_error(self, title: str, what: str, todo: str = "", details: str = "") -> None:
        show_error(self, title, what, todo, details)

    def set_job_state(self, text: str) -> None:
        self.job_label.setText(text)

    # -- reactions ------------------------------------------------------------------------------
    def _on_model_selected(self, path: str) -> None:
        entry = self.models_panel.entries.get(path)
        # a new model cancels the stylize in flight
        self.state.set_model(path or None, entry.name if entry is not None else "")
        if entry is not None:
            self.canvas.set_style_references(
                entry.style_files, entry.name, entry.references_note
            )

    def _on_state_model(self, model: Path | None) -> None:
        """Every view follows the state's one model (the Models list included): a model
        the list does not hold leaves no other row looking active."""
        if model is not None:
            app_settings().setValue("model/last", str(model))
            if not self._closing:
                self.prepare_job.request((Path(model), self.canvas.device))
            if self.models_panel.current_path() != str(model):
                if not self.models_panel.select_path(model):
                    self.models_panel.clear_selection()
        self._update_actions()
        self._update_title()

    def _update_title(self) -> None:
        photo = self.state.photo_path
        parts = [photo.name] if photo is not None else []
        if self.state.model is not None:
            parts.append(self.state.model_name)
        self.setWindowTitle(
            " · ".join(parts) + " — GANStyle Desktop" if parts else "GANStyle Desktop"
        )

    def _on_photo_opened(self, path: str) -> None:
        if Path(path) != sample_photo_path():
            app_settings().setValue("photo/last", path)
        self._update_title()
        self._update_actions()
        self._startup_step("photo")

    def _forget_refused_photo(self, path: str, _reason: str) -> None:
        """A photo that was refused (truncated, too large) is never reopened at launch."""
        if str(app_settings().value("photo/last", "")) == path:
            app_settings().remove("photo/last")

    def apply_comparison(self, model_path: str, tradition: str) -> bool:
        """A double-clicked comparison cell: its model becomes the active one (chosen in
        the Models list), at that tradition, and the photo is painted with it."""
        if not self.models_panel.select_path(model_path):
            self.statusBar().showMessage("That model is no longer in the Models list.", 8000)
            return False
        if self.state.model != Path(model_path):
            self.state.set_model(model_path, self.models_panel.name_of(model_path))
        entry = self.models_panel.entries.get(model_path)
        multistyle = entry is not None and entry.styles is not None and entry.styles.multistyle
        blend = Blend.of({tradition: 1.0}) if tradition and multistyle else Blend.default()
        self.state.set_blend(blend.with_brush(self.state.blend.brush))
        return self.canvas.stylize()

    def show_compare(self) -> None:
        """The photo rendered in every tradition of every installed model."""
        if self._compare_dialog is None:
            self._compare_dialog = QDialog(self)
            self._compare_dialog.setWindowTitle("Compare Traditions")
            self._compare_dialog.resize(900, 640)
            self.compare_view = CompareView(self._compare_dialog)
            self.compare_view.failed.connect(lambda m: self.statusBar().showMessage(m, 8000))
            self.compare_view.cell_activated.connect(self.apply_comparison)
            layout = QVBoxLayout(self._compare_dialog)
            layout.addWidget(self.compare_view)
        view = self.compare_view
        assert view is not None
        # Every installed model, in the Models list's order; the active one first.
        models = [Path(p) for p, e in self.models_panel.entries.items() if e.card is not None]
        active = self.state.model
        if active is not None and active in models:
            models.remove(active)
            models.insert(0, active)
        view.set_models(models)
        view.set_photo(self.state.photo)
        self._compare_dialog.show()
        self._compare_dialog.raise_()
        view.render()

    def _on_result(self) -> None:
        result = self.canvas.result
        self.set_job_state(f"Stylized in {result.seconds:.1f} s" if result else "Ready")
        self._update_actions()

    def _update_actions(self, *_: Any) -> None:
        state = self.training_job.state
        self.train_start_action.setEnabled(state == "idle")
        self.train_pause_action.setEnabled(state in ("running", "paused"))
        self.train_pause_action.setText(
            "&Resume Training" if state == "paused" else "&Pause Training"
        )
        self.train_stop_action.setEnabled(state in ("running", "paused"))
        self.export_action.setEnabled(self.canvas.result is not None)
        self.stylize_action.setEnabled(
            self.canvas.photo_path is not None or self.canvas.is_opening()
        )

    def _update_memory(self) -> None:
        mb = process_memory_mb()
        self.memory_label.setText(f"Memory: {mb:,.0f} MB" if mb is not None else "")

    def _on_focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        """Undo/Redo act on the panel the person is working in."""
        widget = new
        while widget is not None:
            if widget is self.models_panel:
                self.undo_group.setActiveStack(self.models_panel.undo_stack)
                return
            if widget is self.datasets_panel and self.datasets_undo is not None:
                self.undo_group.setActiveStack(self.datasets_undo)
                return
            widget = widget.parentWidget()

    # -- layout and closing ------------------------------------------------------------------------
    def _restore_layout(self) -> None:
        s = app_settings()
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(*self._fitting_size())
        state = s.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        else:  # first run: keep the canvas the widest part of the window
            self.resizeDocks(
                [self.models_dock, self.training_dock], [270, 390], Qt.Orientation.Horizontal
            )
        self.split_action.setChecked(setting_bool("view/split", False))
        self.canvas.set_split_mode(self.split_action.isChecked())

    def _fitting_size(self) -> tuple[int, int]:
        """The default size, shrunk to the screen's free area (a 1366x768 laptop)."""
        width, height = DEFAULT_WINDOW
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is not None:
            free = screen.availableGeometry()
            width = max(MIN_WINDOW[0], min(width, free.width()))
            height = max(MIN_WINDOW[1], min(height, free.height()))
        return width, height

    def _default_dock_sizes(self) -> None:
        left = max(260, self.width() // 5)
        right = max(360, self.width() // 4)
        self.resizeDocks(
            [self.models_dock, self.training_dock], [left, right], Qt.Orientation.Horizontal
        )

    def save_layout(self) -> None:
        s = app_settings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("view/split", self.split_action.isChecked())
        s.sync()

    def confirm_stop_training(self) -> bool:
        """Ask before quitting mid-training (tests turn the question off in settings)."""
        if not setting_bool("confirm_quit_while_training", True):
            return True
        answer = QMessageBox.question(
            self,
            "Training is running",
            "Stop training and quit? The last checkpoint is kept, and you can resume the run "
            "later with one click in the Runs panel.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Stop every job, then close once the last worker thread has ended.

        Training saves a checkpoint as it stops; until the threads are gone the window
        stays open saying so (the event loop keeps running), so quitting never leaves a
        thread behind and never waits with a frozen window.
        """
        if self._closed:
            event.accept()
            return
        if not self._closing:
            if self.training_job.is_running() and not self.confirm_stop_training():
                event.ignore()
                return
            self._closing = True
            self.save_layout()
            training = self.training_job.is_running()
            self.set_job_state(
                "Stopping: saving a checkpoint of the training run…" if training else "Stopping…"
            )
            self._stop_views()
            jobs.cancel_all(self)
            jobs.idle_monitor().thread_ended.connect(self._close_when_idle)
            # Stop is honoured within a second in every phase: usually the window can
            # close right away. Otherwise it stays open, saying why, until they end.
            jobs.wait_for_jobs_of(self, self.CLOSE_AT_ONCE_MS)
        if jobs.live_jobs(self):
            event.ignore()  # closes when the jobs have stopped (_close_when_idle)
            return
        self._finish_closing()
        event.accept()

    def closing(self) -> bool:
        """True from a close request until the window has closed."""
        return self._closing and not self._closed

    def _stop_views(self) -> None:
        self.canvas.cancel_stylize()
        self.blend_panel.job.cancel_all()
        if self.compare_view is not None:
            self.compare_view.shutdown(0)

    def _close_when_idle(self) -> None:
        if self._closing and not self._closed and not jobs.live_jobs(self):
            QTimer.singleShot(0, self.close)

    def _finish_closing(self) -> None:
        self._closed = True
        try:
            jobs.idle_monitor().thread_ended.disconnect(self._close_when_idle)
        except (RuntimeError, TypeError):
            pass
        self._memory_timer.stop()
        self.canvas.shutdown(0)
        self.models_panel.shutdown(0)
        self.runs_panel.shutdown(0)
        self.blend_panel.shutdown(0)
        self.training_panel.shutdown(0)
        shutdown_library = getattr(self.datasets_panel, "shutdown", None)
        if callable(shutdown_library):
            shutdown_library(0)
        self.closed.emit()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        if event.type() == QEvent.Type.PaletteChange:
            self.canvas.update()
        super().changeEvent(event)
