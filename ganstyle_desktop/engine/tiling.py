"""How an image is painted in passes, with no network library in sight (numpy and Pillow
only): the normalisation policy's view, the tile layout, and the feathered band that
assembles tiles into the output.

:mod:`.stylize` runs these with any backend (PyTorch, ONNX Runtime): a backend only has
to paint a block of pixels. Keeping this torch-free lets ``ganstyle-cli stylize`` start
painting without importing torch when ONNX Runtime does the work.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .control import JobControl
from .events import StylizeProgress

# Memory for a pass's activations (tiles are sized to fit it). 768 MB keeps a whole
# stylize of a 4096 x 4096 photo (input, output, tiles) within 1 GB with ONNX Runtime,
# measured as peak resident memory of ganstyle-cli: 0.69 GB with the mid preset (896 MB
# gave 1.04 GB), and still lets a mid-preset 2048 x 2048 photo run in one pass.
DEFAULT_MEMORY_BUDGET_MB = 768
# The statistics view's short side, in training sizes (see stylize's module docstring).
VIEW_FACTOR = 2.0
# A panorama's view keeps at most this many squares of the view's short side of pixels.
VIEW_MAX_SQUARES = 2.0

# A block of pixels (HxWx3 uint8/uint16, sides multiples of the size multiple) -> the
# network's output for it (HxWx3 float32 in [-1, 1]).
PaintBlock = Callable[[np.ndarray], np.ndarray]


class StylizeError(Exception):
    """The image cannot be stylized as asked (bad shape, bad options)."""


def round_up(value: float, multiple: int) -> int:
    return int(math.ceil(value / multiple)) * multiple


# -- the normalisation policy ---------------------------------------------------------------


@dataclass(frozen=True)
class StatisticsView:
    """The view of the whole image whose instance-norm statistics every pass uses.

    ``is_image``: the view is the image itself (padded to the size multiple, as a
    whole-image pass pads it), so its statistics are those of plain instance norm.
    """

    height: int
    width: int
    is_image: bool


def statistics_view(
    height: int, width: int, multiple: int, training_size: int, view_side: int | None = None
) -> StatisticsView:
    """THE normalisation policy: the view of an ``height`` x ``width`` image to take the
    statistics from, for a model trained at ``training_size``.

    The whole image, scaled down so its short side is ``VIEW_FACTOR * training_size``
    (``view_side`` overrides that, for tests and measurements) and its area at most
    ``VIEW_MAX_SQUARES`` squares of that side; never scaled up. Every path that paints an
    image (whole, tiled, previews, quality checks, exports; every backend) goes through here.
    """
    side = int(view_side) if view_side else round(VIEW_FACTOR * training_size)
    side = max(side, 2 * multiple)
    scale = min(
        1.0, side / min(height, width), math.sqrt(VIEW_MAX_SQUARES * side * side / (height * width))
    )
    if scale >= 1.0:
        return StatisticsView(round_up(height, multiple), round_up(width, multiple), True)
    vh = max(2 * multiple, round(height * scale / multiple) * multiple)
    vw = max(2 * multiple, round(width * scale / multiple) * multiple)
    return StatisticsView(vh, vw, False)


def view_pixels(image: np.ndarray, view: StatisticsView) -> np.ndarray:
    """The pixels of ``view``: the padded image itself, or a box-filtered downscale.

    Sides of a downscaled view are rounded to the size multiple independently; the slight
    aspect change does not matter for statistics. A 16-bit image's downscaled view is
    8-bit (a quarter level of precision is far below what statistics can show).
    """
    if view.is_image:
        return region(image, 0, view.height, 0, view.width)
    pixels = image if image.dtype == np.uint8 else (image >> 8).astype(np.uint8)
    small = Image.fromarray(pixels, "RGB").resize((view.width, view.height), Image.Resampling.BOX)
    return np.asarray(small)


# -- image checks and pixels ----------------------------------------------------------------


def scale_of(image: np.ndarray) -> float:
    return 65535.0 if image.dtype == np.uint16 else 255.0


def check_image(image: np.ndarray) -> None:
    from .imageio import size_problem

    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        raise StylizeError(f"expected an HxWx3 array, got shape {getattr(image, 'shape', None)}")
    if image.dtype not in (np.uint8, np.uint16):
        raise StylizeError(f"expected uint8 or uint16 pixels, got {image.dtype}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise StylizeError("the image is empty")
    height, width = image.shape[:2]
    problem = size_problem(width, height, max_pixels=height * width)  # in memory: no limit
    if problem:  # the image gate's words: e.g. "1 x 4000 px is too small: ..."
        raise StylizeError(problem)


def region(image: np.ndarray, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    """image[y0:y1, x0:x1], reflected past the bottom/right edge like a padded image."""
    h, w = image.shape[:2]
    part = image[y0 : min(y1, h), x0 : min(x1, w)]
    pad_y, pad_x = y1 - min(y1, h), x1 - min(x1, w)
    if pad_y or pad_x:
        mode = "reflect" if part.shape[0] > pad_y and part.shape[1] > pad_x else "symmetric"
        part = np.pad(part, ((0, pad_y), (0, pad_x), (0, 0)), mode=mode)
    return part


def to_pixels(
    out: np.ndarray, like: np.ndarray, strength: float = 1.0, scale: float | None = None
) -> np.ndarray:
    """Network output (HxWx3 float32 in [-1, 1], cropped to ``like``'s size) as pixels of
    ``like``'s dtype, mixed with ``like`` when ``strength`` < 1 (the photo is the rest).
    ``out`` is used up (computed on in place: a full-size float copy less at the peak)."""
    h, w = like.shape[:2]
    scale = scale_of(like) if scale is None else scale
    rows = out[:h, :w]
    rows += 1.0
    rows *= scale / 2.0
    if strength < 1.0:
        rows *= strength
        rows += (1.0 - strength) * like.astype(np.float32)
    np.clip(rows, 0.0, scale, out=rows)
    return np.rint(rows).astype(like.dtype)


# -- tile planning --------------------------------------------------------------------------


@dataclass(frozen=True)
class TilePlan:
    """How an image is cut: tile starts per axis on the padded image, tile sides."""

    tiled: bool
    padded_height: int
    padded_width: int
    tile_height: int
    tile_width: int
    y_starts: tuple[int, ...]
    x_starts: tuple[int, ...]
    context: int  # pixels ignored at an interior tile edge
    feather: int  # pixels of the cosine ramp after the context

    @property
    def n_tiles(self) -> int:
        return len(self.y_starts) * len(self.x_starts)

    @property
    def painted_pixels(self) -> int:
        """Pixels the network computes (overlaps count twice)."""
        return self.n_tiles * self.tile_height * self.tile_width


def _axis_starts(length: int, tile: int, overlap: int, multiple: int) -> tuple[int, list[int]]:
    """Tile size (shrunk to balance the tiles) and aligned starts covering ``length``."""
    if length <= tile:
        return length, [0]
    n = max(2, math.ceil((length - overlap) / (tile - overlap)))
    while True:
        # Smallest aligned tile for n tiles with the overlap: equal work per tile.
        size = min(tile, round_up((length + (n - 1) * overlap) / n, multiple))
        stride = (size - overlap) // multiple * multiple
        starts = [min(i * stride, length - size) for i in range(n)]
        if (
            stride > 0
            and starts[-1] == length - size
            and all(b - a <= size - overlap for a, b in zip(starts, starts[1:], strict=False))
        ):
            return size, starts
        n += 1


def plan_tile_layout(
    height: int,
    width: int,
    *,
    multiple: int,
    bytes_per_pixel: float,
    receptive_field: int,
    memory_budget_mb: float,
    tile_size: int | None = None,
    context: int | None = None,
    tiling: str = "auto",
) -> TilePlan:
    """Decide whole-image vs tiles and lay the tiles out (see :func:`.stylize.plan_tiles`).

    With no ``tile_size``, the tiles are the layout that paints the fewest pixels within
    the budget: square tiles, or full-width bands when the image is wide enough that the
    overlap of a second column costs more than taller bands save (a 4096 px square photo
    under 1 GB: bands of the full width paint about a quarter fewer pixels than squares).
    """
    if tiling not in ("auto", "whole", "tiles"):
        raise StylizeError(f"tiling must be auto, whole or tiles, not {tiling!r}")
    m = multiple
    hp, wp = round_up(height, m), round_up(width, m)
    budget = memory_budget_mb * 1024 * 1024
    fits = hp * wp * bytes_per_pixel <= budget
    whole = tiling == "whole" or (tiling == "auto" and tile_size is None and fits)
    if context is None:
        context = math.ceil(receptive_field / 2)
    context = max(round_up(context, m), m)
    feather = max(round_up(context / 4, m), m)
    overlap = 2 * context + feather
    smallest = 2 * overlap + m
    if whole:
        return TilePlan(False, hp, wp, hp, wp, (0,), (0,), 0, 0)
    if tile_size is not None:
        tile = max(round_up(tile_size, m), smallest)
        if hp <= tile and wp <= tile:
            return TilePlan(False, hp, wp, hp, wp, (0,), (0,), 0, 0)
        th, ys = _axis_starts(hp, tile, overlap, m)
        tw, xs = _axis_starts(wp, tile, overlap, m)
        return TilePlan(True, hp, wp, th, tw, tuple(ys), tuple(xs), context, feather)
    max_pixels = max(budget / bytes_per_pixel, smallest * smallest)
    best: TilePlan | None = None
    # Candidate tile widths: the whole width, then narrower columns down to a square.
    for columns in range(1, 64):
        tw_target = round_up((wp + (columns - 1) * overlap) / columns, m)
        if tw_target < smallest:
            break
        th_target = int(max_pixels / tw_target) // m * m
        if th_target < smallest:
            continue
        th, ys = _axis_starts(hp, th_target, overlap, m)
        tw, xs = _axis_starts(wp, tw_target, overlap, m)
        plan = TilePlan(True, hp, wp, th, tw, tuple(ys), tuple(xs), context, feather)
        if best is None or plan.painted_pixels < best.painted_pixels:
            best = plan
        if tw_target <= th_target:  # narrower than square only adds overlap
            break
    if best is None:  # the budget is below one smallest tile: use the smallest
        th, ys = _axis_starts(hp, smallest, overlap, m)
        tw, xs = _axis_starts(wp, smallest, overlap, m)
        best = TilePlan(True, hp, wp, th, tw, tuple(ys), tuple(xs), context, feather)
    if best.n_tiles == 1:
        return TilePlan(False, hp, wp, hp, wp, (0,), (0,), 0, 0)
    return best


def _axis_weights(start: int, size: int, length: int, context: int, feather: int) -> np.ndarray:
    w = np.ones(size, dtype=np.float32)
    i = np.arange(feather, dtype=np.float32)
    ramp = (0.5 - 0.5 * np.cos(np.pi * (i + 0.5) / feather)).astype(np.float32)
    if start > 0:
        w[:context] = 0.0
        w[context : context + feather] = ramp
    if start + size < length:
        w[size - context :] = 0.0
        w[size - context - feather : size - context] = np.minimum(
            w[size - context - feather : size - context], ramp[::-1]
        )
    return w


# -- painting -------------------------------------------------------------------------------


def paint_tiles(
    paint: PaintBlock,
    image: np.ndarray,
    tiles: TilePlan,
    strength: float,
    control: JobControl | None,
    done: int,
    total: int,
) -> Iterator[StylizeProgress]:
    """Paint ``image`` tile by tile with ``paint``; yields progress, returns the output
    (``output = yield from paint_tiles(...)``). Only a float32 band one tile high and one
    image wide is kept beside the input and the output."""
    h, w = image.shape[:2]
    scale = scale_of(image)
    th, tw = tiles.tile_height, tiles.tile_width
    wys = [
        _axis_weights(y, th, tiles.padded_height, tiles.context, tiles.feather)
        for y in tiles.y_starts
    ]
    wxs = [
        _axis_weights(x, tw, tiles.padded_width, tiles.context, tiles.feather)
        for x in tiles.x_starts
    ]
    wy_sum = np.zeros(tiles.padded_height, np.float32)
    wx_sum = np.zeros(tiles.padded_width, np.float32)
    for y, wy in zip(tiles.y_starts, wys, strict=True):
        wy_sum[y : y + th] += wy
    for x, wx in zip(tiles.x_starts, wxs, strict=True):
        wx_sum[x : x + tw] += wx
    output = np.empty_like(image)
    single = tiles.n_tiles == 1
    # Weighted sums for the rows the current row of tiles covers; rows above the next
    # row of tiles are final and leave the band.
    band = None if single else np.zeros((th, tiles.padded_width, 3), np.float32)
    band_start = 0

    def finish_rows(r0: int, r1: int) -> None:
        r1 = min(r1, h)
        if r1 <= r0:
            return
        rows = band[r0 - band_start : r1 - band_start, :w]
        rows /= wy_sum[r0:r1, None, None] * wx_sum[None, :w, None]
        rows += 1.0
        rows *= scale / 2.0  # [-1, 1] -> [0, scale]
        if strength < 1.0:
            rows *= strength
            rows += (1.0 - strength) * image[r0:r1].astype(np.float32)
        np.clip(rows, 0.0, scale, out=rows)
        output[r0:r1] = np.rint(rows).astype(image.dtype)

    for y, wy in zip(tiles.y_starts, wys, strict=True):
        if band is not None and y != band_start:
            finish_rows(band_start, y)
            shift = y - band_start
            band[: th - shift] = band[shift:]
            band[th - shift :] = 0.0
            band_start = y
        for x, wx in zip(tiles.x_starts, wxs, strict=True):
            if control is not None:
                control.wait_while_paused()
                control.raise_if_cancelled()
            pixels = region(image, y, y + th, x, x + tw)
            out = paint(pixels)
            if single:  # one pass over the whole image: no weights, no band
                output = to_pixels(out, image, strength, scale)
            else:
                out *= wy[:, None, None] * wx[None, :, None]
                band[:, x : x + tw] += out
            del out, pixels
            done += 1
            yield StylizeProgress(done, total, "stylizing")
    if band is not None:
        finish_rows(band_start, band_start + th)
    return output
