"""One gate for images, shared by the importer, training and stylizing: the same verdict
and the same reason from each, a full decode that never swallows a decoder error, one
pixel limit, a stated minimum size, the first page of a multi-page file, and refusals
true to their cause (permission, special file, link loop, too large, damaged)."""

from __future__ import annotations

import errno
import io
import os
import struct
import threading
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from ganstyle_desktop.engine import fileguard, imageio
from ganstyle_desktop.engine.data import TrainingImages
from ganstyle_desktop.engine.export import read_image_with_metadata
from ganstyle_desktop.engine.imageio import ImageLoadError, load_rgb
from ganstyle_desktop.engine.tiff16 import write_tiff16
from ganstyle_desktop.library.probe import ImageRejected, inspect_image


def _noise_png(size=(64, 48), seed=0) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _verdicts(path: Path) -> dict[str, str]:
    """What each reader says about the file: "" for accepted, else its reason."""
    found = {}
    try:
        inspect_image(path.read_bytes())
        found["import"] = ""
    except ImageRejected as exc:
        found["import"] = exc.reason
    try:
        load_rgb(path)
        found["training"] = ""
    except ImageLoadError as exc:
        found["training"] = exc.reason
    try:
        read_image_with_metadata(path)
        found["stylize"] = ""
    except ImageLoadError as exc:
        found["stylize"] = exc.reason
    return found


# -- a full decode, never swallowed ----------------------------------------------------------


def _png_with_broken_idat(data: bytes) -> bytes:
    """The PNG with one byte of its compressed pixels changed (chunk CRC fixed up), so only
    decoding the pixels can notice."""
    out = bytearray(data)
    pos = 8
    while pos < len(out):
        (length,) = struct.unpack(">I", out[pos : pos + 4])
        kind = bytes(out[pos + 4 : pos + 8])
        if kind == b"IDAT":
            body = pos + 8
            out[body + length // 2] ^= 0xFF
            crc = zlib.crc32(bytes(out[pos + 4 : body + length])) & 0xFFFFFFFF
            out[body + length : body + length + 4] = struct.pack(">I", crc)
            return bytes(out)
        pos += 12 + length
    raise AssertionError("no IDAT chunk")


def test_a_png_with_damaged_pixels_is_refused_by_the_importer_as_by_training(
    tmp_path: Path,
) -> None:
    path = tmp_path / "damaged.png"
    path.write_bytes(_png_with_broken_idat(_noise_png()))
    verdicts = _verdicts(path)
    assert verdicts["training"], "the damaged pixels must not decode"
    assert verdicts["import"] and "damaged" in verdicts["import"]
    assert verdicts["stylize"]


def test_any_decoder_exception_becomes_a_refusal_not_a_crash(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "odd.png"
    path.write_bytes(_noise_png())

    def confused_decoder(self, *args, **kwargs):
        raise TypeError("unsupported operand type(s)")

    monkeypatch.setattr(imageio.Image.Image, "load", confused_decoder)
    monkeypatch.setattr(ImageFile.ImageFile, "load", confused_decoder)
    with pytest.raises(ImageLoadError, match=r"^odd\.png: damaged .*TypeError"):
        load_rgb(path)
    with pytest.raises(ImageRejected, match="damaged"):
        inspect_image(path.read_bytes())


# -- one pixel limit, stated minimum sizes ---------------------------------------------------


def test_the_importer_training_and_stylizing_share_one_pixel_limit(
    tmp_path: Path, monkeypatch
) -> None:
    from ganstyle_desktop.library.importer import ImportOptions

    assert ImportOptions().max_pixels in (None, imageio.pixel_limit())
    path = tmp_path / "big.png"
    Image.new("RGB", (1200, 1000), (1, 2, 3)).save(path)  # 1.2 MP
    assert set(_verdicts(path).values()) == {""}
    monkeypatch.setenv(imageio.MAX_PIXELS_ENV, "1000000")
    verdicts = _verdicts(path)
    assert all("over the limit of 1,000,000" in reason for reason in verdicts.values())
    monkeypatch.delenv(imageio.MAX_PIXELS_ENV)
    imageio.set_pixel_limit(1_100_000)
    try:
        assert all("over the limit of 1,100,000" in r for r in _verdicts(path).values())
    finally:
        imageio.set_pixel_limit(None)
    assert imageio.pixel_limit() == imageio.DEFAULT_MAX_PIXELS


def test_a_limit_above_pillows_own_is_the_one_that_decides(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow refuses over 2000 itself
    path = tmp_path / "mid.png"
    Image.new("RGB", (60, 50), (1, 2, 3)).save(path)  # 3000 px
    imageio.set_pixel_limit(5000)
    try:
        assert set(_verdicts(path).values()) == {""}
    finally:
        imageio.set_pixel_limit(None)


@pytest.mark.parametrize("size", [(1, 4000), (4000, 1), (1, 1), (15, 300)])
def test_images_below_the_minimum_size_say_so_everywhere(tmp_path: Path, size) -> None:
    path = tmp_path / "small.png"
    Image.new("RGB", size, (200, 100, 50)).save(path)
    w, h = size
    for reader, reason in _verdicts(path).items():
        assert reason.startswith(f"{w} x {h} px is too small"), reader
        assert "at least 16 x 16 px" in reason
    with pytest.raises(Exception, match="at least 16 x 16 px"):
        TrainingImages([path], size=32)


def test_sixteen_pixels_square_is_enough(tmp_path: Path) -> None:
    path = tmp_path / "tiny.png"
    Image.new("RGB", (16, 16), (200, 100, 50)).save(path)
    assert set(_verdicts(path).values()) == {""}
    assert len(TrainingImages([path], size=32)) == 1


# -- multi-page files ------------------------------------------------------------------------


def _two_page_tiff_second_without_dimensions() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 10, 10)).save(buf, "TIFF")
    data = bytearray(buf.getvalue())
    (ifd,) = struct.unpack("<I", data[4:8])
    (count,) = struct.unpack("<H", data[ifd : ifd + 2])
    next_pointer = ifd + 2 + 12 * count
    data += b"\0" * (len(data) % 2)
    second = len(data)
    data += struct.pack("<H", 1) + struct.pack("<HHII", 254, 4, 1, 1) + struct.pack("<I", 0)
    data[next_pointer : next_pointer + 4] = struct.pack("<I", second)
    return bytes(data)


def test_a_multi_page_tiff_is_read_as_its_first_page_everywhere(tmp_path: Path) -> None:
    path = tmp_path / "pages.tif"
    path.write_bytes(_two_page_tiff_second_without_dimensions())
    assert set(_verdicts(path).values()) == {""}
    facts = inspect_image(path.read_bytes())
    assert (facts.width, facts.height) == (32, 24)
    assert any("first page" in note for note in facts.notes)
    assert load_rgb(path).getpixel((5, 5)) == (200, 10, 10)


# -- refusals true to their cause ------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX special files")
def test_a_fifo_is_refused_at_once_never_opened_for_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    result: list = []
    worker = threading.Thread(target=lambda: result.append(_catch(load_rgb, fifo)), daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():  # unblock the reader so the test process can end
        with open(fifo, "wb"):
            pass
        pytest.fail("load_rgb blocked on a FIFO")
    assert "not a regular file (a FIFO (named pipe))" in result[0]


def _catch(fn, *args) -> str:
    try:
        fn(*args)
    except Exception as exc:
        return str(exc)
    return ""


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_a_symlink_loop_is_called_a_loop_not_a_missing_file(tmp_path: Path) -> None:
    loop = tmp_path / "loop.jpg"
    loop.symlink_to(loop)
    with pytest.raises(ImageLoadError, match="symbolic link loop"):
        load_rgb(loop)
    with pytest.raises(ImageLoadError, match="no such file"):
        load_rgb(tmp_path / "missing.jpg")


def test_no_permission_is_called_that_not_damaged_data(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "locked.png"
    path.write_bytes(_noise_png())
    real_open = os.open

    def denied(p, flags, *args, **kwargs):
        if os.fspath(p) == os.fspath(path):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(p))
        return real_open(p, flags, *args, **kwargs)

    monkeypatch.setattr(fileguard.os, "open", denied)
    with pytest.raises(ImageLoadError) as info:
        load_rgb(path)
    assert info.value.reason == "no permission to read it"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_a_real_unreadable_file_says_permission(tmp_path: Path) -> None:
    path = tmp_path / "locked.png"
    path.write_bytes(_noise_png())
    path.chmod(0)
    try:
        with pytest.raises(ImageLoadError, match="no permission to read it"):
            load_rgb(path)
    finally:
        path.chmod(0o644)


def test_a_name_that_is_not_utf8_is_printable_in_messages(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9.png")
    path = tmp_path / name
    path.write_bytes(b"junk")
    with pytest.raises(ImageLoadError) as info:
        load_rgb(path)
    message = str(info.value)
    message.encode("utf-8")  # printable and storable
    assert message.startswith("caf\\xe9.png: ")


# -- 16-bit TIFFs: clear errors, bounded memory ----------------------------------------------


def _tiff16(path: Path, w: int = 24, h: int = 20) -> Path:
    pixels = (np.arange(w * h * 3, dtype=np.uint32).reshape(h, w, 3) * 37 % 65535).astype(np.uint16)
    write_tiff16(path, pixels)
    return path


def _drop_tag(data: bytes, tag: int) -> bytes:
    out = bytearray(data)
    (ifd,) = struct.unpack("<I", out[4:8])
    (count,) = struct.unpack("<H", out[ifd : ifd + 2])
    for i in range(count):
        at = ifd + 2 + 12 * i
        if struct.unpack("<H", out[at : at + 2])[0] == tag:
            out[at : at + 2] = struct.pack("<H", 65000)  # an unknown private tag now
    return bytes(out)


def _set_tag(data: bytes, tag: int, value: int) -> bytes:
    out = bytearray(data)
    (ifd,) = struct.unpack("<I", out[4:8])
    (count,) = struct.unpack("<H", out[ifd : ifd + 2])
    for i in range(count):
        at = ifd + 2 + 12 * i
        if struct.unpack("<H", out[at : at + 2])[0] == tag:
            out[at + 2 : at + 4] = struct.pack("<H", 4)  # LONG
            out[at + 8 : at + 12] = struct.pack("<I", value)
    return bytes(out)


@pytest.mark.parametrize(
    "damage, words",
    [
        (lambda d: _drop_tag(d, 256), "width"),
        (lambda d: _drop_tag(d, 257), "height"),
        (lambda d: _drop_tag(d, 273), "strip"),
        (lambda d: d[: len(d) // 2], "truncated"),
        (lambda d: _set_tag(d, 273, 10**9), "outside the file"),
    ],
)
def test_damaged_16_bit_tiffs_give_clear_errors(tmp_path: Path, damage, words: str) -> None:
    path = tmp_path / "deep.tif"
    path.write_bytes(damage(_tiff16(tmp_path / "good.tif").read_bytes()))
    with pytest.raises(ImageLoadError) as info:
        read_image_with_metadata(path)
    assert str(info.value).startswith("deep.tif: ") and words in str(info.value)


def test_a_16_bit_tiff_only_the_gate_can_read_is_read_at_8_bits(tmp_path: Path) -> None:
    # No strip sizes: the 16-bit reader gives up, Pillow (the gate, which the importer
    # used to accept it) infers them; stylizing must then read it too, at 8 bits.
    path = tmp_path / "no-counts.tif"
    path.write_bytes(_drop_tag(_tiff16(tmp_path / "good.tif").read_bytes(), 279))
    assert set(_verdicts(path).values()) == {""}
    pixels, _ = read_image_with_metadata(path)
    assert pixels.dtype == np.uint8 and pixels.shape == (20, 24, 3)


def test_a_small_16_bit_tiff_claiming_huge_strips_costs_no_memory(tmp_path: Path) -> None:
    data = _tiff16(tmp_path / "good.tif").read_bytes()
    data = _set_tag(_set_tag(data, 256, 30000), 257, 30000)  # 900 MP, 5.4 GB of pixels
    data = _set_tag(data, 279, 4_400_000_000 % 2**32)
    path = tmp_path / "liar.tif"
    path.write_bytes(data + b"\0" * 1_100_000)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ImageLoadError):
            read_image_with_metadata(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024 * 1024 and time.perf_counter() - started < 5
    imageio.set_pixel_limit(None)


def test_a_good_16_bit_tiff_still_reads_at_16_bits(tmp_path: Path) -> None:
    path = _tiff16(tmp_path / "good.tif")
    pixels, _ = read_image_with_metadata(path)
    assert pixels.dtype == np.uint16 and pixels.shape == (20, 24, 3)
    tiny = _tiff16(tmp_path / "tiny.tif", w=4, h=4)
    with pytest.raises(ImageLoadError, match="at least 16 x 16 px"):
        read_image_with_metadata(tiny)
