"""Quality checks during training: style score S and edge SSIM on held-apart photos.

When ``TrainConfig.metrics_every`` is set, the trainer keeps every ``HOLD_EVERY``-th content
photo out of training and, every N steps, paints them with the EMA generator and measures
them against the style set. The numbers are plotted beside the losses, and the checkpoint
with the best S is kept and marked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .metrics import edge_ssim, load_images, style_score
from .stylize import stylize_array

HOLD_EVERY = 5  # 1 photo in 5 is held apart
MIN_HELD = 2  # S and edge SSIM need at least two photos
MIN_STYLE = 2  # S compares two halves of the style set

Evaluator = Callable[[nn.Module, int], dict[str, float]]


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


def held_apart_evaluator(
    style_files: Sequence[Path], held_photos: Sequence[Path], size: int, seed: int = 0
) -> Evaluator:
    """An evaluator for the trainer; the images are decoded once, here, not every check."""
    style, _ = load_images(style_files, size)
    photos, _ = load_images(held_photos, size)
    if len(style) < MIN_STYLE or len(photos) < MIN_HELD:
        raise ValueError(
            f"quality checks need at least {MIN_STYLE} readable style images and {MIN_HELD} "
            f"held-apart photos (found {len(style)} and {len(photos)})"
        )

    def evaluate(generator: nn.Module, step: int) -> dict[str, float]:
        del step
        device = next(generator.parameters()).device.type
        was_training = generator.training
        generator.eval()
        try:
            with torch.no_grad():
                # The generator has no card: the training size tells the stylizer's
                # normalisation policy what the exported model will be told.
                outputs: list[np.ndarray] = [
                    stylize_array(generator, p, device=device, tiling="whole", training_size=size)
                    for p in photos
                ]
        finally:
            generator.train(was_training)
        metrics = {"edge_ssim": float(edge_ssim(photos, outputs))}
        score = float(style_score(outputs, style, photos, size, seed)["style_score"])
        if np.isfinite(score):  # NaN when undefined: never let it become "the best"
            metrics["style_score"] = score
        return metrics

    return evaluate
