"""Blend panel: one slider per tradition of a multi-style model, a style-strength slider,
and a live preview of the canvas photo that follows them.

The preview is rendered in a worker at the size it is shown (not the photo's full
resolution). Slider moves are coalesced: requests made in one pass of the event loop
become one, and a new request cancels the render in flight, so the latest position
always wins and previews never queue up behind each other.

Reading the model card and rendering import torch, so both run in workers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from ganstyle_desktop.ui.jobs import BackgroundTask

log = logging.getLogger(__name__)

SLIDER_MAX = 100
MIN_PREVIEW_SIDE = 256
MAX_PREVIEW_SIDE = 1024


@dataclass(frozen=True)
class BlendRequest:
    model_path: Path
    photo_path: Path
    weights: dict[str, float]  # slider values per tradition slug (any scale)
    strength: float  # 0..1
    max_side: int


# -- worker functions (off the GUI thread; they may import torch) ---------------------------


def read_traditions(model_path: Path) -> list[tuple[str, str]]:
    """(slug, display name) per tradition of the model; refuses single-style models."""
    from ganstyle_desktop.engine.modelfile import read_card

    card = read_card(model_path)
    if card.kind != "multistyle":
        raise ValueError(f"{model_path.name} knows one style; blending needs a multi-style model.")
    slugs = card.architecture.get("traditions") or [t.get("slug") for t in card.traditions]
    names = {t.get("slug"): t.get("name") or t.get("slug") for t in card.traditions}
    return [(str(s), str(names.get(s) or s)) for s in slugs]


def render_preview(request: BlendRequest, control: Any) -> tuple[BlendRequest, QImage, dict]:
    from ganstyle_desktop.engine.blend import (
        load_model_cached,
        load_photo,
        normalised_blend,
        render_blend,
    )
    from ganstyle_desktop.ui.qimage import qimage_from_array

    blend, _strength = normalised_blend(request.weights, request.strength)
    model = load_model_cached(request.model_path)
    control.raise_if_cancelled()
    photo = load_photo(request.photo_path, request.max_side)
    control.raise_if_cancelled()
    out = render_blend(model, photo, blend, max_side=request.max_side, control=control)
    return request, qimage_from_array(out), blend or {}


# -- latest-wins preview job ----------------------------------------------------------------


class BlendPreviewJob(QObject):
    """Renders blend previews one at a time; a new request replaces the pending one and
    cancels the one running. Only the newest request's result is ever emitted."""

    preview_ready = Signal(object, QImage, dict)  # request, image, normalised blend
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._task = BackgroundTask(self, "blend-preview")
        self._task.finished.connect(self._on_finished)
        self._task.failed.connect(self._on_failed)
        self._task.cancelled.connect(self._on_cancelled)
        self._pending: BlendRequest | None = None
        self.started_requests = 0  # how many renders actually ran (coalescing shows here)

    def request(self, request: BlendRequest) -> None:
        if self._task.is_running():
            self._pending = request
            self._task.cancel()
            return
        self._start(request)

    def is_running(self) -> bool:
        return self._task.is_running()

    def cancel_all(self) -> None:
        self._pending = None
        self._task.cancel()

    def wait(self, timeout_ms: int = 10_000) -> bool:
        return self._task.wait(timeout_ms)

    def _start(self, request: BlendRequest) -> None:
        self.started_requests += 1
        self._task.run(render_preview, request)

    def _next(self) -> bool:
        pending, self._pending = self._pending, None
        if pending is not None:
            self._start(pending)
            return True
        return False

    def _on_finished(self, result: tuple[BlendRequest, QImage, dict]) -> None:
        if self._next():
            return  # a newer position arrived while this one rendered: drop it
        request, image, blend = result
        self.preview_ready.emit(request, image, blend)

    def _on_failed(self, message: str) -> None:
        if not self._next():
            self.failed.emit(message)

    def _on_cancelled(self) -> None:
        self._next()


# -- the panel ------------------------------------------------------------------------------


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

    Signals: ``model_loaded(list)`` the (slug, name) traditions once a model's card is read;
    ``blend_changed(dict)`` slug -> weight (weights sum to the strength; empty: the photo
    itself), on every slider change; ``preview_updated(QImage)`` when the newest preview
    lands; ``failed(str)`` a message for people.
    """

    model_loaded = Signal(list)
    blend_changed = Signal(dict)
    preview_updated = Signal(QImage)
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_path: Path | None = None
        self.photo_path: Path | None = None
        self.traditions: list[tuple[str, str]] = []
        self._sliders: dict[str, QSlider] = {}
        self._value_labels: dict[str, QLabel] = {}
        self.last_blend: dict[str, float] = {}

        self._card_task = BackgroundTask(self, "blend-card")
        self._card_task.finished.connect(self._on_traditions)
        self._card_task.failed.connect(self._on_card_failed)
        self.job = BlendPreviewJob(self)
        self.job.preview_ready.connect(self._on_preview)
        self.job.failed.connect(self._on_render_failed)
        # Zero-delay timer: all slider changes of one event-loop pass become one request.
        self._coalesce = QTimer(self)
        self._coalesce.setSingleShot(True)
        self._coalesce.setInterval(0)
        self._coalesce.timeout.connect(self._request_preview)

        self.title = QLabel("Choose a multi-style model to blend its traditions.")
        self.title.setWordWrap(True)
        self._slider_box = QWidget()
        self._form = QFormLayout(self._slider_box)
        self._form.setContentsMargins(0, 0, 0, 0)
        self.strength = self._make_slider(SLIDER_MAX)
        self.strength.setToolTip("Style strength: the rest of the picture is the photo itself")
        self._strength_value = QLabel("100%")
        strength_row = QHBoxLayout()
        strength_row.addWidget(self.strength, 1)
        strength_row.addWidget(self._strength_value)
        self.preview = _PreviewLabel()
        self.preview.setText("The preview appears here.")
        self.status = QLabel("")
        self.status.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self._slider_box)
        strength_form = QFormLayout()
        strength_form.addRow("Style strength", strength_row)
        layout.addLayout(strength_form)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.status)

    # -- public -------------------------------------------------------------------------
    def set_model(self, path: str | Path | None) -> None:
        """Read the model's traditions (in a worker) and build a slider for each."""
        self.model_path = Path(path) if path else None
        self._clear_sliders()
        self.job.cancel_all()
        if self.model_path is None:
            self.title.setText("Choose a multi-style model to blend its traditions.")
            return
        self.title.setText(f"Reading {self.model_path.name}…")
        if self._card_task.is_running():
            self._card_task.wait()
        self._card_task.run(read_traditions, self.model_path)

    def set_photo(self, path: str | Path | None) -> None:
        self.photo_path = Path(path) if path else None
        self.schedule_preview()

    def weights(self) -> dict[str, float]:
        """Slider positions per tradition slug, 0..1."""
        return {slug: s.value() / SLIDER_MAX for slug, s in self._sliders.items()}

    def strength_value(self) -> float:
        return self.strength.value() / SLIDER_MAX

    def current_blend(self) -> dict[str, float]:
        """Slug -> weight, weights summing to the strength; empty: the photo itself."""
        total = sum(self.weights().values())
        if total <= 0:
            return {}
        s = self.strength_value()
        return {k: v / total * s for k, v in self.weights().items() if v > 0 and s > 0}

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

    # -- internals ----------------------------------------------------------------------
    def _make_slider(self, value: int) -> QSlider:
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(0, SLIDER_MAX)
        slider.setValue(value)
        slider.valueChanged.connect(self._on_slider)
        return slider

    def _clear_sliders(self) -> None:
        while self._form.rowCount():
            self._form.removeRow(0)
        self._sliders.clear()
        self._value_labels.clear()
        self.traditions = []

    def _on_traditions(self, traditions: list[tuple[str, str]]) -> None:
        self._clear_sliders()
        self.traditions = list(traditions)
        for i, (slug, name) in enumerate(self.traditions):
            slider = self._make_slider(SLIDER_MAX if i == 0 else 0)
            slider.setObjectName(f"blend-{slug}")
            slider.setToolTip(f"Weight of {name} in the mix")
            value = QLabel()
            row = QHBoxLayout()
            row.addWidget(slider, 1)
            row.addWidget(value)
            self._sliders[slug] = slider
            self._value_labels[slug] = value
            self._form.addRow(name, row)
        name = self.model_path.stem if self.model_path else ""
        self.title.setText(f"Mix the traditions of {name}:")
        self._update_labels()
        self.model_loaded.emit(list(self.traditions))
        self.last_blend = self.current_blend()
        self.blend_changed.emit(self.last_blend)
        self.schedule_preview()

    def _on_card_failed(self, message: str) -> None:
        self.title.setText(message)
        self.failed.emit(message)

    def _on_slider(self, _value: int) -> None:
        self._update_labels()
        blend = self.current_blend()
        if blend != self.last_blend:
            self.last_blend = blend
            self.blend_changed.emit(blend)
        self.schedule_preview()

    def _update_labels(self) -> None:
        blend = self.current_blend()
        for slug, label in self._value_labels.items():
            label.setText(f"{round(100 * blend.get(slug, 0.0)):3d}%")
        self._strength_value.setText(f"{self.strength.value()}%")

    def _request_preview(self) -> None:
        if self.model_path is None or self.photo_path is None or not self._sliders:
            return
        self.status.setText("Rendering preview…")
        self.job.request(
            BlendRequest(
                self.model_path,
                self.photo_path,
                self.weights(),
                self.strength_value(),
                self.preview_side(),
            )
        )

    def _on_preview(self, request: BlendRequest, image: QImage, blend: dict) -> None:
        self.preview.setText("")
        self.preview.set_image(image)
        described = ", ".join(
            f"{dict(self.traditions).get(k, k)} {round(100 * v)}%" for k, v in blend.items()
        )
        self.status.setText(described or "The photo itself (no style)")
        self.preview_updated.emit(image)

    def _on_render_failed(self, message: str) -> None:
        self.status.setText(message)
        self.failed.emit(message)
