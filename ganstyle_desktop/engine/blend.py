"""What the stylizer paints: the :class:`Blend` value, and screen-size blend previews.

A :class:`Blend` is the one description of "which style, how much" that travels unchanged
from the Blend panel, the canvas and the CLI (``--blend``, ``--strength``) to
:func:`.stylize.stylize_steps`. It holds relative tradition weights and a strength:

- ``weights`` None: the model's own style (a single-style model, or the first tradition of
  a multi-style one);
- ``weights`` given: a mix of those traditions, normalised to sum to 1 (only their ratios
  matter: sliders at 20 and 60 are the mix 25 % / 75 %);
- ``strength`` 0..1: the share of the styled image, the photo being the rest;
- ``brush`` 1..``MAX_BRUSH``: the stroke size, as a multiple of the model's own stroke at
  the photo's pixels. A model paints strokes of a fixed number of pixels (it learned them
  on artworks about ``1.125 x`` its training size across), so on a large photo they shrink
  to a fine texture and the picture reads as a filter; at brush ``b`` the photo is painted
  at ``1 / b`` of its size and the painting enlarged back (Lanczos), strokes ``b`` x as large.
  ``AUTO_BRUSH`` (0, what the app and the CLI start from): the brush that paints the photo
  at the size its statistics are taken at, twice the model's training size on the short
  side, up to ``MAX_AUTO_BRUSH`` (:func:`.stylize.resolved_brush`), so a large photo keeps
  the strokes the model learned and a preview and its full-size result share them.

It is *the photo itself* (returned pixel for pixel, no network run) when the strength is 0
or every given weight is 0: :attr:`Blend.is_photo`. The photo case is explicit, so no
caller has to turn an empty mix into ``None`` (which a generator would read as "first
tradition at full strength").

This module imports neither torch nor numpy at import time, so the GUI can hold Blend
values without loading the engine; the preview helpers import what they need when called.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from .control import JobControl

DEFAULT_PREVIEW_SIDE = 768
MAX_BRUSH = 8.0
AUTO_BRUSH = 0.0  # the brush follows the photo's size (see the module docstring)
MAX_AUTO_BRUSH = 4.0  # past 4 the enlargement's softness outweighs the larger strokes


class BlendError(ValueError):
    """A blend names an unknown tradition or has weights that are not a valid mix."""


def _weight(name: str, value: Any) -> float:
    try:
        weight = float(value)
    except (TypeError, ValueError):
        raise BlendError(f"Blend weight {value!r} for {name!r} is not a number.") from None
    if not math.isfinite(weight) or weight < 0:
        raise BlendError(f"Blend weight for {name!r} must be >= 0, got {value}.")
    return weight


@dataclass(frozen=True)
class Blend:
    """Relative tradition weights (None: the model's own style), a strength 0..1 and a
    brush size 1..``MAX_BRUSH`` (or ``AUTO_BRUSH``).

    Build one with :meth:`of`, :meth:`parse` or :meth:`photo`; it is immutable and
    hashable, so two blends compare equal exactly when they paint the same picture's
    recipe (same weights in the same order, same strength, same brush).
    """

    weights: tuple[tuple[str, float], ...] | None = None
    strength: float = 1.0
    brush: float = 1.0

    def __post_init__(self) -> None:
        strength = float(self.strength)
        if not math.isfinite(strength) or not 0.0 <= strength <= 1.0:
            raise BlendError(f"Strength must be between 0 and 1, got {self.strength}.")
        object.__setattr__(self, "strength", strength)
        brush = float(self.brush)
        if brush != AUTO_BRUSH and not (math.isfinite(brush) and 1.0 <= brush <= MAX_BRUSH):
            raise BlendError(
                f"Brush size must be auto or between 1 and {MAX_BRUSH:g}, got {self.brush}."
            )
        object.__setattr__(self, "brush", brush)
        if self.weights is not None:
            merged: dict[str, float] = {}
            for name, value in self.weights:
                name = str(name).strip()
                if not name:
                    raise BlendError("A blend weight needs a tradition name.")
                merged[name] = merged.get(name, 0.0) + _weight(name, value)
            object.__setattr__(self, "weights", tuple(merged.items()))

    # -- construction -------------------------------------------------------------------
    @classmethod
    def of(
        cls,
        weights: Mapping[str, float] | None = None,
        strength: float = 1.0,
        brush: float = 1.0,
    ) -> Blend:
        """A blend of ``weights`` (slug -> relative weight; None: the model's own style)."""
        return cls(None if weights is None else tuple(weights.items()), strength, brush)

    @classmethod
    def default(cls) -> Blend:
        """What the app and the CLI paint until told otherwise: the model's own style at
        full strength, the brush following the photo's size."""
        return cls(None, 1.0, AUTO_BRUSH)

    @classmethod
    def photo(cls) -> Blend:
        """The photo itself: nothing of any style."""
        return cls(None, 0.0)

    @classmethod
    def parse(cls, text: str | None, strength: float = 1.0) -> Blend:
        """``"ukiyo-e=0.6,ink-wash=0.4"`` (the CLI's ``--blend``); None or "": own style."""
        if text is None or not text.strip():
            return cls(None, strength)
        pairs: list[tuple[str, float]] = []
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            name, sep, value = part.partition("=")
            if not sep or not name.strip():
                raise BlendError(f"Blend entry {part!r} must look like name=weight.")
            pairs.append((name.strip(), _weight(name.strip(), value.strip())))
        if not pairs:
            raise BlendError("Empty blend; give name=weight pairs separated by commas.")
        return cls(tuple(pairs), strength)

    @classmethod
    def coerce(cls, value: Blend | Mapping[str, float] | None, strength: float = 1.0) -> Blend:
        """``value`` as a Blend. A mapping is read as relative weights at ``strength``; a
        Blend passed with a ``strength`` below 1 is weakened by that factor."""
        if isinstance(value, Blend):
            return value if strength == 1.0 else value.with_strength(value.strength * strength)
        if value is None:
            return cls(None, strength)
        if isinstance(value, Mapping):
            return cls.of(value, strength)
        raise TypeError(f"expected a Blend or a mapping of weights, got {type(value).__name__}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Blend:
        weights = data.get("weights")
        return cls.of(
            None if weights is None else {str(k): v for k, v in dict(weights).items()},
            float(data.get("strength", 1.0)),
            float(data.get("brush", 1.0)),  # blends saved before the brush: the model's own
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "weights": None if self.weights is None else dict(self.weights),
            "strength": self.strength,
            "brush": self.brush,
        }

    def with_strength(self, strength: float) -> Blend:
        return Blend(self.weights, strength, self.brush)

    def with_weights(self, weights: Mapping[str, float] | None) -> Blend:
        return Blend.of(weights, self.strength, self.brush)

    def with_brush(self, brush: float) -> Blend:
        return Blend(self.weights, self.strength, brush)

    @property
    def is_auto_brush(self) -> bool:
        return self.brush == AUTO_BRUSH

    # -- reading ------------------------------------------------------------------------
    @property
    def is_photo(self) -> bool:
        """True when the result is the photo itself (strength 0, or every weight 0)."""
        if self.strength <= 0.0:
            return True
        return self.weights is not None and not any(w > 0 for _, w in self.weights)

    @property
    def is_own_style(self) -> bool:
        """No weights given: the model's own style (its first tradition)."""
        return self.weights is None

    def mix(self) -> dict[str, float] | None:
        """Positive weights normalised to sum to 1, in the given order; None for the
        model's own style; ``{}`` for the photo."""
        if self.weights is None:
            return None if self.strength > 0 else {}
        if self.is_photo:
            return {}
        positive = [(k, w) for k, w in self.weights if w > 0]
        total = math.fsum(w for _, w in positive)
        return {k: w / total for k, w in positive}

    def shares(self) -> dict[str, float]:
        """Each tradition's share of the final picture (mix x strength), for labels."""
        mix = self.mix()
        if not mix:
            return {}
        return {k: w * self.strength for k, w in mix.items()}

    def traditions(self) -> list[str]:
        return [] if self.weights is None else [k for k, _ in self.weights]

    def check_traditions(self, known: Iterable[str], model_name: str = "the model") -> None:
        """Raise :class:`BlendError` when the blend names a tradition ``known`` lacks."""
        known = list(known)
        unknown = [k for k in self.traditions() if k not in known]
        if unknown:
            raise BlendError(
                f"{model_name} knows {', '.join(known) or 'no traditions'}; "
                f"not {', '.join(unknown)}."
            )

    def describe(self, names: Mapping[str, str] | None = None) -> str:
        """For people: "Ukiyo-e 60 %, Ink wash 40 %", "The photo itself", ..."""
        if self.is_photo:
            return "The photo itself (no style)"
        names = names or {}
        brush = f", strokes x{self.brush:g}" if self.brush > 1.0 else ""  # auto and 1: none
        if self.weights is None:
            base = "The model's style"
            if self.strength < 1.0:
                base = f"{base} at {round(100 * self.strength)} %"
            return base + brush
        return (
            ", ".join(
                f"{names.get(k, k)} {round(100 * share)} %" for k, share in self.shares().items()
            )
            + brush
        )


# -- screen-size previews (workers only: these import numpy, Pillow and the stylizer) -------


def downscale(image: np.ndarray, max_side: int) -> np.ndarray:
    """``image`` with its longer side at most ``max_side`` (a copy; aspect kept). 16-bit
    pixels stay 16-bit."""

    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image.copy()
    factor = max_side / max(h, w)
    return resize_pixels(image, max(1, round(h * factor)), max(1, round(w * factor)))


def resize_pixels(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """``image`` (HxWx3 uint8 or uint16) resampled to ``height`` x ``width`` with Lanczos
    (antialiased when shrinking); a new, writable array of the same dtype."""
    import numpy as np
    from PIL import Image

    size = (int(width), int(height))
    # Shrinking: a box reduction first, down to twice the target, then Lanczos (Pillow's
    # reducing_gap): 0.08 s instead of 0.22 s for 4000 x 3000 to 1000 x 750 here.
    gap = 2.0 if size[0] < image.shape[1] and size[1] < image.shape[0] else None
    if image.dtype == np.uint8:
        return np.array(
            Image.fromarray(image).resize(size, Image.Resampling.LANCZOS, reducing_gap=gap)
        )
    # Pillow has no 16-bit RGB mode: resize each channel as a float image, into one array.
    out = np.empty((size[1], size[0], image.shape[2]), image.dtype)
    top = 65535 if image.dtype == np.uint16 else 255
    for c in range(image.shape[2]):
        plane = Image.fromarray(image[..., c].astype(np.float32), "F").resize(
            size, Image.Resampling.LANCZOS, reducing_gap=gap
        )
        out[..., c] = np.clip(np.rint(np.asarray(plane)), 0, top)
    return out


def load_photo(path: Path | str, max_side: int) -> np.ndarray:
    """An upright RGB uint8 copy of the photo at ``path``, downscaled to ``max_side``."""
    import numpy as np
    from PIL import Image

    from .imageio import load_rgb

    im = load_rgb(path)
    im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return np.asarray(im).copy()


def render_blend(
    model: object,
    image: np.ndarray,
    blend: Blend | Mapping[str, float] | None,
    *,
    max_side: int = DEFAULT_PREVIEW_SIDE,
    control: JobControl | None = None,
    device: str = "cpu",
) -> np.ndarray:
    """``image`` (downscaled to ``max_side``) painted with ``blend``; the same dtype.

    A mapping is read as relative weights (:meth:`Blend.coerce`); None is the model's own
    style. For a photo blend the downscaled photo itself comes back, untouched.
    """
    from .stylize import stylize_array

    blend = Blend.coerce(blend)
    small = downscale(image, max_side)
    if control is not None:
        control.raise_if_cancelled()
    if blend.is_photo:
        return small
    return stylize_array(model, small, blend=blend, device=device, control=control, tiling="whole")


def tradition_labels(model: object) -> list[tuple[str, str]]:
    """(slug, display name) of every tradition a StyleModel knows, in order."""
    card = getattr(model, "card", None)
    traditions = list(getattr(card, "traditions", []) or [])
    generator = getattr(model, "generator", None)
    slugs = list(getattr(generator, "traditions", []) or [t.get("slug", "") for t in traditions])
    names = {t.get("slug"): t.get("name") or t.get("slug") for t in traditions}
    return [(slug, str(names.get(slug) or slug)) for slug in slugs]
