"""A perceptual hash (dHash, 64 bits) to flag near-duplicate images.

dHash compares neighbouring pixels of a 9x8 greyscale thumbnail: it survives re-encoding,
resizing and small colour changes, and two images whose hashes differ in only a few bits
look alike.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

HASH_BITS = 64
NEAR_DUPLICATE_BITS = 6  # at most this many differing bits: flagged for review


def dhash(image: Image.Image) -> int:
    """64-bit difference hash of an (upright) image of any mode."""
    grey = image.convert("L").resize((9, 8), Image.Resampling.LANCZOS)
    px = np.asarray(grey, dtype=np.int16)
    bits = (px[:, 1:] > px[:, :-1]).flatten()
    return int(np.packbits(bits).view(">u8")[0])


def to_hex(value: int) -> str:
    return f"{value:016x}"


def from_hex(text: str) -> int:
    return int(text, 16)


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def nearest(value: int, others: np.ndarray) -> tuple[int, int]:
    """(index, distance) of the closest hash in ``others`` (uint64 array); (-1, 65) if empty."""
    if others.size == 0:
        return -1, HASH_BITS + 1
    dist = np.bitwise_count(np.bitwise_xor(others, np.uint64(value)))
    i = int(np.argmin(dist))
    return i, int(dist[i])
