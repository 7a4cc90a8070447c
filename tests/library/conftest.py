"""Fixtures for library tests: a fresh workspace and a factory of small test images."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganstyle_desktop.library import Catalog


def make_image_bytes(
    seed: int = 0, size: tuple[int, int] = (48, 32), fmt: str = "JPEG", mode: str = "RGB", **save
) -> bytes:
    """A small image with seeded smooth structure (so perceptual hashes differ by seed)."""
    rng = np.random.default_rng(seed)
    w, h = size
    coarse = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
    im = Image.fromarray(coarse, "RGB").resize((w, h), Image.Resampling.BICUBIC)
    if mode != "RGB":
        im = im.convert(mode)
    buf = io.BytesIO()
    im.save(buf, fmt, **save)
    return buf.getvalue()


@pytest.fixture
def image_bytes() -> Callable[..., bytes]:
    """image_bytes(seed, size=(48, 32), fmt="JPEG", mode="RGB", **save) -> bytes."""
    return make_image_bytes


@pytest.fixture
def catalog(tmp_path: Path):
    cat = Catalog.open(tmp_path / "workspace")
    yield cat
    cat.close()


@pytest.fixture
def make_image(tmp_path: Path) -> Callable[..., Path]:
    """make_image(name, seed=0, size=(48, 32), fmt="JPEG", folder="in") -> Path."""

    def make(name: str, seed: int = 0, folder: str = "in", **kwargs) -> Path:
        path = tmp_path / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("fmt", "PNG" if name.lower().endswith(".png") else "JPEG")
        path.write_bytes(make_image_bytes(seed, **kwargs))
        return path

    return make
