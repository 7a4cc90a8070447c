"""A perceptual signature to flag near-duplicate images: a 64-bit dHash plus mean colour.

dHash compares neighbouring pixels of a 9x8 greyscale thumbnail: it survives re-encoding,
resizing and small colour changes, and two images whose hashes differ in only a few bits
look alike. Flat or nearly flat images all hash alike, so the mean colour must agree too:
a red card and a blue card are not duplicates. Stored as text ``"<16 hex>-<rrggbb>"``.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageStat

HASH_BITS = 64
NEAR_DUPLICATE_BITS = 6  # at most this many differing bits ...
COLOUR_TOLERANCE = 40  # ... and mean colours within this (per channel, 0..255)


def dhash(image: Image.Image) -> int:
    """64-bit difference hash of an (upright) image of any mode."""
    grey = image.convert("L").resize((9, 8), Image.Resampling.LANCZOS)
    px = np.asarray(grey, dtype=np.int16)
    bits = (px[:, 1:] > px[:, :-1]).flatten()
    return int(np.packbits(bits).view(">u8")[0])


def signature(image: Image.Image) -> str:
    """The stored signature of an upright RGB image: dHash and mean colour."""
    mean = ImageStat.Stat(image.convert("RGB")).mean
    r, g, b = (int(round(c)) for c in mean[:3])
    return f"{dhash(image):016x}-{r:02x}{g:02x}{b:02x}"


def parse_signature(text: str) -> tuple[int, tuple[int, int, int] | None]:
    """(hash, mean colour); the colour is None for a bare 16-digit hash."""
    head, _, colour = text.partition("-")
    rgb = None
    if len(colour) == 6:
        rgb = (int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16))
    return int(head, 16), rgb


def to_hex(value: int) -> str:
    return f"{value:016x}"


def from_hex(text: str) -> int:
    return parse_signature(text)[0]


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def _popcount(values: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):  # numpy >= 2
        return np.bitwise_count(values).astype(np.int32)
    bits = np.unpackbits(values.astype(np.uint64).view(np.uint8).reshape(-1, 8), axis=1)
    return bits.sum(axis=1).astype(np.int32)


def nearest(value: int, others: np.ndarray) -> tuple[int, int]:
    """(index, distance) of the closest hash in ``others`` (uint64 array); (-1, 65) if empty."""
    if others.size == 0:
        return -1, HASH_BITS + 1
    dist = _popcount(np.bitwise_xor(others, np.uint64(value)))
    i = int(np.argmin(dist))
    return i, int(dist[i])


class SignatureIndex:
    """Signatures of a dataset in growing arrays; finds the closest look-alike."""

    def __init__(self) -> None:
        self.ids: list[int | None] = []  # None: an entry to ignore (its row was not kept)
        self._hashes = np.zeros(256, dtype=np.uint64)
        self._colours = np.zeros((256, 3), dtype=np.int16)  # -1: unknown colour

    def add(self, image_id: int, text: str) -> int:
        value, rgb = parse_signature(text)
        n = len(self.ids)
        if n == len(self._hashes):
            self._hashes = np.concatenate([self._hashes, np.zeros_like(self._hashes)])
            self._colours = np.concatenate([self._colours, np.zeros_like(self._colours)])
        self._hashes[n] = np.uint64(value)
        self._colours[n] = rgb if rgb is not None else (-1, -1, -1)
        self.ids.append(image_id)
        return n

    def near(
        self, text: str, max_bits: int = NEAR_DUPLICATE_BITS, tolerance: int = COLOUR_TOLERANCE
    ) -> int | None:
        """Id of the closest entry within ``max_bits`` whose colour agrees, else None."""
        n = len(self.ids)
        if n == 0:
            return None
        value, rgb = parse_signature(text)
        dist = _popcount(np.bitwise_xor(self._hashes[:n], np.uint64(value)))
        if rgb is not None:
            colours = self._colours[:n]
            unknown = colours[:, 0] < 0
            far = np.abs(colours - np.array(rgb, dtype=np.int16)).max(axis=1) > tolerance
            dist[far & ~unknown] = HASH_BITS + 1
        dist[[i for i, x in enumerate(self.ids) if x is None]] = HASH_BITS + 1
        i = int(np.argmin(dist))
        return self.ids[i] if dist[i] <= max_bits else None
