"""What goes into and comes out of a stylized file: pixels, ICC profile and metadata.

Reading applies EXIF orientation (the output is upright, so its EXIF loses the orientation
tag) and keeps 16-bit RGB TIFF pixels at 16 bits. Writing is atomic: a failed write (no
permission, full disk) leaves no half-written file and raises :class:`ExportError`.
"""

from __future__ import annotations

import errno
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from struct import error as struct_error

import numpy as np
from PIL import Image, PngImagePlugin

from .atomic import atomic_path
from .fileguard import UnreadableFile, describe_os_error, open_regular_file
from .imageio import ImageLoadError, open_image, to_rgb
from .tiff16 import Tiff16Error, read_tiff16, write_tiff16

log = logging.getLogger(__name__)

# suffix or name -> Pillow format
FORMATS = {
    "png": "PNG",
    "jpg": "JPEG",
    "jpeg": "JPEG",
    "webp": "WEBP",
    "tif": "TIFF",
    "tiff": "TIFF",
}
_EXIF_ORIENTATION = 0x0112


class ExportError(OSError):
    """An image could not be written; ``str()`` names the file and the reason."""

    def __init__(self, message: str, error_number: int | None = None) -> None:
        super().__init__(message)
        self.errno = error_number


@dataclass
class ImageMetadata:
    icc_profile: bytes | None = None
    exif: bytes | None = None  # orientation removed: the pixels are upright
    text: dict[str, str] = field(default_factory=dict)  # PNG text chunks


def format_for(path: Path | str, image_format: str | None = None) -> str:
    """Pillow format name for ``image_format`` (png, jpg, webp, tif) or the suffix."""
    key = (image_format or Path(path).suffix.lstrip(".")).lower()
    try:
        return FORMATS[key]
    except KeyError:
        raise ValueError(
            f"{Path(path).name}: unknown image format {key!r}; use png, jpg, webp or tif"
        ) from None


def _rgb_profile(icc: bytes | None) -> bytes | None:
    # Bytes 16-20 of an ICC header name its colour space; a CMYK or grey profile would
    # misdescribe RGB output, so only RGB profiles carry over.
    if icc and len(icc) >= 20 and icc[16:20] == b"RGB ":
        return icc
    return None


def read_metadata(path: Path | str) -> ImageMetadata:
    """ICC profile (RGB only), EXIF without orientation and PNG text of an image file."""
    path = Path(path)
    meta = ImageMetadata()
    try:
        with open_regular_file(path) as fh, Image.open(fh) as im:
            meta.icc_profile = _rgb_profile(im.info.get("icc_profile"))
            exif = im.getexif()
            if _EXIF_ORIENTATION in exif:
                del exif[_EXIF_ORIENTATION]
            if len(exif):
                meta.exif = exif.tobytes()
            text = getattr(im, "text", None) or {}
            meta.text = {k: v for k, v in text.items() if isinstance(v, str)}
    except Exception as exc:  # metadata is a courtesy: an odd block never costs the image
        log.debug("%s: metadata not read (%s)", path.name, exc)
    return meta


def read_image_with_metadata(
    path: Path | str, max_pixels: int | None = None
) -> tuple[np.ndarray, ImageMetadata]:
    """Upright HxWx3 pixels (uint16 for 16-bit RGB TIFF and 16-bit greyscale, else
    uint8) and the metadata to carry over. Raises ImageLoadError naming the file."""
    path = Path(path)
    if path.suffix.lower() in (".tif", ".tiff"):
        try:
            found = read_tiff16(path, max_pixels=max_pixels)
        except UnreadableFile as exc:
            raise ImageLoadError(path, exc.reason) from exc
        except OSError as exc:
            raise ImageLoadError(path, describe_os_error(exc)) from exc
        except (ValueError, struct_error) as exc:
            # The 16-bit reader gives up; the image gate (what the importer and training
            # use) decides: it reads the file at 8 bits, or its refusal stands with the
            # 16-bit reader's clearer words.
            reason = str(exc) if isinstance(exc, Tiff16Error) else f"damaged 16-bit TIFF ({exc})"
            try:
                im = open_image(path, max_pixels=max_pixels)
            except ImageLoadError:
                raise ImageLoadError(path, reason) from exc
            log.warning("%s: %s; read at 8 bits per channel instead", path.name, reason)
            return np.asarray(to_rgb(im)), read_metadata(path)
        if found is not None:
            pixels, icc = found
            meta = read_metadata(path)
            meta.icc_profile = _rgb_profile(icc) or meta.icc_profile
            return pixels, meta
    im = open_image(path, max_pixels=max_pixels)
    meta = read_metadata(path)
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        grey = np.asarray(im)
        if im.mode != "I" or grey.max(initial=0) > 255:
            grey = np.clip(grey, 0, 65535).astype(np.uint16)
            return np.repeat(grey[:, :, None], 3, axis=2), meta
    try:
        rgb = to_rgb(im)
    except Exception as exc:  # an odd mode a decoder produced: refuse it, never crash
        raise ImageLoadError(path, f"cannot convert {im.mode} image to RGB ({exc})") from exc
    return np.asarray(rgb), meta


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels
    if pixels.dtype == np.uint16:
        return ((pixels.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    raise ValueError(f"expected uint8 or uint16 pixels, got {pixels.dtype}")


def save_image(
    pixels: np.ndarray,
    path: Path | str,
    image_format: str | None = None,
    quality: int = 95,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
    text: dict[str, str] | None = None,
) -> Path:
    """Write HxWx3 uint8/uint16 ``pixels`` to ``path`` atomically and return ``path``.

    Format from ``image_format`` or the suffix: PNG, JPEG and WebP (``quality`` 1-100 for
    the lossy ones) are 8-bit; TIFF keeps uint16 pixels at 16 bits. The ICC profile and
    EXIF are embedded where the format can hold them, ``text`` in PNG.
    """
    path = Path(path)
    fmt = format_for(path, image_format)
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"{path.name}: expected HxWx3 pixels, got shape {pixels.shape}")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be 1 to 100, got {quality}")

    def write(tmp: Path) -> None:
        if fmt == "TIFF" and pixels.dtype == np.uint16:
            write_tiff16(tmp, pixels, icc_profile)
            return
        if pixels.dtype == np.uint16:
            log.info("%s: %s holds 8 bits per channel; 16-bit pixels reduced", path.name, fmt)
        im = Image.fromarray(to_uint8(pixels), "RGB")
        options: dict = {}
        if icc_profile:
            options["icc_profile"] = icc_profile
        if exif:
            options["exif"] = exif
        if fmt in ("JPEG", "WEBP"):
            options["quality"] = quality
        if fmt == "JPEG" and quality >= 90:
            options["subsampling"] = 0  # keep colour detail: brush edges are the point
        if fmt == "PNG" and text:
            info = PngImagePlugin.PngInfo()
            for key, value in text.items():
                info.add_itxt(key, value)
            options["pnginfo"] = info
        if fmt == "TIFF":
            options["compression"] = "tiff_deflate"
        im.save(tmp, format=fmt, **options)

    try:
        with atomic_path(path, suffix=path.suffix or ".tmp") as tmp:
            write(tmp)
    except OSError as exc:
        raise ExportError(f"{path}: cannot write the image ({_reason(exc)})", exc.errno) from exc
    return path


def save_result(
    pixels: np.ndarray,
    path: Path | str,
    *,
    source: Path | str | None = None,
    meta: ImageMetadata | None = None,
    image_format: str | None = None,
    quality: int = 95,
    unchanged: bool = False,
) -> Path:
    """Write a stylized result the way every front end does: with the source's metadata
    (:func:`read_image_with_metadata`: RGB-only ICC, EXIF without orientation, PNG text).

    ``unchanged``: ``pixels`` are the source's own, decoded (a photo blend, strength 0).
    When the format matches the source's, its file is copied byte for byte: re-encoding a
    JPEG would only lose quality (0.5 levels mean at quality 95) for nothing.
    """
    path = Path(path)
    meta = meta or ImageMetadata()
    if unchanged and source is not None:
        source = Path(source)
        try:
            same = format_for(source) == format_for(path, image_format)
        except ValueError:
            same = False
        if same:
            try:
                with atomic_path(path, suffix=path.suffix or ".tmp") as tmp:
                    shutil.copyfile(source, tmp)
            except OSError as exc:
                raise ExportError(
                    f"{path}: cannot write the image ({_reason(exc)})", exc.errno
                ) from exc
            return path
    return save_image(
        pixels,
        path,
        image_format=image_format,
        quality=quality,
        icc_profile=meta.icc_profile,
        exif=meta.exif,
        text=meta.text,
    )


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "no permission to write there"
    if exc.errno == errno.ENOTDIR:
        return "a file stands where a folder is needed"
    return exc.strerror or str(exc)
