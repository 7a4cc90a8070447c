"""Brush size: the photo painted at 1 / b of its size and the painting enlarged back, the
photo's own share mixed in at full size; the Blend value that carries it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

# The tiny ResNet generator and the synthetic photo of the stylize tests, and their one
# torch thread (an autouse fixture, active here once imported).
from test_stylize import _one_torch_thread  # noqa: F401
from test_stylize import photo as _photo
from test_stylize import tiny_model as _tiny_model

from ganstyle_desktop.engine.blend import MAX_BRUSH, Blend, BlendError, resize_pixels
from ganstyle_desktop.engine.events import StylizeFinished, StylizePreview, StylizeProgress
from ganstyle_desktop.engine.stylize import StylizeError, stylize_array, stylize_steps


def tiny_model(training_size: int = 32):
    return _tiny_model(training_size=training_size)


def photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Fine noise on top: detail an enlargement cannot bring back."""
    return _photo(h, w, seed, noise=20.0)


def lanczos(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    """The reference resampling, written against Pillow directly (a shrink reduces by a
    box first, down to twice the target: Pillow's reducing_gap 2)."""
    gap = 2.0 if width < pixels.shape[1] and height < pixels.shape[0] else None
    image = Image.fromarray(pixels)
    return np.asarray(image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=gap))


def levels(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())


def test_brush_paints_the_photo_smaller_and_enlarges_the_painting() -> None:
    model, image = tiny_model(), photo(96, 136)
    for brush, (sh, sw) in ((2.0, (48, 68)), (1.5, (64, 91))):
        small = lanczos(image, sh, sw)
        painted = stylize_array(model, small, blend=Blend(None, 1.0))
        expected = lanczos(painted, 96, 136)
        got = stylize_array(model, image, blend=Blend(None, 1.0, brush))
        assert got.shape == image.shape and got.dtype == np.uint8
        assert np.array_equal(got, expected), brush
    # and it is not the native painting: the strokes really are larger
    native = stylize_array(model, image, blend=Blend(None, 1.0))
    assert levels(native, got) > 2.0


def test_the_photo_share_keeps_its_full_size_detail() -> None:
    model, image = tiny_model(), photo(96, 136, seed=1)
    enlarged = stylize_array(model, image, blend=Blend(None, 1.0, 2.0)).astype(np.float64)
    expected = np.rint(0.4 * enlarged + 0.6 * image.astype(np.float64))
    got = stylize_array(model, image, blend=Blend(None, 0.4, 2.0))
    assert np.abs(got - expected).max() <= 1
    # Mixing at the painted size and enlarging would blur the photo's part: far off.
    small = lanczos(image, 48, 68)
    blurred = lanczos(stylize_array(model, small, blend=Blend(None, 0.4)), 96, 136)
    assert levels(blurred, got) > 4.0


def test_sixteen_bit_photos_stay_sixteen_bit_at_any_brush() -> None:
    model, image8 = tiny_model(), photo(64, 96, seed=2)
    image16 = image8.astype(np.uint16) * 257
    out16 = stylize_array(model, image16, blend=Blend(None, 0.7, 2.0))
    assert out16.dtype == np.uint16 and out16.shape == image16.shape
    out8 = stylize_array(model, image8, blend=Blend(None, 0.7, 2.0))
    assert levels(out16 / 257.0, out8) < 1.0


def test_resize_pixels_keeps_the_dtype_and_matches_pillow() -> None:
    image = photo(40, 56, seed=3)
    assert np.array_equal(resize_pixels(image, 20, 28), lanczos(image, 20, 28))
    wide = resize_pixels(image.astype(np.uint16) * 257, 80, 112)
    assert wide.dtype == np.uint16 and wide.flags.writeable
    assert levels(wide / 257.0, lanczos(image, 80, 112)) < 0.6


def test_progress_counts_the_enlargement_and_the_result_says_the_painted_size() -> None:
    events = list(stylize_steps(tiny_model(), photo(96, 136), blend=Blend(None, 1.0, 2.0)))
    progress = [e for e in events if isinstance(e, StylizeProgress)]
    finished = events[-1]
    assert isinstance(finished, StylizeFinished)
    assert progress[-1].stage == "enlarging" and progress[-1].done == progress[-1].total
    assert [p.done for p in progress] == sorted(p.done for p in progress)
    assert len({p.total for p in progress[1:]}) == 1
    assert finished.extra["brush"] == 2.0 and finished.extra["painted_size"] == [48, 68]


def test_previews_come_first_and_carry_the_strength() -> None:
    model, image = tiny_model(training_size=16), photo(192, 256, seed=4)
    blend = Blend(None, 0.5, 2.0)
    events = list(stylize_steps(model, image, blend=blend, preview=True))
    previews = [e for e in events if isinstance(e, StylizePreview)]
    assert previews and isinstance(events[-1], StylizeFinished)
    shown = previews[0].output
    assert shown.shape[0] < 96 and shown.dtype == np.uint8  # the painted photo's own view
    # at full strength the same view preview differs: the photo's half is mixed in
    strong = [
        e.output
        for e in stylize_steps(model, image, blend=Blend(None, 1.0, 2.0), preview=True)
        if isinstance(e, StylizePreview)
    ][0]
    like = lanczos(lanczos(image, 96, 128), *shown.shape[:2])
    expected = np.rint(0.5 * strong.astype(np.float64) + 0.5 * like)
    assert np.abs(shown - expected).max() <= 1


def test_a_brush_too_large_for_the_photo_says_so() -> None:
    with pytest.raises(StylizeError, match="brush size 8 .* 5 x 5 px"):
        stylize_array(tiny_model(), photo(40, 40), blend=Blend(None, 1.0, 8.0))


def test_the_photo_blend_ignores_the_brush() -> None:
    image = photo(40, 48)
    assert np.array_equal(stylize_array(tiny_model(), image, blend=Blend(None, 0.0, 3.0)), image)


def test_blend_values_carry_the_brush() -> None:
    blend = Blend.of({"a": 1.0, "b": 3.0}, 0.5, 2.0)
    assert blend != Blend.of({"a": 1.0, "b": 3.0}, 0.5)  # a different picture
    assert blend.with_strength(0.2).brush == 2.0
    assert blend.with_weights({"a": 1.0}).brush == 2.0
    assert Blend.coerce(blend, 0.5).brush == 2.0
    assert Blend.from_dict(blend.to_dict()) == blend
    assert Blend.from_dict({"weights": {"a": 1.0}, "strength": 1.0}).brush == 1.0  # older files
    assert "strokes x2" in blend.describe() and "strokes" not in Blend().describe()
    assert blend.with_brush(1.0).mix() == blend.mix()  # the brush is no part of the mix
    for bad in (0.5, MAX_BRUSH + 1, math.nan, math.inf):
        with pytest.raises(BlendError, match="Brush size"):
            Blend(None, 1.0, bad)


def test_the_auto_brush_paints_the_short_side_at_twice_the_training_size() -> None:
    from ganstyle_desktop.engine.blend import AUTO_BRUSH, MAX_AUTO_BRUSH
    from ganstyle_desktop.engine.stylize import resolved_brush

    model = tiny_model(training_size=32)  # the view's side: 64
    auto = Blend.default()
    assert auto.is_auto_brush and auto.brush == AUTO_BRUSH and "strokes" not in auto.describe()
    assert resolved_brush(auto, 48, 60, model) == 1.0  # no larger than the view: every pixel
    assert resolved_brush(auto, 128, 200, model) == 2.0
    assert resolved_brush(auto, 200, 96, model) == 1.5  # the short side counts
    assert resolved_brush(auto, 2000, 3000, model) == MAX_AUTO_BRUSH
    assert resolved_brush(auto.with_brush(1.0), 2000, 3000, model) == 1.0  # chosen: kept
    assert resolved_brush(auto, 128, 128, model, training_size=16) == 4.0  # the override
    image = photo(128, 200, seed=5)
    finished = list(stylize_steps(model, image, blend=auto))[-1]
    assert np.array_equal(finished.output, stylize_array(model, image, blend=Blend(None, 1, 2)))
    assert finished.extra["brush"] == 2.0 and finished.extra["brush_setting"] == "auto"
    small = photo(48, 60)
    assert np.array_equal(
        stylize_array(model, small, blend=auto), stylize_array(model, small, blend=Blend())
    )
