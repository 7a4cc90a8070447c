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

Backends (``backend=``): "onnx" (ONNX Runtime on an export of the model, no torch needed
once exported: :mod:`.onnx_backend`), "torch" (eager PyTorch; a model file's generator runs
its fast equivalent, :mod:`.torch_backend`), "torch-compile", or "auto": ONNX Runtime for a
model file on the CPU when onnxruntime is installed, else PyTorch (a bare module, as
training's quality checks pass, always runs as it is). Every backend implements the same
policy and the same tiling (:mod:`.tiling`); ``benchmarks/bench_backends.py`` measures
them against each other. This module imports torch only when a torch backend runs.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .blend import MAX_AUTO_BRUSH, Blend
from .control import JobControl
from .events import StylizeFinished, StylizePreview, StylizeProgress
from .tiling import (
    DEFAULT_MEMORY_BUDGET_MB,
    VIEW_FACTOR,
    VIEW_MAX_SQUARES,
    StatisticsView,
    StylizeError,
    TilePlan,
    check_image,
    paint_tiles,
    plan_tile_layout,
    scale_of,
    statistics_view,
    to_pixels,
    view_pixels,
)

__all__ = [
    "BACKENDS",
    "DEFAULT_MEMORY_BUDGET_MB",
    "DEFAULT_TRAINING_SIZE",
    "VIEW_FACTOR",
    "VIEW_MAX_SQUARES",
    "StatisticsView",
    "StylizeError",
    "TilePlan",
    "choose_backend",
    "statistics_view",
    "stylize_array",
    "stylize_file",
    "stylize_steps",
    "training_size_of",
    "view_pixels",
]

log = logging.getLogger(__name__)

# The training size assumed for a bare generator (no model card): the app's default.
DEFAULT_TRAINING_SIZE = 256
BACKENDS = ("auto", "onnx", "torch", "torch-compile")

ProgressCallback = Callable[[StylizeProgress], None]

# Names that live with the torch backend, importable from here as before (they import
# torch, so only on first use).
_TORCH_NAMES = frozenset(
    {
        "ACTIVATION_FACTOR",
        "activation_bytes_per_pixel",
        "cancellable_layers",
        "inference_plan",
        "plan_tiles",
        "resolve_module",
        "size_multiple",
    }
)


def __getattr__(name: str) -> Any:
    if name in _TORCH_NAMES:
        from . import torch_backend

        return getattr(torch_backend, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def training_size_of(model: object, override: int | None = None) -> int:
    """The side the model was trained at: ``override``, else its card's, else the default."""
    if override:
        return int(override)
    card = getattr(model, "card", None)
    return int(getattr(card, "training_size", 0) or DEFAULT_TRAINING_SIZE)


# -- backends -------------------------------------------------------------------------------


def choose_backend(
    model: object, backend: str = "auto", device: str = "auto", precision: str = "auto"
) -> str:
    """The backend that will paint ``model``: ``backend`` itself, or for "auto" (which
    ``GANSTYLE_BACKEND`` overrides) ONNX Runtime where it can run the model (a model file,
    the CPU, float32, onnxruntime installed), else PyTorch."""
    from . import onnx_backend

    if backend not in BACKENDS:
        raise StylizeError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend == "auto":
        backend = os.environ.get("GANSTYLE_BACKEND", "auto").lower() or "auto"
        if backend not in BACKENDS:
            raise StylizeError(f"GANSTYLE_BACKEND must be one of {', '.join(BACKENDS)}")
    if isinstance(model, onnx_backend.RuntimeModel):
        if backend not in ("auto", "onnx"):
            raise StylizeError(f"this model is an ONNX Runtime export; {backend} cannot run it")
        return "onnx"
    if backend != "auto":
        if backend == "onnx" and not onnx_backend.available():
            raise StylizeError(
                "the onnx backend needs onnxruntime (pip install onnxruntime); "
                "or choose --backend torch"
            )
        if backend in ("onnx", "torch-compile"):
            refusal = _fast_path_refusal(model, backend)
            if refusal is not None:
                # A model these paths were not made for still paints, as it is.
                log.warning("%s; painting with eager PyTorch instead of %s", refusal, backend)
                return "torch"
        return backend
    if not onnx_backend.available() or precision not in ("auto", "fp32"):
        return "torch"
    if _fast_path_refusal(model, "onnx") is not None:
        return "torch"
    if device != "cpu":
        from .devices import plan_for

        if plan_for(device).type != "cpu":
            return "torch"  # a GPU: PyTorch's kernels and mixed precision
    return "onnx"


def _fast_path_refusal(model: object, backend: str) -> str | None:
    """Why ``backend`` ("onnx" or "torch-compile") cannot run ``model``; None if it can."""
    generator = getattr(model, "generator", None)
    if generator is None:
        return f"{type(model).__name__} is not a model file's generator"
    if backend == "onnx":
        from . import onnx_backend

        path = getattr(model, "path", None)
        if path is None:
            return "an in-memory model has no file to export from"
        if not onnx_backend.can_export() and onnx_backend.cached_runtime(path) is None:
            return "exporting a model for ONNX Runtime needs the onnx package"
    from .torch_backend import fast_path_refusal

    return fast_path_refusal(generator)


def _painter(
    model: object,
    mix: dict[str, float] | None,
    backend: str,
    device: str,
    precision: str,
    high_bit_output: bool,
    control: JobControl | None,
):
    if backend == "onnx":
        from .onnx_backend import OrtPainter, ensure_runtime

        if device not in ("auto", "cpu"):
            raise StylizeError(f"the onnx backend runs on the CPU, not {device!r}")
        if precision not in ("auto", "fp32"):
            raise StylizeError(f"the onnx backend computes in fp32, not {precision}")
        return OrtPainter(ensure_runtime(model), mix, control=control)
    from .torch_backend import TorchPainter

    variant = "compile" if backend == "torch-compile" else "eager"
    return TorchPainter(
        model,
        mix,
        device=device,
        precision=precision,
        high_bit_output=high_bit_output,
        control=control,
        variant=variant,
    )


def prepare_model(
    model_path: Path | str, device: str = "auto", control: JobControl | None = None
) -> str:
    """Do ahead of the first Stylize what that first call would otherwise do while the
    person waits: load the model (into the process-wide cache the stylizer reads) and,
    where ONNX Runtime will paint it, export it (cached on disk by content) and open its
    sessions. Returns the backend that will paint it. Safe beside a stylize of the same
    model: the export is made once (``onnx_backend.ensure_runtime`` holds a lock)."""
    from .model_cache import device_for, load_model_cached

    model = load_model_cached(model_path, device_for(device))
    if control is not None:
        control.raise_if_cancelled()
    backend = choose_backend(model, "auto", device)
    if backend == "onnx":
        from .onnx_backend import default_threads, ensure_runtime, session_for

        runtime = ensure_runtime(model)
        for graph in ("stats.onnx", "tiles.onnx"):
            if control is not None:
                control.raise_if_cancelled()
            session_for(runtime.folder / graph, default_threads())
    return backend


# -- the stylizer ---------------------------------------------------------------------------

# A preview is shown only when the next picture has at least this many times its pixels
# (the view's painting before the image or a screen-size copy; the screen-size copy when
# the image has twice that again): else the next one is nearly as quick.
PREVIEW_GAIN = 2.0


def _worth_painting(small: np.ndarray | None, view: StatisticsView, h: int, w: int) -> bool:
    if small is None or small.ndim != 3 or min(small.shape[:2]) < 2:
        return False
    pixels = small.shape[0] * small.shape[1]
    return pixels >= PREVIEW_GAIN * view.height * view.width and pixels * 2 * PREVIEW_GAIN <= h * w


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
    backend: str = "auto",
    preview: bool = False,
    preview_image: np.ndarray | None = None,
) -> Iterator[StylizeProgress | StylizePreview | StylizeFinished]:
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

    ``precision``: see :func:`.torch_backend.inference_plan`; ``high_bit_output`` (default:
    the image is 16-bit) says whether the result keeps more than 8 bits per channel.
    ``backend``: see the module docstring. The blend's brush size (:func:`resolved_brush`)
    above 1 paints the photo smaller and enlarges the painting. ``preview``: when the statistics view is a
    downscaled copy of the image, yield its painting (a :class:`StylizePreview`, the whole
    photo at the view's size with the final statistics) as soon as it is painted: the
    first picture, in the time of one small pass. ``preview_image`` (a screen-size copy of
    the image, 8-bit) is then painted next with the same statistics and yielded too, when
    it is clearly larger than the view and clearly smaller than the image.
    """
    check_image(image)
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
    brush = resolved_brush(blend, image.shape[0], image.shape[1], model, training_size)
    if brush > 1.0:
        yield from _stylize_with_brush(
            model,
            image,
            blend,
            brush,
            started,
            control=control,
            preview=preview,
            preview_image=preview_image,
            options={
                "device": device,
                "memory_budget_mb": memory_budget_mb,
                "tile_size": tile_size,
                "context": context,
                "tiling": tiling,
                "statistics": statistics,
                "training_size": training_size,
                "view_side": view_side,
                "precision": precision,
                "high_bit_output": high_bit_output,
                "backend": backend,
            },
        )
        return
    strength = blend.strength
    if high_bit_output is None:
        high_bit_output = image.dtype == np.uint16
    chosen = choose_backend(model, backend, device, precision)
    painter = _painter(model, blend.mix(), chosen, device, precision, high_bit_output, control)
    h, w = image.shape[:2]
    tiles = plan_tile_layout(
        h,
        w,
        multiple=painter.size_multiple,
        bytes_per_pixel=painter.bytes_per_pixel,
        receptive_field=painter.receptive_field,
        memory_budget_mb=memory_budget_mb,
        tile_size=tile_size,
        context=context,
        tiling=tiling,
    )
    if tiles.tiled and statistics == "full":
        raise StylizeError("full-image statistics need a whole-image pass (tiling='whole')")
    m = painter.size_multiple
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
        "device": painter.label,
        "backend": painter.name,
        "statistics": statistics,
        "statistics_view": [view.height, view.width] if statistics == "view" else [h, w],
        "precision": painter.precision,
    }

    with painter:
        done = 0
        yield StylizeProgress(done, total, "preparing")
        if control is not None:
            control.raise_if_cancelled()
        if capture:
            pixels = view_pixels(image, view)
            painted = painter.capture(pixels)
            done += 1
            yield StylizeProgress(done, total, "normalising")
            if preview and not view.is_image and h * w >= PREVIEW_GAIN * view.height * view.width:
                shown = to_pixels(painted, pixels, strength)
                yield StylizePreview(shown, time.perf_counter() - started, "view")
            del pixels, painted
            if preview and _worth_painting(preview_image, view, h, w):
                from .tiling import region, round_up

                ph, pw = preview_image.shape[:2]
                padded = region(preview_image, 0, round_up(ph, m), 0, round_up(pw, m))
                shown = to_pixels(painter.paint(padded), preview_image, strength)
                yield StylizePreview(shown, time.perf_counter() - started, "screen")
                del padded, shown
        output = yield from paint_tiles(painter.paint, image, tiles, strength, control, done, total)
    yield StylizeFinished(output, time.perf_counter() - started, tiles.tiled, extra)


def resolved_brush(
    blend: Blend, height: int, width: int, model: object, training_size: int | None = None
) -> float:
    """The brush size ``blend`` paints a ``height`` x ``width`` photo with: its own, or for
    the auto brush the one that paints the photo's short side at the statistics view's
    side (``VIEW_FACTOR`` x the training size), from 1 up to ``MAX_AUTO_BRUSH``. Measured
    (``benchmarks/bench_brush.py``, the starter at 1024 px): the recogniser takes 6 of 9
    post-Impressionist paintings for photos at brush 1, 1 at brush 2."""
    if not blend.is_auto_brush:
        return blend.brush
    side = VIEW_FACTOR * training_size_of(model, training_size)
    return min(MAX_AUTO_BRUSH, max(1.0, min(height, width) / side))


def brush_size_of(height: int, width: int, brush: float) -> tuple[int, int]:
    """The size a ``height`` x ``width`` photo is painted at with brush size ``brush``."""
    return max(1, round(height / brush)), max(1, round(width / brush))


def _mix_bands(styled: np.ndarray, photo: np.ndarray, strength: float) -> np.ndarray:
    """``strength`` x ``styled`` + the rest ``photo``, rounded, in place into ``styled``;
    in bands of rows, so no full-size float copy is alive."""
    top = float(scale_of(photo))
    band = max(1, (16 << 20) // max(1, styled.shape[1] * styled.shape[2] * 4))
    for y in range(0, styled.shape[0], band):
        rows = styled[y : y + band].astype(np.float32)
        rows *= strength
        rows += (1.0 - strength) * photo[y : y + band].astype(np.float32)
        np.clip(rows, 0.0, top, out=rows)
        styled[y : y + band] = np.rint(rows)
    return styled


def _stylize_with_brush(
    model: object,
    image: np.ndarray,
    blend: Blend,
    brush: float,
    started: float,
    *,
    control: JobControl | None,
    preview: bool,
    preview_image: np.ndarray | None,
    options: dict[str, Any],
) -> Iterator[StylizeProgress | StylizePreview | StylizeFinished]:
    """Brush size ``brush`` > 1: the photo painted at ``1 / brush`` of its size (the whole
    pipeline: its own statistics view, tiles, previews), the painting enlarged back to the
    photo's size, then mixed with the full-size photo at the blend's strength, so the
    photo's part keeps every pixel of detail. Progress counts the enlargement as one more
    step."""
    from .blend import resize_pixels

    h, w = image.shape[:2]
    sh, sw = brush_size_of(h, w, brush)
    if control is not None:
        control.raise_if_cancelled()
    small = resize_pixels(image, sh, sw) if (sh, sw) != (h, w) else image
    small_preview = None
    if preview_image is not None:
        ph, pw = brush_size_of(*preview_image.shape[:2], brush)
        small_preview = resize_pixels(preview_image, ph, pw)
    full = Blend(blend.weights, 1.0)  # the photo's share is mixed in at full size below
    total = 1
    result: StylizeFinished | None = None
    steps = stylize_steps(
        model, small, blend=full, control=control, preview=preview,
        preview_image=small_preview, **options,
    )  # fmt: skip
    try:
        for event in steps:
            if isinstance(event, StylizeProgress):
                total = event.total + 1
                yield StylizeProgress(event.done, total, event.stage)
            elif isinstance(event, StylizePreview):
                shown = event.output
                if blend.strength < 1.0:
                    like = small_preview
                    if like is None or like.shape != shown.shape:  # the statistics view's
                        like = resize_pixels(small, *shown.shape[:2])
                    shown = _mix_bands(shown.copy(), like, blend.strength)
                yield StylizePreview(shown, time.perf_counter() - started, event.stage)
            else:
                result = event
    except StylizeError as exc:
        raise StylizeError(
            f"At brush size {brush:g} the photo is painted at {sw} x {sh} px: {exc}. "
            "Choose a smaller brush."
        ) from None
    assert result is not None
    del small
    if control is not None:
        control.raise_if_cancelled()
    yield StylizeProgress(total - 1, total, "enlarging")
    output = resize_pixels(result.output, h, w)
    if blend.strength < 1.0:
        output = _mix_bands(output, image, blend.strength)
    yield StylizeProgress(total, total, "enlarging")
    extra = {**result.extra, "brush": brush, "painted_size": [sh, sw]}
    if blend.is_auto_brush:
        extra["brush_setting"] = "auto"
    yield StylizeFinished(output, time.perf_counter() - started, result.tiled, extra)


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
    training_size, view_side, precision, backend).
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
    backend: str = "auto",
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
        backend=backend,
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
