"""Checking one image's bytes before it enters the store, with a reason when it cannot.

The checks are the engine's image gate (:func:`engine.imageio.decode_image`), the same
that training and stylizing pass through: the size on the header before any pixel is
decoded (so a decompression bomb costs nothing), then a full decode of the first page. Odd
but usable files (CMYK, 16-bit, palette with transparency, EXIF rotation, animation,
several pages) are accepted with a note: their original bytes are stored untouched and
they are converted or turned upright when read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

from ganstyle_desktop.engine.imageio import (
    DecodedImage,
    ImageLoadError,
    decode_image,
    to_rgb,
)

from .phash import signature

FORMAT_SUFFIX = {
    "JPEG": ".jpg",
    "MPO": ".jpg",
    "PNG": ".png",
    "WEBP": ".webp",
    "TIFF": ".tif",
    "BMP": ".bmp",
    "GIF": ".gif",
}
_SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I", "F"}
_ROTATING_ORIENTATIONS = {5, 6, 7, 8}  # these swap width and height when made upright
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class ImageRejected(Exception):
    """The bytes cannot be imported; ``reason`` says why in words for a person."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass
class ImageFacts:
    width: int  # upright
    height: int
    format: str
    mode: str
    orientation: int = 1
    frames: int = 1  # 2 means "more than one": later pages are never counted
    phash: str = ""  # perceptual signature, see phash.signature
    notes: list[str] = field(default_factory=list)


def inspect_image(data: bytes, max_pixels: int | None = None) -> ImageFacts:
    """Validate and describe an image from its bytes; raises ImageRejected with the reason.

    ``max_pixels`` lowers the pixel limit for this call (None: the engine's limit).
    """
    if not data:
        raise ImageRejected("the file is empty (0 bytes)")
    try:
        decoded = decode_image(data, max_pixels=max_pixels, draft=(64, 64))
    except ImageLoadError as exc:
        raise ImageRejected(exc.reason) from exc
    try:
        return _describe(decoded)
    except MemoryError as exc:
        raise ImageRejected("too large to decode in the memory available") from exc
    except Exception as exc:  # what training would trip over too: refuse it here
        raise ImageRejected(f"damaged image data ({type(exc).__name__}: {exc})") from exc
    finally:
        decoded.image.close()


def _describe(decoded: DecodedImage) -> ImageFacts:
    im = decoded.image
    width, height = decoded.width, decoded.height  # as declared: draft() shrinks a JPEG
    notes = _mode_notes(im)
    small = im.copy()  # detached first: counting frames below may seek
    small.thumbnail((256, 256))
    frames = 1
    if decoded.multipage:
        frames = max(_frame_count(im), 2)
        tiff = decoded.format == "TIFF"
        count = "" if tiff else f" ({frames} frames)"
        notes.append(
            "several pages: the first page is used"
            if tiff
            else f"animated{count}: the first frame is used"
        )
    orientation = decoded.orientation
    if orientation != 1:
        notes.append(f"EXIF orientation {orientation}: original kept as is, shown upright")
    upright = small.transpose(_TRANSPOSE[orientation]) if orientation != 1 else small
    phash = signature(to_rgb(upright))
    if orientation in _ROTATING_ORIENTATIONS:
        width, height = height, width
    return ImageFacts(
        width=width,
        height=height,
        format=decoded.format,
        mode=small.mode,
        orientation=orientation,
        frames=frames,
        phash=phash,
        notes=notes + decoded.notes,
    )


def _frame_count(im: Image.Image) -> int:
    """Frames of an animation, when counting them is safe (GIF, WebP, APNG keep it at
    hand); TIFF pages are never walked (a damaged later page must not sink the first)."""
    if im.format == "TIFF":
        return 0
    try:
        return int(getattr(im, "n_frames", 1) or 1)
    except Exception:
        return 0


def _mode_notes(im: Image.Image) -> list[str]:
    mode = im.mode
    if mode == "CMYK":
        return ["CMYK colour: converted to RGB when read"]
    if mode in _SIXTEEN_BIT_MODES:
        return [f"high bit depth ({mode}): reduced to 8-bit RGB when read"]
    if mode == "P" and "transparency" in im.info:
        return ["palette with transparency: composited on white when read"]
    if mode in ("RGBA", "LA", "PA"):
        return ["transparency: composited on white when read"]
    return []
