"""Quality checks during training, and the one rule that says which checkpoint is best.

When ``TrainConfig.metrics_every`` is set, the trainer keeps every ``HOLD_EVERY``-th content
photo out of training and, every N steps, paints them with the EMA generator in each
tradition and measures what a person would look at:

- ``recognised``: the share of outputs the tradition recogniser (:mod:`.recognizer`,
  fitted at the start of the run on the run's artworks, its training photos and
  colour-filtered copies of them) takes for the intended tradition;
- ``style_score``: the colour-aware style score S in [0, 1] (:mod:`.metrics`);
- ``contour_f``: whether the photo's contours are still there (the structure floor);
- ``edge_ssim``: SSIM of gradient maps, reported too (it also falls when a painting
  flattens or adds texture, so it cannot be the floor: metrics.contour_fscore).

:func:`quality` combines them into one bounded number (see there): the best checkpoint is
the one with the highest quality, never the highest of one unbounded score.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .metrics import contour_fscore, edge_ssim, load_images, style_score
from .recognizer import PHOTO, TraditionRecognizer, filtered_photos, image_features
from .stylize import stylize_array

HOLD_EVERY = 5  # 1 photo in 5 is held apart
MIN_HELD = 2  # S and edge SSIM need at least two photos
MIN_STYLE = 2  # S compares two halves of the style set
MAX_STYLE_FOR_SCORE = 120  # artworks per tradition that the checks decode and compare
FILTERED_PER_TRAINING_PHOTO = 4
# Below it the photo's structure is lost: no longer a stylized photo. Another photo in
# place of the output scores about 0.2, a flat-colour rendering with outlines 0.8
# (benchmarks/bench_structure.py).
CONTOUR_FLOOR = 0.5
RECOGNISED_BAR = 0.7  # the share of outputs that must read as the tradition

Evaluator = Callable[[nn.Module, int], dict[str, float]]
StopCheck = Callable[[], None]


def split_held_apart(files: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """(train, held apart): every HOLD_EVERY-th file of the sorted list is held apart.

    Returns all files for training and none held apart when there are too few to spare.
    """
    ordered = sorted(files)
    held = ordered[HOLD_EVERY - 1 :: HOLD_EVERY]
    if len(held) < MIN_HELD:
        return ordered, []
    keep = set(held)
    return [f for f in ordered if f not in keep], held


def quality(metrics: Mapping[str, float]) -> float:
    """One bounded number in [-1, 1.5] that ranks checkpoints.

    ``recognised + 0.5 * style_score`` (each in [0, 1]) when the contour F-score is at
    least the floor; a checkpoint below the floor ranks below every one above it (the photo's
    structure is gone), ordered among themselves by how close they come. Missing or
    undefined numbers count as 0, never as "best".
    """

    def value(key: str) -> float:
        v = metrics.get(key)
        return float(v) if v is not None and math.isfinite(float(v)) else 0.0

    score = value("recognised") + 0.5 * value("style_score")
    kept = value("contour_f")
    if kept < CONTOUR_FLOOR:
        return kept / CONTOUR_FLOOR - 1.0  # in [-1, 0): below every checkpoint above
    return score


def meets_bar(metrics: Mapping[str, float]) -> bool:
    """Recognisably the tradition: the recognised share and the contour floor."""
    return (
        float(metrics.get("recognised", 0.0)) >= RECOGNISED_BAR
        and float(metrics.get("contour_f", 0.0)) >= CONTOUR_FLOOR
    )


def _blended(generator: nn.Module, slug: str, n_traditions: int) -> nn.Module:
    if n_traditions > 1 and hasattr(generator, "with_blend"):
        return generator.with_blend({slug: 1.0})
    return generator


class QualityMonitor:
    """Everything decoded and fitted once at the start; :meth:`__call__` is the evaluator."""

    def __init__(
        self,
        styles: Mapping[str, Sequence[Path]],
        held_photos: Sequence[Path],
        training_photos: Sequence[Path],
        size: int,
        seed: int = 0,
        should_stop: StopCheck | None = None,
    ) -> None:
        stop = should_stop or (lambda: None)
        self.size = size
        self.seed = seed
        self.slugs = list(styles)
        self.style_images: dict[str, list[np.ndarray]] = {}
        for slug, files in styles.items():
            files = list(files)
            if len(files) > MAX_STYLE_FOR_SCORE:  # evenly spaced: the checks' cost is bounded
                step = len(files) // MAX_STYLE_FOR_SCORE
                files = files[::step][:MAX_STYLE_FOR_SCORE]
            images = _load_checked(files, size, stop)
            if len(images) < MIN_STYLE:
                raise ValueError(
                    f"quality checks need at least {MIN_STYLE} readable artworks of {slug} "
                    f"(found {len(images)})"
                )
            self.style_images[slug] = images
        self.photos = _load_checked(held_photos, size, stop)
        if len(self.photos) < MIN_HELD:
            raise ValueError(
                f"quality checks need at least {MIN_HELD} held-apart photos "
                f"(found {len(self.photos)})"
            )
        self.recognizer = self._fit_recognizer(training_photos, stop)

    def _fit_recognizer(self, training_photos: Sequence[Path], stop: StopCheck):
        rng = np.random.default_rng(self.seed)

        def progress(_done: int, _total: int) -> None:
            stop()

        feats: dict[str, np.ndarray] = {}
        for slug, images in self.style_images.items():
            chosen = images
            if len(images) > MAX_STYLE_FOR_SCORE:
                idx = rng.choice(len(images), MAX_STYLE_FOR_SCORE, replace=False)
                chosen = [images[i] for i in sorted(idx)]
            feats[slug] = image_features(chosen, progress=progress)
        photos = _load_checked(training_photos, self.size, stop)
        if len(photos) < 2:
            photos = list(self.photos)  # tiny runs: better a weaker photo class than none
        art = [im for images in self.style_images.values() for im in images]
        filtered = filtered_photos(photos, art, FILTERED_PER_TRAINING_PHOTO, seed=self.seed)
        feats[PHOTO] = image_features(photos + filtered, progress=progress)
        return TraditionRecognizer.fit_features(feats)

    def __call__(self, generator: nn.Module, step: int) -> dict[str, float]:
        del step
        device = next(generator.parameters()).device.type
        was_training = generator.training
        generator.eval()
        per_tradition: dict[str, dict[str, float]] = {}
        try:
            with torch.no_grad():
                for slug in self.slugs:
                    module = _blended(generator, slug, len(self.slugs))
                    # The generator has no card: the training size tells the stylizer's
                    # normalisation policy what the exported model will be told.
                    outputs = [
                        stylize_array(module, p, device=device, training_size=self.size)
                        for p in self.photos
                    ]
                    per_tradition[slug] = self._measure(slug, outputs)
        finally:
            generator.train(was_training)
        metrics: dict[str, float] = {}
        if len(self.slugs) == 1:
            metrics.update(per_tradition[self.slugs[0]])
        else:
            for slug, values in per_tradition.items():
                for key, value in values.items():
                    metrics[f"{key}/{slug}"] = value
            for key in per_tradition[self.slugs[0]]:
                metrics[key] = float(np.mean([v[key] for v in per_tradition.values()]))
            # The combined number of a multi-style model is that of its weakest tradition.
            metrics["quality"] = min(quality(v) for v in per_tradition.values())
            return metrics
        metrics["quality"] = quality(metrics)
        return metrics

    def _measure(self, slug: str, outputs: list[np.ndarray]) -> dict[str, float]:
        labels = self.recognizer.predict(outputs)
        metrics = {
            "recognised": labels.count(slug) / len(labels),
            "contour_f": float(contour_fscore(self.photos, outputs)),
            "edge_ssim": float(edge_ssim(self.photos, outputs)),
        }
        score = style_score(outputs, self.style_images[slug], self.photos, self.size, self.seed)
        if math.isfinite(score["style_score"]):  # NaN when undefined: left out, never "best"
            metrics["style_score"] = float(score["style_score"])
        return metrics


def _load_checked(files: Iterable[Path], size: int, stop: StopCheck) -> list[np.ndarray]:
    """Decode ``files`` one by one, asking ``stop`` before each (Stop within one image)."""
    images: list[np.ndarray] = []
    for f in files:
        stop()
        images += load_images([f], size)[0]
    return images
