"""16-bit RGB TIFF, read and written without a new dependency.

Pillow has no 16-bit RGB mode: it reads such files as 8-bit and cannot write them. This
module handles the plain case photographers export (uncompressed, chunky RGB, 16 bits per
sample, any byte order, any strip layout) and leaves everything else to Pillow.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from .fileguard import open_regular_file
from .imageio import size_problem

_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 7: 1}  # BYTE, ASCII, SHORT, LONG, UNDEFINED
_TAG_ICC = 34675
_TAG_ORIENTATION = 274


def write_tiff16(path: Path | str, pixels: np.ndarray, icc_profile: bytes | None = None) -> None:
    """Write an HxWx3 uint16 array as an uncompressed little-endian RGB TIFF."""
    if pixels.dtype != np.uint16 or pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError("write_tiff16 needs an HxWx3 uint16 array")
    h, w = pixels.shape[:2]
    data = np.ascontiguousarray(pixels, dtype="<u2")
    n_bytes = data.nbytes
    if n_bytes + 4096 + len(icc_profile or b"") >= 2**32:
        raise ValueError("image too large for a classic TIFF (4 GB)")
    bps_offset = 8 + n_bytes
    icc_offset = bps_offset + 6
    ifd_offset = icc_offset + len(icc_profile or b"")
    ifd_offset += ifd_offset % 2  # IFDs start on a word boundary
    entries = [
        (256, 4, 1, struct.pack("<I", w)),
        (257, 4, 1, struct.pack("<I", h)),
        (258, 3, 3, struct.pack("<I", bps_offset)),
        (259, 3, 1, struct.pack("<HH", 1, 0)),  # no compression
        (262, 3, 1, struct.pack("<HH", 2, 0)),  # RGB
        (273, 4, 1, struct.pack("<I", 8)),
        (277, 3, 1, struct.pack("<HH", 3, 0)),
        (278, 4, 1, struct.pack("<I", h)),
        (279, 4, 1, struct.pack("<I", n_bytes)),
        (284, 3, 1, struct.pack("<HH", 1, 0)),  # chunky
    ]
    if icc_profile:
        entries.append((_TAG_ICC, 7, len(icc_profile), struct.pack("<I", icc_offset)))
    with open(path, "wb") as fh:
        fh.write(b"II" + struct.pack("<HI", 42, ifd_offset))
        fh.write(memoryview(data).cast("B"))
        fh.write(struct.pack("<HHH", 16, 16, 16))
        if icc_profile:
            fh.write(icc_profile)
        if fh.tell() < ifd_offset:
            fh.write(b"\0")
        fh.write(struct.pack("<H", len(entries)))
        for tag, typ, count, value in entries:
            fh.write(struct.pack("<HHI", tag, typ, count) + value)
        fh.write(struct.pack("<I", 0))


class Tiff16Error(ValueError):
    """A 16-bit TIFF that cannot be read; the message says what is wrong with it."""


_MAX_TAGS = 4096


def read_tiff16(
    path: Path | str, max_pixels: int | None = None
) -> tuple[np.ndarray, bytes | None] | None:
    """(HxWx3 uint16 upright pixels, ICC profile) of a plain 16-bit RGB TIFF; None when the
    file is any other kind of TIFF (then Pillow reads it).

    Every offset and count is checked against the file's size before anything is read, so
    a damaged or hostile file costs no more memory than its pixels would (Tiff16Error
    says what is wrong); images over ``max_pixels`` are refused before reading pixels.
    """
    with open_regular_file(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        head = fh.read(8)
        if len(head) < 8 or head[:2] not in (b"II", b"MM"):
            return None
        bo = "<" if head[:2] == b"II" else ">"
        if struct.unpack(bo + "H", head[2:4])[0] != 42:
            return None  # BigTIFF or not a TIFF
        (ifd,) = struct.unpack(bo + "I", head[4:8])
        if ifd + 2 > size:
            raise Tiff16Error("truncated TIFF: its first directory lies outside the file")
        fh.seek(ifd)
        (count,) = struct.unpack(bo + "H", fh.read(2))
        if count > _MAX_TAGS or ifd + 2 + 12 * count > size:
            raise Tiff16Error("truncated TIFF: its directory runs past the end of the file")
        tags: dict[int, list] = {}
        broken: set[int] = set()  # tags whose values lie outside the file
        raw_entries = fh.read(12 * count)
        for i in range(count):
            tag, typ, n, value = struct.unpack(bo + "HHI4s", raw_entries[12 * i : 12 * i + 12])
            item = _TYPE_SIZES.get(typ)
            if item is None:
                continue
            if item * n <= 4:
                payload = value[: item * n]
            else:
                (offset,) = struct.unpack(bo + "I", value)
                if offset + item * n > size:
                    broken.add(tag)  # fatal only if this reader needs the tag (below)
                    continue
                here = fh.tell()
                fh.seek(offset)
                payload = fh.read(item * n)
                fh.seek(here)
            if typ in (1, 2, 7):
                tags[tag] = [payload]
            else:
                fmt = {2: "H", 4: "I"}[item]
                tags[tag] = list(struct.unpack(f"{bo}{n}{fmt}", payload))
        if broken & {258, 259, 262, 277, 284}:
            return None  # cannot tell whether it is a plain 16-bit RGB TIFF: Pillow decides
        samples = _first(tags, 277, 1)
        bits = tags.get(258, [1])
        if (
            samples not in (3, 4)
            or any(b != 16 for b in bits)
            or _first(tags, 259, 1) != 1
            or _first(tags, 262, 2) != 2
            or _first(tags, 284, 1) != 1
        ):
            return None
        for tag, what in ((256, "image width"), (257, "image height")):
            if not tags.get(tag):
                raise Tiff16Error(f"damaged 16-bit TIFF: it has no {what}")
        if broken & {256, 257, 273, 279}:
            raise Tiff16Error("damaged 16-bit TIFF: its size or strip tags point outside the file")
        for tag in (273, 279):
            if not tags.get(tag):
                raise Tiff16Error("damaged 16-bit TIFF: it does not say where its strips are")
        w, h = tags[256][0], tags[257][0]
        problem = size_problem(w, h, max_pixels)
        if problem:
            raise Tiff16Error(problem)
        offsets, counts = tags[273], tags[279]
        if len(offsets) != len(counts):
            raise Tiff16Error("damaged 16-bit TIFF: strip offsets and sizes do not pair up")
        needed = w * h * samples * 2
        for offset, n_bytes in zip(offsets, counts, strict=True):
            if offset + n_bytes > size:
                raise Tiff16Error("damaged 16-bit TIFF: a strip lies outside the file (truncated)")
        if sum(counts) < needed:
            raise Tiff16Error("truncated 16-bit TIFF: the strips hold fewer pixels than it says")
        data = bytearray()
        for offset, n_bytes in zip(offsets, counts, strict=True):
            if len(data) >= needed:
                break
            fh.seek(offset)
            data += fh.read(min(n_bytes, needed - len(data)))
    if len(data) < needed:
        raise Tiff16Error("truncated 16-bit TIFF strip data")
    pixels = np.frombuffer(bytes(data), dtype=f"{bo}u2", count=w * h * samples)
    pixels = pixels.reshape(h, w, samples)
    pixels = _orient(pixels[:, :, :3], _first(tags, _TAG_ORIENTATION, 1)).astype(np.uint16)
    icc = tags.get(_TAG_ICC, [None])[0]
    return np.ascontiguousarray(pixels), icc


def _first(tags: dict[int, list], tag: int, default: int) -> int:
    values = tags.get(tag)
    return values[0] if values else default


def _orient(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Apply a TIFF/EXIF orientation value so the pixels are upright."""
    # The transforms Pillow's exif_transpose applies for each orientation value.
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
        8: lambda a: np.rot90(a, 1),
    }
    op = ops.get(orientation)
    return op(pixels) if op else pixels
