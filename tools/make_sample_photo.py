"""Render the sample photo the app opens on first run.

The project makes its own sample so it ships no third-party image: a procedural
landscape (sky gradient, sun glow, layered hills, a lake with reflections, trees, film
grain). Deterministic (fixed seed); run from the repository root:

    python tools/make_sample_photo.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parents[1] / "resources"
WIDTH, HEIGHT = 1280, 853


def _ridge(
    rng: np.random.Generator, width: int, base: float, amp: float, octaves: int
) -> np.ndarray:
    """A smooth 1-D height profile made of a few sine octaves with random phases."""
    x = np.linspace(0.0, 1.0, width)
    y = np.full(width, base)
    for k in range(octaves):
        freq = 1.5 * 2.1**k
        y += amp / 1.9**k * np.sin(2 * np.pi * (freq * x + rng.uniform(0, 1)))
    return y


def render_landscape(seed: int = 7) -> Image.Image:
    rng = np.random.default_rng(seed)
    h, w = HEIGHT, WIDTH
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    horizon = int(h * 0.62)

    # Sky: warm near the horizon, deep blue above, with a soft sun glow.
    t = np.clip(yy / horizon, 0, 1)[..., None]
    top = np.array([62, 104, 168], np.float32)
    bottom = np.array([246, 196, 150], np.float32)
    img = top * (1 - t) ** 1.3 + bottom * (1 - (1 - t) ** 1.3)
    sun_x, sun_y = w * 0.68, horizon * 0.78
    dist = np.hypot(xx - sun_x, yy - sun_y)
    glow = np.exp(-((dist / (w * 0.12)) ** 2))[..., None]
    img = img * (1 - 0.55 * glow) + np.array([255, 236, 200], np.float32) * 0.55 * glow
    img[dist < w * 0.025] = np.array([255, 246, 225], np.float32)

    # Soft clouds: blurred noise, thresholded, only in the sky.
    noise = rng.random((h // 16, w // 16)).astype(np.float32)
    cloud = (
        np.asarray(
            Image.fromarray((noise * 255).astype(np.uint8))
            .resize((w, h), Image.BICUBIC)
            .filter(ImageFilter.GaussianBlur(18)),
            np.float32,
        )
        / 255.0
    )
    cloud = np.clip((cloud - 0.52) * 4.0, 0, 1) * (yy < horizon * 0.85)
    img = img * (1 - 0.45 * cloud[..., None]) + 250 * 0.45 * cloud[..., None]

    # Layered hills: far ones hazy blue-violet, near ones green.
    layers = [
        (horizon * 0.80, 40, (120, 128, 170)),
        (horizon * 0.90, 32, (88, 116, 120)),
        (horizon * 0.99, 22, (58, 96, 64)),
    ]
    for base, amp, colour in layers:
        ridge = _ridge(rng, w, base, amp, 4)
        mask = yy >= ridge[None, :]
        shade = np.clip(1.0 - (yy - ridge[None, :]) / 260.0, 0.55, 1.0)[..., None]
        img = np.where(mask[..., None], np.array(colour, np.float32) * shade, img)

    # Lake: the mirrored upper scene, darkened, with ripples.
    lake_top = horizon + 6
    rows = np.arange(lake_top, h)
    src_rows = np.clip(2 * lake_top - rows - 1, 0, h - 1)
    ripple = (3.0 * np.sin(xx[lake_top:] / 9.0 + yy[lake_top:] * 0.35)).astype(int)
    cols = np.clip(np.arange(w)[None, :] + ripple, 0, w - 1)
    reflection = img[src_rows[:, None], cols]
    depth = ((rows - lake_top) / (h - lake_top))[:, None, None]
    water = np.array([40, 70, 96], np.float32)
    img[lake_top:] = reflection * (0.72 - 0.3 * depth) + water * (0.28 + 0.3 * depth)

    out = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")

    # Trees on the near shore: simple layered cones, dark green.
    draw = ImageDraw.Draw(out)
    for _ in range(38):
        x = rng.uniform(0, w)
        if 0.35 * w < x < 0.55 * w:
            continue  # leave a view across the water
        base_y = lake_top + rng.uniform(-4, 4)
        height = rng.uniform(50, 120) * (1.25 if x < 0.2 * w or x > 0.85 * w else 1.0)
        half = height * 0.22
        green = (int(rng.uniform(22, 40)), int(rng.uniform(52, 78)), int(rng.uniform(30, 46)))
        for tier in range(3):
            top_y = base_y - height * (1 - tier * 0.22)
            bot_y = base_y - height * (0.45 - tier * 0.2)
            span = half * (0.7 + 0.3 * tier)
            draw.polygon([(x, top_y), (x - span, bot_y), (x + span, bot_y)], fill=green)
        draw.rectangle([x - 2, base_y - height * 0.06, x + 2, base_y], fill=(52, 38, 28))

    # Film grain and a gentle vignette so it reads as a photograph.
    arr = np.asarray(out.filter(ImageFilter.GaussianBlur(0.6)), np.float32)
    arr += rng.normal(0, 4.0, arr.shape).astype(np.float32)
    vignette = 1 - 0.28 * (((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2) / 2
    arr *= vignette[..., None]
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def main() -> None:
    photo = HERE / "samples" / "sample_landscape.jpg"
    photo.parent.mkdir(parents=True, exist_ok=True)
    render_landscape().save(photo, quality=86, optimize=True, progressive=True)
    print(f"wrote {photo} ({photo.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
