"""Stylize images of any size: whole-image inference when it fits a memory budget,
overlapping feathered tiles otherwise, with one normalisation policy for every size.

The policy (:func:`statistics_view`): every instance norm of the generator uses the
statistics of one bounded view of the whole image, the image scaled down (never up) so
its short side is ``VIEW_FACTOR`` x the model's training size. The generator runs in
"capture" mode on that view, then every tile, or the one whole-image pass, runs in
"frozen" mode. An image no larger than the view *is* its own view: its statistics are
those of a plain whole-image pass. So:

- a photo looks the same whether it runs whole or in tiles, whatever the memory budget:
  tiles with frozen statistics match a whole-image pass with the same statistics to
  float precision (see below);
- a preview of a photo and its full-size export share their statistics (their views are
  the same picture at the same size), and the quality checks of training, which paint
  photos at the training size, see what the user gets;
- the statistics are those of the photo at the scale the model learned at: measured on
  the starter model, a view of 2 x the training size keeps the look of the training-size
  rendering best (views of 1 or 1.125 x are slightly worse, larger ones no better) and is
  closer to plain whole-image inference than smaller views (``benchmarks/bench_normalisation.py``).

The view costs one extra pass, bounded by the view's size (not by the image's, and not
reduced by the memory budget, which bounds the tiles); images no larger than the view
that run whole need no extra pass. Per-tile statistics would give each tile its own
colour balance and a visible grid.

Tiles are aligned to the generator's size multiple (so the strided convolutions see the
same pixel phase as a whole-image pass) and overlap by at least half the receptive field.
Each tile's output is ignored for ``context`` pixels at an interior edge (those pixels saw
the tile's reflection padding instead of the neighbouring image), then ramps up with a
cosine over ``feather`` pixels. With frozen statistics the tiled result therefore matches a
whole-image pass with the same statistics to float precision.

Memory: the input and the output arrays of the image are unavoidable; beyond them only one
tile's activations (or the view's) and a float32 band one tile high and one image wide are
alive.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from .blend import Blend
from .control import JobControl
from .devices import PRECISIONS, DevicePlan, plan_for
from .events import StylizeFinished, StylizeProgress
from .imageio import size_problem
from .nets import (
    GeneratorSpec,
    clear_frozen_statistics,
    norm_layers,
    norm_statistics,
    receptive_field,
)

log = logging.getLogger(__name__)

DEFAULT_MEMORY_BUDGET_MB = 1024
# The training size assumed for a bare generator (no model card): the app's default.
DEFAULT_TRAINING_SIZE = 256
# The statistics view's short side, in training sizes (see the module docstring).
VIEW_FACTOR = 2.0
# A panorama's view keeps at most this many squares of the view's short side of pixels.
VIEW_MAX_SQUARES = 2.0
# Peak bytes of live activations per pixel = widest full-resolution activation (channels x
# 4 bytes) x this factor. In a ResNet generator the widest full-resolution tensor is the
# last upsampler's nearest-resized input (2 x width channels); while that layer runs its
# input, the resized copy, the reflection-padded copy and the conv output (plus oneDNN
# workspace) are alive together. Measured on the CPU: lite at 1024 px adds ~550 MB over
# the runtime's baseline, i.e. ~4.3 x (32 channels x 4 bytes) per pixel; 4.5 leaves margin.
ACTIVATION_FACTOR = 4.5

ProgressCallback = Callable[[StylizeProgress], None]


class StylizeError(Exception):
    """The image cannot be stylized as asked (bad shape, bad options)."""


# -- the module to run ----------------------------------------------------------------------


def resolve_module(model: object, blend: dict[str, float] | None = None) -> nn.Module:
    """The [-1, 1] -> [-1, 1] module of a StyleModel (or a bare module, for tests/benchmarks)."""
    if isinstance(model, nn.Module):
        return model
    module_for = getattr(model, "module_for", None)
    if module_for is None:
        raise TypeError(f"expected a StyleModel or nn.Module, got {type(model).__name__}")
    return module_for(blend)


def _find_attr(module: nn.Module, name: str):
    """``name`` on the module or on the first submodule that has it (wrappers)."""
    for m in module.modules():
        value = getattr(m, name, None)
        if value is not None:
            return value
    return None


def size_multiple(module: nn.Module) -> int:
    value = _find_attr(module, "size_multiple")
    return int(value) if value else 4


def activation_bytes_per_pixel(module: nn.Module) -> float:
    """Estimated peak activation bytes per input pixel of one forward pass (see module doc).

    From the generator spec when there is one; otherwise measured by a probe pass that
    records the widest output of any layer relative to its input's pixel count.
    """
    spec = _find_attr(module, "spec")
    if isinstance(spec, GeneratorSpec):
        # Channels per *input* pixel: a layer at 1/k of the resolution counts 1/k**2.
        area = float(spec.unshuffle**2)
        widest = max(spec.in_channels, spec.out_channels, spec.width / area)
        if spec.n_down > 0:
            widest = max(widest, 2 * spec.width / area)  # the last upsampler's resized input
        # Bottleneck layers: (width * 2**n) channels on (1/4)**n of the pixels.
        for n in range(1, spec.n_down + 1):
            widest = max(widest, spec.width * 2**n / 4**n / area)
        if spec.flat_colours:  # the flat-colour head's per-pixel weights, at full size
            widest = max(widest, spec.flat_colours + 4.0)
        return widest * 4.0 * ACTIVATION_FACTOR
    return _probe_bytes_per_pixel(module)


def _probe_bytes_per_pixel(module: nn.Module) -> float:
    side = 8 * size_multiple(module)
    widest = 3.0
    handles = []

    def hook(_m, _inp, out) -> None:
        nonlocal widest
        if isinstance(out, torch.Tensor) and out.dim() == 4:
            widest = max(widest, out.numel() / (side * side))

    for m in module.modules():
        if not list(m.children()):
            handles.append(m.register_forward_hook(hook))
    param = next(module.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    try:
        with torch.inference_mode():
            module(torch.zeros(1, 3, side, side, device=device))
    finally:
        for h in handles:
            h.remove()
    return widest * 4.0 * ACTIVATION_FACTOR


# One stylize job per module at a time: frozen statistics live on the module's layers.
_LOCKS: weakref.WeakKeyDictionary[nn.Module, threading.Lock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def _lock_for(module: nn.Module) -> threading.Lock:
    # Keyed on the first norm layer, not the module: a multi-style model hands out a new
    # blend wrapper per call, but they all share (and freeze statistics in) its layers.
    key = next(norm_layers(module), module)
    with _LOCKS_GUARD:
        lock = _LOCKS.get(key)
        if lock is None:
            lock = _LOCKS[key] = threading.Lock()
        return lock


@contextlib.contextmanager
def cancellable_layers(module: nn.Module, control: JobControl | None) -> Iterator[None]:
    """Let ``control`` stop a forward pass of ``module`` between two layers.

    One tile (or a whole-image pass) of a large photo takes seconds; a cancel checked only
    between tiles would make Cancel feel ignored. A pre-hook on every leaf layer raises
    :class:`JobCancelled` at the next layer instead (a Python call per layer: nothing next
    to a convolution). Only the thread that registered the hooks is stopped by them: the
    layers belong to a cached model other threads may run too.
    """
    if control is None:
        yield
        return
    owner = threading.get_ident()

    def check(_layer: nn.Module, _inputs: object) -> None:
        if threading.get_ident() == owner:
            control.raise_if_cancelled()

    handles = [
        layer.register_forward_pre_hook(check)
        for layer in module.modules()
        if next(layer.children(), None) is None
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


# -- tile planning --------------------------------------------------------------------------


def _round_up(value: float, multiple: int) -> int:
    return int(math.ceil(value / multiple)) * multiple


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


def _axis_starts(length: int, tile: int, overlap: int, multiple: int) -> tuple[int, list[int]]:
    """Tile size (shrunk to balance the tiles) and aligned starts covering ``length``."""
    if length <= tile:
        return length, [0]
    n = max(2, math.ceil((length - overlap) / (tile - overlap)))
    while True:
        # Smallest aligned tile for n tiles with the overlap: equal work per tile.
        size = min(tile, _round_up((length + (n - 1) * overlap) / n, multiple))
        stride = (size - overlap) // multiple * multiple
        starts = [min(i * stride, length - size) for i in range(n)]
        if (
            stride > 0
            and starts[-1] == length - size
            and all(b - a <= size - overlap for a, b in zip(starts, starts[1:], strict=False))
        ):
            return size, starts
        n += 1


def plan_tiles(
    height: int,
    width: int,
    module: nn.Module,
    *,
    memory_budget_mb: float = DEFAULT_MEMORY_BUDGET_MB,
    tile_size: int | None = None,
    context: int | None = None,
    tiling: str = "auto",
) -> TilePlan:
    """Decide whole-image vs tiles and lay the tiles out.

    ``tiling``: "auto" (whole if the estimate fits the budget and no ``tile_size`` is
    given), "whole" or "tiles". ``context``: pixels computed but not used at each interior
    tile edge; the default, half the receptive field, makes tiles exact.
    """
    if tiling not in ("auto", "whole", "tiles"):
        raise StylizeError(f"tiling must be auto, whole or tiles, not {tiling!r}")
    m = size_multiple(module)
    hp, wp = _round_up(height, m), _round_up(width, m)
    bpp = activation_bytes_per_pixel(module)
    budget = memory_budget_mb * 1024 * 1024
    fits = hp * wp * bpp <= budget
    whole = tiling == "whole" or (tiling == "auto" and tile_size is None and fits)
    if context is None:
        context = math.ceil(receptive_field(module) / 2)
    context = max(_round_up(context, m), m)
    feather = max(_round_up(context / 4, m), m)
    overlap = 2 * context + feather
    if tile_size is None:
        tile_size = int(math.sqrt(budget / bpp)) // m * m
    tile = max(_round_up(tile_size, m), 2 * overlap + m)
    if whole or (hp <= tile and wp <= tile):
        return TilePlan(False, hp, wp, hp, wp, (0,), (0,), 0, 0)
    th, ys = _axis_starts(hp, tile, overlap, m)
    tw, xs = _axis_starts(wp, tile, overlap, m)
    return TilePlan(True, hp, wp, th, tw, tuple(ys), tuple(xs), context, feather)


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


# -- image <-> tensor -----------------------------------------------------------------------


def _scale_of(image: np.ndarray) -> float:
    return 65535.0 if image.dtype == np.uint16 else 255.0


def _check_image(image: np.ndarray) -> None:
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


def _region(image: np.ndarray, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    """image[y0:y1, x0:x1], reflected past the bottom/right edge like a padded image."""
    h, w = image.shape[:2]
    part = image[y0 : min(y1, h), x0 : min(x1, w)]
    pad_y, pad_x = y1 - min(y1, h), x1 - min(x1, w)
    if pad_y or pad_x:
        mode = "reflect" if part.shape[0] > pad_y and part.shape[1] > pad_x else "symmetric"
        part = np.pad(part, ((0, pad_y), (0, pad_x), (0, 0)), mode=mode)
    return part


def _to_tensor(pixels: np.ndarray, scale: float, plan: DevicePlan) -> torch.Tensor:
    t = torch.from_numpy(np.array(pixels, dtype=np.float32))  # a writable float copy
    t = t.permute(2, 0, 1).unsqueeze(0).mul_(2.0 / scale).sub_(1.0)
    return plan.prepare_batch(t)


def _run(module: nn.Module, x: torch.Tensor, plan: DevicePlan) -> np.ndarray:
    """One forward pass; returns HxWx3 float32 numpy in [-1, 1]."""
    with torch.inference_mode():
        with plan.autocast():
            y = module(x)
        return y[0].float().clamp_(-1.0, 1.0).permute(1, 2, 0).cpu().numpy()


@dataclass(frozen=True)
class StatisticsView:
    """The view of the whole image whose instance-norm statistics every pass uses.

    ``is_image``: the view is the image itself (padded to the size multiple, as a
    whole-image pass pads it), so its statistics are those of plain instance norm.
    """

    height: int
    width: int
    is_image: bool


def training_size_of(model: object, override: int | None = None) -> int:
    """The side the model was trained at: ``override``, else its card's, else the default."""
    if override:
        return int(override)
    card = getattr(model, "card", None)
    return int(getattr(card, "training_size", 0) or DEFAULT_TRAINING_SIZE)


def statistics_view(
    height: int, width: int, multiple: int, training_size: int, view_side: int | None = None
) -> StatisticsView:
    """THE normalisation policy: the view of an ``height`` x ``width`` image to take the
    statistics from, for a model trained at ``training_size``.

    The whole image, scaled down so its short side is ``VIEW_FACTOR * training_size``
    (``view_side`` overrides that, for tests and measurements) and its area at most
    ``VIEW_MAX_SQUARES`` squares of that side; never scaled up. Every path that paints an
    image (whole, tiled, previews, quality checks, exports) goes through here.
    """
    side = int(view_side) if view_side else round(VIEW_FACTOR * training_size)
    side = max(side, 2 * multiple)
    scale = min(
        1.0, side / min(height, width), math.sqrt(VIEW_MAX_SQUARES * side * side / (height * width))
    )
    if scale >= 1.0:
        return StatisticsView(_round_up(height, multiple), _round_up(width, multiple), True)
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
        return _region(image, 0, view.height, 0, view.width)
    pixels = image if image.dtype == np.uint8 else (image >> 8).astype(np.uint8)
    small = Image.fromarray(pixels, "RGB").resize((view.width, view.height), Image.Resampling.BOX)
    return np.asarray(small)


# -- precision ------------------------------------------------------------------------------


def inference_plan(plan: DevicePlan, precision: str, high_bit_output: bool) -> DevicePlan:
    """``plan`` computing in ``precision``: "fp32", "bf16", "fp16", or "auto" (the device's
    own choice, mixed precision on CUDA, except fp32 where the output keeps more than 8 bits
    per channel: bfloat16's 8-bit and float16's 11-bit mantissas would round a 16-bit
    TIFF's 65,536 levels to a few thousand)."""
    if precision not in ("auto", *PRECISIONS):
        raise StylizeError(f"precision must be auto, {', '.join(PRECISIONS)}; not {precision!r}")
    if precision == "auto":
        return plan.with_precision("fp32") if high_bit_output else plan
    return plan.with_precision(precision)


def _precision_name(plan: DevicePlan) -> str:
    return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}.get(
        plan.amp_dtype, str(plan.amp_dtype)
    )


# -- the stylizer ---------------------------------------------------------------------------


def stylize_steps(
    model: object,
    image: np.ndarray,
    *,
    strength: float = 1.0,
    blend: Blend | Mapping[str, float] | None = None,
    device: str = "auto",
    memory_budget_mb: float = DEFAULT_MEMORY_BUDGET_MB,
    tile_size: int | None = None,
    control: JobControl | None = None,
    context: int | None = None,
    tiling: str = "auto",
    statistics: str = "view",
    training_size: int | None = None,
    view_side: int | None = None,
    precision: str = "auto",
    high_bit_output: bool | None = None,
) -> Iterator[StylizeProgress | StylizeFinished]:
    """Stylize ``image`` (HxWx3 uint8 or uint16), yielding progress per tile and a
    :class:`StylizeFinished` whose output has the input's shape and dtype.

    ``blend`` (a :class:`.blend.Blend`; a mapping is read as relative weights) says which
    tradition(s) and how much; a photo blend (strength 0 or all-zero weights) returns the
    input itself. ``strength`` (0..1) weakens it further (kept for callers that pass
    weights only). ``statistics``: "view" (the policy, :func:`statistics_view`) or "full"
    (plain instance norm on a whole-image pass: only for measuring the policy against).
    ``training_size`` (for a bare generator without a card) and ``view_side`` (tests,
    measurements) feed the policy. Raises
    :class:`JobCancelled` between tiles when ``control`` is cancelled.

    ``precision``: see :func:`inference_plan`; ``high_bit_output`` (default: the image is
    16-bit) says whether the result keeps more than 8 bits per channel.
    """
    _check_image(image)
    if not 0.0 <= strength <= 1.0:
        raise StylizeError(f"strength must be between 0 and 1, got {strength}")
    if statistics not in ("view", "full"):
        raise StylizeError(f"statistics must be view or full, not {statistics!r}")
    started = time.perf_counter()
    blend = Blend.coerce(blend, strength)  # from here on, one value says what to paint
    if blend.is_photo:
        # Nothing of the style survives: skip the network, give the photo back exactly.
        yield StylizeFinished(image.copy(), time.perf_counter() - started, False, {"tiles": 0})
        return
    strength = blend.strength

    module = resolve_module(model, blend.mix())
    if high_bit_output is None:
        high_bit_output = image.dtype == np.uint16
    device_plan = inference_plan(plan_for(device), precision, high_bit_output)
    module = device_plan.prepare_module(module).eval()
    h, w = image.shape[:2]
    tiles = plan_tiles(
        h,
        w,
        module,
        memory_budget_mb=memory_budget_mb,
        tile_size=tile_size,
        context=context,
        tiling=tiling,
    )
    if tiles.tiled and statistics == "full":
        raise StylizeError("full-image statistics need a whole-image pass (tiling='whole')")
    m = size_multiple(module)
    if min(h, w) <= m:  # the deepest layer would see a single pixel
        raise StylizeError(f"{w} x {h} px is too small for this model: it needs more than {m} px")
    view = statistics_view(h, w, m, training_size_of(model, training_size), view_side)
    # A whole-image pass over an image that is its own view already normalises with the
    # view's statistics: plain instance norm, no extra pass.
    capture = statistics == "view" and (tiles.tiled or not view.is_image)
    total = tiles.n_tiles + (1 if capture else 0)
    extra = {
        "tiles": tiles.n_tiles if tiles.tiled else 0,
        "tile_size": [tiles.tile_height, tiles.tile_width],
        "device": device_plan.label,
        "statistics": statistics,
        "statistics_view": [view.height, view.width] if statistics == "view" else [h, w],
        "precision": _precision_name(device_plan),
    }
    scale = _scale_of(image)

    with _lock_for(module), cancellable_layers(module, control):
        try:
            done = 0
            yield StylizeProgress(done, total, "preparing")
            if control is not None:
                control.raise_if_cancelled()
            if capture:
                pixels = view_pixels(image, view)
                with norm_statistics(module, "capture"):
                    _run(module, _to_tensor(pixels, _scale_of(pixels), device_plan), device_plan)
                del pixels
                done += 1
                yield StylizeProgress(done, total, "normalising")
            with norm_statistics(module, "frozen" if capture else "normal"):
                output = yield from _stylize_tiles(
                    module, image, tiles, device_plan, strength, scale, control, done, total
                )
        finally:
            clear_frozen_statistics(module)
    yield StylizeFinished(output, time.perf_counter() - started, tiles.tiled, extra)


def _stylize_tiles(
    module: nn.Module,
    image: np.ndarray,
    tiles: TilePlan,
    device_plan: DevicePlan,
    strength: float,
    scale: float,
    control: JobControl | None,
    done: int,
    total: int,
):
    h, w = image.shape[:2]
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
    # Weighted sums for the rows the current row of tiles covers; rows above the next
    # row of tiles are final and leave the band.
    band = np.zeros((th, tiles.padded_width, 3), np.float32)
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
        if y != band_start:
            finish_rows(band_start, y)
            shift = y - band_start
            band[: th - shift] = band[shift:]
            band[th - shift :] = 0.0
            band_start = y
        for x, wx in zip(tiles.x_starts, wxs, strict=True):
            if control is not None:
                control.wait_while_paused()
                control.raise_if_cancelled()
            pixels = _region(image, y, y + th, x, x + tw)
            out = _run(module, _to_tensor(pixels, scale, device_plan), device_plan)
            out *= wy[:, None, None] * wx[None, :, None]
            band[:, x : x + tw] += out
            del out, pixels
            done += 1
            yield StylizeProgress(done, total, "stylizing")
    finish_rows(band_start, band_start + th)
    return output


def stylize_array(
    model: object,
    image: np.ndarray,
    *,
    strength: float = 1.0,
    blend: Blend | Mapping[str, float] | None = None,
    device: str = "auto",
    memory_budget_mb: float = DEFAULT_MEMORY_BUDGET_MB,
    tile_size: int | None = None,
    control: JobControl | None = None,
    progress: ProgressCallback | None = None,
    **options,
) -> np.ndarray:
    """Stylize ``image`` and return the result (same shape and dtype).

    ``options`` are passed to :func:`stylize_steps` (context, tiling, statistics,
    training_size, view_side).
    """
    result: np.ndarray | None = None
    for event in stylize_steps(
        model,
        image,
        strength=strength,
        blend=blend,
        device=device,
        memory_budget_mb=memory_budget_mb,
        tile_size=tile_size,
        control=control,
        **options,
    ):
        if isinstance(event, StylizeFinished):
            result = event.output
        elif progress is not None:
            progress(event)
    assert result is not None
    return result


def stylize_file(
    model: object,
    src: Path | str,
    dst: Path | str,
    *,
    strength: float = 1.0,
    blend: Blend | Mapping[str, float] | None = None,
    device: str = "auto",
    memory_budget_mb: float = DEFAULT_MEMORY_BUDGET_MB,
    tile_size: int | None = None,
    control: JobControl | None = None,
    progress: ProgressCallback | None = None,
    quality: int = 95,
    overwrite: bool = False,
    image_format: str | None = None,
    precision: str = "auto",
) -> Path:
    """Stylize the image file ``src`` into ``dst`` (format from its suffix or
    ``image_format``). The output is upright (EXIF orientation applied), keeps the size,
    the ICC profile, EXIF (minus orientation) and PNG text; 16-bit input stays 16-bit
    where the format allows (TIFF), and is then computed in fp32 unless ``precision`` says
    otherwise (see :func:`inference_plan`). Raises ImageLoadError for an unreadable input,
    FileExistsError when ``dst`` exists and not ``overwrite``, ExportError when writing
    fails."""
    from .export import format_for, read_image_with_metadata, save_result

    src, dst = Path(src), Path(dst)
    blend = Blend.coerce(blend, strength)
    if dst.exists() and not overwrite:
        raise FileExistsError(f"{dst}: already exists (use overwrite to replace it)")
    pixels, meta = read_image_with_metadata(src)
    result = stylize_array(
        model,
        pixels,
        blend=blend,
        device=device,
        memory_budget_mb=memory_budget_mb,
        tile_size=tile_size,
        control=control,
        progress=progress,
        precision=precision,
        high_bit_output=pixels.dtype == np.uint16 and format_for(dst, image_format) == "TIFF",
    )
    del pixels
    return save_result(
        result,
        dst,
        source=src,
        meta=meta,
        image_format=image_format,
        quality=quality,
        unchanged=blend.is_photo,
    )
