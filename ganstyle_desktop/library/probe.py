"""Checking one image's bytes before it enters the store, with a reason when it cannot.

The pixel limit is checked on the header, before any pixel is decoded, so a decompression
bomb costs nothing. Odd but usable files (CMYK, 16-bit, palette with transparency, EXIF
rotation, animation) are accepted with a note: their original bytes are stored untouched
and they are converted or turned upright when read.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

from PIL import Image, UnidentifiedImageError

from ganstyle_desktop.engine.imageio import to_rgb

from .phash import signature

ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "TIFF", "BMP", "GIF"})
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
    frames: int = 1
    phash: str = ""  # perceptual signature, see phash.signature
    notes: list[str] = field(default_factory=list)


def inspect_image(data: bytes, max_pixels: int) -> ImageFacts:
    """Validate and describe an image from its bytes; raises ImageRejected with the reason."""
    if not data:
        raise ImageRejected("the file is empty (0 bytes)")
    try:
        return _inspect(data, max_pixels)
    except ImageRejected:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageRejected(f"refused as a decompression bomb before decoding ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise ImageRejected(
            "not an image: its contents are not JPEG, PNG, WebP, TIFF, BMP or GIF "
            "(wrong extension or a damaged header)"
        ) from exc
    except MemoryError as exc:
        raise ImageRejected("too large to decode in the memory available") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected(f"damaged or truncated image data ({exc})") from exc
    except Exception as exc:  # a malformed file can trip any decoder; never crash the import
        raise ImageRejected(f"unreadable image ({type(exc).__name__}: {exc})") from exc


def _inspect(data: bytes, max_pixels: int) -> ImageFacts:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Our own limit below replaces Pillow's warning; its hard error still applies.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        facts = _inspect_open(data, max_pixels)
    # Decoder warnings (corrupt EXIF, odd tags) do not stop the import; the report says so.
    for message in dict.fromkeys(str(w.message).strip() for w in caught):
        if len(facts.notes) < 6:
            facts.notes.append(f"decoder warning: {message}")
    return facts


def _inspect_open(data: bytes, max_pixels: int) -> ImageFacts:
    with Image.open(io.BytesIO(data)) as im:
        fmt = im.format or ""
        if fmt not in ACCEPTED_FORMATS:
            raise ImageRejected(
                f"unsupported image format {fmt or 'unknown'}; use JPEG, PNG, WebP, TIFF, "
                "BMP or GIF"
            )
        width, height = im.size
        if width < 1 or height < 1:
            raise ImageRejected(f"the image has no pixels ({width}x{height})")
        if width * height > max_pixels:
            raise ImageRejected(
                f"{width}x{height} is {width * height:,} pixels, over the limit of "
                f"{max_pixels:,}: refused before decoding as a possible decompression bomb "
                "(raise the pixel limit if the image is genuine)"
            )
        notes = _mode_notes(im)
        frames = int(getattr(im, "n_frames", 1) or 1)
        if frames > 1:
            notes.append(f"animated ({frames} frames): the first frame is used")
            im.seek(0)
        orientation = _orientation(im)
        if orientation != 1:
            notes.append(f"EXIF orientation {orientation}: original kept as is, shown upright")
        if fmt in ("JPEG", "MPO"):
            im.draft("RGB", (64, 64))  # DCT scaling: every block is still read
        im.load()
        small = im.copy()
    small.thumbnail((256, 256))
    upright = small.transpose(_TRANSPOSE[orientation]) if orientation != 1 else small
    phash = signature(to_rgb(upright))
    if orientation in _ROTATING_ORIENTATIONS:
        width, height = height, width
    return ImageFacts(
        width=width,
        height=height,
        format=fmt,
        mode=small.mode,
        orientation=orientation,
        frames=frames,
        phash=phash,
        notes=notes,
    )


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


def _orientation(im: Image.Image) -> int:
    try:
        value = int(im.getexif().get(0x0112, 1))
    except Exception:  # a corrupt EXIF block must not sink an otherwise good image
        return 1
    return value if 1 <= value <= 8 else 1
