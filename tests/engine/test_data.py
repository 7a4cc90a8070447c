from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from training_setup import write_images

from ganstyle_desktop.engine.config import PipelineConfig
from ganstyle_desktop.engine.data import (
    NoTrainingImages,
    StyleSampler,
    TrainingImages,
    augment_preview,
    preview_batch,
)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _odd_files(folder: Path) -> dict[str, Path]:
    """Broken files and unusual modes a real folder of artworks contains."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 255, (40, 50, 3), dtype=np.uint8))
    files = {}
    buf = io.BytesIO()
    rgb.save(buf, format="JPEG")
    files["truncated"] = folder / "truncated.jpg"
    files["truncated"].write_bytes(buf.getvalue()[: len(buf.getvalue()) // 3])
    files["empty"] = folder / "empty.png"
    files["empty"].write_bytes(b"")
    files["text"] = folder / "notes.png"
    files["text"].write_text("this is not an image\n")
    files["cmyk"] = folder / "cmyk.jpg"
    rgb.convert("CMYK").save(files["cmyk"])
    files["16bit"] = folder / "deep.png"
    Image.fromarray((rng.integers(0, 65535, (40, 50))).astype(np.uint16)).save(files["16bit"])
    files["palette"] = folder / "palette.png"
    pal = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    pal.info["transparency"] = 0
    pal.save(files["palette"], transparency=0)
    files["rgba"] = folder / "alpha.png"
    rgba = rgb.convert("RGBA")
    rgba.putalpha(128)
    rgba.save(files["rgba"])
    return files


def test_bad_files_are_skipped_with_reasons_and_odd_modes_converted(tmp_path: Path) -> None:
    files = _odd_files(tmp_path / "odd")
    logged: list[str] = []
    images = TrainingImages(list(files.values()), 32, PipelineConfig(), log=logged.append)
    bad = {"truncated", "empty", "text"}
    assert sorted(p.name for p in images.files) == sorted(
        files[k].name for k in files if k not in bad
    )
    assert len(images.skipped) == 3 and logged == images.skipped
    for key in bad:
        (message,) = [m for m in images.skipped if m.startswith(files[key].name + ":")]
        assert len(message) > len(files[key].name) + 5  # a reason follows the name
    assert any("empty" in m for m in images.skipped)
    for stored in images.images:
        assert stored.dtype == torch.uint8 and stored.shape[0] == 3
    batch = images.sample(4, _gen())
    assert batch.shape == (4, 3, 32, 32)
    assert batch.min() >= -1 and batch.max() <= 1


def test_no_usable_image_raises_with_the_reasons(tmp_path: Path) -> None:
    files = _odd_files(tmp_path / "odd")
    with pytest.raises(NoTrainingImages, match="empty.png"):
        TrainingImages([files["empty"], files["text"]], 32, PipelineConfig())


def test_one_image_is_enough_and_sampling_is_seeded(tmp_path: Path) -> None:
    (path,) = write_images(tmp_path, 1, seed=3, size=(60, 44))
    images = TrainingImages([path], 32, PipelineConfig(hflip=True, vflip=True, rotations=(90,)))
    a = images.sample(6, _gen(1))
    b = images.sample(6, _gen(1))
    c = images.sample(6, _gen(2))
    assert a.shape == (6, 3, 32, 32) and a.dtype == torch.float32
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert len({tuple(x.flatten()[:50].tolist()) for x in a}) > 1  # crops differ


def test_images_are_stored_small(tmp_path: Path) -> None:
    (path,) = write_images(tmp_path, 1, seed=3, size=(400, 300))
    random_crop = TrainingImages([path], 32, PipelineConfig(crop="random"))
    assert min(random_crop.images[0].shape[1:]) == 36  # 1.125 x the crop
    resized = TrainingImages([path], 32, PipelineConfig(crop="random_resized"))
    assert min(resized.images[0].shape[1:]) == 48  # 1.5 x the crop
    (small,) = write_images(tmp_path / "small", 1, seed=3, size=(20, 24))
    upscaled = TrainingImages([small], 32, PipelineConfig(crop="center"))
    assert upscaled.sample(1, _gen()).shape == (1, 3, 32, 32)


@pytest.mark.parametrize("crop", ["random", "center", "random_resized"])
def test_every_crop_mode_and_colour_jitter(tmp_path: Path, crop: str) -> None:
    paths = write_images(tmp_path, 2, seed=4, size=(70, 50))
    pipeline = PipelineConfig(crop=crop, color_jitter=0.3, rotations=(90, 180, 270))
    batch = TrainingImages(paths, 32, pipeline).sample(3, _gen(9))
    assert batch.shape == (3, 3, 32, 32) and torch.isfinite(batch).all()


def test_centre_crop_without_augmentation_is_fixed(tmp_path: Path) -> None:
    (path,) = write_images(tmp_path, 1, seed=5)
    images = TrainingImages([path], 32, PipelineConfig(crop="center", hflip=False))
    assert torch.equal(images.sample(1, _gen(1)), images.sample(1, _gen(2)))


def test_style_sampler_reports_style_ids(tmp_path: Path) -> None:
    white = tmp_path / "white.png"
    black = tmp_path / "black.png"
    Image.new("RGB", (40, 40), "white").save(white)
    Image.new("RGB", (40, 40), "black").save(black)
    sampler = StyleSampler(
        [
            TrainingImages([white], 32, PipelineConfig()),
            TrainingImages([black], 32, PipelineConfig()),
        ]
    )
    images, ids = sampler.sample(16, _gen(0))
    assert images.shape == (16, 3, 32, 32) and ids.dtype == torch.long
    assert set(ids.tolist()) == {0, 1}
    for image, style_id in zip(images, ids, strict=True):
        assert image.mean().item() == pytest.approx(1.0 if style_id == 0 else -1.0)
    again, again_ids = sampler.sample(16, _gen(0))
    assert torch.equal(again, images) and torch.equal(again_ids, ids)


def test_preview_batch_is_deterministic_and_skips_bad_files(tmp_path: Path) -> None:
    paths = write_images(tmp_path, 3, seed=6, size=(50, 40))
    broken = tmp_path / "broken.png"
    broken.write_text("nope")
    a = preview_batch([broken, *paths], 32, 2)
    b = preview_batch([broken, *paths], 32, 2)
    assert a.shape == (2, 3, 32, 32) and torch.equal(a, b)


def test_augment_preview_grid(tmp_path: Path) -> None:
    image = Image.open(write_images(tmp_path, 1, seed=7, size=(80, 60))[0])
    pipeline = PipelineConfig(crop="random_resized", hflip=True, color_jitter=0.2)
    a = augment_preview(image, pipeline, n=4, size=32, seed=1)
    b = augment_preview(image, pipeline, n=4, size=32, seed=1)
    assert len(a) == 4
    for x, y in zip(a, b, strict=True):
        assert x.shape == (32, 32, 3) and x.dtype == np.uint8
        assert np.array_equal(x, y)
    assert not all(np.array_equal(a[0], x) for x in a[1:])
