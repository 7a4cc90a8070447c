"""Blend previews: a photo at screen size in a mix of traditions, for the app's sliders.

Kept apart from :mod:`.stylize` (which owns full-resolution work) because a preview has
other needs: it is thrown away when the next slider position arrives, so it works on a
downscaled copy, reuses one loaded model between requests, and checks for cancellation
before the (only) expensive call.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from PIL import Image

from .control import JobControl
from .imageio import load_rgb

DEFAULT_PREVIEW_SIDE = 768

_cache_lock = threading.Lock()
_cache: dict[tuple[str, float], object] = {}


def load_model_cached(path: Path | str) -> object:
    """The StyleModel at ``path``, loaded once per file version (one model kept)."""
    from .modelfile import load_model

    path = Path(path)
    key = (str(path.resolve()), path.stat().st_mtime)
    with _cache_lock:
        model = _cache.get(key)
        if model is None:
            _cache.clear()
            model = load_model(path, device="cpu")
            _cache[key] = model
        return model


def downscale(image: np.ndarray, max_side: int) -> np.ndarray:
    """``image`` with its longer side at most ``max_side`` (a copy; aspect kept)."""
    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image.copy()
    factor = max_side / max(h, w)
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))


def load_photo(path: Path | str, max_side: int) -> np.ndarray:
    """An upright RGB uint8 copy of the photo at ``path``, downscaled to ``max_side``."""
    im = load_rgb(path)
    im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return np.asarray(im).copy()


def normalised_blend(
    weights: Mapping[str, float], strength: float = 1.0
) -> tuple[dict[str, float] | None, float]:
    """Slider values -> (blend whose weights sum to ``strength``, strength).

    Tradition weights are mixed convexly; ``strength`` (0..1) is the share of the styled
    image, the photo being the remainder. All-zero weights mean "the photo": (None, 0).
    """
    strength = min(max(float(strength), 0.0), 1.0)
    positive = {k: float(v) for k, v in weights.items() if float(v) > 0}
    total = sum(positive.values())
    if total <= 0 or strength <= 0:
        return None, 0.0
    return {k: v / total * strength for k, v in positive.items()}, strength


def render_blend(
    model: object,
    image: np.ndarray,
    blend: Mapping[str, float] | None,
    *,
    max_side: int = DEFAULT_PREVIEW_SIDE,
    control: JobControl | None = None,
    device: str = "cpu",
) -> np.ndarray:
    """``image`` (downscaled to ``max_side``) in ``blend`` (weights may sum below 1: the
    photo is the remainder; None or empty: the photo itself). HxWx3 uint8."""
    from .stylize import stylize_array

    small = downscale(image, max_side)
    if control is not None:
        control.raise_if_cancelled()
    if not blend or sum(float(v) for v in blend.values()) <= 0:
        return small
    # Weights summing below 1 are the style strength: the generator blends with the photo
    # itself, so the blend goes unchanged and stylize's own strength stays at 1.
    return stylize_array(
        model, small, blend=dict(blend), device=device, control=control, tiling="whole"
    )


def tradition_labels(model: object) -> list[tuple[str, str]]:
    """(slug, display name) of every tradition a StyleModel knows, in order."""
    card = getattr(model, "card", None)
    traditions = list(getattr(card, "traditions", []) or [])
    generator = getattr(model, "generator", None)
    slugs = list(getattr(generator, "traditions", []) or [t.get("slug", "") for t in traditions])
    names = {t.get("slug"): t.get("name") or t.get("slug") for t in traditions}
    return [(slug, str(names.get(slug) or slug)) for slug in slugs]
