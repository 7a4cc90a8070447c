"""Training panel: choose sources and a goal ("Quick look: ~5 min", "Good: ~30 min",
"Best: hours"), read the check before Start, start/pause/resume/stop, watch progress,
loss curves and previews, and use any saved checkpoint (add it to the Models list,
stylize with it, resume from it).

A goal's steps and size come from this machine's measured speed (a few steps timed in a
worker, remembered, and refined by every real run); the check counts the images, says
whether they are enough, how long the run takes, what to expect, and warns about
non-commercial licences (ui/jobs/runs, engine/guidance). The preset and device choices
come from the engine (read in a worker at start-up, see
:meth:`TrainingPanel.set_engine_choices`); the checkpoint list is read from the run folder
(ui/jobs), so it shows what can really be resumed. Sources and choices are remembered
between launches, and so is the last run, whose checkpoints are listed again."""

from __future__ import annotations

import html
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
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
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QTabWidget,
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
from ganstyle_desktop.ui.jobs.facts import EngineFacts, recipe_knob_defaults, recipe_knob_specs
from ganstyle_desktop.ui.jobs.library import StyleFilesJob
from ganstyle_desktop.ui.jobs.runs import (
    OUTCOME_CHOICES,
    CheckRequest,
    OutcomePlan,
    OutcomePlanJob,
    OutcomeRequest,
    TrainingCheckJob,
    plan_from_speed,
    speed_key,
)
from ganstyle_desktop.ui.settings import app_settings, last_folder, remember_folder, setting_bool
from ganstyle_desktop.ui.widgets.loss_plot import LossPlot
from ganstyle_desktop.ui.widgets.preview_strip import PreviewStrip
from ganstyle_desktop.ui.widgets.recipe_editor import RecipeEditor

log = logging.getLogger(__name__)

CHECKPOINT_ROLE = Qt.ItemDataRole.UserRole
BEST_MARK = "★ best  "
MODEL_ROLE = Qt.ItemDataRole.UserRole + 1
STEP_ROLE = Qt.ItemDataRole.UserRole + 2
FINAL_ROLE = Qt.ItemDataRole.UserRole + 3

CUSTOM = "custom"  # the goal key of hand-set settings (OUTCOME_CHOICES' last)
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

    def set_datasets(self, sources: dict[str, SourceBuilder], select: str = "") -> None:
        """Offer ``sources``; ``select`` (a label) is chosen when offered, else the choice
        made before stays."""
        current = select or self.combo.currentText()
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

    def select_dataset(self, name: str) -> bool:
        """Choose the dataset called ``name`` (its label ends with the name)."""
        for index in range(1, self.combo.count()):
            label = self.combo.itemText(index)
            if label == name or label.endswith(f": {name}"):
                self.combo.setCurrentIndex(index)
                return True
        return False

    def dataset_builder(self) -> SourceBuilder | None:
        return self.combo.currentData()

    def dataset_label(self) -> str:
        """The chosen dataset's label ("" for a folder)."""
        return self.combo.currentText() if self.combo.currentData() is not None else ""

    def folder(self) -> str:
        return self.edit.text().strip()


# Plain names for the losses methods report (the raw key is the fallback): what each
# curve measures, so a person can read the plot without knowing the papers.
LOSS_NAMES = {
    "d": "critic",
    "d_a": "critic of paintings",
    "d_b": "critic of photos",
    "g_gan": "fooling the critic",
    "g_a": "painter vs critic",
    "g_b": "un-painter vs critic",
    "nce": "structure drift",
    "nce_idt": "style-image drift",
    "palette": "palette gap",
    "g_total": "painter total",
    "cycle_a": "round trip of photos",
    "cycle_b": "round trip of paintings",
    "idt_a": "paintings left alone",
    "idt_b": "photos left alone",
}
LOSS_HELP = (
    "Critic: how well the discriminator tells artworks from the model's paintings. "
    "Fooling the critic: how well the painter passes for an artwork. Structure drift: how "
    "far the painting wanders from the photo's shapes (lower keeps more). GAN curves "
    "see-saw; judge the model by the previews and the quality plot."
)
PAUSED_STYLE = "QLabel { background: #8a5a00; color: white; padding: 6px 8px; border-radius: 4px; }"
WARNING_COLOUR = "#b36b00"


def plain_loss_name(key: str) -> str:
    return LOSS_NAMES.get(key, key.replace("_", " "))


def checkpoint_identity(model_path: Path | str) -> tuple[Path, int | None]:
    """(run folder, checkpoint step) of a model file in a run; step None: the run's model."""
    path = Path(model_path)
    parent = path.parent
    if parent.parent.name == "checkpoints" and parent.name.startswith("step_"):
        try:
            return parent.parent.parent, int(parent.name.removeprefix("step_"))
        except ValueError:
            pass
    return parent, None


class TrainingPanel(QWidget):
    """Choose sources and a goal, read the check, start/pause/resume/stop, and watch.

    Signals: ``model_chosen(str)`` a checkpoint's (or the run's) model file to add to the
    Models list and make active; ``add_to_models(str)`` one to add without using it;
    ``style_folder_changed`` style image paths (for the canvas' reference strip);
    ``check_finished(TrainingCheck)`` after each check; ``plan_ready(OutcomePlan)`` when
    the goal's steps are known; ``run_shown(str)`` the run whose checkpoints are listed.
    """

    model_chosen = Signal(str)
    add_to_models = Signal(str)
    style_folder_changed = Signal(list)
    status_changed = Signal(str)
    checkpoints_listed = Signal(int)  # the list was refreshed from the run folder
    check_finished = Signal(object)
    plan_ready = Signal(object)
    run_shown = Signal(str)
    CHECK_DELAY_MS = 250

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job = TrainingJob(self)
        self.checkpoint_list_job = CheckpointListJob(self)
        self.checkpoint_list_job.finished.connect(self._on_checkpoints_listed)
        self.style_files_job = StyleFilesJob(self)
        self.style_files_job.finished.connect(self.style_folder_changed.emit)
        self.plan_job = OutcomePlanJob(self)
        self.plan_job.finished.connect(self._on_plan)
        self.plan_job.failed.connect(self._on_plan_failed)
        self.check_job = TrainingCheckJob(self)
        self.check_job.finished.connect(self._on_check)
        self.check_job.failed.connect(lambda m: self._show_check_text(m, warning=True))
        self._final_model = ""
        self._best_path = ""
        self._started_at = 0.0
        self._style_pipeline: PipelineConfig | None = None
        self._content_pipeline: PipelineConfig | None = None
        self.shown_run: Path | None = None  # the run whose checkpoints are listed
        self.last_check: Any = None  # the newest TrainingCheck
        self.plan: OutcomePlan | None = None  # the goal's plan for the current settings
        self._applying_plan = False
        self._start_when_planned = False
        self._restoring = True
        self._saved_sources: dict[str, str] = {}
        self._last_seconds_per_step = 0.0
        self._check_timer = QTimer(self)
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(self.CHECK_DELAY_MS)
        self._check_timer.timeout.connect(self.run_check)

        self.style_field = _PathField("style", "Folder of artworks in one style")
        self.content_field = _PathField("content", "Folder of photos")
        self.style_field.changed.connect(self._style_changed)
        self.content_field.changed.connect(self._sources_changed)
        self.outcome = QComboBox()
        for key, label in OUTCOME_CHOICES:
            self.outcome.addItem(label, key)
        self.outcome.setToolTip(
            "How long to train. Steps and size are worked out from this machine's measured "
            "speed (a few steps are timed the first time)."
        )
        self.check_label = QLabel("Choose a style and photos: the check appears here.")
        self.check_label.setWordWrap(True)
        self.check_label.setTextFormat(Qt.TextFormat.RichText)
        self.check_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
        self.check_label.setMinimumWidth(120)

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
        self.steps.setGroupSeparatorShown(True)
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
        form.addRow("Goal", self.outcome)

        # The settings an outcome fills in; open them to set them by hand.
        self.details_button = QToolButton()
        self.details_button.setCheckable(True)
        self.details_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.details_button.setArrowType(Qt.ArrowType.RightArrow)
        self.details_button.setText("Settings")
        self.details_button.setAutoRaise(True)
        self.details_button.toggled.connect(self._show_details)
        self.details_summary = QLabel("")
        self.details_summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        details_row = QHBoxLayout()
        details_row.addWidget(self.details_button)
        details_row.addWidget(self.details_summary, 1)
        self.details = QWidget()
        details_form = QFormLayout(self.details)
        details_form.setContentsMargins(0, 0, 0, 0)
        details_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        details_form.addRow("Method", self.method)
        details_form.addRow("Preset", self.preset)
        pair = QHBoxLayout()
        pair.addWidget(self.size)
        pair.addWidget(QLabel("Steps"))
        pair.addWidget(self.steps)
        details_form.addRow("Size", pair)
        pair2 = QHBoxLayout()
        pair2.addWidget(self.batch)
        pair2.addWidget(QLabel("LR"))
        pair2.addWidget(self.lr)
        details_form.addRow("Batch", pair2)
        details_form.addRow("Device", self.device)
        details_form.addRow("Quality", self.quality_every)
        self.details.setVisible(False)

        # The style recipe (loss weights, augmentation): one row per TrainConfig knob,
        # generated from the engine's descriptions, as the CLI's flags are. Collapsed:
        # the goals are what most people need.
        self.recipe = RecipeEditor(recipe_knob_specs())
        self.recipe.changed.connect(self._recipe_changed)
        self._recipe_notes: list[str] = []  # values refused when shown (a run, settings)
        self.advanced_button = QToolButton()
        self.advanced_button.setCheckable(True)
        self.advanced_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_button.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_button.setText("Advanced")
        self.advanced_button.setAutoRaise(True)
        self.advanced_button.setToolTip(
            "The style recipe: loss weights and augmentation (the same knobs as "
            "ganstyle-cli train's flags)"
        )
        self.advanced_button.toggled.connect(self._show_advanced)
        self.advanced_summary = QLabel("")
        self.advanced_summary.setSizePolicy(
            QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred
        )
        advanced_row = QHBoxLayout()
        advanced_row.addWidget(self.advanced_button)
        advanced_row.addWidget(self.advanced_summary, 1)
        self.recipe_defaults_button = QPushButton("Recipe defaults")
        self.recipe_defaults_button.setToolTip("Set every knob back to its default")
        self.recipe_defaults_button.clicked.connect(self.recipe.reset)
        self.advanced = QWidget()
        advanced_layout = QVBoxLayout(self.advanced)
        advanced_layout.setContentsMargins(0, 0, 0, 0)
        advanced_layout.addWidget(self.recipe)
        advanced_layout.addWidget(self.recipe_defaults_button)
        self.advanced.setVisible(False)

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

        self.paused_banner = QLabel("")
        self.paused_banner.setWordWrap(True)
        self.paused_banner.setStyleSheet(PAUSED_STYLE)
        self.paused_banner.setVisible(False)
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m steps")
        self.rate_label = QLabel("Not training")
        self.rate_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.live_preview = QCheckBox("Show the live preview on the canvas")
        self.live_preview.setChecked(True)
        self.live_preview.setToolTip(
            "While training, the canvas' Output shows the open photo as the model paints it "
            "now, updated with every preview"
        )
        self.loss_plot = LossPlot()
        self.loss_plot.setToolTip(LOSS_HELP)
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
        self.use_button.setToolTip(
            "Add this checkpoint's model to the Models list and paint the canvas with it"
        )
        self.add_button = QPushButton("Add to Models")
        self.add_button.setToolTip("Keep this checkpoint's model in the Models list")
        self.resume_from_button = QPushButton("Resume from")
        self.resume_from_button.setToolTip(
            "Continue the run from the selected checkpoint (newer ones are set aside)"
        )
        self.use_button.clicked.connect(self.stylize_with_selected)
        self.add_button.clicked.connect(self.add_selected_to_models)
        self.resume_from_button.clicked.connect(self.resume_selected)
        self.checkpoints.currentItemChanged.connect(lambda *_: self._update_buttons())
        ck_buttons = QHBoxLayout()
        ck_buttons.addWidget(self.use_button)
        ck_buttons.addWidget(self.add_button)
        ck_buttons.addWidget(self.resume_from_button)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(form)
        top_layout.addWidget(self.check_label)
        top_layout.addLayout(details_row)
        top_layout.addWidget(self.details)
        top_layout.addLayout(advanced_row)
        top_layout.addWidget(self.advanced)
        top_layout.addLayout(buttons)
        top_layout.addWidget(self.paused_banner)
        top_layout.addWidget(self.progress)
        top_layout.addWidget(self.rate_label)
        top_layout.addWidget(self.live_preview)

        curves = QSplitter(Qt.Orientation.Vertical)
        curves.addWidget(self.loss_plot)
        curves.addWidget(self.quality_plot)
        curves.setChildrenCollapsible(False)
        curves.setStretchFactor(0, 3)
        curves.setStretchFactor(1, 1)
        ck_box = QWidget()
        ck_layout = QVBoxLayout(ck_box)
        ck_layout.setContentsMargins(0, 0, 0, 0)
        self.run_label = QLabel("No run yet")
        self.run_label.setWordWrap(True)
        ck_layout.addWidget(self.run_label)
        ck_layout.addWidget(self.checkpoints, 1)
        ck_layout.addLayout(ck_buttons)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.preview_strip, "Previews")
        self.tabs.addTab(curves, "Curves")
        self.tabs.addTab(ck_box, "Checkpoints")
        self.tabs.setMinimumHeight(150)
        layout = QVBoxLayout(self)
        layout.addWidget(top)
        layout.addWidget(self.tabs, 1)

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
        job.engine_paused.connect(self._on_engine_paused)

        for widget in (self.method, self.device):
            widget.currentIndexChanged.connect(self._settings_changed)
        self.batch.valueChanged.connect(self._settings_changed)
        self.preset.currentIndexChanged.connect(self._hand_setting_changed)
        self.size.valueChanged.connect(self._hand_setting_changed)
        self.steps.valueChanged.connect(self._hand_setting_changed)
        self.outcome.currentIndexChanged.connect(self._on_outcome_changed)
        for widget in (self.method, self.preset):
            widget.currentIndexChanged.connect(self._show_recipe_defaults)
        self._restore_choices()
        self._show_recipe_defaults()
        self._restoring = False
        self._update_summary()
        self._update_buttons()

    # -- configuration ------------------------------------------------------------
    def set_engine_choices(self, facts: EngineFacts) -> None:
        """The presets and devices the engine offers (read in a worker at start-up)."""
        self._applying_plan = True  # filling the lists is no choice of the person's
        try:
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
        finally:
            self._applying_plan = False
        self._update_summary()

    def set_dataset_sources(
        self,
        sources: dict[str, SourceBuilder],
        content_sources: dict[str, SourceBuilder] | None = None,
    ) -> None:
        """Offer library datasets beside folders: ``label -> () -> StyleSource``; the
        photos chooser offers ``content_sources`` (all of ``sources`` when None). The
        dataset chosen before (this session or the last) stays chosen."""
        offered = {
            "style": sources,
            "content": sources if content_sources is None else content_sources,
        }
        for field, key in ((self.style_field, "style"), (self.content_field, "content")):
            wanted = self._saved_sources.pop(key, "") or field.combo.currentText()
            field.blockSignals(True)
            field.set_datasets(offered[key], select=wanted)
            field.blockSignals(False)
        if self.job.state == "idle":
            self._sources_changed()  # check what is chosen now

    def use_dataset(self, name: str, kind: str = "style") -> bool:
        """Choose the library dataset ``name`` as the style (or, for a content dataset,
        the photos): the Datasets panel's selection. False when it is not offered."""
        field = self.content_field if kind == "content" else self.style_field
        if not self.job.state == "idle":
            return False
        return field.select_dataset(name)

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
            **self.recipe.values(),
        )
        if self._style_pipeline is not None:
            config.style_pipeline = self._style_pipeline
        if self._content_pipeline is not None:
            config.content_pipeline = self._content_pipeline
        config.validate()
        return config

    # -- the goal (outcome presets) ---------------------------------------------------
    def outcome_key(self) -> str:
        return str(self.outcome.currentData() or CUSTOM)

    def set_outcome(self, key: str) -> bool:
        index = self.outcome.findData(key)
        if index < 0:
            return False
        self.outcome.setCurrentIndex(index)
        return True

    def _on_outcome_changed(self, _index: int = 0) -> None:
        if not self._restoring:
            app_settings().setValue("training/outcome", self.outcome_key())
        self.plan = None
        if self.outcome_key() == CUSTOM:
            self.details_button.setChecked(True)
        self._plan_goal()

    def _settings_changed(self, *_: Any) -> None:
        """Method, batch or device changed: the goal's steps are worked out again."""
        if self._applying_plan or self._restoring:
            return
        self._save_choices()
        self.plan = None
        self._plan_goal()

    def _hand_setting_changed(self, *_: Any) -> None:
        """Preset, size or steps set by hand: these are custom settings now."""
        if self._applying_plan or self._restoring:
            return
        if self.outcome_key() != CUSTOM:
            self.outcome.blockSignals(True)
            self.set_outcome(CUSTOM)
            self.outcome.blockSignals(False)
            app_settings().setValue("training/outcome", CUSTOM)
        self.plan = None
        self._save_choices()
        self._plan_goal()

    def _plan_matches(self, plan: OutcomePlan) -> bool:
        """``plan`` was made for the goal and settings chosen now."""
        same = (
            plan.outcome == self.outcome_key()
            and plan.method == self.method.currentText()
            and plan.batch_size == self.batch.value()
            and plan.device == (self.device.currentText() or "auto")
        )
        if same and plan.outcome == CUSTOM:
            same = (
                plan.preset == self.preset.currentData() and plan.size == self.size.value() // 4 * 4
            )
        return same

    def _plan_key(self, outcome: str) -> str:
        return (
            f"plans/{outcome}/{self.method.currentText()}/{self.batch.value()}/"
            f"{self.device.currentText() or 'auto'}"
        )

    def _known_speed(self, preset: str, size: int) -> float | None:
        key = speed_key(
            self.method.currentText(),
            preset,
            size,
            self.batch.value(),
            self.device.currentText() or "auto",
        )
        try:
            value = float(app_settings().value(f"speed/{key}", 0) or 0)
        except (TypeError, ValueError):
            return None
        return value if value > 0 else None

    def _remember_speed(self, plan: OutcomePlan) -> None:
        app_settings().setValue(f"speed/{plan.speed_key()}", plan.seconds_per_step)
        if plan.outcome != CUSTOM:
            app_settings().setValue(self._plan_key(plan.outcome), f"{plan.preset}/{plan.size}")

    def _plan_goal(self, measure: bool = False) -> None:
        """Work out the goal's steps: from a speed measured before when there is one,
        else by measuring a few steps in a worker (``measure``, or when the check needs
        it). Never while training: the numbers would be wrong and slow the run."""
        outcome = self.outcome_key()
        if outcome == CUSTOM:
            preset, size = self.preset.currentData() or "", self.size.value() // 4 * 4
        else:
            network = str(app_settings().value(self._plan_key(outcome), "") or "")
            preset, _, size_text = network.partition("/")
            size = int(size_text) if size_text.isdigit() else 0
        seconds = self._known_speed(preset, size) if preset and size else None
        if seconds is not None:
            self._apply_plan(
                plan_from_speed(
                    outcome,
                    self.method.currentText(),
                    preset,
                    size,
                    self.batch.value(),
                    self.device.currentText() or "auto",
                    seconds,
                    self.steps.value(),
                )
            )
            return
        self._update_summary()
        if (measure or self._sources_ready()) and self.job.state == "idle":
            self.plan_job.request(
                OutcomeRequest(
                    outcome,
                    self.method.currentText(),
                    self.batch.value(),
                    self.device.currentText() or "auto",
                    preset=preset,
                    size=size,
                    steps=self.steps.value(),
                )
            )
            self._show_check_text("Measuring this machine's speed (timing a few steps)…")
        else:
            self.schedule_check()

    def _on_plan(self, plan: OutcomePlan) -> None:
        self._remember_speed(plan)
        if not self._plan_matches(plan):
            self._plan_goal()  # the choice changed while it was measured
            return
        self._apply_plan(plan)
        if self._start_when_planned:
            self._start_when_planned = False
            self.start()

    def _on_plan_failed(self, message: str) -> None:
        self._start_when_planned = False
        self._show_check_text(f"Could not measure this machine's speed: {message}", True)

    def _apply_plan(self, plan: OutcomePlan) -> None:
        self.plan = plan
        if plan.outcome != CUSTOM:
            self._applying_plan = True
            try:
                if self.preset.findData(plan.preset) < 0:
                    self.preset.addItem(plan.preset, plan.preset)
                self.preset.setCurrentIndex(self.preset.findData(plan.preset))
                self.size.setValue(plan.size)
                self.steps.setValue(plan.steps)
            finally:
                self._applying_plan = False
            self._save_choices()
        self._update_summary()
        self.plan_ready.emit(plan)
        self.schedule_check()

    def _update_summary(self) -> None:
        if self.outcome_key() != CUSTOM and self.plan is None:
            self.details_summary.setText("steps and size: from this machine's speed…")
            return
        self.details_summary.setText(
            f"{self.method.currentText()} · {self.preset.currentData() or '?'} · "
            f"{self.size.value()} px · {self.steps.value():,} steps · "
            f"{self.device.currentText() or 'auto'}"
        )

    def _show_details(self, shown: bool) -> None:
        self.details.setVisible(shown)
        self.details_button.setArrowType(
            Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        )

    # -- the style recipe (Advanced) ------------------------------------------------------
    def _show_advanced(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        self.advanced_button.setArrowType(
            Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        )

    def _show_recipe_defaults(self, *_: object) -> None:
        """The greyed "default" boxes show what the chosen method and preset train with."""
        preset = self.preset.currentData()
        if preset:
            self.recipe.show_defaults(recipe_knob_defaults(self.method.currentText(), preset))

    def _recipe_text(self) -> str:
        """``"Pixel critic 2, Augment (critics) cutout"``: the knobs set by hand."""
        labels = {spec.name: spec.label for spec in self.recipe.specs}
        parts = []
        for name, value in self.recipe.changed_values().items():
            shown = (
                "default"
                if value is None
                else (f"{value:g}" if isinstance(value, float) else (value or "none"))
            )
            parts.append(f"{labels[name]} {shown}")
        return ", ".join(parts)

    def _update_recipe_summary(self) -> None:
        text = self._recipe_text()
        self.advanced_summary.setText(f"recipe: {text}" if text else "recipe: defaults")
        self.advanced_summary.setToolTip(self.advanced_summary.text())

    def _recipe_changed(self) -> None:
        self._update_recipe_summary()
        if self._restoring or self._applying_plan:
            return
        self._recipe_notes = []
        self._save_choices()
        self.schedule_check()

    def set_recipe(self, values: dict[str, Any]) -> list[str]:
        """Set recipe knobs (TrainConfig field names); values a knob cannot take are
        refused, and the reasons are returned and shown with the check."""
        problems = self.recipe.set_values(values)
        self._recipe_notes = [f"Not used: {p}" for p in problems]
        if problems:
            self._show_check_text(" ".join(self._recipe_notes), warning=True)
        return problems

    # -- the check before Start ----------------------------------------------------------
    def _sources_ready(self) -> bool:
        style = (
            self.style_field.dataset_builder() is not None
            or Path(self.style_field.folder() or "\0").is_dir()
        )
        content = (
            self.content_field.dataset_builder() is not None
            or Path(self.content_field.folder() or "\0").is_dir()
        )
        return style and content

    def schedule_check(self) -> None:
        if not self._restoring:
            self._check_timer.start()

    def run_check(self) -> bool:
        """Check the sources and settings in a worker (``check_finished`` follows)."""
        if self.job.state != "idle":
            return False
        try:
            config = self.build_config(out_dir=paths.runs_dir() / "check")
        except ConfigError as exc:
            self.last_check = None
            self._show_check_text(str(exc))
            return False
        except Exception as exc:  # noqa: BLE001 - a library source that cannot be read
            log.info("training check: sources not readable: %s", exc)
            self.last_check = None
            self._show_check_text(f"The chosen dataset cannot be read: {exc}", warning=True)
            return False
        seconds = self.plan.seconds_per_step if self.plan is not None else None
        if seconds is None:
            seconds = self._known_speed(config.preset, config.size)
        self.check_job.request(CheckRequest(config, seconds, self.outcome_key()))
        return True

    def _on_check(self, check: Any) -> None:
        self.last_check = check
        lines = [f"✓ {html.escape(line)}" for line in check.lines]
        lines += [
            f"<span style='color:{WARNING_COLOUR}'>⚠ {html.escape(w)}</span>"
            for w in check.warnings
        ]
        if check.estimated_seconds is None and check.level != "blocked":
            lines.append("Time: worked out once a few steps are timed on this machine.")
        recipe = self._recipe_text()
        if recipe:
            lines.append(
                html.escape(
                    f"Recipe set by hand: {recipe} (times are measured with the default recipe)."
                )
            )
        lines += [
            f"<span style='color:{WARNING_COLOUR}'>⚠ {html.escape(n)}</span>"
            for n in self._recipe_notes
        ]
        self.check_label.setText("<br>".join(lines))
        self.check_label.setToolTip(check.text())
        self.check_finished.emit(check)

    def _show_check_text(self, text: str, warning: bool = False) -> None:
        escaped = html.escape(text)
        self.check_label.setText(
            f"<span style='color:{WARNING_COLOUR}'>⚠ {escaped}</span>" if warning else escaped
        )
        self.check_label.setToolTip(text)

    def _sources_changed(self) -> None:
        if self._restoring:
            return
        self._save_sources()
        if self.plan is None:
            self._plan_goal()
        else:
            self.schedule_check()

    # -- actions ---------------------------------------------------------------------
    def start(
        self,
        config: TrainConfig | None = None,
        resume: bool = False,
        resume_from: Path | None = None,
    ) -> bool:
        """Start a run (from the form unless ``config`` is given); errors go to failed.
        ``resume_from`` continues the run from that checkpoint folder. With a goal whose
        steps are not worked out yet, a few steps are timed first, then it starts."""
        if config is None and self.outcome_key() != CUSTOM and self.plan is None:
            if self.job.state == "idle" and self._sources_ready():
                self._start_when_planned = True
                self._plan_goal(measure=True)
                self.status_changed.emit("Training: measuring this machine's speed first")
                return True
        try:
            config = config or self.build_config()
            self.plan_job.cancel_all()  # never time steps beside a run
            self.check_job.cancel_all()
            self.job.start(config, resume=resume, resume_from=resume_from)
        except (ConfigError, JobBusy) as exc:
            self.job.failed_details.emit(str(exc), "")
            self.job.failed.emit(str(exc))
            return False
        except Exception as exc:  # noqa: BLE001 - a library source that cannot be read
            log.exception("training sources could not be read")
            message = f"The chosen dataset cannot be read: {exc}"
            self.job.failed_details.emit(message, "")
            self.job.failed.emit(message)
            return False
        self._save_choices()
        if self.last_check is not None:
            self._on_check(self.last_check)  # not "measuring": nothing is timed beside a run
        else:
            self._show_check_text("Training with these settings.")
        self._started_at = time.monotonic()
        self._final_model = ""
        self._last_seconds_per_step = 0.0
        if not resume:
            self.checkpoints.clear()
            self._best_path = ""
        self.shown_run = Path(config.out_dir)
        app_settings().setValue("training/last_run", str(self.shown_run))
        self._show_run_label(config)
        self.loss_plot.clear()
        self.quality_plot.clear()
        self.preview_strip.clear()
        self.progress.setRange(0, config.steps)
        self.progress.setValue(0)
        self.rate_label.setText("Starting… (loading PyTorch and the images)")
        self.status_changed.emit("Training: starting")
        self.run_shown.emit(str(self.shown_run))
        return True

    def resume_run(self, run_dir: Path | str, from_checkpoint: Path | None = None) -> bool:
        """Continue the run in ``run_dir`` with its saved settings (from its newest
        checkpoint, or ``from_checkpoint``)."""
        run_dir = Path(run_dir)
        try:
            config = TrainConfig.load(run_dir / "config.json")
        except (OSError, ValueError, TypeError, KeyError) as exc:
            message = f"{run_dir / 'config.json'}: cannot resume this run ({exc})."
            self.job.failed_details.emit(message, "")
            self.job.failed.emit(message)
            return False
        config.out_dir = str(run_dir)
        if self.device.currentText():
            config.device = self.device.currentText()  # the run may move to another device
        self._show_settings_of(config)
        return self.start(config, resume=True, resume_from=from_checkpoint)

    def _show_settings_of(self, config: TrainConfig) -> None:
        """The form shows the settings a resumed run goes on with (its own)."""
        self._applying_plan = True
        try:
            self.outcome.blockSignals(True)
            self.set_outcome(CUSTOM)
            self.outcome.blockSignals(False)
            self.method.setCurrentText(config.method)
            if self.preset.findData(config.preset) < 0:
                self.preset.addItem(config.preset, config.preset)
            self.preset.setCurrentIndex(self.preset.findData(config.preset))
            self.size.setValue(config.size)
            self.steps.setValue(config.steps)
            self.batch.setValue(config.batch_size)
            self.lr.setValue(config.lr)
            self.quality_every.setValue(config.metrics_every)
            problems = self.recipe.set_values(
                {spec.name: getattr(config, spec.name) for spec in self.recipe.specs}
            )
        finally:
            self._applying_plan = False
        self._recipe_notes = [f"Not shown: {p}" for p in problems]
        self.plan = None
        self._update_summary()

    def show_run(self, run_dir: Path | str | None) -> None:
        """List the checkpoints of ``run_dir`` (when no run is going), so they can be used
        or resumed from; the run is remembered for the next launch."""
        if self.job.is_running():
            return
        self.shown_run = Path(run_dir) if run_dir else None
        self._final_model = ""
        self._best_path = ""
        self.checkpoints.clear()
        if self.shown_run is None:
            self.run_label.setText("No run yet")
        else:
            app_settings().setValue("training/last_run", str(self.shown_run))
            try:
                self._show_run_label(TrainConfig.load(self.shown_run / "config.json"))
            except (OSError, ValueError, TypeError, KeyError):
                self.run_label.setText(self.shown_run.name)
            self._refresh_checkpoints()
        self._update_buttons()

    def _show_run_label(self, config: TrainConfig) -> None:
        names = " + ".join(s.display_name or s.name for s in config.styles)
        self.run_label.setText(
            f"<b>{html.escape(names)}</b> · {config.method} · {config.preset} · "
            f"{config.size} px · {config.steps:,} steps<br>"
            f"<small>{html.escape(str(config.out_dir))}</small>"
        )

    def stop(self) -> None:
        self._start_when_planned = False
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

    def add_selected_to_models(self) -> None:
        item = self.selected_checkpoint()
        if item is not None:
            self.add_to_models.emit(item.data(MODEL_ROLE))

    def resume_selected(self) -> bool:
        """Resume the run from the selected checkpoint (the final model: its newest)."""
        item = self.selected_checkpoint()
        if item is None:
            return False
        chosen = Path(item.data(CHECKPOINT_ROLE))
        final = bool(item.data(FINAL_ROLE))
        run_dir = chosen.parent if final else chosen.parent.parent
        return self.resume_run(run_dir, None if final else chosen)

    # -- job events -------------------------------------------------------------------
    def _on_progress(self, step: int, total: int, info: dict) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(step)
        sps = info.get("steps_per_second", 0.0)
        if sps > 0:
            self._last_seconds_per_step = 1.0 / sps
        self.rate_label.setText(
            f"Step {step:,} of {total:,} · {sps:.2f} steps/s · "
            f"{format_eta(info.get('eta_seconds', 0))} left"
        )
        self.loss_plot.add_point(
            step, {plain_loss_name(k): v for k, v in info.get("losses", {}).items()}
        )
        if self.job.state == "paused":  # the last step before the pause took hold
            self._show_paused(step)
            self.status_changed.emit(f"Training paused at step {step:,}")
        else:
            self.status_changed.emit(f"Training: step {step:,} of {total:,}")

    def _on_run_started(self, start_step: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(start_step)
        if start_step:
            self.rate_label.setText(f"Resumed at step {start_step:,} of {total:,}")
        if self.job.run_dir is not None:
            self.shown_run = self.job.run_dir
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
        text = f"Final model  —  {model.name}" if final else f"Step {step:,}  —  {path.name}"
        item = QListWidgetItem(text)
        item.setData(CHECKPOINT_ROLE, str(path))
        item.setData(MODEL_ROLE, str(model))
        item.setData(STEP_ROLE, step)
        item.setData(FINAL_ROLE, final)
        item.setToolTip(str(path))
        return item

    def _refresh_checkpoints(self) -> None:
        run_dir = self.job.run_dir if self.job.is_running() else self.shown_run
        if run_dir is not None:
            self.checkpoint_list_job.request(run_dir)

    def _on_checkpoints_listed(self, listed: tuple[Path, list[CheckpointInfo]]) -> None:
        """The list as the run folder has it: pruned checkpoints are gone, and so are
        those a resume from an older one set aside."""
        run_dir, found = listed
        wanted = self.job.run_dir if self.job.is_running() else self.shown_run
        if run_dir != wanted:
            return
        current = self.checkpoints.currentItem()
        selected = current.data(CHECKPOINT_ROLE) if current is not None else ""
        self.checkpoints.clear()
        finals = [info for info in found if info.is_final]
        found = [info for info in found if not info.is_final]
        for info in found:
            item = self._checkpoint_item(info.step, info.path, info.model_path)
            if info.is_best or str(info.path) == self._best_path:
                item.setText(BEST_MARK + item.text())
            self.checkpoints.addItem(item)
        # The run's final model is listed once it is finished (after a Stop it holds
        # the same weights as the last checkpoint, which is listed already).
        final_model = self._final_model
        if not final_model and finals and not self.job.is_running():
            final_model = str(finals[0].model_path) if self._run_finished(run_dir) else ""
        if final_model:
            self.checkpoints.addItem(
                self._checkpoint_item(
                    found[-1].step if found else 0,
                    Path(final_model),
                    Path(final_model),
                    final=True,
                )
            )
        for row in range(self.checkpoints.count()):
            if self.checkpoints.item(row).data(CHECKPOINT_ROLE) == selected:
                self.checkpoints.setCurrentRow(row)
        self._update_buttons()
        self.checkpoints_listed.emit(self.checkpoints.count())

    @staticmethod
    def _run_finished(run_dir: Path) -> bool:
        """Whether a run's last checkpoint reached its total steps (read from disk)."""
        try:
            total = TrainConfig.load(run_dir / "config.json").steps
        except (OSError, ValueError, TypeError, KeyError):
            return False
        return (run_dir / "checkpoints" / f"step_{total:07d}").is_dir()

    def _on_quality(self, step: int, metrics: dict) -> None:
        shown = {
            label: metrics[key]
            for key, label in (("style_score", "style score"), ("contour_f", "contours kept"),
                               ("edge_ssim", "edge SSIM"))
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
        self._remember_run_speed()
        self._on_ended("Training finished")
        self._refresh_checkpoints()

    def _on_cancelled(self) -> None:
        self._remember_run_speed()
        self._on_ended("Training stopped; the last checkpoint is kept")
        self._refresh_checkpoints()

    def _remember_run_speed(self) -> None:
        """A real run's speed is the best measurement there is: the goals use it next."""
        config = self.job.config
        if config is None or self._last_seconds_per_step <= 0:
            return
        key = speed_key(config.method, config.preset, config.size, config.batch_size, config.device)
        app_settings().setValue(f"speed/{key}", self._last_seconds_per_step)

    def _on_ended(self, text: str) -> None:
        elapsed = time.monotonic() - self._started_at if self._started_at else 0
        self.rate_label.setText(f"{text} ({format_eta(elapsed)})" if elapsed else text)
        self.paused_banner.setVisible(False)
        self.progress.setFormat("%v / %m steps")
        self.status_changed.emit(text)
        self._update_buttons()
        QTimer.singleShot(0, self._plan_goal)  # the check again, with the speed just seen

    def _on_state(self, state: str) -> None:
        if state == "paused":
            step = self.job.last_step
            self._show_paused(step)
            self.status_changed.emit(f"Training paused at step {step:,}")
        else:
            self.paused_banner.setVisible(False)
            self.progress.setFormat("%v / %m steps")
            if state == "stopping":
                self.status_changed.emit("Training: stopping…")
            elif state == "running" and self.job.last_step:
                self.status_changed.emit(f"Training: resumed at step {self.job.last_step:,}")

    def _on_engine_paused(self, step: int) -> None:
        if self.job.state == "paused":
            self._show_paused(step)
            self.status_changed.emit(f"Training paused at step {step:,}")

    def _show_paused(self, step: int) -> None:
        total = self.job.total_steps
        self.paused_banner.setText(
            f"Paused at step {step:,} of {total:,}. Press Resume to go on; nothing is "
            "lost meanwhile, and quitting keeps a checkpoint to resume from."
        )
        self.paused_banner.setVisible(True)
        self.progress.setFormat("Paused · %v / %m steps")

    def _update_buttons(self) -> None:
        state = self.job.state
        idle = state == "idle"
        self.start_button.setEnabled(idle)
        self.pause_button.setEnabled(state == "running")
        self.resume_button.setEnabled(state == "paused")
        self.stop_button.setEnabled(state in ("running", "paused"))
        has_ck = self.checkpoints.count() > 0
        self.use_button.setEnabled(has_ck)
        self.add_button.setEnabled(has_ck)
        self.resume_from_button.setEnabled(has_ck and idle)
        self.recipe.set_editable(idle)
        self.recipe_defaults_button.setEnabled(idle)
        for w in (
            self.style_field,
            self.content_field,
            self.outcome,
            self.method,
            self.preset,
            self.size,
            self.steps,
            self.batch,
            self.lr,
            self.device,
            self.quality_every,
        ):
            w.setEnabled(idle)

    # -- settings ---------------------------------------------------------------------
    def _style_changed(self) -> None:
        folder = self.style_field.folder()
        if self.style_field.dataset_builder() is None and folder and Path(folder).is_dir():
            self.style_files_job.request(Path(folder))  # listed in a worker, newest wins
        self._sources_changed()

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self._check_timer.stop()
        jobs_here = (self.checkpoint_list_job, self.style_files_job, self.plan_job, self.check_job)
        for job in jobs_here:
            job.cancel_all()
        for job in jobs_here:
            job.wait(timeout_ms)

    def _save_sources(self) -> None:
        s = app_settings()
        s.setValue("training/style", self.style_field.folder())
        s.setValue("training/content", self.content_field.folder())
        s.setValue("training/style_dataset", self.style_field.dataset_label())
        s.setValue("training/content_dataset", self.content_field.dataset_label())

    def _save_choices(self) -> None:
        if self._restoring:
            return
        self._save_sources()
        s = app_settings()
        s.setValue("training/method", self.method.currentText())
        s.setValue("training/preset", self.preset.currentData())
        s.setValue("training/size", self.size.value())
        s.setValue("training/steps", self.steps.value())
        s.setValue("training/batch", self.batch.value())
        s.setValue("training/lr", self.lr.value())
        s.setValue("training/device", self.device.currentText())
        s.setValue("training/live_preview", self.live_preview.isChecked())
        s.setValue("training/recipe", json.dumps(self.recipe.changed_values()))

    def _restore_choices(self) -> None:
        s = app_settings()

        def get(key: str, default: Any, cast: Callable[[Any], Any]) -> Any:
            try:
                return cast(s.value(f"training/{key}", default))
            except (TypeError, ValueError):
                return default

        self.style_field.edit.setText(get("style", "", str))
        self.content_field.edit.setText(get("content", "", str))
        self._saved_sources = {
            "style": get("style_dataset", "", str),
            "content": get("content_dataset", "", str),
        }
        self.method.setCurrentText(get("method", "multistyle", str))
        # Until the engine lists its presets and devices, the saved choices stand alone.
        self.preset.addItem(get("preset", "painter", str), get("preset", "painter", str))
        self.size.setValue(get("size", 256, int))
        self.steps.setValue(get("steps", 2000, int))
        self.batch.setValue(get("batch", 1, int))
        self.lr.setValue(get("lr", 2e-4, float))
        self.device.addItem(get("device", "auto", str))
        try:
            recipe = json.loads(get("recipe", "{}", str) or "{}")
        except ValueError:
            recipe = {}
        if isinstance(recipe, dict):
            # A value this version refuses (its range changed) is said with the check.
            self._recipe_notes = [f"Not restored: {p}" for p in self.recipe.set_values(recipe)]
        self._update_recipe_summary()
        self.live_preview.setChecked(setting_bool("training/live_preview", True))
        self.live_preview.toggled.connect(
            lambda on: app_settings().setValue("training/live_preview", on)
        )
        outcome = get("outcome", "good", str)
        self.outcome.blockSignals(True)
        if not self.set_outcome(outcome):
            self.set_outcome("good")
        self.outcome.blockSignals(False)
        if self.outcome_key() == CUSTOM:
            self.details_button.setChecked(True)
        last_run = get("last_run", "", str)
        if last_run and (Path(last_run) / "config.json").is_file():
            self.shown_run = Path(last_run)
            QTimer.singleShot(0, lambda: self.show_run(self.shown_run))
        QTimer.singleShot(0, self._plan_goal)  # the goal's steps, from a known speed
