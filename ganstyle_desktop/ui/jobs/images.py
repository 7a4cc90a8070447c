"""Photos in and results out, through the engine's image I/O, in workers.

A :class:`Photo` is decoded once by :func:`engine.export.read_image_with_metadata`, exactly
as the CLI reads it: upright, full resolution, 16-bit pixels kept 16-bit (TIFF), with the
metadata to carry over (an RGB ICC profile only, EXIF without orientation, PNG text).
Stylizing works on those pixels (no second decode), previews on memoised downscaled
copies, and an export writes the result with that metadata through the engine's writer,
so the window and ``ganstyle-cli stylize`` produce the same file.

Stylizing a large photo shows pictures ahead of the full resolution, each a ``partial``
:class:`StylizeResult` with ``final`` False: first the painting of the normalisation
policy's statistics view (the whole photo at about twice the training size, with the
final statistics: the pass every stylize makes first anyway), then, when the canvas's
pane is clearly larger, a copy at the size it is seen; the full resolution follows as
``finished``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QSize
from PySide6.QtGui import QImage

from ganstyle_desktop.engine.blend import Blend
from ganstyle_desktop.engine.control import JobControl
from ganstyle_desktop.ui.qimage import qimage_from_array

from .core import (
    LatestRequestJob,
    Partial,
    Progress,
    Report,
    UserFacingError,
    limit_torch_threads,
)

__all__ = [
    "Photo",
    "PhotoJob",
    "PhotoRequest",
    "PhotoTooLarge",
    "StylizeJob",
    "StylizeRequest",
    "StylizeResult",
    "apply_pixel_limit",
    "default_pixel_limit",
    "export_result",
    "read_photo",
    "screen_image",
]


@dataclass(eq=False)
class Photo:
    """One decoded photo. Compared by identity: opening the file again is a new Photo."""

    path: Path
    pixels: Any  # HxWx3 numpy array, uint8 (uint16 for 16-bit sources), upright
    metadata: Any  # engine ImageMetadata
    preview: QImage  # screen size, for display
    file_stamp: tuple[int, int] = (0, 0)  # (mtime_ns, size) when it was read
    display: Any = None  # the 8-bit screen-size copy ``preview`` was made from
    _small: dict[int, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    def size(self) -> QSize:
        return QSize(self.width, self.height)

    @property
    def bit_depth(self) -> int:
        return 16 if self.pixels.dtype.itemsize == 2 else 8

    def downscaled(self, max_side: int) -> Any:
        """An 8-bit copy with the longer side at most ``max_side`` (memoised; workers).

        Made from the screen-size copy when that is large enough (a 6000x4000 photo to
        1024 px: milliseconds instead of seconds); the networks' full-resolution input
        stays ``pixels``."""
        from ganstyle_desktop.engine.blend import downscale
        from ganstyle_desktop.engine.export import to_uint8

        with self._lock:
            small = self._small.get(max_side)
        if small is None:
            source = self.pixels
            if self.display is not None and max(self.display.shape[:2]) >= min(
                max_side, max(self.height, self.width)
            ):
                source = self.display
            small = to_uint8(downscale(source, max_side))
            small.setflags(write=False)  # shared between threads: read-only
            with self._lock:
                self._small[max_side] = small
        return small

    def is_unchanged_on_disk(self) -> bool:
        try:
            stat = self.path.stat()
        except OSError:
            return False
        return (stat.st_mtime_ns, stat.st_size) == self.file_stamp


def screen_image(array: Any, max_side: int | None) -> QImage:
    """A QImage for display: downscaled with Lanczos first when larger than ``max_side``."""
    if max_side and max(array.shape[:2]) > max_side:
        from ganstyle_desktop.engine.blend import downscale

        array = downscale(array, max_side)
    return qimage_from_array(array)


def read_photo(path: Path | str, preview_side: int = 2048, max_pixels: int | None = None) -> Photo:
    """Decode ``path`` with the engine (ImageLoadError names the file and the reason).

    ``max_pixels``: the largest photo to accept (None: the engine's limit); a larger one
    raises :class:`PhotoTooLarge`, read from the header before a pixel is decoded."""
    from ganstyle_desktop.engine.export import read_image_with_metadata

    path = Path(path)
    stat = path.stat() if path.exists() else None
    limit = max_pixels if max_pixels is not None else default_pixel_limit()
    _refuse_if_too_large(path, limit)
    pixels, metadata = read_image_with_metadata(path, max_pixels=limit)
    pixels.setflags(write=False)  # shared by stylize, previews and export
    photo = Photo(
        path,
        pixels,
        metadata,
        QImage(),
        (stat.st_mtime_ns, stat.st_size) if stat else (0, 0),
    )
    display = _display_copy(pixels, preview_side)
    display.setflags(write=False)
    photo.display = display
    photo.preview = qimage_from_array(display)
    return photo


class PhotoTooLarge(Exception):
    """A photo with more pixels than the limit; the message says how to raise it."""

    def __init__(self, path: Path, width: int, height: int, limit: int) -> None:
        self.path, self.width, self.height, self.limit = path, width, height, limit
        super().__init__(
            f"{path.name}: {width:,} x {height:,} pixels ({width * height / 1e6:,.0f} MP) is "
            f"more than the largest photo allowed ({limit / 1e6:,.0f} MP), a guard against "
            "files that would exhaust the memory. If the photo is genuine, raise "
            "“Largest image” in Edit > Preferences and open it again"
        )


def apply_pixel_limit(pixels: int | None) -> None:
    """Make ``pixels`` the one limit for every image this process reads: photos,
    imports, training, thumbnails (None: the engine's default or GANSTYLE_MAX_PIXELS)."""
    from ganstyle_desktop.engine.imageio import set_pixel_limit

    set_pixel_limit(pixels)


def default_pixel_limit() -> int:
    """The engine's pixel limit (a decompression-bomb guard)."""
    from ganstyle_desktop.engine import imageio

    limit = getattr(imageio, "pixel_limit", None)  # one configurable limit, when present
    return int(limit()) if callable(limit) else int(imageio.DEFAULT_MAX_PIXELS)


def _refuse_if_too_large(path: Path, limit: int) -> None:
    """Read the size from the header (no decoding) and refuse a photo over ``limit``."""
    import warnings

    from PIL import Image

    # Pillow refuses at twice its own threshold (179 MP) before any caller's limit is
    # asked; a limit the person raised must be the one that decides.
    if Image.MAX_IMAGE_PIXELS is not None and 2 * Image.MAX_IMAGE_PIXELS < limit:
        Image.MAX_IMAGE_PIXELS = limit
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                width, height = im.size
    except Exception:  # noqa: BLE001 - unreadable: the engine's reader gives the reason
        return
    if width * height > limit:
        raise PhotoTooLarge(path, width, height, limit)


def _display_copy(pixels: Any, max_side: int) -> Any:
    """A quick 8-bit copy for the screen: an integer box reduction, then Lanczos (Pillow's
    ``reducing_gap``; measured on a 6000x4000 photo: 0.6 s instead of 2.3 s, 0.1 levels
    mean from a plain Lanczos). Only for display: what the networks see is exact."""
    from PIL import Image

    from ganstyle_desktop.engine.export import to_uint8

    h, w = pixels.shape[:2]
    small = to_uint8(pixels)
    if max(h, w) <= max_side:
        return small
    factor = max_side / max(h, w)
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    im = Image.fromarray(small)
    return np.asarray(im.resize(size, Image.Resampling.LANCZOS, reducing_gap=1.0))


@dataclass(frozen=True)
class PhotoRequest:
    path: Path
    preview_side: int = 2048
    max_pixels: int | None = None  # None: the engine's limit


class PhotoJob(LatestRequestJob):
    """Opens photos; the newest request wins. ``finished`` carries the :class:`Photo`."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(lambda request, control, _report: _open(request, control), parent, "photo")


def _open(request: PhotoRequest, control: JobControl) -> Photo:
    """Decode a photo; a refusal reads as a whole message (what, why, what to do)."""
    from ganstyle_desktop.engine.imageio import ImageLoadError

    control.raise_if_cancelled()
    try:
        photo = read_photo(request.path, request.preview_side, request.max_pixels)
    except PhotoTooLarge as exc:
        raise UserFacingError(f"{exc}.") from exc
    except ImageLoadError as exc:
        raise UserFacingError(
            f"{exc}. The photo was not opened; try another one (a file cut short by an "
            "interrupted copy or download can be copied again)."
        ) from exc
    control.raise_if_cancelled()
    return photo


# -- stylizing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StylizeRequest:
    """Paint ``photo`` (a decoded Photo, or a file the worker decodes) with ``blend``."""

    model_path: Path
    photo: Photo | Path
    blend: Blend = Blend()
    device: str = "auto"
    preview_side: int = 2048
    # Longest side of a quick preview painted first (0: none). Only a photo clearly
    # larger than this gets one: below, the full resolution is about as quick.
    quick_side: int = 0

    def wants_quick_preview(self, width: int, height: int) -> bool:
        return self.quick_side > 0 and max(width, height) > QUICK_PREVIEW_RATIO * self.quick_side

    @property
    def photo_path(self) -> Path:
        return self.photo.path if isinstance(self.photo, Photo) else Path(self.photo)


@dataclass(frozen=True)
class StylizeResult:
    request: StylizeRequest
    preview: QImage  # scaled for the screen
    array: Any  # HxWx3 numpy array at full resolution (uint16 for 16-bit photos), for export
    seconds: float
    tiled: bool
    final: bool = True  # False: a quick preview ahead of the full resolution (partial)

    @property
    def model_path(self) -> Path:
        return self.request.model_path

    @property
    def blend(self) -> Blend:
        return self.request.blend


QUICK_PREVIEW_RATIO = 1.5


def _stylize(request: StylizeRequest, control: JobControl, report: Report) -> StylizeResult:
    limit_torch_threads()
    from ganstyle_desktop.engine import events as ev
    from ganstyle_desktop.engine.model_cache import device_for, load_model_cached
    from ganstyle_desktop.engine.stylize import stylize_steps

    started = time.monotonic()
    control.raise_if_cancelled()
    photo = request.photo if isinstance(request.photo, Photo) else read_photo(request.photo)
    if not isinstance(request.photo, Photo):
        request = replace(request, photo=photo)
    control.raise_if_cancelled()
    # The photo blend needs no model; stylize_steps gives the pixels back untouched.
    model = (
        None
        if request.blend.is_photo
        else load_model_cached(request.model_path, device_for(request.device))
    )
    control.raise_if_cancelled()
    # One pass over the photo: its statistics view is painted first and shown (the whole
    # photo with the final statistics, in the time of one small pass), then a copy at the
    # size it is seen when that is clearly larger, then the full resolution.
    quick = request.quick_side > 0 and model is not None
    screen = request.wants_quick_preview(photo.width, photo.height)
    output, tiled = None, False
    for event in stylize_steps(
        model,
        photo.pixels,
        blend=request.blend,
        device=request.device,
        control=control,
        preview=quick,
        preview_image=photo.downscaled(request.quick_side) if quick and screen else None,
    ):
        control.raise_if_cancelled()
        if isinstance(event, ev.StylizeProgress):
            report(Progress(event.done, event.total, event.stage))
        elif isinstance(event, ev.StylizePreview):
            report(
                Partial(
                    StylizeResult(
                        request,
                        qimage_from_array(event.output),
                        event.output,
                        time.monotonic() - started,
                        False,
                        final=False,
                    )
                )
            )
        elif isinstance(event, ev.StylizeFinished):
            output, tiled = event.output, event.tiled
    if output is None:
        raise RuntimeError("the stylizer ended without a result")
    preview = screen_image(output, request.preview_side)
    return StylizeResult(request, preview, output, time.monotonic() - started, tiled)


class StylizeJob(LatestRequestJob):
    """Stylizes at full resolution in a worker; the newest request wins.

    ``progress`` carries a :class:`Progress` (stage "preview" while the quick copy is
    painted, then tiles), ``partial`` the quick preview (a :class:`StylizeResult` with
    ``final`` False, for a request with ``quick_side`` and a photo clearly larger than
    it), ``finished`` the full-resolution :class:`StylizeResult`.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(_stylize, parent, "stylize")


def export_result(result: StylizeResult, path: Path | str, quality: int = 95) -> str:
    """Write ``result`` as the CLI does: the engine's writer, the photo's metadata; the
    photo itself (a photo blend) is its own file copied when the format matches."""
    from ganstyle_desktop.engine.export import read_metadata, save_result

    photo = result.request.photo
    if isinstance(photo, Photo):
        source, metadata = photo.path, photo.metadata
        unchanged_file = photo.is_unchanged_on_disk()
    else:
        source, metadata, unchanged_file = Path(photo), read_metadata(photo), True
    written = save_result(
        result.array,
        Path(path),
        source=source,
        meta=metadata,
        quality=quality,
        unchanged=result.blend.is_photo and unchanged_file,
    )
    return str(written)
