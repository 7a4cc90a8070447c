"""Training images: loaded once, kept small, cropped and augmented per sample.

Each file is decoded once (EXIF-upright, any mode converted to RGB by
:mod:`.imageio`) and downscaled to what the crops need, then held as a uint8 tensor.
Unusable files are skipped with "<file>: <reason>"; training goes on with the rest.
All sampling randomness comes from the ``torch.Generator`` passed to :meth:`sample`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from .config import PipelineConfig
from .imageio import ImageLoadError, load_rgb, size_problem, to_rgb

log = logging.getLogger(__name__)

CROPS = ("random", "center", "random_resized")
RESIZED_CROP_SCALE = (0.25, 1.0)  # fraction of the image area a random-resized crop covers
RESIZED_CROP_RATIO = (3 / 4, 4 / 3)
STORE_FACTOR = 1.5  # keep at most this x the largest crop's side in memory


class NoTrainingImages(ValueError):
    """None of the given files could be used; the message lists why."""


def resize_side(size: int, pipeline: PipelineConfig) -> int:
    """Shorter side the image is scaled to before a random or centre crop."""
    side = pipeline.resize if pipeline.resize else int(round(size * 1.125))
    return max(side, size)


def _pil_to_tensor(im: Image.Image) -> torch.Tensor:
    arr = np.asarray(im, dtype=np.uint8)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).contiguous()  # 3 x H x W uint8


def _scale_shorter(im: Image.Image, side: int) -> Image.Image:
    w, h = im.size
    scale = side / min(w, h)
    if abs(scale - 1.0) < 1e-9:
        return im
    new = (max(1, round(w * scale)), max(1, round(h * scale)))
    return im.resize(new, Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC)


def _stored_image(im: Image.Image, size: int, pipeline: PipelineConfig) -> Image.Image:
    """Downscale (or upscale a too-small image) to the resolution the crops need."""
    if pipeline.crop == "random_resized":
        shorter = min(im.size)
        target = min(shorter, int(round(size * STORE_FACTOR)))
        return _scale_shorter(im, max(target, size))
    return _scale_shorter(im, resize_side(size, pipeline))


class TrainingImages:
    """A folder's worth of images ready for random crops of ``size`` x ``size``."""

    def __init__(
        self,
        files: Sequence[Path | str],
        size: int,
        pipeline: PipelineConfig | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.size = int(size)
        self.pipeline = pipeline or PipelineConfig()
        if self.pipeline.crop not in CROPS:
            raise ValueError(
                f"Unknown crop {self.pipeline.crop!r}; choose one of {', '.join(CROPS)}."
            )
        self.files: list[Path] = []
        self.skipped: list[str] = []
        self.images: list[torch.Tensor] = []
        for file in files:
            try:
                im = load_rgb(file)
            except ImageLoadError as exc:
                self._skip(str(exc), log)
                continue
            self.images.append(_pil_to_tensor(_stored_image(im, self.size, self.pipeline)))
            self.files.append(Path(file))
        if not self.images:
            detail = "; ".join(self.skipped[:5]) if self.skipped else "no files given"
            raise NoTrainingImages(f"No usable training images ({detail}).")

    @classmethod
    def from_images(
        cls, images: Sequence[Image.Image], size: int, pipeline: PipelineConfig | None = None
    ) -> TrainingImages:
        self = cls.__new__(cls)
        self.size = int(size)
        self.pipeline = pipeline or PipelineConfig()
        self.files, self.skipped = [], []
        for im in images:  # the image gate's size rules, for pictures that did not pass it
            problem = size_problem(im.width, im.height, max_pixels=im.width * im.height)
            if problem:
                raise NoTrainingImages(f"No usable training images ({problem}).")
        self.images = [
            _pil_to_tensor(_stored_image(to_rgb(im), self.size, self.pipeline)) for im in images
        ]
        if not self.images:
            raise NoTrainingImages("No usable training images (no images given).")
        return self

    def _skip(self, message: str, sink: Callable[[str], None] | None) -> None:
        self.skipped.append(message)
        log.warning("skipping training image %s", message)
        if sink is not None:
            sink(message)

    def __len__(self) -> int:
        return len(self.images)

    def sample(
        self, batch_size: int, generator: torch.Generator, rows: range | None = None
    ) -> torch.Tensor:
        """``batch_size`` augmented crops, float32 B x 3 x size x size in [-1, 1].

        ``rows``: return only these crops of the batch (one process's share of a
        data-parallel step); every crop is still drawn, so ``generator`` advances exactly
        as for the whole batch and each process keeps its part of the same stream.
        """
        crops = []
        for i in range(batch_size):
            index = _randint(len(self.images), generator)
            crop = augment_crop(self.images[index], self.size, self.pipeline, generator)
            if rows is None or i in rows:
                crops.append(crop)
        if not crops:
            return torch.empty(0, 3, self.size, self.size)
        return torch.stack(crops).float().div_(127.5).sub_(1.0)


def _randint(high: int, generator: torch.Generator) -> int:
    return int(torch.randint(0, high, (1,), generator=generator).item())


def _uniform(lo: float, hi: float, generator: torch.Generator) -> float:
    return lo + (hi - lo) * float(torch.rand(1, generator=generator).item())


def augment_crop(
    image: torch.Tensor, size: int, pipeline: PipelineConfig, generator: torch.Generator
) -> torch.Tensor:
    """One crop of a stored 3 x H x W uint8 image; returns 3 x size x size uint8."""
    _, h, w = image.shape
    if pipeline.crop == "random_resized":
        crop = _random_resized(image, size, generator)
    else:
        if pipeline.crop == "center":
            top, left = (h - size) // 2, (w - size) // 2
        else:
            top, left = _randint(h - size + 1, generator), _randint(w - size + 1, generator)
        crop = image[:, top : top + size, left : left + size]
    if pipeline.hflip and _uniform(0, 1, generator) < 0.5:
        crop = torch.flip(crop, dims=[2])
    if pipeline.vflip and _uniform(0, 1, generator) < 0.5:
        crop = torch.flip(crop, dims=[1])
    if pipeline.rotations:
        angles = (0, *pipeline.rotations)
        angle = int(angles[_randint(len(angles), generator)])
        if angle % 360:
            crop = torch.rot90(crop, k=(angle // 90) % 4, dims=(1, 2))
    if pipeline.color_jitter > 0:
        crop = _color_jitter(crop, min(pipeline.color_jitter, 0.5), generator)
    return crop.contiguous()


def _random_resized(image: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    _, h, w = image.shape
    area = h * w
    for _ in range(10):
        target = area * _uniform(*RESIZED_CROP_SCALE, generator)
        log_ratio = _uniform(
            math.log(RESIZED_CROP_RATIO[0]), math.log(RESIZED_CROP_RATIO[1]), generator
        )
        ratio = math.exp(log_ratio)
        cw = int(round(math.sqrt(target * ratio)))
        ch = int(round(math.sqrt(target / ratio)))
        if 0 < cw <= w and 0 < ch <= h:
            break
    else:  # fall back to the largest centred square
        ch = cw = min(h, w)
    top = _randint(h - ch + 1, generator)
    left = _randint(w - cw + 1, generator)
    region = image[:, top : top + ch, left : left + cw].unsqueeze(0).float()
    out = F.interpolate(
        region, size=(size, size), mode="bilinear", align_corners=False, antialias=True
    )
    return out.squeeze(0).round_().clamp_(0, 255).to(torch.uint8)


def _color_jitter(crop: torch.Tensor, strength: float, generator: torch.Generator) -> torch.Tensor:
    x = crop.float() / 255.0
    brightness = _uniform(1 - strength, 1 + strength, generator)
    contrast = _uniform(1 - strength, 1 + strength, generator)
    saturation = _uniform(1 - strength, 1 + strength, generator)
    x = x * brightness
    mean = x.mean()
    x = (x - mean) * contrast + mean
    grey = (0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2]).unsqueeze(0)
    x = (x - grey) * saturation + grey
    return (x.clamp(0, 1) * 255.0).round().to(torch.uint8)


class StyleSampler:
    """Draws style crops from several :class:`TrainingImages` (one per tradition) and says
    which tradition each came from. Single-style methods use it with one source."""

    def __init__(self, sources: Sequence[TrainingImages]) -> None:
        if not sources:
            raise ValueError("StyleSampler needs at least one style source")
        self.sources = list(sources)

    def __len__(self) -> int:
        return len(self.sources)

    def sample(
        self, batch_size: int, generator: torch.Generator, rows: range | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(crops, tradition ids); ``rows`` as in :meth:`TrainingImages.sample`."""
        ids = [
            _randint(len(self.sources), generator) if len(self.sources) > 1 else 0
            for _ in range(batch_size)
        ]
        keep = range(batch_size) if rows is None else rows
        images = [
            self.sources[t].sample(1, generator, rows=None if i in keep else range(0))
            for i, t in enumerate(ids)
        ]
        kept = [im[0] for im in images if len(im)]
        kept_ids = [t for i, t in enumerate(ids) if i in keep]
        return torch.stack(kept), torch.tensor(kept_ids, dtype=torch.long)


def preview_batch(files: Sequence[Path | str], size: int, n: int) -> torch.Tensor:
    """Deterministic centre crops (shorter side scaled to ``size``) of the first ``n``
    usable files, as float32 N x 3 x size x size in [-1, 1]. Unusable files are skipped."""
    crops: list[torch.Tensor] = []
    for file in files:
        if len(crops) >= n:
            break
        try:
            im = load_rgb(file)
        except ImageLoadError as exc:
            log.warning("no preview from %s", exc)
            continue
        t = _pil_to_tensor(_scale_shorter(im, size))
        _, h, w = t.shape
        top, left = (h - size) // 2, (w - size) // 2
        crops.append(t[:, top : top + size, left : left + size])
    if not crops:
        return torch.empty(0, 3, size, size)
    return torch.stack(crops).float().div_(127.5).sub_(1.0)


def augment_preview(
    image: Image.Image, pipeline: PipelineConfig, n: int, size: int, seed: int
) -> list[np.ndarray]:
    """``n`` crops of ``image`` as the training pipeline would draw them (HxWx3 uint8),
    for the dataset panel's preview grid. The same seed gives the same grid."""
    images = TrainingImages.from_images([image], size, pipeline)
    generator = torch.Generator().manual_seed(int(seed))
    return [
        augment_crop(images.images[0], size, pipeline, generator).permute(1, 2, 0).numpy().copy()
        for _ in range(n)
    ]
