"""Edits a dataset's preprocessing pipeline (resize, crop, rotations, flips, colour jitter)
and shows a grid of augmented samples. Changes emit ``pipeline_changed`` for the preview;
Apply emits ``pipeline_applied`` for an undoable save."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ganstyle_desktop.engine.config import PipelineConfig

CROP_MODES = ("random", "center", "random_resized")


class DatasetPipelineEditor(QWidget):
    pipeline_changed = Signal(object)  # PipelineConfig, while editing
    pipeline_applied = Signal(object)  # PipelineConfig, on Apply

    def __init__(self, parent: QWidget | None = None, preview_columns: int = 4) -> None:
        super().__init__(parent)
        self._loading = False
        self.resize_spin = QSpinBox()
        self.resize_spin.setRange(0, 4096)
        self.resize_spin.setSpecialValueText("auto (1.125 x crop)")
        self.resize_spin.setSuffix(" px")
        self.crop_combo = QComboBox()
        self.crop_combo.addItems(CROP_MODES)
        self.rotation_boxes = {angle: QCheckBox(f"{angle}°") for angle in (90, 180, 270)}
        rotations = QHBoxLayout()
        for box in self.rotation_boxes.values():
            rotations.addWidget(box)
        self.hflip_box = QCheckBox("Horizontal flips")
        self.vflip_box = QCheckBox("Vertical flips")
        self.jitter_spin = QDoubleSpinBox()
        self.jitter_spin.setRange(0.0, 0.5)
        self.jitter_spin.setSingleStep(0.05)
        form = QFormLayout()
        form.addRow("Resize shorter side", self.resize_spin)
        form.addRow("Crop", self.crop_combo)
        form.addRow("Extra rotations", rotations)
        form.addRow("", self.hflip_box)
        form.addRow("", self.vflip_box)
        form.addRow("Colour jitter", self.jitter_spin)
        self.apply_button = QPushButton("Apply pipeline")
        self.apply_button.clicked.connect(lambda: self.pipeline_applied.emit(self.pipeline()))
        self.preview_button = QPushButton("New samples")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.preview_grid = QGridLayout()
        self.preview_labels: list[QLabel] = []
        self.preview_columns = preview_columns
        buttons = QHBoxLayout()
        buttons.addWidget(self.preview_button)
        buttons.addStretch(1)
        buttons.addWidget(self.apply_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addLayout(self.preview_grid)
        layout.addStretch(1)
        for widget in (self.resize_spin, self.jitter_spin):
            widget.valueChanged.connect(self._emit_changed)
        self.crop_combo.currentIndexChanged.connect(self._emit_changed)
        for box in (*self.rotation_boxes.values(), self.hflip_box, self.vflip_box):
            box.toggled.connect(self._emit_changed)

    def set_pipeline(self, pipeline: PipelineConfig) -> None:
        self._loading = True
        try:
            self.resize_spin.setValue(pipeline.resize or 0)
            index = self.crop_combo.findText(pipeline.crop)
            self.crop_combo.setCurrentIndex(max(index, 0))
            for angle, box in self.rotation_boxes.items():
                box.setChecked(angle in pipeline.rotations)
            self.hflip_box.setChecked(pipeline.hflip)
            self.vflip_box.setChecked(pipeline.vflip)
            self.jitter_spin.setValue(pipeline.color_jitter)
        finally:
            self._loading = False

    def pipeline(self) -> PipelineConfig:
        return PipelineConfig(
            resize=self.resize_spin.value() or None,
            crop=self.crop_combo.currentText(),
            rotations=tuple(a for a, box in self.rotation_boxes.items() if box.isChecked()),
            hflip=self.hflip_box.isChecked(),
            vflip=self.vflip_box.isChecked(),
            color_jitter=round(self.jitter_spin.value(), 3),
        )

    def _emit_changed(self, *_: object) -> None:
        if not self._loading:
            self.pipeline_changed.emit(self.pipeline())

    def show_previews(self, images: list[QImage]) -> None:
        while len(self.preview_labels) < len(images):
            label = QLabel()
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            n = len(self.preview_labels)
            self.preview_grid.addWidget(label, n // self.preview_columns, n % self.preview_columns)
            self.preview_labels.append(label)
        for i, label in enumerate(self.preview_labels):
            if i < len(images):
                label.setPixmap(QPixmap.fromImage(images[i]))
                label.show()
            else:
                label.clear()
                label.hide()
