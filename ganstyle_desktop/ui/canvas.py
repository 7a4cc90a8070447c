"""The central canvas: content, style references and output side by side, or a
before/after split with a draggable divider. Zoom and pan are one shared ViewState so
every pane moves together.

The canvas draws its :class:`~.canvas_state.CanvasState` (photo, model, blend, result)
and drives the jobs that change it: a photo is opened by the engine's image I/O in a
worker (so a truncated or oversized file is refused with its reason and never becomes
current), stylizing and exporting run in workers (ui/jobs), and a new photo or model
cancels the stylize in flight so an old result can never be shown or exported.

Stylizing a large photo shows a quick preview at the size of the Output pane first,
then the full resolution; Cancel takes at once (the pane goes back to what it showed,
and nothing of the cancelled run is shown afterwards)."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ganstyle_desktop.engine.imageio import IMAGE_EXTENSIONS

from .canvas_state import CanvasState
from .jobs import (
    BackgroundTask,
    Photo,
    PhotoJob,
    PhotoRequest,
    Progress,
    StylizeJob,
    StylizeResult,
    export_result,
)
from .jobs.models import ReferenceImagesJob
from .settings import pixel_limit_setting

log = logging.getLogger(__name__)

EXPORT_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WebP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}
EXPORT_FILTER = "PNG (*.png);;JPEG (*.jpg *.jpeg);;WebP (*.webp);;TIFF (*.tif *.tiff)"
ZOOM_STEP = 1.25
MIN_ZOOM, MAX_ZOOM = 0.02, 32.0


QUICK_PREVIEW_MIN, QUICK_PREVIEW_MAX = 384, 1024


def screen_preview_side() -> int:
    """Longest side worth showing: the screen, in device pixels."""
    screen = QGuiApplication.primaryScreen()
    if screen is None:
        return 2048
    size = screen.size() * screen.devicePixelRatio()
    return max(1024, min(4096, max(size.width(), size.height())))


class ViewState(QObject):
    """Zoom and pan shared by every pane. ``zoom`` is screen pixels per image pixel of the
    full-resolution photo; in fit mode each pane computes its own fitting zoom."""

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.fit = True
        self.zoom = 1.0
        self.center = QPointF(0.5, 0.5)  # image point at the pane centre, in 0..1

    def set_fit(self) -> None:
        self.fit, self.center = True, QPointF(0.5, 0.5)
        self.changed.emit()

    def set_zoom(self, zoom: float, center: QPointF | None = None) -> None:
        self.fit = False
        self.zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        if center is not None:
            self.center = QPointF(min(1.0, max(0.0, center.x())), min(1.0, max(0.0, center.y())))
        self.changed.emit()

    def pan_to(self, center: QPointF) -> None:
        self.center = QPointF(min(1.0, max(0.0, center.x())), min(1.0, max(0.0, center.y())))
        self.changed.emit()


class ImagePane(QWidget):
    """Draws one image under the shared ViewState; wheel zooms, drag pans."""

    def __init__(self, title: str, view: ViewState, placeholder: str = "") -> None:
        super().__init__()
        self.title = title
        self.view = view
        self.placeholder = placeholder
        self.image: QImage | None = None
        self.full_size = QSize()
        self._drag_from: QPointF | None = None
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        view.changed.connect(self.update)

    def set_image(self, image: QImage | None, full_size: QSize | None = None) -> None:
        self.image = image
        self.full_size = QSize(full_size) if full_size else (image.size() if image else QSize())
        self.update()

    def set_placeholder(self, text: str) -> None:
        self.placeholder = text
        self.update()

    # -- geometry -----------------------------------------------------------
    def _area(self) -> QRectF:
        return QRectF(self.rect()).adjusted(4, 24, -4, -4)

    def effective_zoom(self) -> float:
        if self.full_size.isEmpty():
            return 1.0
        if self.view.fit:
            area = self._area()
            return min(
                area.width() / self.full_size.width(), area.height() / self.full_size.height()
            )
        return self.view.zoom / self.devicePixelRatioF()  # 100% means one device pixel

    def image_rect(self) -> QRectF:
        """Where the full image lies in widget coordinates."""
        area = self._area()
        z = self.effective_zoom()
        w, h = self.full_size.width() * z, self.full_size.height() * z
        c = self.view.center
        left = area.center().x() - c.x() * w
        top = area.center().y() - c.y() * h
        return QRectF(left, top, w, h)

    def image_point(self, pos: QPointF) -> QPointF:
        r = self.image_rect()
        if r.width() <= 0 or r.height() <= 0:
            return QPointF(0.5, 0.5)
        return QPointF((pos.x() - r.left()) / r.width(), (pos.y() - r.top()) / r.height())

    # -- painting -------------------------------------------------------------
    def _paint_frame(self, painter: QPainter) -> None:
        pal = self.palette()
        # a neutral backdrop a shade off the window colour, so photos read as photos
        window = pal.color(QPalette.ColorRole.Window)
        backdrop = window.darker(112) if window.lightness() > 128 else window.darker(135)
        painter.fillRect(self.rect(), backdrop)
        painter.setPen(pal.color(QPalette.ColorRole.WindowText))
        font = painter.font()
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(
            QRectF(8, 2, self.width() - 16, 20), Qt.AlignmentFlag.AlignVCenter, self.title
        )
        font.setBold(False)
        painter.setFont(font)

    def _paint_placeholder(self, painter: QPainter) -> None:
        pal = self.palette()
        painter.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(
            self._area().adjusted(12, 12, -12, -12),
            Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
            self.placeholder,
        )

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self._paint_frame(painter)
        painter.setClipRect(self._area())
        if self.image is None or self.image.isNull():
            self._paint_placeholder(painter)
        else:
            painter.drawImage(self.image_rect(), self.image)
        painter.end()

    # -- interaction ------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        if self.full_size.isEmpty():
            return
        steps = event.angleDelta().y() / 120.0
        if not steps:
            return
        pos = event.position()
        anchor = self.image_point(pos)
        new_zoom = self.effective_zoom() * self.devicePixelRatioF() * (ZOOM_STEP**steps)
        new_zoom = max(MIN_ZOOM, min(MAX_ZOOM, new_zoom))
        # keep the image point under the cursor where it is
        area = self._area()
        z = new_zoom / self.devicePixelRatioF()
        w, h = self.full_size.width() * z, self.full_size.height() * z
        cx = anchor.x() - (pos.x() - area.center().x()) / w
        cy = anchor.y() - (pos.y() - area.center().y()) / h
        self.view.set_zoom(new_zoom, QPointF(cx, cy))
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and not self.full_size.isEmpty():
            self._drag_from = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._drag_from is None:
            return
        r = self.image_rect()
        delta = event.position() - self._drag_from
        self._drag_from = event.position()
        if self.view.fit:  # start panning from the fitted view
            self.view.set_zoom(self.effective_zoom() * self.devicePixelRatioF())
        c = self.view.center
        self.view.pan_to(
            QPointF(
                c.x() - delta.x() / max(1.0, r.width()), c.y() - delta.y() / max(1.0, r.height())
            )
        )

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._drag_from = None
        self.unsetCursor()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.view.set_fit()


class SplitPane(ImagePane):
    """Before (left of the divider) and after (right); drag the divider to compare."""

    divider_moved = Signal(float)

    def __init__(self, view: ViewState) -> None:
        super().__init__("Before | After", view, "Open a photo and stylize it to compare.")
        self.after: QImage | None = None
        self.divider = 0.5  # fraction of the image width
        self._dragging_divider = False
        self.setMouseTracking(True)

    def set_after(self, image: QImage | None) -> None:
        self.after = image
        self.update()

    def set_divider(self, fraction: float) -> None:
        self.divider = min(1.0, max(0.0, fraction))
        self.divider_moved.emit(self.divider)
        self.update()

    def divider_x(self) -> float:
        r = self.image_rect()
        return r.left() + self.divider * r.width()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self._paint_frame(painter)
        area = self._area()
        painter.setClipRect(area)
        if self.image is None or self.image.isNull():
            self._paint_placeholder(painter)
            painter.end()
            return
        r = self.image_rect()
        x = self.divider_x()
        painter.save()
        painter.setClipRect(
            QRectF(area.left(), area.top(), x - area.left(), area.height()).intersected(area)
        )
        painter.drawImage(r, self.image)
        painter.restore()
        if self.after is not None and not self.after.isNull():
            painter.save()
            painter.setClipRect(
                QRectF(x, area.top(), area.right() - x, area.height()).intersected(area)
            )
            painter.drawImage(r, self.after)
            painter.restore()
        painter.setPen(QPen(QColor(255, 255, 255, 230), 2))
        painter.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()))
        painter.setBrush(QColor(255, 255, 255, 230))
        painter.setPen(QPen(QColor(40, 40, 40), 1))
        painter.drawEllipse(QPointF(x, area.center().y()), 7, 7)
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if (
            event.button() == Qt.MouseButton.LeftButton
            and abs(event.position().x() - self.divider_x()) < 10
        ):
            self._dragging_divider = True
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._dragging_divider:
            r = self.image_rect()
            if r.width() > 0:
                self.set_divider((event.position().x() - r.left()) / r.width())
            return
        near = abs(event.position().x() - self.divider_x()) < 10 and self.image is not None
        if self._drag_from is None:
            self.setCursor(Qt.CursorShape.SplitHCursor if near else Qt.CursorShape.ArrowCursor)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._dragging_divider = False
        super().mouseReleaseEvent(event)


class StyleStrip(QWidget):
    """A column of a few thumbnails from the style set of the selected model or dataset;
    the images are decoded in a worker (the newest request wins)."""

    MAX_THUMBS = 4
    references_shown = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.setMinimumWidth(110)
        self.setMaximumWidth(170)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 4)
        self._title = QLabel("<b>Style references</b>")
        self._title.setWordWrap(True)
        layout.addWidget(self._title)
        self._box = QVBoxLayout()
        layout.addLayout(self._box)
        layout.addStretch(1)
        self._empty = QLabel(self.EMPTY_TEXT)
        self._empty.setWordWrap(True)
        self._empty.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self._box.addWidget(self._empty)
        self.paths: list[Path] = []
        self._caption = ""
        self.job = ReferenceImagesJob(self)
        self.job.finished.connect(self._on_loaded)

    EMPTY_TEXT = "No style references for this model."

    def set_references(self, paths: list[Path], caption: str = "", note: str = "") -> None:
        """Show thumbnails of ``paths``; ``note`` says what the model learned from when
        none of them can be shown (a shipped model's artworks are not on this computer)."""
        self._caption = caption
        self._empty.setText(note or self.EMPTY_TEXT)
        self.job.request(tuple(Path(p) for p in list(paths)[: self.MAX_THUMBS]))

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self.job.cancel_all()
        self.job.wait(timeout_ms)

    def _on_loaded(self, loaded: list[tuple[Path, QImage]]) -> None:
        while self._box.count():
            item = self._box.takeAt(0)
            w = item.widget()
            if w is not None and w is not self._empty:
                w.deleteLater()
        self.paths = []
        for path, image in loaded:
            label = QLabel()
            label.setPixmap(
                QPixmap.fromImage(image).scaled(
                    150,
                    112,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )
            label.setToolTip(str(path))
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self._box.addWidget(label)
            self.paths.append(path)
        self._empty.setVisible(not self.paths)
        if not self.paths:
            self._box.addWidget(self._empty)
        caption = self._caption
        self._title.setText(
            f"<b>Style references</b><br>{caption}" if caption else "<b>Style references</b>"
        )
        self.references_shown.emit(len(self.paths))


class Canvas(QWidget):
    """Content | style references | output, or the before/after split; drop a photo here.

    ``photo_opened(str)`` once a photo is decoded and current; ``photo_failed(str)`` with
    the reason when it cannot be (``photo_refused(path, reason)`` names the file too);
    ``preview_shown(float)`` when the quick preview of a stylize is on screen (seconds
    since Stylize); ``result_ready`` when a (final) result is shown.
    """

    photo_opened = Signal(str)
    photo_failed = Signal(str)
    photo_refused = Signal(str, str)  # path, reason: it was not made current
    preview_shown = Signal(float)
    result_ready = Signal()
    message_shown = Signal(str)
    busy_changed = Signal(bool)
    export_finished = Signal(str)
    export_failed = Signal(str)
    stylize_failed = Signal(str)

    def __init__(self, parent: QWidget | None = None, state: CanvasState | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.view = ViewState()
        self.state = state if state is not None else CanvasState(self)
        self.device = "auto"
        self._export_task: BackgroundTask | None = None
        self._stylize_when_open = False
        self._showing_preview = False  # the Output pane holds a quick preview
        self._stylize_started = 0.0
        self.photo_job = PhotoJob(self)
        self.photo_job.finished.connect(self._on_photo_read)
        self.photo_job.failed.connect(self._on_photo_failed)
        self._opening_path: Path | None = None
        self.photo_job.cancelled.connect(lambda: setattr(self, "_stylize_when_open", False))
        self.stylize_job = StylizeJob(self)
        self.stylize_job.progress.connect(self._on_progress)
        self.stylize_job.partial.connect(self._on_partial)
        self.stylize_job.finished.connect(self._on_result)
        self.stylize_job.failed.connect(self._on_failed)
        self.stylize_job.cancelled.connect(self._on_cancelled)
        self.stylize_job.started.connect(lambda _r: self.busy_changed.emit(True))

        self.content_pane = ImagePane(
            "Content", self.view, "Drop a photo here, or use File > Open Photo…"
        )
        self.output_pane = ImagePane("Output", self.view, "Pick a model, then press Stylize.")
        self.style_strip = StyleStrip()
        self.split_pane = SplitPane(self.view)

        side = QSplitter(Qt.Orientation.Horizontal)
        side.addWidget(self.content_pane)
        side.addWidget(self.style_strip)
        side.addWidget(self.output_pane)
        side.setStretchFactor(0, 3)
        side.setStretchFactor(1, 1)
        side.setStretchFactor(2, 3)
        side.setChildrenCollapsible(False)
        self.stack = QStackedWidget()
        self.stack.addWidget(side)
        self.stack.addWidget(self.split_pane)

        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setVisible(False)
        self.banner.setStyleSheet(
            "QLabel { background: #8a5a00; color: white; padding: 6px 10px; border-radius: 4px; }"
        )
        self._banner_timer = QTimer(self)
        self._banner_timer.setSingleShot(True)
        self._banner_timer.timeout.connect(lambda: self.banner.setVisible(False))

        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("Stylizing… %p%")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_stylize)
        self._busy_row = QWidget()
        row = QHBoxLayout(self._busy_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        self._busy_row.setVisible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.banner)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self._busy_row)

        st = self.state
        st.photo_changed.connect(self._on_photo_changed)
        st.model_changed.connect(self._on_model_changed)
        st.blend_changed.connect(lambda _b: self._update_output_title())
        st.model_name_changed.connect(lambda _n: self._on_model_changed(st.model))
        self._live_caption = ""  # set while a training run's live preview is shown
        st.result_changed.connect(self._on_result_changed)
        self._on_model_changed(st.model)

    # -- the state, for readers ---------------------------------------------------
    @property
    def photo(self) -> Photo | None:
        return self.state.photo

    @property
    def photo_path(self) -> Path | None:
        return self.state.photo_path

    @property
    def model_path(self) -> Path | None:
        return self.state.model

    @property
    def result(self) -> StylizeResult | None:
        return self.state.result

    # -- photo ------------------------------------------------------------------
    def open_photo(self, path: str | Path) -> bool:
        """Decode ``path`` with the engine in a worker; ``photo_opened`` follows, or a
        message saying why not. False (with the message) for a file that is no photo."""
        path = Path(path)
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            self.show_message(
                f"“{path.name}” is not a photo this app can open. Drop a JPEG, PNG, WebP, TIFF or BMP file."
            )
            return False
        self._stylize_when_open = False
        self._opening_path = path
        self.photo_job.request(PhotoRequest(path, screen_preview_side(), pixel_limit_setting()))
        return True

    def is_opening(self) -> bool:
        return self.photo_job.is_running()

    def _on_photo_read(self, photo: Photo) -> None:
        self.state.set_photo(photo)
        self.photo_opened.emit(str(photo.path))
        if self._stylize_when_open:
            self._stylize_when_open = False
            self.stylize()

    def _on_photo_failed(self, message: str) -> None:
        self._stylize_when_open = False
        self.show_message(message, 15_000)
        self.photo_failed.emit(message)
        if self._opening_path is not None:
            self.photo_refused.emit(str(self._opening_path), message)

    def _on_photo_changed(self, photo: Photo | None) -> None:
        self.stylize_job.cancel_all()  # its result would belong to the old photo
        image = photo.preview if photo is not None else None
        full = photo.size() if photo is not None else None
        self.content_pane.set_image(image, full)
        self.split_pane.set_image(image, full)
        self.split_pane.set_after(None)
        self.output_pane.set_image(None)
        self.view.set_fit()

    def show_message(self, text: str, timeout_ms: int = 8000) -> None:
        self.banner.setText(text)
        self.banner.setVisible(True)
        self._banner_timer.start(timeout_ms)
        self.message_shown.emit(text)

    def message_text(self) -> str:
        return self.banner.text() if self.banner.isVisible() else ""

    # -- drag and drop ----------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if not urls:
            self.show_message("Only photo files from this computer can be dropped here.")
            return
        event.acceptProposedAction()
        self.open_photo(Path(urls[0].toLocalFile()))

    # -- model and style references ---------------------------------------------
    def set_model(self, path: str | Path | None) -> None:
        self.state.set_model(path)

    def _on_model_changed(self, model: Path | None) -> None:
        # A model switch cancels the stylize in flight: its result must never show.
        self.stylize_job.cancel_all()
        if model is None:
            self.output_pane.set_placeholder(
                "No model selected. Train one in the Training panel, or import a .safetensors "
                "model with File > Import Model…"
            )
        else:
            self.output_pane.set_placeholder(
                f"Press Stylize to paint this photo with “{self.state.model_name}”."
            )
        self._update_output_title()

    def set_style_references(self, paths: list[Path], caption: str = "", note: str = "") -> None:
        self.style_strip.set_references(list(paths), caption, note)

    # -- view ---------------------------------------------------------------------
    def set_split_mode(self, on: bool) -> None:
        self.stack.setCurrentIndex(1 if on else 0)

    def split_mode(self) -> bool:
        return self.stack.currentIndex() == 1

    def zoom_in(self) -> None:
        self.view.set_zoom(self._current_zoom() * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.view.set_zoom(self._current_zoom() / ZOOM_STEP)

    def zoom_fit(self) -> None:
        self.view.set_fit()

    def zoom_actual(self) -> None:
        self.view.set_zoom(1.0)

    def _current_zoom(self) -> float:
        pane = self.split_pane if self.split_mode() else self.content_pane
        return pane.effective_zoom() * pane.devicePixelRatioF()

    # -- stylize --------------------------------------------------------------------
    def can_stylize(self) -> bool:
        return self.state.can_stylize() or (self.is_opening() and self.model_path is not None)

    def stylize(self) -> bool:
        """Paint the current photo with the current model and blend (in a worker). While
        a photo is still being opened, stylizing starts as soon as it is."""
        if self.is_opening() and self.model_path is not None:
            self._stylize_when_open = True
            return True
        if self.photo is None:
            self.show_message("Open a photo first (File > Open Photo…, or drop one here).")
            return False
        if not self.state.can_stylize():
            self.show_message("Pick a model in the Models panel first, or train one.")
            return False
        self.progress.setRange(0, 0)
        self.progress.setFormat("Stylizing… %p%")
        self._busy_row.setVisible(True)
        self._showing_preview = False
        self._stylize_started = time.monotonic()
        request = replace(
            self.state.stylize_request(self.device, screen_preview_side()),
            quick_side=self.quick_preview_side(),
        )
        self.stylize_job.request(request)
        return True

    def quick_preview_side(self) -> int:
        """Longest side of the quick preview: the Output pane as it is seen, in device
        pixels (bounded: a tiny pane still gets a legible preview, a huge one a quick one)."""
        pane = self.split_pane if self.split_mode() else self.output_pane
        side = max(pane.width(), pane.height()) * pane.devicePixelRatioF()
        return int(min(QUICK_PREVIEW_MAX, max(QUICK_PREVIEW_MIN, side)))

    def is_stylizing(self) -> bool:
        """A stylize runs that was not cancelled (a cancelled one may still be ending)."""
        job = self.stylize_job
        return job.is_running() and not job.is_cancelling()

    def cancel_stylize(self) -> None:
        """Stop stylizing at once: the busy row goes, the Output pane shows what it showed
        before, and nothing of the cancelled run appears later. The worker stops at the
        next layer of the network, even in the middle of a tile."""
        self._stylize_when_open = False
        was_stylizing = self.is_stylizing()
        self.stylize_job.cancel_all()
        if was_stylizing:
            self._busy_row.setVisible(False)
            self._restore_output()
            self._update_output_title()
            self.busy_changed.emit(False)
            self.show_message("Stylizing cancelled.", 3000)

    def _restore_output(self) -> None:
        """The Output pane back to the current result (or empty), without the preview."""
        self._showing_preview = False
        result = self.result
        preview = result.preview if result is not None else None
        self.output_pane.set_image(preview, self.content_pane.full_size if preview else None)
        self.split_pane.set_after(preview)

    def _on_progress(self, progress: Any) -> None:
        if not isinstance(progress, Progress):
            return
        if progress.stage == "preview":
            self.progress.setRange(0, 0)
            self.progress.setFormat("Painting a quick preview…")
        elif progress.total > 0:
            self.progress.setRange(0, progress.total)
            self.progress.setValue(progress.done)
            self.progress.setFormat(
                "Preview shown; full resolution… %p%" if self._showing_preview else "Stylizing… %p%"
            )

    def _on_partial(self, result: StylizeResult) -> None:
        """A quick preview of the running request: shown, never made the result (Export
        and the result stay the full-resolution ones)."""
        if not self.state.belongs(result):
            return
        self._showing_preview = True
        self.output_pane.set_image(result.preview, self.content_pane.full_size)
        self.split_pane.set_after(result.preview)
        self._update_output_title()
        self.preview_shown.emit(time.monotonic() - self._stylize_started)

    def _on_result(self, result: StylizeResult) -> None:
        self._busy_row.setVisible(False)
        self._showing_preview = False
        self.busy_changed.emit(False)
        if not self.state.set_result(result):
            log.info("a result for another photo or model was dropped")
            self._restore_output()
        self._update_output_title()

    def _on_result_changed(self, result: StylizeResult | None) -> None:
        if result is not None:
            self._live_caption = ""  # a real result takes the pane back
        preview = result.preview if result is not None else None
        self.output_pane.set_image(preview, self.content_pane.full_size if preview else None)
        self.split_pane.set_after(preview)
        self._update_output_title()
        if result is not None:
            self.result_ready.emit()

    def _update_output_title(self) -> None:
        if self._live_caption:
            self.output_pane.title = self._live_caption
            self.output_pane.update()
            return
        stale = self.result is not None and not self.state.result_matches_blend()
        name = self.state.model_name
        base = f"Output · {name}" if name else "Output"
        if getattr(self, "_showing_preview", False):
            title = f"{base} (quick preview)"
        elif stale:
            title = f"{base} (an earlier blend: Stylize to update)"
        else:
            title = base
        self.output_pane.title = title
        self.output_pane.update()

    # -- training's live preview (the window feeds it; it is never a result) -----------
    def show_live_preview(self, image: QImage | None, caption: str = "") -> None:
        """Show ``image`` (the open photo as a training run paints it now) large in the
        Output pane, titled ``caption``; None gives the pane back to the result."""
        if image is None or image.isNull():
            if not self._live_caption:
                return
            self._live_caption = ""
            self._on_result_changed(self.result)
            return
        self._live_caption = caption or "Training preview"
        self.output_pane.set_image(image, self.content_pane.full_size)
        self.split_pane.set_after(image)
        self._update_output_title()

    def showing_live_preview(self) -> bool:
        return bool(self._live_caption)

    def _on_failed(self, message: str) -> None:
        self._busy_row.setVisible(False)
        self._restore_output()
        self._update_output_title()
        self.busy_changed.emit(False)
        self.stylize_failed.emit(message)

    def _on_cancelled(self) -> None:
        # Cancel already tidied the view at the click (cancel_stylize); a cancel from
        # elsewhere (a new photo or model) leaves the pane to that change.
        if self._busy_row.isVisible():
            self._busy_row.setVisible(False)
            self._restore_output()
            self._update_output_title()
            self.busy_changed.emit(False)

    # -- export -----------------------------------------------------------------------
    def export_result(self, path: str | Path, quality: int = 95) -> bool:
        """Write the full-resolution result to ``path`` in a worker (format from suffix),
        with the photo's metadata, as ``ganstyle-cli stylize`` writes it."""
        path = Path(path)
        result = self.result
        if result is None or not result.final:
            self.show_message("Nothing to export yet: stylize a photo first.")
            return False
        if path.suffix.lower() not in EXPORT_FORMATS:
            self.show_message(f"Cannot export as “{path.suffix}”: choose PNG, JPEG, WebP or TIFF.")
            return False
        if self._export_task is not None and self._export_task.is_running():
            self.show_message("An export is already being written.")
            return False
        task = BackgroundTask(self, "export")
        task.finished.connect(lambda _r: self.export_finished.emit(str(path)))
        task.failed.connect(self.export_failed.emit)
        self._export_task = task
        task.run(export_result, result, path, quality)
        return True

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self._stylize_when_open = False
        for job in (self.photo_job, self.stylize_job):
            job.cancel_all()
        self.style_strip.shutdown(timeout_ms)
        for job in (self.photo_job, self.stylize_job, self._export_task):
            if job is not None:
                job.wait(timeout_ms)
