"""Compare traditions: one photo rendered in every tradition of one or more models, and
the labelled contact sheet (a single PNG) made from the renderings.

Pillow composes the sheet so the app's export, the CLI and the docs image are the same
picture made by the same code.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .atomic import write_with_atomic
from .blend import downscale, render_blend, tradition_labels
from .control import JobControl
from .model_cache import load_model_cached

log = logging.getLogger(__name__)

DEFAULT_CELL_SIDE = 320
LABEL_HEIGHT = 28
GAP = 8
BACKGROUND = (250, 249, 246)
TEXT = (30, 30, 30)


@dataclass(frozen=True)
class Rendering:
    """One cell of the comparison: a label and an HxWx3 uint8 image."""

    label: str
    image: np.ndarray
    model: str = ""  # model display name ("" for the original photo)
    tradition: str = ""  # slug ("" for the original photo or a single-style model)


def model_renderings(
    model: object,
    image: np.ndarray,
    *,
    max_side: int = DEFAULT_CELL_SIDE,
    control: JobControl | None = None,
    device: str = "cpu",
) -> Iterator[Rendering]:
    """``image`` in each tradition ``model`` knows (one cell for a single-style model)."""
    from .modelfile import model_display_name

    card = getattr(model, "card", None)
    model_name = model_display_name(card) if card is not None else "model"
    small = downscale(image, max_side)
    if getattr(model, "is_multistyle", False):
        for slug, name in tradition_labels(model):
            if control is not None:
                control.raise_if_cancelled()
            out = render_blend(
                model, small, {slug: 1.0}, max_side=max_side, control=control, device=device
            )
            yield Rendering(name, out, model_name, slug)
    else:
        from .stylize import stylize_array

        if control is not None:
            control.raise_if_cancelled()
        out = stylize_array(model, small, device=device, control=control, tiling="whole")
        labels = tradition_labels(model)
        label = labels[0][1] if len(labels) == 1 else model_name
        yield Rendering(label, out, model_name, labels[0][0] if len(labels) == 1 else "")


def render_comparison(
    model_paths: Sequence[Path | str],
    photo: np.ndarray,
    *,
    max_side: int = DEFAULT_CELL_SIDE,
    include_original: bool = True,
    control: JobControl | None = None,
    progress: Callable[[Rendering], None] | None = None,
    device: str = "cpu",
) -> list[Rendering]:
    """Every tradition of every model in ``model_paths``, after the original photo.

    A model that cannot be opened is skipped (its reason logged); the rest goes on.
    """
    from .modelfile import ModelFileError

    cells: list[Rendering] = []
    if include_original:
        cells.append(Rendering("Original photo", downscale(photo, max_side)))
        if progress is not None:
            progress(cells[-1])
    for path in model_paths:
        try:
            model = load_model_cached(path)
        except (ModelFileError, OSError) as exc:
            log.warning("skipping %s in the comparison: %s", path, exc)
            continue
        for cell in model_renderings(
            model, photo, max_side=max_side, control=control, device=device
        ):
            cells.append(cell)
            if progress is not None:
                progress(cell)
    return cells


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: bitmap font without sizes
        return ImageFont.load_default()


def _fit_text(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def compose_sheet(
    cells: Sequence[Rendering],
    *,
    columns: int | None = None,
    cell_side: int = DEFAULT_CELL_SIDE,
    title: str = "",
) -> Image.Image:
    """A labelled grid of ``cells`` (each fitted into a ``cell_side`` square), RGB."""
    if not cells:
        raise ValueError("nothing to put on the sheet")
    n = len(cells)
    columns = columns or min(n, max(1, math.ceil(math.sqrt(n))))
    rows = math.ceil(n / columns)
    fitted = []
    for cell in cells:
        im = Image.fromarray(np.ascontiguousarray(cell.image[..., :3]).astype(np.uint8))
        im.thumbnail((cell_side, cell_side), Image.Resampling.LANCZOS)
        fitted.append(im)
    # Cells are as tall as the tallest fitted image: landscape photos leave no gaps.
    cell_h = max(im.height for im in fitted)
    title_h = LABEL_HEIGHT + GAP if title else 0
    width = columns * cell_side + (columns + 1) * GAP
    height = title_h + rows * (cell_h + LABEL_HEIGHT) + (rows + 1) * GAP
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = _font(15)
    if title:
        title_font = _font(17)
        draw.text(
            (GAP, GAP + 4),
            _fit_text(draw, title, title_font, width - 2 * GAP),
            fill=TEXT,
            font=title_font,
        )
    for i, (cell, im) in enumerate(zip(cells, fitted, strict=True)):
        r, c = divmod(i, columns)
        x0 = GAP + c * (cell_side + GAP)
        y0 = title_h + GAP + r * (cell_h + LABEL_HEIGHT + GAP)
        sheet.paste(im, (x0 + (cell_side - im.width) // 2, y0 + (cell_h - im.height) // 2))
        label = _fit_text(draw, cell.label, font, cell_side)
        draw.text((x0, y0 + cell_h + 6), label, fill=TEXT, font=font)
    return sheet


def save_sheet(sheet: Image.Image, path: Path | str) -> Path:
    """Write the sheet as an optimised PNG, atomically."""
    path = Path(path)
    write_with_atomic(path, lambda tmp: sheet.save(tmp, format="PNG", optimize=True), suffix=".png")
    return path


def compare_sheet(
    model_paths: Sequence[Path | str],
    photo_path: Path | str,
    out_path: Path | str,
    *,
    cell_side: int = DEFAULT_CELL_SIDE,
    columns: int | None = None,
    title: str = "",
    include_original: bool = True,
    control: JobControl | None = None,
    device: str = "cpu",
) -> Path:
    """Render ``photo_path`` in every tradition of ``model_paths`` and save the sheet."""
    from .blend import load_photo

    photo = load_photo(photo_path, cell_side * 2)
    cells = render_comparison(
        model_paths,
        photo,
        max_side=cell_side,
        include_original=include_original,
        control=control,
        device=device,
    )
    if len(cells) <= (1 if include_original else 0):
        raise ValueError("none of the models could be opened; nothing to compare")
    return save_sheet(
        compose_sheet(cells, columns=columns, cell_side=cell_side, title=title), out_path
    )
