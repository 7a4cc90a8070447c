"""Tiny synthetic datasets and configs shared by the training tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganstyle_desktop.engine.config import StyleSource, TrainConfig

# Tiny networks gain nothing from threads, and on a shared CPU spinning intra-op threads
# make each step 10-50x slower (tests/conftest.py's docstring promises one thread).
torch.set_num_threads(1)


def write_images(folder: Path, n: int, seed: int, size: tuple[int, int] = (48, 40)) -> list[Path]:
    """``n`` smooth random RGB images (gradients plus noise) saved as PNG."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    w, h = size
    paths = []
    for i in range(n):
        yy, xx = np.mgrid[0:h, 0:w]
        base = np.stack(
            [xx / w * 255, yy / h * 255, (xx + yy) / (w + h) * 255], axis=-1
        ) * rng.uniform(0.3, 1.0, 3)
        noise = rng.normal(0, 20, (h, w, 3))
        arr = np.clip(base + noise, 0, 255).astype(np.uint8)
        path = folder / f"img_{i}.png"
        Image.fromarray(arr).save(path)
        paths.append(path)
    return paths


def tiny_config(tmp_path: Path, method: str = "fastcut", **overrides) -> TrainConfig:
    style_dir, content_dir = tmp_path / "style", tmp_path / "content"
    if not style_dir.exists():
        write_images(style_dir, 2, seed=1)
        write_images(content_dir, 2, seed=2, size=(40, 48))
    values = dict(
        styles=[
            StyleSource(
                "test-style",
                [str(style_dir)],
                display_name="Test style",
                tags={"culture": "synthetic"},
                provenance=[{"file": "img_0.png", "license": "CC0"}],
            )
        ],
        content_paths=[str(content_dir)],
        out_dir=str(tmp_path / "run"),
        method=method,
        preset="tiny",
        size=32,
        steps=4,
        preview_every=2,
        checkpoint_every=2,
        n_previews=2,
        keep_last=2,
        pool_size=2,
        seed=7,
    )
    values.update(overrides)
    return TrainConfig(**values)
