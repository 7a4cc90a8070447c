"""Random and mutated bytes never crash the importer: each file is imported or skipped
with a reason, and the catalog stays consistent."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from ganstyle_desktop.library import Catalog, ImportOptions, import_paths
from ganstyle_desktop.library.probe import ImageRejected, inspect_image

SEED = 20261125
N_CASES = 320


def _seeds(image_bytes) -> list[bytes]:
    seeds = [
        image_bytes(i, size=(24, 16), fmt=fmt)
        for i, fmt in enumerate(["JPEG", "PNG", "WEBP", "TIFF", "BMP", "GIF"])
    ]
    buf = io.BytesIO()
    Image.new("CMYK", (16, 16), (1, 2, 3, 4)).save(buf, "JPEG")
    seeds.append(buf.getvalue())
    return seeds


def _mutate(rng: np.random.Generator, data: bytes) -> bytes:
    arr = bytearray(data)
    kind = rng.integers(0, 5)
    if kind == 0:  # flip random bytes
        for _ in range(int(rng.integers(1, 20))):
            arr[int(rng.integers(0, len(arr)))] = int(rng.integers(0, 256))
    elif kind == 1:  # truncate
        arr = arr[: int(rng.integers(0, len(arr)))]
    elif kind == 2:  # splice random bytes in
        pos = int(rng.integers(0, len(arr)))
        arr[pos:pos] = rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
    elif kind == 3:  # corrupt the header region, where sizes live
        for _ in range(4):
            arr[int(rng.integers(0, min(len(arr), 64)))] = int(rng.integers(0, 256))
    else:  # duplicate a chunk
        a = int(rng.integers(0, len(arr)))
        b = min(len(arr), a + int(rng.integers(1, 200)))
        arr[b:b] = arr[a:b]
    return bytes(arr)


def _cases(image_bytes) -> list[tuple[str, bytes]]:
    rng = np.random.default_rng(SEED)
    seeds = _seeds(image_bytes)
    suffixes = [".jpg", ".png", ".webp", ".tif", ".bmp", ".gif"]
    cases = []
    for i in range(N_CASES):
        if i % 4 == 0:
            data = rng.integers(0, 256, int(rng.integers(0, 2048)), dtype=np.uint8).tobytes()
        else:
            data = _mutate(rng, seeds[i % len(seeds)])
        cases.append((f"case_{i:03d}{suffixes[i % len(suffixes)]}", data))
    return cases


def test_probe_only_ever_raises_image_rejected(image_bytes) -> None:
    for name, data in _cases(image_bytes):
        try:
            facts = inspect_image(data, max_pixels=4_000_000)
        except ImageRejected as exc:
            assert exc.reason, name
        else:
            assert facts.width > 0 and facts.height > 0 and len(facts.phash) == 23


def test_fuzzed_folder_and_zip_import_never_crash(tmp_path: Path, image_bytes) -> None:
    folder = tmp_path / "fuzz"
    folder.mkdir()
    cases = _cases(image_bytes)
    for name, data in cases:
        (folder / name).write_bytes(data)
    archive = tmp_path / "fuzz.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data in cases[:80]:
            zf.writestr(f"z/{name}", data)
    # a zip with a mangled central directory as well
    (tmp_path / "mangled.zip").write_bytes(archive.read_bytes()[:-30] + b"\xff" * 30)

    with Catalog.open(tmp_path / "ws") as catalog:
        did = catalog.create_dataset("fuzz")
        options = ImportOptions(max_pixels=4_000_000)
        report = import_paths(
            catalog, did, [folder, archive, tmp_path / "mangled.zip"], options=options
        )
        handled = len(report.imported) + len(report.skipped)
        assert handled >= len(cases) + 80
        assert all(s.reason for s in report.skipped)
        assert len(report.imported) > 0 and len(report.skipped) > 0
        assert catalog.check().ok
        for record in catalog.list_images(did)[:40]:
            assert record.width > 0 and catalog.store.verify(record.sha256)
