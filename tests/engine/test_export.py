"""Saving stylized images: formats, 16-bit TIFF, ICC and EXIF carried, atomic failures."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageCms

from ganstyle_desktop.engine import export
from ganstyle_desktop.engine.export import (
    ExportError,
    read_image_with_metadata,
    read_metadata,
    save_image,
)
from ganstyle_desktop.engine.modelfile import ModelCard, StyleModel
from ganstyle_desktop.engine.nets import GeneratorSpec, ResnetGenerator
from ganstyle_desktop.engine.stylize import stylize_file
from ganstyle_desktop.engine.tiff16 import read_tiff16

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
ARTIST = 0x013B
ORIENTATION = 0x0112


@pytest.fixture(autouse=True)
def _one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def pixels(h: int = 24, w: int = 40, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def smooth(h: int = 24, w: int = 40) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // w, y * 255 // h, (x + y) * 127 // (h + w)], axis=2).astype(np.uint8)


def tiny_model() -> StyleModel:
    torch.manual_seed(0)
    spec = GeneratorSpec(width=4, n_blocks=1, separable=True)
    return StyleModel(
        ModelCard(name="t", architecture={"generator": "resnet", "spec": spec.to_dict()}),
        ResnetGenerator(spec).eval(),
    )


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp", ".tif"])
def test_formats_round_trip_size_and_profile(tmp_path: Path, suffix: str) -> None:
    image = smooth()
    target = save_image(image, tmp_path / f"out{suffix}", icc_profile=SRGB, quality=92)
    back, meta = read_image_with_metadata(target)
    assert back.shape == image.shape and back.dtype == np.uint8
    assert meta.icc_profile == SRGB
    if suffix in (".png", ".tif"):
        assert np.array_equal(back, image)  # lossless
    else:
        assert np.abs(back.astype(int) - image).mean() < 4  # lossy but the same picture
    assert list(tmp_path.iterdir()) == [target]  # no temp file left beside it


def test_jpeg_quality_changes_the_file(tmp_path: Path) -> None:
    image = pixels(64, 64)
    low = save_image(image, tmp_path / "low.jpg", quality=20)
    high = save_image(image, tmp_path / "high.jpg", quality=95)
    assert low.stat().st_size < high.stat().st_size


def test_sixteen_bit_tiff_round_trips_exactly(tmp_path: Path) -> None:
    deep = np.random.default_rng(1).integers(0, 65536, (17, 23, 3), dtype=np.uint16)
    target = save_image(deep, tmp_path / "deep.tif", icc_profile=SRGB)
    back, meta = read_image_with_metadata(target)
    assert back.dtype == np.uint16 and np.array_equal(back, deep)
    assert meta.icc_profile == SRGB
    with Image.open(target) as im:  # a valid TIFF for other programs too
        assert im.size == (23, 17)
    # Formats without 16-bit RGB get the nearest 8-bit values.
    png, _ = read_image_with_metadata(save_image(deep, tmp_path / "deep.png"))
    assert png.dtype == np.uint8 and np.abs(png.astype(int) - deep / 257.0).max() <= 0.5 + 1e-9


def test_png_text_and_exif_are_written(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[ARTIST] = "Hokusai fan"
    target = save_image(
        pixels(), tmp_path / "t.png", exif=exif.tobytes(), text={"Description": "wave"}
    )
    meta = read_metadata(target)
    assert meta.text.get("Description") == "wave"
    assert meta.exif is not None
    with Image.open(target) as im:
        assert im.getexif()[ARTIST] == "Hokusai fan"


def test_unwritable_target_raises_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    target = blocker / "out.png"
    with pytest.raises(ExportError) as info:
        save_image(pixels(), target)
    assert isinstance(info.value, OSError)
    assert "out.png" in str(info.value)
    assert list(tmp_path.iterdir()) == [blocker]


def test_full_disk_leaves_no_half_written_file(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"previous version")

    def fill_disk(self, fp, format=None, **params):
        Path(fp).write_bytes(b"\x89PNG half")  # some bytes reached the disk, then:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export.Image.Image, "save", fill_disk)
    with pytest.raises(ExportError) as info:
        save_image(pixels(), target)
    assert "disk is full" in str(info.value) and "out.png" in str(info.value)
    assert target.read_bytes() == b"previous version"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown image format"):
        save_image(pixels(), tmp_path / "x.gif")


def test_stylize_file_keeps_orientation_profile_and_metadata(tmp_path: Path) -> None:
    # Stored 40 wide x 24 high, shown rotated 90 degrees: upright it is 24 x 40.
    src = tmp_path / "photo.jpg"
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[ARTIST] = "A. Photographer"
    Image.fromarray(pixels(24, 40)).save(src, quality=95, exif=exif.tobytes(), icc_profile=SRGB)

    dst = stylize_file(tiny_model(), src, tmp_path / "out" / "photo.png")
    with Image.open(dst) as out:
        assert out.size == (24, 40)  # upright: width 24, height 40
        out_exif = out.getexif()
        assert ORIENTATION not in out_exif  # already upright; no viewer rotates it again
        assert out_exif[ARTIST] == "A. Photographer"
        assert out.info.get("icc_profile") == SRGB

    with pytest.raises(FileExistsError):
        stylize_file(tiny_model(), src, dst)
    stylize_file(tiny_model(), src, dst, overwrite=True, strength=0.0)


def test_stylize_file_keeps_sixteen_bits(tmp_path: Path) -> None:
    deep = (pixels(32, 32).astype(np.uint16) * 257) + 3
    src = save_image(deep, tmp_path / "in.tif")
    dst = stylize_file(tiny_model(), src, tmp_path / "out.tif")
    found = read_tiff16(dst)
    assert found is not None and found[0].shape == (32, 32, 3)
    # 16-bit precision survives: values that are not multiples of 257 appear.
    assert np.any(found[0] % 257 != 0)
