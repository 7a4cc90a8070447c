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


def test_every_image_the_importer_accepts_is_readable_by_training_and_stylizing(
    tmp_path: Path, image_bytes
) -> None:
    """The gate's promise: what the library accepts, training and stylizing can read (the
    importer used to accept damaged PNGs whose decoder error EXIF reading swallowed)."""
    from ganstyle_desktop.engine.data import TrainingImages
    from ganstyle_desktop.engine.export import read_image_with_metadata

    cases = _cases(image_bytes) + _more_cases(image_bytes)
    accepted = unreadable = 0
    for name, data in cases:
        try:
            inspect_image(data, max_pixels=4_000_000)
        except ImageRejected:
            continue
        accepted += 1
        path = tmp_path / name
        path.write_bytes(data)
        try:
            TrainingImages([path], size=32)
            read_image_with_metadata(path)
        except Exception as exc:  # noqa: BLE001 - any failure here is the bug
            unreadable += 1
            print(f"{name}: accepted but unreadable: {exc!r}")
    assert accepted > 50
    assert unreadable == 0


def _more_cases(image_bytes) -> list[tuple[str, bytes]]:
    """Mutations of seeds with pixels worth damaging: noisy PNGs, a two-page TIFF, an
    animated GIF, a 16-bit PNG (the compressed pixel data is where decoders differ)."""
    rng = np.random.default_rng(SEED + 1)
    noise = rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)
    seeds = []
    for fmt in ("PNG", "TIFF", "WEBP", "JPEG"):
        buf = io.BytesIO()
        Image.fromarray(noise).save(buf, fmt)
        seeds.append((fmt, buf.getvalue()))
    buf = io.BytesIO()
    frames = [Image.fromarray(np.roll(noise, i, axis=1)) for i in range(3)]
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:])
    seeds.append(("TIFF", buf.getvalue()))
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=40)
    seeds.append(("GIF", buf.getvalue()))
    buf = io.BytesIO()
    Image.fromarray(noise[:, :, 0].astype(np.uint16) * 257).save(buf, "PNG")
    seeds.append(("PNG", buf.getvalue()))
    suffix = {"PNG": ".png", "TIFF": ".tif", "WEBP": ".webp", "JPEG": ".jpg", "GIF": ".gif"}
    cases = []
    for i in range(200):
        fmt, data = seeds[i % len(seeds)]
        cases.append((f"more_{i:03d}{suffix[fmt]}", _mutate(rng, data)))
    return cases
