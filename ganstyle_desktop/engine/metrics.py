"""Quality metrics that need no pretrained network (nothing can be downloaded here).

- Style distance: sliced Wasserstein distance (SWD) between 7x7 neighbourhoods of
  Laplacian-pyramid levels, as in Karras et al. 2018 ("Progressive growing of GANs",
  appendix D): 128 patches per image per level, 4 repeats of 128 random unit directions,
  reported x 1e3 like the paper. Unlike the paper, each level's descriptors are
  standardised per colour channel *jointly over the two sets compared* (one mean and
  spread for both): standardising each set on its own would make a tinted or
  channel-swapped copy of a style set score the same as the set, so palette would be
  invisible. The low-pass residual level, which carries the palette, is kept.
- Style score S = 1 - (SWD(outputs, B) - SWD(A, B)) / (SWD(photos, B) - SWD(A, B)), with
  the style set split into halves A and B, clipped to [0, 1]: 0 means "no closer to the
  style than the photos", 1 means "as close to the style as the style set is to itself".
  :func:`style_score_spread` repeats it over several random splits (mean and spread).
- Content preservation: SSIM between Sobel edge maps of the input and output luminance.
- Mesh (benchmarks): the median over images of their luma's energy at the frequencies a
  generator's 2x upsamplings repeat at, over the energy around them (1 = no mesh).
- Palette: 1-D Wasserstein distances of the L*, a*, b* channel distributions.
- Random-feature KID: unbiased MMD^2 with the cubic polynomial kernel on features of a
  randomly initialised (fixed seed) CNN, averaged over 3 seeds.

Images are HxWx3 uint8 arrays; each set is resized (short side) and centre-cropped to
``size`` x ``size`` first. Every random choice is seeded, so the numbers repeat.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F

log = logging.getLogger(__name__)

PATCH = 7
PATCHES_PER_LEVEL = 128
SWD_REPEATS = 4
SWD_DIRECTIONS = 128
MIN_LEVEL_SIZE = 16
KID_SEEDS = (0, 1, 2)


class MetricsError(ValueError):
    """The image sets cannot be measured (too few images, mismatched pairs)."""


# -- preparation ----------------------------------------------------------------------------


def square(image: np.ndarray, size: int) -> np.ndarray:
    """Resize so the short side is ``size`` and centre-crop to ``size`` x ``size``."""
    im = Image.fromarray(np.asarray(image, dtype=np.uint8), "RGB")
    scale = size / min(im.size)
    w, h = max(size, round(im.width * scale)), max(size, round(im.height * scale))
    im = im.resize((w, h), Image.Resampling.LANCZOS)
    left, top = (w - size) // 2, (h - size) // 2
    return np.asarray(im.crop((left, top, left + size, top + size)))


def _batch(images: Sequence[np.ndarray], size: int) -> torch.Tensor:
    """NCHW float32 in [0, 1]."""
    arr = np.stack([square(im, size) for im in images]).astype(np.float32) / 255.0
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()


# -- sliced Wasserstein distance on Laplacian-pyramid patches ------------------------------

_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


def _blur(x: torch.Tensor) -> torch.Tensor:
    k = (_BINOMIAL[:, None] * _BINOMIAL[None, :]).to(x.dtype)
    k = k.expand(x.shape[1], 1, 5, 5).contiguous()
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), k, groups=x.shape[1])


def laplacian_pyramid(x: torch.Tensor, min_size: int = MIN_LEVEL_SIZE) -> list[torch.Tensor]:
    """Laplacian levels, finest first, ending with the low-pass residual."""
    levels = []
    current = x
    while min(current.shape[2:]) // 2 >= min_size:
        down = _blur(current)[:, :, ::2, ::2]
        up = F.interpolate(down, size=current.shape[2:], mode="nearest")
        levels.append(current - _blur(up))
        current = down
    levels.append(current)
    return levels


def _descriptors(level: torch.Tensor, rng: np.random.Generator) -> np.ndarray:
    """128 random 7x7 neighbourhoods per image, flattened: (N*128, 3*49)."""
    n, c, h, w = level.shape
    ys = rng.integers(0, h - PATCH + 1, size=(n, PATCHES_PER_LEVEL))
    xs = rng.integers(0, w - PATCH + 1, size=(n, PATCHES_PER_LEVEL))
    arr = level.numpy()
    dy, dx = np.mgrid[0:PATCH, 0:PATCH]
    out = np.empty((n, PATCHES_PER_LEVEL, c, PATCH, PATCH), np.float32)
    for i in range(n):
        rows = ys[i][:, None, None] + dy[None]
        cols = xs[i][:, None, None] + dx[None]
        out[i] = arr[i][:, rows, cols].transpose(1, 0, 2, 3)
    return out.reshape(n * PATCHES_PER_LEVEL, c, PATCH, PATCH)


def _normalise_jointly(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Standardise both sets' descriptors per colour channel with the statistics of the two
    sets pooled: differences in colour between the sets stay visible to the distance."""
    pooled = np.concatenate([a, b])
    mean = pooled.mean(axis=(0, 2, 3), keepdims=True)
    std = pooled.std(axis=(0, 2, 3), keepdims=True) + 1e-8
    return ((a - mean) / std).reshape(a.shape[0], -1), ((b - mean) / std).reshape(b.shape[0], -1)


def sliced_wasserstein(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> float:
    """SWD between two equally sized descriptor sets (rows)."""
    results = []
    for _ in range(SWD_REPEATS):
        dirs = rng.standard_normal((a.shape[1], SWD_DIRECTIONS)).astype(np.float32)
        dirs /= np.linalg.norm(dirs, axis=0, keepdims=True)
        pa = np.sort(a @ dirs, axis=0)
        pb = np.sort(b @ dirs, axis=0)
        results.append(float(np.abs(pa - pb).mean()))
    return float(np.mean(results))


def _level_descriptors(images: Sequence[np.ndarray], size: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [_descriptors(level, rng) for level in laplacian_pyramid(_batch(images, size))]


def swd(
    images_a: Sequence[np.ndarray],
    images_b: Sequence[np.ndarray],
    size: int = 256,
    seed: int = 0,
) -> float:
    """Mean over pyramid levels of the SWD between the two sets' patches (x 1e3)."""
    if not images_a or not images_b:
        raise MetricsError("SWD needs at least one image in each set")
    da = _level_descriptors(images_a, size, seed)
    db = _level_descriptors(images_b, size, seed)  # same positions: swd(X, X) == 0
    rng = np.random.default_rng(seed + 2)
    per_level = []
    for la, lb in zip(da, db, strict=True):
        # Sorted matching needs equal counts: subsample the larger set.
        n = min(len(la), len(lb))
        la = la[rng.choice(len(la), n, replace=False)] if len(la) > n else la
        lb = lb[rng.choice(len(lb), n, replace=False)] if len(lb) > n else lb
        na, nb = _normalise_jointly(la, lb)
        per_level.append(sliced_wasserstein(na, nb, rng))
    return float(np.mean(per_level)) * 1e3


def split_halves(
    images: Sequence[np.ndarray], seed: int = 0
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A seeded shuffle of ``images`` cut into halves A and B."""
    if len(images) < 2:
        raise MetricsError("the style set needs at least 2 images to measure its own spread")
    order = np.random.default_rng(seed).permutation(len(images))
    half = len(images) // 2
    return [images[i] for i in order[:half]], [images[i] for i in order[half:]]


def style_score(
    outputs: Sequence[np.ndarray],
    style: Sequence[np.ndarray],
    photos: Sequence[np.ndarray],
    size: int = 256,
    seed: int = 0,
) -> dict[str, float]:
    """S (clipped to [0, 1]), the unclipped value and the three SWDs it is made of (see the
    module doc); S is NaN when the photos are no farther from the style than the style
    set's halves are from each other.

    All three distances are taken to the same half B of the style set, so they share
    its sampling noise; half A is the floor ("style vs itself").
    """
    half_a, half_b = split_halves(style, seed)
    floor = swd(half_a, half_b, size, seed)
    to_outputs = swd(outputs, half_b, size, seed)
    to_photos = swd(photos, half_b, size, seed)
    span = to_photos - floor
    if span > 1e-9:
        raw = 1.0 - (to_outputs - floor) / span
        score = min(max(raw, 0.0), 1.0)
    else:
        # The photos are as close to half B as half A is: the style set is too small or
        # too varied to tell style from photo, and S would be meaningless.
        log.warning(
            "style score undefined: photos are as close to the style as the style set's "
            "halves are to each other (SWD %.1f vs %.1f); use more style images",
            to_photos,
            floor,
        )
        raw = score = float("nan")
    return {
        "style_score": float(score),
        "style_score_raw": float(raw),
        "swd_outputs_style": to_outputs,
        "swd_photos_style": to_photos,
        "swd_style_floor": floor,
    }


def style_score_spread(
    outputs: Sequence[np.ndarray],
    style: Sequence[np.ndarray],
    photos: Sequence[np.ndarray],
    size: int = 256,
    splits: int = 5,
) -> dict[str, float]:
    """S averaged over ``splits`` random halvings of the style set, with its spread (the
    standard deviation over splits): how much of a difference in S is noise."""
    values = [style_score(outputs, style, photos, size, seed)["style_score"]
              for seed in range(splits)]
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return {"style_score": float("nan"), "style_score_spread": float("nan"), "splits": 0}
    return {
        "style_score": float(np.mean(finite)),
        "style_score_spread": float(np.std(finite)),
        "splits": len(finite),
    }


# -- edge SSIM ------------------------------------------------------------------------------


def luminance(image: np.ndarray) -> np.ndarray:
    """Rec. 709 luma of an sRGB uint8 image, in [0, 1]."""
    rgb = np.asarray(image, dtype=np.float32) / 255.0
    return rgb @ np.array([0.2126, 0.7152, 0.0722], np.float32)


def sobel_edges(grey: np.ndarray) -> np.ndarray:
    """Gradient magnitude (Sobel), scaled so a black-to-white step gives 1."""
    x = torch.from_numpy(np.ascontiguousarray(grey, dtype=np.float32))[None, None]
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    k = torch.stack([kx, kx.t()])[:, None]
    g = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), k)
    return (torch.sqrt(g[0, 0] ** 2 + g[0, 1] ** 2) / 4.0).numpy()


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> float:
    """Mean SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 .01, K2 .03)."""
    if a.shape != b.shape:
        raise MetricsError(f"SSIM needs equal shapes, got {a.shape} and {b.shape}")
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    g = torch.exp(-((torch.arange(11, dtype=torch.float64) - 5) ** 2) / (2 * 1.5**2))
    g = (g / g.sum()).float()
    window = (g[:, None] * g[None, :])[None, None]
    x = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))[None, None]
    y = torch.from_numpy(np.ascontiguousarray(b, dtype=np.float32))[None, None]

    def filt(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, window)  # valid region only, as in the reference code

    mx, my = filt(x), filt(y)
    sxx = filt(x * x) - mx * mx
    syy = filt(y * y) - my * my
    sxy = filt(x * y) - mx * my
    num = (2 * mx * my + c1) * (2 * sxy + c2)
    den = (mx * mx + my * my + c1) * (sxx + syy + c2)
    return float((num / den).mean())


def _paired(src: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out`` at ``src``'s size (Lanczos), so the two compare place by place."""
    if out.shape == src.shape:
        return out
    return np.asarray(Image.fromarray(out).resize(src.shape[1::-1], Image.Resampling.LANCZOS))


def edge_ssim(inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray]) -> float:
    """Mean SSIM between Sobel edge maps of paired inputs and outputs' luminance."""
    if len(inputs) != len(outputs) or not inputs:
        raise MetricsError("edge SSIM needs the same, non-zero number of inputs and outputs")
    scores = []
    for src, out in zip(inputs, outputs, strict=True):
        out = _paired(src, out)
        scores.append(ssim(sobel_edges(luminance(src)), sobel_edges(luminance(out))))
    return float(np.mean(scores))


# -- contours kept --------------------------------------------------------------------------

# Canny-like contours: Gaussian sigma 1.5 px (texture finer than that is not a contour),
# Sobel, non-maximum suppression, the strongest CONTOUR_SHARE of pixels; matched with a
# CONTOUR_TOLERANCE px tolerance as in the BSDS boundary benchmark (Martin et al. 2004).
CONTOUR_SIGMA = 1.5
CONTOUR_SHARE = 0.08
CONTOUR_TOLERANCE = 2


def _gaussian_blur(grey: np.ndarray, sigma: float) -> np.ndarray:
    from .prior_losses import gaussian_blur

    x = torch.from_numpy(np.ascontiguousarray(grey, dtype=np.float32))[None, None]
    return gaussian_blur(x, sigma, edges="replicate")[0, 0].numpy()


def contour_map(image: np.ndarray, sigma: float = CONTOUR_SIGMA,
                share: float = CONTOUR_SHARE) -> np.ndarray:
    """The image's main contours as a thin boolean map: luminance smoothed by a Gaussian
    (``sigma`` px), Sobel gradient, kept where it is a local maximum across the edge (non-
    maximum suppression, four directions) and among the strongest ``share`` of pixels."""
    grey = _gaussian_blur(luminance(image), sigma)
    p = np.pad(grey, 1, mode="edge")
    gx = (p[:-2, 2:] + 2 * p[1:-1, 2:] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[1:-1, :-2] + p[2:, :-2])
    gy = (p[2:, :-2] + 2 * p[2:, 1:-1] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[:-2, 1:-1] + p[:-2, 2:])
    magnitude = np.hypot(gx, gy)
    direction = np.round(np.arctan2(gy, gx) / (np.pi / 4)).astype(int) % 4
    padded = np.pad(magnitude, 1)
    h, w = magnitude.shape
    # Neighbours along the gradient: 0 horizontal, 1 diagonal, 2 vertical, 3 anti-diagonal.
    steps = {0: (0, 1), 1: (1, 1), 2: (1, 0), 3: (1, -1)}
    ridge = np.zeros(magnitude.shape, dtype=bool)
    for d, (dy, dx) in steps.items():
        ahead = padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
        behind = padded[1 - dy : 1 - dy + h, 1 - dx : 1 - dx + w]
        ridge |= (direction == d) & (magnitude >= ahead) & (magnitude >= behind)
    strong = magnitude >= np.quantile(magnitude, 1.0 - share)
    return ridge & strong & (magnitude > 1e-6)


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    t = torch.from_numpy(mask.astype(np.float32))[None, None]
    return F.max_pool2d(t, 2 * radius + 1, stride=1, padding=radius)[0, 0].numpy() > 0


def contour_fscore(inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray],
                   tolerance: int = CONTOUR_TOLERANCE) -> float:
    """Are the photo's contours still there, and are the output's contours the photo's?
    Mean over pairs of the F-measure of :func:`contour_map` of output against photo, each
    contour pixel matched within ``tolerance`` px (recall: photo contours the output keeps;
    precision: output contours on a photo contour). 1: the same contours; another photo's
    scores about 0.2 (chance).

    Why not edge SSIM alone: SSIM of gradient maps also drops when a painting flattens or
    adds texture, so it rates a sepia filter 0.96 and a flat-colour rendering with dark
    contours (the photo's structure intact to the eye) 0.36, no better than ours
    (benchmarks/bench_structure.py)."""
    if len(inputs) != len(outputs) or not inputs:
        raise MetricsError("the contour score needs the same, non-zero number of inputs and outputs")
    scores = []
    for src, out in zip(inputs, outputs, strict=True):
        out = _paired(src, out)
        photo, painted = contour_map(src), contour_map(out)
        if not photo.any() or not painted.any():
            scores.append(float(photo.any() == painted.any()))  # both blank: nothing lost
            continue
        recall = float((photo & _dilate(painted, tolerance)).sum() / photo.sum())
        precision = float((painted & _dilate(photo, tolerance)).sum() / painted.sum())
        scores.append(0.0 if recall + precision == 0 else
                      2 * recall * precision / (recall + precision))
    return float(np.mean(scores))


# -- palette --------------------------------------------------------------------------------

_SRGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_D65 = np.array([0.95047, 1.0, 1.08883])


def srgb_to_lab(image: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (D65) of sRGB uint8 pixels (any leading shape, last axis RGB)."""
    c = np.asarray(image, dtype=np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    t = (linear @ _SRGB_TO_XYZ.T) / _D65
    delta = 6.0 / 29.0
    f = np.where(t > delta**3, np.cbrt(t), t / (3 * delta**2) + 4.0 / 29.0)
    lab = np.empty_like(f)
    lab[..., 0] = 116.0 * f[..., 1] - 16.0
    lab[..., 1] = 500.0 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200.0 * (f[..., 1] - f[..., 2])
    return lab


def _lab_samples(images: Sequence[np.ndarray], size: int, rng: np.random.Generator) -> np.ndarray:
    # Equal weight per image: the same number of pixels from each.
    per_image = 4096
    chunks = []
    for im in images:
        pixels = square(im, size).reshape(-1, 3)
        chunks.append(srgb_to_lab(pixels[rng.choice(len(pixels), per_image, replace=True)]))
    return np.concatenate(chunks)


def wasserstein_1d(a: np.ndarray, b: np.ndarray, n_quantiles: int = 1000) -> float:
    """W1 between two empirical 1-D distributions (mean gap of their quantile functions)."""
    q = (np.arange(n_quantiles) + 0.5) / n_quantiles
    return float(np.abs(np.quantile(a, q) - np.quantile(b, q)).mean())


def palette_distance(
    images_a: Sequence[np.ndarray], images_b: Sequence[np.ndarray], size: int = 256, seed: int = 0
) -> dict[str, float]:
    """W1 distance of each L*, a*, b* channel between two sets, and their mean."""
    if not images_a or not images_b:
        raise MetricsError("palette distance needs at least one image in each set")
    rng = np.random.default_rng(seed)
    la, lb = _lab_samples(images_a, size, rng), _lab_samples(images_b, size, rng)
    per = {name: wasserstein_1d(la[:, i], lb[:, i]) for i, name in enumerate("Lab")}
    return {
        "palette_distance": float(np.mean(list(per.values()))),
        "palette_L": per["L"],
        "palette_a": per["a"],
        "palette_b": per["b"],
    }


# -- random-feature KID ---------------------------------------------------------------------


class RandomFeatures(nn.Module):
    """A small CNN with fixed random weights; features are per-layer channel means and
    standard deviations (first- and second-order texture statistics at four scales)."""

    def __init__(self, seed: int, widths: tuple[int, ...] = (32, 64, 128, 256)) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        layers = []
        ch = 3
        for w in widths:
            conv = nn.Conv2d(ch, w, 3, stride=2, padding=1)
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen))
                conv.weight.mul_(math.sqrt(2.0 / (ch * 9)))  # He init keeps scales steady
                conv.bias.zero_()
            layers.append(conv)
            ch = w
        self.convs = nn.ModuleList(layers)
        self.eval()

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = []
        h = x * 2.0 - 1.0
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.2)
            feats += [h.mean(dim=(2, 3)), h.std(dim=(2, 3))]
        return torch.cat(feats, dim=1)


def mmd2_unbiased_cubic(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with k(u, v) = (u.v / d + 1)^3 (Binkowski et al. 2018)."""
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise MetricsError("KID needs at least 2 images in each set")
    d = x.shape[1]
    kxx = (x @ x.T / d + 1.0) ** 3
    kyy = (y @ y.T / d + 1.0) ** 3
    kxy = (x @ y.T / d + 1.0) ** 3
    return float(
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
        + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
        - 2.0 * kxy.mean()
    )


def random_feature_kid(
    images_a: Sequence[np.ndarray],
    images_b: Sequence[np.ndarray],
    size: int = 256,
    seeds: Sequence[int] = KID_SEEDS,
) -> float:
    """KID on random-CNN features, averaged over network seeds.

    Features are standardised with the mean and standard deviation of both sets pooled,
    so that the kernel's ``u.v / d`` is on the scale the cubic kernel expects.
    """
    xa, xb = _batch(images_a, size), _batch(images_b, size)
    values = []
    for seed in seeds:
        net = RandomFeatures(seed)
        fa, fb = net(xa).double().numpy(), net(xb).double().numpy()
        pooled = np.concatenate([fa, fb])
        mean, std = pooled.mean(axis=0), pooled.std(axis=0) + 1e-8
        values.append(mmd2_unbiased_cubic((fa - mean) / std, (fb - mean) / std))
    return float(np.mean(values))


# -- everything for a model -----------------------------------------------------------------


def load_images(files: Sequence[Path | str], size: int) -> tuple[list[np.ndarray], list[str]]:
    """Square ``size`` crops of the readable files, and "<file>: <reason>" for the rest."""
    from .imageio import ImageLoadError, load_rgb

    images, skipped = [], []
    for path in files:
        try:
            images.append(square(np.asarray(load_rgb(path)), size))
        except ImageLoadError as exc:
            log.warning("%s", exc)
            skipped.append(str(exc))
    return images, skipped


def evaluate_model(
    model: object,
    style_files: Sequence[Path | str],
    content_files: Sequence[Path | str],
    size: int = 256,
    *,
    blend: dict[str, float] | None = None,
    device: str = "auto",
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    tradition: str = "style",
    other_styles: dict[str, Sequence[Path | str]] | None = None,
) -> dict:
    """Stylize the content photos at ``size`` and measure the results against the style
    set: the recognised share (the tradition recogniser fitted on these artworks, the
    ``other_styles`` as other traditions, and the photos with filtered copies of them),
    style score S with its spread over splits, edge SSIM, the combined quality and whether
    the bar is met, palette distance and KID (plus the photos' own palette and KID as a
    reference point)."""
    from .quality_monitor import meets_bar, quality
    from .recognizer import PHOTO, TraditionRecognizer, filtered_photos, image_features
    from .stylize import stylize_array

    style, skipped_style = load_images(style_files, size)
    photos, skipped_photos = load_images(content_files, size)
    if len(style) < 2:
        raise MetricsError(f"need at least 2 readable style images, found {len(style)}")
    if len(photos) < 2:
        raise MetricsError(f"need at least 2 readable content photos, found {len(photos)}")
    outputs = []
    for i, photo in enumerate(photos):
        outputs.append(stylize_array(model, photo, blend=blend, device=device))
        if progress is not None:
            progress(i + 1, len(photos))
    result: dict = {"size": size, "n_style": len(style), "n_content": len(photos)}
    feats = {tradition: image_features(style)}
    skipped_other: list[str] = []
    for name, files in (other_styles or {}).items():
        if name == tradition or name == PHOTO:
            raise MetricsError(f"another style cannot be named {name!r}")
        images, skipped = load_images(files, size)
        skipped_other += skipped
        if len(images) >= 2:
            feats[name] = image_features(images)
    feats[PHOTO] = image_features(photos + filtered_photos(photos, style, seed=seed))
    recognizer = TraditionRecognizer.fit_features(feats)
    recognised = recognizer.recognised_share(outputs, tradition)
    result["recognised"] = recognised["recognised_share"]
    result["recognised_as"] = recognised["assigned"]
    result["recognizer_classes"] = recognizer.classes
    result.update(style_score(outputs, style, photos, size, seed))
    spread = style_score_spread(outputs, style, photos, size)
    result["style_score_mean"] = spread["style_score"]
    result["style_score_spread"] = spread["style_score_spread"]
    result["contour_f"] = contour_fscore(photos, outputs)
    result["edge_ssim"] = edge_ssim(photos, outputs)
    result["quality"] = quality(result)
    result["meets_bar"] = meets_bar(result)
    result.update(palette_distance(outputs, style, size, seed))
    result["palette_distance_photos"] = palette_distance(photos, style, size, seed)[
        "palette_distance"
    ]
    result["kid"] = random_feature_kid(outputs, style, size)
    result["kid_photos"] = random_feature_kid(photos, style, size)
    result["skipped"] = skipped_style + skipped_photos + skipped_other
    return result


# -- brushwork ------------------------------------------------------------------------------


def brushwork_gap(images: Sequence[np.ndarray], artworks: Sequence[np.ndarray]) -> float:
    """How far the images' surfaces are from the artworks': the brushwork term's distance
    (prior_losses.brushwork_loss: relative 1-D Wasserstein-1 between luminance-gradient
    distributions at three scales) of each image to the artworks' mean profile, averaged.
    0: the same mix of flat areas, contours and strokes. A colour filter of a photo keeps
    the photo's gap; compare with ``brushwork_gap(photos, artworks)``."""
    from .prior_losses import brushwork_loss, brushwork_profile

    if not images or not artworks:
        raise MetricsError("the brushwork gap needs images and artworks")

    def batch(items: Sequence[np.ndarray]) -> torch.Tensor:
        return torch.stack([torch.from_numpy(np.asarray(i, np.float32)).permute(2, 0, 1)
                            / 127.5 - 1.0 for i in items])

    with torch.no_grad():
        target = torch.cat([brushwork_profile(batch([a])) for a in artworks]).mean(0)
        gaps = [float(brushwork_loss(batch([i]), target[None])) for i in images]
    return float(np.mean(gaps))


# -- the mesh ---------------------------------------------------------------------------------

# The painter paints at 1/4 resolution and doubles twice (nearest neighbour, then a
# convolution): what it gets wrong repeats every 4 and every 2 pixels, a fine mesh over
# the whole picture. Measured on the 9 held-apart photos (benchmarks/bench_mesh.py): the
# starter's paintings hold 3 to 17 times the background's energy at those frequencies at
# 256 px and 6 to 37 at 512 px; photos and every tradition's artworks 1.0 to 1.3.
LATTICE_PERIOD = 4
LATTICE_PEAK = 1  # bins either side of a lattice frequency that count as its peak
LATTICE_RING = 6  # bins either side that make the background around it


def lattice_energy(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(peak, background) energy of each image's Rec. 709 luma at the lattice frequencies
    (images N x 3 x H x W in [-1, 1], sides multiples of LATTICE_PERIOD): the Hann-windowed
    power spectrum of the mean-free luma summed over the (2 LATTICE_PEAK + 1)^2 bins at
    every multiple of 1/LATTICE_PERIOD cycles per pixel but zero, and the mean power of the
    other bins of the box out to LATTICE_RING around each, scaled to as many bins. Their
    ratio is about 1 for an image with no mesh."""
    from .prior_losses import luma as luma_of

    luma = luma_of(images)
    _, h, w = luma.shape
    if h % LATTICE_PERIOD or w % LATTICE_PERIOD:
        raise MetricsError(f"lattice energy needs sides that are multiples of {LATTICE_PERIOD}")
    window = torch.outer(torch.hann_window(h, periodic=False, device=luma.device),
                         torch.hann_window(w, periodic=False, device=luma.device))
    centred = luma - luma.mean((1, 2), keepdim=True)
    power = torch.fft.fft2(centred * window).abs().square()
    peak_offsets = torch.arange(-LATTICE_PEAK, LATTICE_PEAK + 1, device=luma.device)
    ring_offsets = torch.arange(-LATTICE_RING, LATTICE_RING + 1, device=luma.device)
    n_peak, n_ring = len(peak_offsets) ** 2, len(ring_offsets) ** 2
    peaks, backgrounds = [], []
    for a in range(LATTICE_PERIOD):
        for b in range(LATTICE_PERIOD):
            if a == 0 and b == 0:
                continue
            fy, fx = a * h // LATTICE_PERIOD, b * w // LATTICE_PERIOD
            box = power[:, (fy + peak_offsets) % h][:, :, (fx + peak_offsets) % w].sum((1, 2))
            ring = power[:, (fy + ring_offsets) % h][:, :, (fx + ring_offsets) % w].sum((1, 2))
            peaks.append(box)
            backgrounds.append((ring - box) / (n_ring - n_peak) * n_peak)
    return torch.stack(peaks).sum(0), torch.stack(backgrounds).sum(0)


def mesh_excess(images: Sequence[np.ndarray]) -> float:
    """How strongly a fine mesh stands out of the images (HxWx3 uint8): the median over
    images of :func:`lattice_energy`'s peak over background. 1: no mesh, as in photos and
    artworks. A side that is not a multiple of LATTICE_PERIOD is measured on the top-left
    crop that is. Measure images at one size: JPEG's 8 px blocks of a photo at its own
    size also show (their harmonics fall on these frequencies)."""
    if not images:
        raise MetricsError("the mesh measure needs images")
    ratios = []
    with torch.no_grad():
        for image in images:
            h, w = (d - d % LATTICE_PERIOD for d in image.shape[:2])
            if h < 4 * LATTICE_PERIOD or w < 4 * LATTICE_PERIOD:
                raise MetricsError(f"a {image.shape[1]} x {image.shape[0]} image is too small "
                                   "to measure a mesh in")
            x = torch.from_numpy(np.asarray(image[:h, :w, :3], np.float32)).permute(2, 0, 1)
            peak, background = lattice_energy(x[None] / 127.5 - 1.0)
            ratios.append(float(peak[0] / background[0].clamp_min(1e-12)))
    return float(np.median(ratios))
