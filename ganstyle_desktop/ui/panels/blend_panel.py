"""Blend panel: one slider per tradition of a multi-style model, a style-strength slider
and a brush size (for every model), and a live preview of the canvas photo that follows
them.

The sliders edit the canvas state's one :class:`Blend` value (relative weights, a
strength and a brush size; the photo itself when the strength or every weight is 0); the
canvas, the stylizer and an export read that same value, so what the preview shows is what
Stylize paints. The preview is rendered in a worker at the size it is shown (not the photo's full
resolution). Slider moves are coalesced: changes made in one pass of the event loop
become one request, and a new request cancels the render in flight, so the latest
position always wins and previews never queue up behind each other.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from ganstyle_desktop.engine.blend import AUTO_BRUSH, Blend
from ganstyle_desktop.ui.canvas_state import CanvasState
from ganstyle_desktop.ui.jobs import BackgroundTask, Photo
from ganstyle_desktop.ui.jobs.models import (
    BlendPreview,
    BlendPreviewJob,
    BlendRequest,
    ModelStyles,
    read_model_styles,
)

log = logging.getLogger(__name__)

SLIDER_MAX = 100
MIN_PREVIEW_SIDE = 256
MAX_PREVIEW_SIDE = 1024
# Brush sizes offered (the CLI takes any value up to MAX_BRUSH); past 4 the enlargement's
# softness outweighs the larger strokes.
BRUSH_CHOICES = (AUTO_BRUSH, 1.0, 1.5, 2.0, 3.0, 4.0)

__all__ = ["BlendPanel", "BlendPreviewJob", "BlendRequest"]


class _PreviewLabel(QLabel):
    """Shows a QImage scaled to fit, keeping its aspect ratio."""

    def __init__(self) -> None:
        super().__init__()
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._image: QImage | None = None

    def set_image(self, image: QImage | None) -> None:
        self._image = image
        self._refit()

    def image(self) -> QImage | None:
        return self._image

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._refit()

    def _refit(self) -> None:
        if self._image is None or self._image.isNull():
            self.setPixmap(QPixmap())
            return
        pix = QPixmap.fromImage(self._image)
        self.setPixmap(
            pix.scaled(
                self.size(),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )


class BlendPanel(QWidget):
    """Sliders per tradition + strength, and a live preview.

    Signals: ``model_loaded(list)`` the (slug, name) traditions once a model's card is read
    (one for a single-style model); ``blend_changed(Blend)`` whenever the sliders make a
    new blend (it is also the canvas state's blend); ``preview_updated(QImage)`` when the
    newest preview lands; ``failed(str)`` a message for people.
    """

    model_loaded = Signal(list)
    blend_changed = Signal(object)
    preview_updated = Signal(QImage)
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None, state: CanvasState | None = None) -> None:
        super().__init__(parent)
        self.state = state if state is not None else CanvasState(self)
        self.styles: ModelStyles | None = None
        self.traditions: list[tuple[str, str]] = []
        self._photo_source: Photo | Path | None = None
        self._sliders: dict[str, QSlider] = {}
        self._value_labels: dict[str, QLabel] = {}
        self._building = False

        self._card_task = BackgroundTask(self, "blend-card")
        self._card_task.finished.connect(self._on_styles)
        self._card_task.failed.connect(self._on_card_failed)
        self.job = BlendPreviewJob(self)
        self.job.finished.connect(self._on_preview)
        self.job.failed.connect(self._on_render_failed)
        # Zero-delay timer: all slider changes of one event-loop pass become one request.
        self._coalesce = QTimer(self)
        self._coalesce.setSingleShot(True)
        self._coalesce.setInterval(0)
        self._coalesce.timeout.connect(self._request_preview)

        self.title = QLabel("Choose a model to blend its traditions.")
        self.title.setWordWrap(True)
        self._slider_box = QWidget()
        self._form = QFormLayout(self._slider_box)
        self._form.setContentsMargins(0, 0, 0, 0)
        self.strength = QSlider(Qt.Orientation.Horizontal)
        self.strength.setRange(0, SLIDER_MAX)
        self.strength.setValue(SLIDER_MAX)
        self.strength.setToolTip("Style strength: the rest of the picture is the photo itself")
        self.strength.valueChanged.connect(self._on_slider)
        self._strength_value = QLabel("100%")
        strength_row = QHBoxLayout()
        strength_row.addWidget(self.strength, 1)
        strength_row.addWidget(self._strength_value)
        self.brush = QComboBox()
        self.brush.setObjectName("blend-brush")
        for value in BRUSH_CHOICES:
            self.brush.addItem(_brush_label(value), value)
        self.brush.setToolTip(
            "Stroke size. A model paints strokes of a fixed size in pixels, so on a large "
            "photo they shrink to a fine texture that reads as a filter. At x2 the photo is "
            "painted at half its size and enlarged back: strokes twice as large, edges a "
            "little softer. Auto paints the photo at the size the model learned at (up to "
            "x4); x1 paints every pixel."
        )
        self.brush.currentIndexChanged.connect(self._on_slider)
        self.preview = _PreviewLabel()
        self.preview.setText("The preview appears here.")
        self.status = QLabel("")
        self.status.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self._slider_box)
        strength_form = QFormLayout()
        strength_form.addRow("Style strength", strength_row)
        strength_form.addRow("Brush size", self.brush)
        layout.addLayout(strength_form)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.status)

        self.state.model_changed.connect(self._on_model_changed)
        self.state.photo_changed.connect(self._on_photo_changed)
        self.state.blend_changed.connect(self._on_state_blend)
        if self.state.model is not None:
            self._on_model_changed(self.state.model)
        if self.state.photo is not None:
            self._on_photo_changed(self.state.photo)

    # -- public -------------------------------------------------------------------------
    def set_model(self, path: str | Path | None) -> None:
        """Make ``path`` the canvas state's model (its traditions are read in a worker)."""
        self.state.set_model(path)

    def set_photo(self, photo: Photo | str | Path | None) -> None:
        """Preview on ``photo`` (the canvas photo follows the state by itself)."""
        self._photo_source = photo if isinstance(photo, Photo) or photo is None else Path(photo)
        self.schedule_preview()

    @property
    def model_path(self) -> Path | None:
        return self.state.model

    def weights(self) -> dict[str, float]:
        """Slider positions per tradition slug, 0..1 (relative weights)."""
        return {slug: s.value() / SLIDER_MAX for slug, s in self._sliders.items()}

    def strength_value(self) -> float:
        return self.strength.value() / SLIDER_MAX

    def brush_value(self) -> float:
        value = self.brush.currentData()
        return float(value) if value is not None else AUTO_BRUSH

    def current_blend(self) -> Blend:
        """The blend the sliders make (the canvas state's blend once they moved)."""
        weights = self.weights() if self._sliders else None
        return Blend.of(weights, self.strength_value(), self.brush_value())

    def set_weights(self, weights: dict[str, float], strength: float | None = None) -> None:
        """Move the sliders (0..1 each); one preview request follows."""
        for slug, value in weights.items():
            if slug in self._sliders:
                self._sliders[slug].setValue(round(max(0.0, min(1.0, value)) * SLIDER_MAX))
        if strength is not None:
            self.strength.setValue(round(max(0.0, min(1.0, strength)) * SLIDER_MAX))

    def slider(self, slug: str) -> QSlider:
        return self._sliders[slug]

    def preview_image(self) -> QImage | None:
        return self.preview.image()

    def preview_side(self) -> int:
        """The preview's on-screen size in device pixels, clamped to what stays live."""
        ratio = self.devicePixelRatioF() if hasattr(self, "devicePixelRatioF") else 1.0
        size: QSize = self.preview.size()
        side = int(max(size.width(), size.height()) * ratio)
        return max(MIN_PREVIEW_SIDE, min(MAX_PREVIEW_SIDE, side))

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self._coalesce.stop()
        self.job.cancel_all()
        self.job.wait(timeout_ms)
        self._card_task.wait(timeout_ms)

    def schedule_preview(self) -> None:
        self._coalesce.start()

    # -- the state ------------------------------------------------------------------------
    def _on_model_changed(self, path: Path | None) -> None:
        self._clear_sliders()
        self.styles = None
        self.job.cancel_all()
        if path is None:
            self.title.setText("Choose a model to blend its traditions.")
            return
        self.title.setText(f"Reading {path.name}…")
        if self._card_task.is_running():
            self._card_task.wait()
        self._card_task.run(read_model_styles, path)

    def _on_photo_changed(self, photo: Photo | None) -> None:
        self.set_photo(photo)

    def _on_state_blend(self, blend: Blend) -> None:
        if not self._building and blend != self.current_blend():
            self._show_blend(blend)  # set from elsewhere: the sliders follow
        self._update_labels()
        self.blend_changed.emit(blend)
        self.schedule_preview()

    # -- internals ----------------------------------------------------------------------
    def _clear_sliders(self) -> None:
        while self._form.rowCount():
            self._form.removeRow(0)
        self._sliders.clear()
        self._value_labels.clear()
        self.traditions = []

    def _on_styles(self, styles: ModelStyles) -> None:
        if styles.path != self.state.model:
            return  # the model changed while its card was read
        self._clear_sliders()
        self.styles = styles
        self.traditions = list(styles.traditions)
        if styles.multistyle and len(self.traditions) > 1:
            for slug, name in self.traditions:
                slider = QSlider(Qt.Orientation.Horizontal)
                slider.setRange(0, SLIDER_MAX)
                slider.setObjectName(f"blend-{slug}")
                slider.setToolTip(f"Weight of {name} in the mix")
                slider.valueChanged.connect(self._on_slider)
                value = QLabel()
                row = QHBoxLayout()
                row.addWidget(slider, 1)
                row.addWidget(value)
                self._sliders[slug] = slider
                self._value_labels[slug] = value
                self._form.addRow(name, row)
            self.title.setText(f"Mix the traditions of {styles.name}:")
        else:
            self.title.setText(f"{styles.name} paints one style: choose how much of it.")
        self._show_blend(self.state.blend)
        self._update_labels()
        self.model_loaded.emit(list(self.traditions))
        self.schedule_preview()

    def _show_blend(self, blend: Blend) -> None:
        """Put the sliders where ``blend`` is (without writing it back)."""
        self._building = True
        try:
            if self._sliders:
                given = dict(blend.weights or ())
                if blend.weights is None:  # the model's own style: its first tradition
                    given = {self.traditions[0][0]: 1.0}
                # Weights are relative: scale them into the sliders' range only if needed.
                top = max(max(given.values(), default=0.0), 1.0)
                for slug, slider in self._sliders.items():
                    slider.setValue(round(given.get(slug, 0.0) / top * SLIDER_MAX))
            self.strength.setValue(round(blend.strength * SLIDER_MAX))
            self._show_brush(blend.brush)
        finally:
            self._building = False

    def _show_brush(self, brush: float) -> None:
        index = self.brush.findData(brush)
        if index < 0:  # a size set elsewhere (a saved blend): offered from now on
            self.brush.addItem(_brush_label(brush), brush)
            index = self.brush.count() - 1
        self.brush.setCurrentIndex(index)

    def _on_card_failed(self, message: str) -> None:
        self.title.setText(message)
        self.failed.emit(message)

    def _on_slider(self, _value: int) -> None:
        if self._building:
            return
        self._update_labels()
        self.state.set_blend(self.current_blend())  # emits only on a real change
        self.schedule_preview()

    def _update_labels(self) -> None:
        shares = self.current_blend().shares()
        for slug, label in self._value_labels.items():
            label.setText(f"{round(100 * shares.get(slug, 0.0)):3d}%")
        self._strength_value.setText(f"{self.strength.value()}%")

    def _preview_source(self) -> Photo | Path | None:
        return self._photo_source if self._photo_source is not None else self.state.photo

    def _request_preview(self) -> None:
        source = self._preview_source()
        if self.state.model is None or source is None or self.styles is None:
            return
        self.status.setText("Rendering preview…")
        self.job.request(
            BlendRequest(self.state.model, source, self.state.blend, self.preview_side())
        )

    def _on_preview(self, preview: BlendPreview) -> None:
        self.preview.setText("")
        self.preview.set_image(preview.image)
        self.status.setText(preview.blend.describe(dict(self.traditions)))
        self.preview_updated.emit(preview.image)

    def _on_render_failed(self, message: str) -> None:
        self.status.setText(message)
        self.failed.emit(message)


def _brush_label(value: float) -> str:
    if value == AUTO_BRUSH:
        return "Auto (the size the model learned at)"
    return "x1 (every pixel)" if value == 1.0 else f"x{value:g}"
