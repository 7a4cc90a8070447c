"""Images as people hand them over: odd modes, rotations, damaged files, odd names."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from ganstyle_desktop.engine import imageio
from ganstyle_desktop.engine.imageio import (
    ImageLoadError,
    collect_image_files,
    load_rgb,
    open_image,
    to_rgb,
)

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def _close(pixel, expected, tol: int = 40) -> bool:
    return all(abs(int(a) - int(b)) <= tol for a, b in zip(pixel, expected, strict=True))


def _save_rgb(path: Path, size=(16, 16), color=RED, **kwargs) -> Path:
    Image.new("RGB", size, color).save(path, **kwargs)
    return path


def _noise_jpeg(path: Path, size: int = 64) -> Path:
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(path, quality=90)
    return path


# -- files that cannot be used ---------------------------------------------------------------


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageLoadError, match=r"^empty\.jpg: the file is empty"):
        load_rgb(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageLoadError, match=r"^gone\.png: no such file"):
        load_rgb(tmp_path / "gone.png")


def test_truncated_jpeg(tmp_path: Path) -> None:
    path = _noise_jpeg(tmp_path / "cut.jpg")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError) as info:
        load_rgb(path)
    assert str(info.value).startswith("cut.jpg: damaged or truncated")
    assert info.value.path == path


def test_text_file_named_jpg(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a picture\n" * 10, encoding="utf-8")
    with pytest.raises(ImageLoadError, match=r"notes\.jpg: not an image Pillow can read"):
        load_rgb(path)


def _png_claiming(path: Path, width: int, height: int) -> Path:
    """A real PNG whose IHDR claims ``width`` x ``height`` (valid CRC, tiny data)."""
    Image.new("L", (4, 4)).save(path)
    data = bytearray(path.read_bytes())
    ihdr = 8  # after the signature: length(4) "IHDR"(4) data(13) crc(4)
    assert data[ihdr + 4 : ihdr + 8] == b"IHDR"
    data[ihdr + 8 : ihdr + 16] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr + 4 : ihdr + 8 + 13])) & 0xFFFFFFFF
    data[ihdr + 21 : ihdr + 25] = struct.pack(">I", crc)
    path.write_bytes(bytes(data))
    return path


def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path, monkeypatch) -> None:
    path = _png_claiming(tmp_path / "bomb.png", 5000, 4000)

    def no_decoding(self, *args, **kwargs):
        raise AssertionError("the image was decoded")

    monkeypatch.setattr(Image.Image, "load", no_decoding)
    monkeypatch.setattr(imageio.Image.Image, "load", no_decoding)
    with pytest.raises(ImageLoadError) as info:
        open_image(path, max_pixels=1_000_000)
    message = str(info.value)
    assert message.startswith("bomb.png: 5000x4000 pixels is over the limit of 1,000,000")
    assert "decompression bomb" in message


def test_pillows_hard_bomb_limit_is_reported(tmp_path: Path) -> None:
    path = _png_claiming(tmp_path / "huge.png", 100_000, 100_000)
    with pytest.raises(ImageLoadError, match=r"huge\.png: .*decompression bomb"):
        open_image(path, max_pixels=None)


def test_max_pixels_not_pillows_warning_threshold_decides(tmp_path: Path, monkeypatch) -> None:
    # Regression: Pillow's warning threshold used to refuse images the caller allowed.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    path = _save_rgb(tmp_path / "big.png", size=(40, 40))  # 1600 px: over 1000, under 2000
    assert load_rgb(path, max_pixels=10_000).size == (40, 40)
    with pytest.raises(ImageLoadError, match="over the limit"):
        load_rgb(path, max_pixels=1_000)


# -- modes that become RGB -------------------------------------------------------------------


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(path, quality=95)  # pure red ink
    assert Image.open(path).mode == "CMYK"
    im = load_rgb(path)
    assert im.mode == "RGB"
    assert _close(im.getpixel((8, 8)), RED)


@pytest.mark.parametrize("value, expected", [(65535, 255), (32768, 128), (200, 1)])
def test_16_bit_greyscale_png(tmp_path: Path, value: int, expected: int) -> None:
    path = tmp_path / "deep.png"
    Image.fromarray(np.full((16, 16), value, dtype=np.uint16)).save(path)
    assert Image.open(path).mode == "I;16"
    im = load_rgb(path)
    assert im.mode == "RGB"
    # A dark 16-bit image stays dark (regression: values <= 255 were read as 8-bit).
    assert _close(im.getpixel((0, 0)), (expected,) * 3, tol=1)


def test_palette_png_with_transparency_is_composited_on_white(tmp_path: Path) -> None:
    im = Image.new("P", (16, 16), 0)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * (256 * 3 - 6))
    im.paste(1, (8, 0, 16, 16))  # right half red, left half index 0
    path = tmp_path / "palette.png"
    im.save(path, transparency=0)
    assert Image.open(path).mode == "P"
    rgb = load_rgb(path)
    assert rgb.mode == "RGB"
    assert rgb.getpixel((1, 4)) == WHITE  # transparent black became white
    assert rgb.getpixel((12, 4)) == RED


def test_rgba_and_la_are_composited_on_white(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (16, 16), (255, 0, 0, 255))
    rgba.paste((0, 0, 255, 0), (0, 0, 8, 16))
    rgba.save(tmp_path / "rgba.png")
    rgb = load_rgb(tmp_path / "rgba.png")
    assert rgb.getpixel((1, 1)) == WHITE and rgb.getpixel((12, 1)) == RED

    la = Image.new("LA", (16, 16), (0, 255))
    la.paste((0, 0), (0, 0, 8, 16))
    la.save(tmp_path / "la.png")
    rgb = load_rgb(tmp_path / "la.png")
    assert rgb.mode == "RGB"
    assert rgb.getpixel((1, 1)) == WHITE and rgb.getpixel((12, 1)) == (0, 0, 0)

    half = to_rgb(Image.new("RGBA", (2, 2), (0, 0, 0, 128)))
    assert _close(half.getpixel((0, 0)), (127, 127, 127), tol=2)


def test_exif_orientation_6_comes_out_upright(tmp_path: Path) -> None:
    # Stored landscape, left half red and right half blue; orientation 6 means the
    # camera was turned: shown rotated 90 degrees clockwise, i.e. portrait, red on top.
    im = Image.new("RGB", (40, 20), BLUE)
    im.paste(RED, (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    im.save(path, exif=exif, quality=95)
    upright = load_rgb(path)
    assert upright.size == (20, 40)
    assert _close(upright.getpixel((10, 5)), RED)
    assert _close(upright.getpixel((10, 35)), BLUE)


def test_unreadable_exif_keeps_the_image(tmp_path: Path, monkeypatch) -> None:
    path = _save_rgb(tmp_path / "odd.jpg", size=(32, 16))

    def broken(image, **kwargs):
        raise struct.error("unpack requires a buffer of 4 bytes")

    monkeypatch.setattr(ImageOps, "exif_transpose", broken)
    assert load_rgb(path).size == (32, 16)


def test_animated_gif_takes_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (16, 16), c) for c in (RED, (0, 255, 0), BLUE)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    assert Image.open(path).n_frames == 3
    im = load_rgb(path)
    assert im.mode == "RGB" and im.size == (16, 16)
    assert _close(im.getpixel((4, 4)), RED)


@pytest.mark.parametrize("name", ["浮世絵の波.jpg", "منمنمة فارسية.png", "🎨 painting 🖼.webp"])
def test_non_ascii_file_names(tmp_path: Path, name: str) -> None:
    path = _save_rgb(tmp_path / name, color=BLUE)
    im = load_rgb(path)
    assert _close(im.getpixel((4, 4)), BLUE)
    broken = tmp_path / f"broken {name}"
    broken.write_bytes(b"\x00\x01junk")
    with pytest.raises(ImageLoadError) as info:
        load_rgb(broken)
    assert str(info.value).startswith(f"broken {name}: ")
    assert collect_image_files([tmp_path]) == sorted([path, broken])


def test_loaded_image_is_detached_from_the_file(tmp_path: Path) -> None:
    path = _save_rgb(tmp_path / "a.png")
    im = load_rgb(path)
    path.unlink()  # would fail on Windows if a handle were kept; here check it still reads
    assert im.getpixel((0, 0)) == RED


# -- collecting files ------------------------------------------------------------------------


def test_collect_image_files_recurses_and_skips_hidden(tmp_path: Path) -> None:
    root = tmp_path / "styles"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".thumbnails").mkdir()
    wanted = [
        _save_rgb(root / "a.jpg"),
        _save_rgb(root / "B.PNG"),
        _save_rgb(root / "sub" / "c.webp"),
        _save_rgb(root / "sub" / "deeper" / "d.tiff"),
        _save_rgb(root / "sub" / "e.bmp"),
    ]
    _save_rgb(root / ".hidden.jpg")
    _save_rgb(root / "sub" / "._mac_resource.jpg")
    _save_rgb(root / ".thumbnails" / "t.jpg")
    (root / "readme.txt").write_text("x")
    (root / "folder.jpg").mkdir()  # a folder with an image-like name is not a file
    found = collect_image_files([root])
    assert sorted(found) == sorted(wanted)
    assert found == sorted(found)


def test_collect_image_files_takes_explicit_files_once(tmp_path: Path) -> None:
    a = _save_rgb(tmp_path / "a.jpg")
    b = _save_rgb(tmp_path / "b.jpg")
    assert collect_image_files([a, tmp_path, b]) == [a, b]
    with pytest.raises(FileNotFoundError, match="nowhere"):
        collect_image_files([tmp_path / "nowhere"])


def test_hidden_parent_folder_of_the_source_is_allowed(tmp_path: Path) -> None:
    root = tmp_path / ".cache" / "photos"
    root.mkdir(parents=True)
    path = _save_rgb(root / "p.jpg")
    assert collect_image_files([root]) == [path]
