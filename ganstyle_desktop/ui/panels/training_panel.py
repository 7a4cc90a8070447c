"""Training panel: choose sources and settings, start/pause/resume/stop, watch progress,
loss curves and previews, and pick any saved checkpoint to stylize with or resume from.

The preset and device choices come from the engine (read in a worker at start-up, see
:meth:`TrainingPanel.set_engine_choices`); the checkpoint list is read from the run folder
(ui/jobs), so it shows what can really be resumed."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ganstyle_desktop import paths
from ganstyle_desktop.engine.config import (
    METHODS,
    ConfigError,
    PipelineConfig,
    StyleSource,
    TrainConfig,
)
from ganstyle_desktop.ui.jobs import CheckpointInfo, CheckpointListJob, JobBusy, TrainingJob
from ganstyle_desktop.ui.jobs.facts import EngineFacts
from ganstyle_desktop.ui.jobs.library import StyleFilesJob
from ganstyle_desktop.ui.settings import app_settings, last_folder, remember_folder
from ganstyle_desktop.ui.widgets.loss_plot import LossPlot
from ganstyle_desktop.ui.widgets.preview_strip import PreviewStrip

log = logging.getLogger(__name__)

CHECKPOINT_ROLE = Qt.ItemDataRole.UserRole
BEST_MARK = "★ best  "
MODEL_ROLE = Qt.ItemDataRole.UserRole + 1
STEP_ROLE = Qt.ItemDataRole.UserRole + 2
FINAL_ROLE = Qt.ItemDataRole.UserRole + 3

# A source of training images other than a folder (a library dataset): label -> builder
SourceBuilder = Callable[[], Any]


def format_eta(seconds: float) -> str:
    if not seconds or seconds != seconds or seconds < 0:
        return "–"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def checkpoint_model(path: Path) -> Path:
    """The stylizable model file of a checkpoint folder (or the file itself)."""
    return path if path.suffix == ".safetensors" else path / "model.safetensors"


class _PathField(QWidget):
    """A folder path with a Browse button and, when the library offers them, datasets."""

    changed = Signal()

    def __init__(self, kind: str, placeholder: str) -> None:
        super().__init__()
        self.kind = kind
        self.combo = QComboBox()
        self.combo.addItem("Folder", None)
        self.combo.setVisible(False)
        # Dataset names are long; a compact combo leaves the path field room to be read.
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.combo.setMinimumContentsLength(7)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.browse = QToolButton()
        self.browse.setText("…")
        self.browse.setToolTip("Choose a folder")
        self.browse.clicked.connect(self._choose)
        self.edit.textChanged.connect(lambda _text: self.changed.emit())
        self.combo.currentIndexChanged.connect(self._combo_changed)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.combo)
        row.addWidget(self.edit, 1)
        row.addWidget(self.browse)

    def _choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Choose a folder of images", last_folder(self.kind)
        )
        if folder:
            remember_folder(self.kind, Path(folder) / ".")
            self.edit.setText(folder)

    def _combo_changed(self) -> None:
        folder_mode = self.combo.currentData() is None
        self.edit.setEnabled(folder_mode)
        self.browse.setEnabled(folder_mode)
        # A chosen dataset needs no path: give its name the whole row.
        self.edit.setVisible(folder_mode)
        self.browse.setVisible(folder_mode)
        self.layout().setStretchFactor(self.combo, 0 if folder_mode else 1)
        self.changed.emit()

    def set_datasets(self, sources: dict[str, SourceBuilder]) -> None:
        current = self.combo.currentText()
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem("Folder", None)
        for label, builder in sources.items():
            self.combo.addItem(label, builder)
        index = self.combo.findText(current)
        self.combo.setCurrentIndex(max(0, index))
        self.combo.blockSignals(False)
        self.combo.setVisible(bool(sources))
        self._combo_changed()

    def dataset_builder(self) -> SourceBuilder | None:
        return self.combo.currentData()

    def folder(self) -> str:
        return self.edit.text().strip()


class TrainingPanel(QWidget):
    """Signals: ``model_chosen(str)`` a model file to stylize with; ``style_folder_changed``
    a list of style image paths (for the canvas' reference strip)."""

    model_chosen = Signal(str)
    style_folder_changed = Signal(list)
    status_changed = Signal(str)
    checkpoints_listed = Signal(int)  # the list was refreshed from the run folder

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job = TrainingJob(self)
        self.checkpoint_list_job = CheckpointListJob(self)
        self.checkpoint_list_job.finished.connect(self._on_checkpoints_listed)
        self.style_files_job = StyleFilesJob(self)
        self.style_files_job.finished.connect(self.style_folder_changed.emit)
        self._final_model = ""
        self._best_path = ""
        self._started_at = 0.0
        self._style_pipeline: PipelineConfig | None = None
        self._content_pipeline: PipelineConfig | None = None

        self.style_field = _PathField("style", "Folder of artworks in one style")
        self.content_field = _PathField("content", "Folder of photos")
        self.style_field.changed.connect(self._style_changed)
        self.method = QComboBox()
        self.method.addItems(list(METHODS))
        self.preset = QComboBox()  # filled from the engine: set_engine_choices
        self.size = QSpinBox()
        self.size.setRange(16, 2048)
        self.size.setSingleStep(32)
        self.size.setValue(256)
        self.size.setSuffix(" px")
        self.steps = QSpinBox()
        self.steps.setRange(1, 1_000_000)
        self.steps.setSingleStep(500)
        self.steps.setValue(2000)
        self.batch = QSpinBox()
        self.batch.setRange(1, 64)
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(6)
        self.lr.setRange(1e-6, 1.0)
        self.lr.setSingleStep(1e-4)
        self.lr.setValue(2e-4)
        self.device = QComboBox()  # filled from the engine: set_engine_choices
        self.quality_every = QSpinBox()
        self.quality_every.setRange(0, 1_000_000)
        self.quality_every.setSingleStep(50)
        self.quality_every.setValue(250)
        self.quality_every.setSpecialValueText("off")
        self.quality_every.setPrefix("every ")
        self.quality_every.setSuffix(" steps")
        self.quality_every.setToolTip(
            "Measure style score and edge SSIM on photos held out of training (1 in 5, when "
            "there are at least 10), plot them, and keep the best checkpoint"
        )

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Style", self.style_field)
        form.addRow("Photos", self.content_field)
        form.addRow("Method", self.method)
        form.addRow("Preset", self.preset)
        pair = QHBoxLayout()
        pair.addWidget(self.size)
        pair.addWidget(QLabel("Steps"))
        pair.addWidget(self.steps)
        form.addRow("Size", pair)
        pair2 = QHBoxLayout()
        pair2.addWidget(self.batch)
        pair2.addWidget(QLabel("LR"))
        pair2.addWidget(self.lr)
        form.addRow("Batch", pair2)
        form.addRow("Device", self.device)
        form.addRow("Quality", self.quality_every)

        self.start_button = QPushButton("Start")
        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume")
        self.stop_button = QPushButton("Stop")
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.job.pause)
        self.resume_button.clicked.connect(self.job.resume)
        self.stop_button.clicked.connect(self.stop)
        buttons = QHBoxLayout()
        for b in (self.start_button, self.pause_button, self.resume_button, self.stop_button):
            buttons.addWidget(b)

        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m steps")
        self.rate_label = QLabel("Not training")
        self.loss_plot = LossPlot()
        # Quality numbers are sparse and already averaged: plot them as measured.
        self.quality_plot = LossPlot(
            smoothing=0.0,
            placeholder="Quality on held-apart photos appears here",
        )
        self.quality_plot.setToolTip(
            "Style score (0 = still a photo, 1 = as close as the style set to itself) and "
            "edge SSIM (structure kept) on held-apart photos"
        )
        self.preview_strip = PreviewStrip()
        self.checkpoints = QListWidget()
        self.checkpoints.setMinimumHeight(60)
        self.checkpoints.itemDoubleClicked.connect(lambda _i: self.stylize_with_selected())
        self.use_button = QPushButton("Stylize with")
        self.use_button.setToolTip("Use this checkpoint's model on the canvas")
        self.resume_from_button = QPushButton("Resume from")
        self.resume_from_button.setToolTip(
            "Continue the run from the selected checkpoint (newer ones are set aside)"
        )
        self.use_button.clicked.connect(self.stylize_with_selected)
        self.resume_from_button.clicked.connect(self.resume_selected)
        self.checkpoints.currentItemChanged.connect(lambda *_: self._update_buttons())
        ck_buttons = QHBoxLayout()
        ck_buttons.addWidget(self.use_button)
        ck_buttons.addWidget(self.resume_from_button)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(form)
        top_layout.addLayout(buttons)
        top_layout.addWidget(self.progress)
        top_layout.addWidget(self.rate_label)
        ck_box = QWidget()
        ck_layout = QVBoxLayout(ck_box)
        ck_layout.setContentsMargins(0, 0, 0, 0)
        ck_layout.addWidget(QLabel("Checkpoints"))
        ck_layout.addWidget(self.checkpoints, 1)
        ck_layout.addLayout(ck_buttons)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.loss_plot)
        split.addWidget(self.quality_plot)
        split.addWidget(self.preview_strip)
        split.addWidget(ck_box)
        split.setChildrenCollapsible(False)
        for index, stretch in enumerate((3, 1, 3, 1)):  # curves and previews matter most
            split.setStretchFactor(index, stretch)
        layout = QVBoxLayout(self)
        layout.addWidget(top)
        layout.addWidget(split, 1)

        job = self.job
        job.progress.connect(self._on_progress)
        job.preview_inputs_ready.connect(self.preview_strip.set_inputs)
        job.preview_rows_ready.connect(
            lambda rows: self.preview_strip.set_rows(rows, job.preview_step)
        )
        job.run_started.connect(self._on_run_started)
        job.checkpoint_saved.connect(self._on_checkpoint)
        job.best_checkpoint_saved.connect(self._mark_best)
        job.quality_measured.connect(self._on_quality)
        job.finished.connect(self._on_finished)
        job.failed.connect(lambda _m: self._on_ended("Training failed"))
        job.cancelled.connect(self._on_cancelled)
        job.state_changed.connect(lambda _s: self._update_buttons())
        job.state_changed.connect(self._on_state)
        self._restore_choices()
        self._update_buttons()

    # -- configuration ------------------------------------------------------------
    def set_engine_choices(self, facts: EngineFacts) -> None:
        """The presets and devices the engine offers (read in a worker at start-up)."""
        wanted_preset = self.preset.currentData() or facts.default_preset
        self.preset.clear()
        for name, summary in facts.presets:
            self.preset.addItem(name, name)
            self.preset.setItemData(
                self.preset.count() - 1, f"{name}: {summary}", Qt.ItemDataRole.ToolTipRole
            )
        index = self.preset.findData(wanted_preset)
        self.preset.setCurrentIndex(
            max(0, index if index >= 0 else self.preset.findData(facts.default_preset))
        )
        wanted_device = self.device.currentText() or "auto"
        self.device.clear()
        for name in facts.devices:
            self.device.addItem(name)
            usable = name == "auto" or name in facts.available_devices
            if not usable:
                self.device.setItemData(
                    self.device.count() - 1,
                    f"{name} is not available on this machine",
                    Qt.ItemDataRole.ToolTipRole,
                )
        self.device.setCurrentText(wanted_device if wanted_device in facts.devices else "auto")

    def set_dataset_sources(self, sources: dict[str, SourceBuilder]) -> None:
        """Offer library datasets beside folders: ``label -> () -> StyleSource``."""
        self.style_field.set_datasets(sources)
        self.content_field.set_datasets(sources)

    @staticmethod
    def _built(builder: SourceBuilder) -> tuple[StyleSource, PipelineConfig | None]:
        """A library source gives (StyleSource, PipelineConfig) or just a StyleSource."""
        made = builder()
        if isinstance(made, tuple):
            return made[0], made[1]
        return made, None

    def _style_source(self) -> StyleSource:
        builder = self.style_field.dataset_builder()
        if builder is not None:
            source, pipeline = self._built(builder)
            self._style_pipeline = pipeline
            return source
        self._style_pipeline = None
        folder = self.style_field.folder()
        if not folder:
            raise ConfigError("Choose a style: a folder of artworks (or a library dataset).")
        if not Path(folder).is_dir():
            raise ConfigError(f"The style folder {folder} does not exist.")
        name = Path(folder).name or "style"
        return StyleSource(name=name, paths=[folder], display_name=name)

    def _content_paths(self) -> list[str]:
        builder = self.content_field.dataset_builder()
        if builder is not None:
            source, self._content_pipeline = self._built(builder)
            return list(source.paths)
        self._content_pipeline = None
        folder = self.content_field.folder()
        if not folder:
            raise ConfigError(
                "Choose photos to learn from: a folder of photos (or a library dataset)."
            )
        if not Path(folder).is_dir():
            raise ConfigError(f"The photo folder {folder} does not exist.")
        return [folder]

    def build_config(self, out_dir: Path | None = None) -> TrainConfig:
        style = self._style_source()
        if out_dir is None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            out_dir = paths.runs_dir() / f"{style.name}-{stamp}"
        steps = self.steps.value()
        config = TrainConfig(
            styles=[style],
            content_paths=self._content_paths(),
            out_dir=str(out_dir),
            method=self.method.currentText(),
            preset=self.preset.currentData(),
            size=self.size.value() // 4 * 4,
            steps=steps,
            batch_size=self.batch.value(),
            lr=self.lr.value(),
            device=self.device.currentText(),
            # previews and checkpoints often enough to watch, not so often that they cost
            preview_every=max(1, min(50, steps // 20 or 1)),
            checkpoint_every=max(1, min(500, steps // 5 or 1)),
            metrics_every=self.quality_every.value(),
        )
        if self._style_pipeline is not None:
            config.style_pipeline = self._style_pipeline
        if self._content_pipeline is not None:
            config.content_pipeline = self._content_pipeline
        config.validate()
        return config

    # -- actions ---------------------------------------------------------------------
    def start(
        self,
        config: TrainConfig | None = None,
        resume: bool = False,
        resume_from: Path | None = None,
    ) -> bool:
        """Start a run (from the form unless ``config`` is given); errors go to failed.
        ``resume_from`` continues the run from that checkpoint folder."""
        try:
            config = config or self.build_config()
            self.job.start(config, resume=resume, resume_from=resume_from)
        except (ConfigError, JobBusy) as exc:
            self.job.failed_details.emit(str(exc), "")
            self.job.failed.emit(str(exc))
            return False
        self._save_choices()
        self._started_at = time.monotonic()
        self._final_model = ""
        if not resume:
            self.checkpoints.clear()
            self._best_path = ""
        self.loss_plot.clear()
        self.quality_plot.clear()
        self.preview_strip.clear()
        self.progress.setRange(0, config.steps)
        self.progress.setValue(0)
        self.rate_label.setText("Starting… (loading PyTorch and the images)")
        self.status_changed.emit("Training: starting")
        return True

    def stop(self) -> None:
        self.job.cancel()

    def selected_checkpoint(self) -> QListWidgetItem | None:
        item = self.checkpoints.currentItem()
        if item is None and self.checkpoints.count():
            item = self.checkpoints.item(self.checkpoints.count() - 1)
        return item

    def stylize_with_selected(self) -> None:
        item = self.selected_checkpoint()
        if item is not None:
            self.model_chosen.emit(item.data(MODEL_ROLE))

    def resume_selected(self) -> bool:
        """Resume the run from the selected checkpoint (the final model: its newest)."""
        item = self.selected_checkpoint()
        if item is None:
            return False
        chosen = Path(item.data(CHECKPOINT_ROLE))
        final = bool(item.data(FINAL_ROLE))
        run_dir = chosen.parent if final else chosen.parent.parent
        try:
            config = TrainConfig.load(run_dir / "config.json")
        except (OSError, ValueError, TypeError) as exc:
            message = f"{run_dir / 'config.json'}: cannot resume this run ({exc})."
            self.job.failed.emit(message)
            return False
        config.out_dir = str(run_dir)
        return self.start(config, resume=True, resume_from=None if final else chosen)

    # -- job events -------------------------------------------------------------------
    def _on_progress(self, step: int, total: int, info: dict) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(step)
        sps = info.get("steps_per_second", 0.0)
        self.rate_label.setText(
            f"Step {step} of {total} · {sps:.2f} steps/s · ETA {format_eta(info.get('eta_seconds', 0))}"
        )
        self.loss_plot.add_point(step, info.get("losses", {}))
        self.status_changed.emit(f"Training: step {step}/{total}")

    def _on_run_started(self, start_step: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(start_step)
        if start_step:
            self.rate_label.setText(f"Resumed at step {start_step} of {total}")
        self._refresh_checkpoints()  # a resume from an older one set the newer aside

    def _on_checkpoint(self, path: str) -> None:
        p = Path(path)
        step = int("".join(ch for ch in p.name if ch.isdigit()) or 0)
        self.checkpoints.addItem(self._checkpoint_item(step, p, checkpoint_model(p)))
        self._refresh_checkpoints()
        self._update_buttons()

    @staticmethod
    def _checkpoint_item(
        step: int, path: Path, model: Path, final: bool = False
    ) -> QListWidgetItem:
        text = f"Final model  —  {model.name}" if final else f"Step {step}  —  {path.name}"
        item = QListWidgetItem(text)
        item.setData(CHECKPOINT_ROLE, str(path))
        item.setData(MODEL_ROLE, str(model))
        item.setData(STEP_ROLE, step)
        item.setData(FINAL_ROLE, final)
        item.setToolTip(str(path))
        return item

    def _refresh_checkpoints(self) -> None:
        if self.job.run_dir is not None:
            self.checkpoint_list_job.request(self.job.run_dir)

    def _on_checkpoints_listed(self, listed: tuple[Path, list[CheckpointInfo]]) -> None:
        """The list as the run folder has it: pruned checkpoints are gone, and so are
        those a resume from an older one set aside."""
        run_dir, found = listed
        if run_dir != self.job.run_dir:
            return
        current = self.checkpoints.currentItem()
        selected = current.data(CHECKPOINT_ROLE) if current is not None else ""
        self.checkpoints.clear()
        # The run's final model is listed once this session has finished it (after a
        # Stop it holds the same weights as the last checkpoint).
        found = [info for info in found if not info.is_final]
        for info in found:
            item = self._checkpoint_item(info.step, info.path, info.model_path)
            if info.is_best or str(info.path) == self._best_path:
                item.setText(BEST_MARK + item.text())
            self.checkpoints.addItem(item)
        if self._final_model:
            self.checkpoints.addItem(
                self._checkpoint_item(
                    found[-1].step if found else 0,
                    Path(self._final_model),
                    Path(self._final_model),
                    final=True,
                )
            )
        for row in range(self.checkpoints.count()):
            if self.checkpoints.item(row).data(CHECKPOINT_ROLE) == selected:
                self.checkpoints.setCurrentRow(row)
        self._update_buttons()
        self.checkpoints_listed.emit(self.checkpoints.count())

    def _on_quality(self, step: int, metrics: dict) -> None:
        shown = {
            label: metrics[key]
            for key, label in (("style_score", "style score"), ("edge_ssim", "edge SSIM"))
            if key in metrics
        }
        # A multi-style run measures each tradition; plot each one's style score too.
        for key, value in metrics.items():
            if key.startswith("style_score/"):
                shown[f"style score · {key.split('/', 1)[1]}"] = value
        self.quality_plot.add_point(step, shown)

    def _mark_best(self, path: str) -> None:
        """Mark the best checkpoint by style score; only one carries the mark."""
        self._best_path = path
        for row in range(self.checkpoints.count()):
            item = self.checkpoints.item(row)
            text = item.text().removeprefix(BEST_MARK)
            item.setText(BEST_MARK + text if item.data(CHECKPOINT_ROLE) == path else text)

    def _on_finished(self, model_path: str) -> None:
        if model_path:
            self._final_model = model_path
            path = Path(model_path)
            item = self._checkpoint_item(self.job.last_step, path, path, final=True)
            self.checkpoints.addItem(item)
            self.checkpoints.setCurrentItem(item)
        self._on_ended("Training finished")
        self._refresh_checkpoints()

    def _on_cancelled(self) -> None:
        self._on_ended("Training stopped; the last checkpoint is kept")
        self._refresh_checkpoints()

    def _on_ended(self, text: str) -> None:
        elapsed = time.monotonic() - self._started_at if self._started_at else 0
        self.rate_label.setText(f"{text} ({format_eta(elapsed)})" if elapsed else text)
        self.status_changed.emit(text)
        self._update_buttons()

    def _on_state(self, state: str) -> None:
        if state == "paused":
            self.rate_label.setText(self.rate_label.text().split(" (paused)")[0] + " (paused)")
            self.status_changed.emit("Training paused")
        elif state == "stopping":
            self.status_changed.emit("Training: stopping…")

    def _update_buttons(self) -> None:
        state = self.job.state
        idle = state == "idle"
        self.start_button.setEnabled(idle)
        self.pause_button.setEnabled(state == "running")
        self.resume_button.setEnabled(state == "paused")
        self.stop_button.setEnabled(state in ("running", "paused"))
        has_ck = self.checkpoints.count() > 0
        self.use_button.setEnabled(has_ck)
        self.resume_from_button.setEnabled(has_ck and idle)
        for w in (
            self.style_field,
            self.content_field,
            self.method,
            self.preset,
            self.size,
            self.steps,
            self.batch,
            self.lr,
            self.device,
        ):
            w.setEnabled(idle)

    # -- settings ---------------------------------------------------------------------
    def _style_changed(self) -> None:
        folder = self.style_field.folder()
        if folder and Path(folder).is_dir():
            self.style_files_job.request(Path(folder))  # listed in a worker, newest wins

    def shutdown(self, timeout_ms: int = 5000) -> None:
        for job in (self.checkpoint_list_job, self.style_files_job):
            job.cancel_all()
            job.wait(timeout_ms)

    def _save_choices(self) -> None:
        s = app_settings()
        s.setValue("training/style", self.style_field.folder())
        s.setValue("training/content", self.content_field.folder())
        s.setValue("training/method", self.method.currentText())
        s.setValue("training/preset", self.preset.currentData())
        s.setValue("training/size", self.size.value())
        s.setValue("training/steps", self.steps.value())
        s.setValue("training/batch", self.batch.value())
        s.setValue("training/lr", self.lr.value())
        s.setValue("training/device", self.device.currentText())

    def _restore_choices(self) -> None:
        s = app_settings()

        def get(key: str, default: Any, cast: Callable[[Any], Any]) -> Any:
            try:
                return cast(s.value(f"training/{key}", default))
            except (TypeError, ValueError):
                return default

        self.style_field.edit.setText(get("style", "", str))
        self.content_field.edit.setText(get("content", "", str))
        self.method.setCurrentText(get("method", "multistyle", str))
        # Until the engine lists its presets and devices, the saved choices stand alone.
        self.preset.addItem(get("preset", "painter", str), get("preset", "painter", str))
        self.size.setValue(get("size", 256, int))
        self.steps.setValue(get("steps", 2000, int))
        self.batch.setValue(get("batch", 1, int))
        self.lr.setValue(get("lr", 2e-4, float))
        self.device.addItem(get("device", "auto", str))
