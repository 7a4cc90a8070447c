"""Fuzzing the image gate: mutated and random files through the importer's check, then
every accepted one through training's and stylizing's readers; prints JSON (not a test).

    python benchmarks/bench_fuzz.py [--cases 10000] [--workers 2] [--seed 20261201]

Counts, which must all be zero:
- ``crashes``: an exception other than the gate's refusal (ImageRejected from the
  importer's probe, ImageLoadError from the readers) escaped;
- ``hangs``: one case took longer than ``--hang-seconds`` (checked with an alarm);
- ``accepted_but_unreadable``: the importer accepted a file that training
  (``TrainingImages``) or stylizing (``read_image_with_metadata``) then could not read.

A sample of the cases also goes through the whole importer (``import_paths`` on a folder
and a zip of them) to show a batch never stops and the catalog stays consistent.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import signal
import sys
import tempfile
import time
import traceback
import zipfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

SUFFIX = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "TIFF": ".tif", "BMP": ".bmp"}
SUFFIX["GIF"] = ".gif"


# -- the corpus ----------------------------------------------------------------------------


def _save(im: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **options)
    return buf.getvalue()


def seeds() -> list[tuple[str, bytes]]:
    """Valid files of every kind the gate accepts, small enough to mutate quickly."""
    from ganstyle_desktop.engine.tiff16 import write_tiff16

    rng = np.random.default_rng(7)
    noise = rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:40, 0:48]
    smooth = np.stack([xx * 5, yy * 6, (xx + yy) * 3], axis=-1).astype(np.uint8)
    rgb, calm = Image.fromarray(noise), Image.fromarray(smooth)
    exif = Image.Exif()
    exif[0x0112] = 6
    frames = [Image.fromarray(np.roll(noise, i * 7, axis=1)) for i in range(3)]
    palette = calm.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    out = [
        ("JPEG", _save(rgb, "JPEG", quality=90)),
        ("JPEG", _save(calm, "JPEG", quality=75, progressive=True)),
        ("JPEG", _save(calm, "JPEG", exif=exif)),
        ("JPEG", _save(Image.new("CMYK", (32, 24), (10, 200, 30, 5)), "JPEG")),
        ("PNG", _save(rgb, "PNG")),
        ("PNG", _save(calm.convert("RGBA"), "PNG")),
        ("PNG", _save(palette, "PNG", transparency=0)),
        ("PNG", _save(calm.convert("L"), "PNG")),
        ("PNG", _save(Image.fromarray(noise[:, :, 0].astype(np.uint16) * 257), "PNG")),
        ("WEBP", _save(rgb, "WEBP", quality=80)),
        ("WEBP", _save(calm, "WEBP", lossless=True)),
        ("TIFF", _save(rgb, "TIFF")),
        ("TIFF", _save(calm, "TIFF", compression="tiff_deflate")),
        ("TIFF", _save(frames[0], "TIFF", save_all=True, append_images=frames[1:])),
        ("BMP", _save(rgb, "BMP")),
        ("GIF", _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=40)),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        deep = Path(tmp) / "deep.tif"
        write_tiff16(deep, (noise.astype(np.uint16) * 257))
        out.append(("TIFF", deep.read_bytes()))
    return out


def mutate(rng: np.random.Generator, data: bytes) -> bytes:
    arr = bytearray(data)
    if len(arr) < 2:  # a case truncated to nothing stays so
        return bytes(arr)
    kind = int(rng.integers(0, 8))
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
    elif kind == 4:  # duplicate a chunk
        a = int(rng.integers(0, len(arr)))
        b = min(len(arr), a + int(rng.integers(1, 200)))
        arr[b:b] = arr[a:b]
    elif kind == 5:  # a huge number where a size or offset may be
        pos = int(rng.integers(0, max(1, len(arr) - 4)))
        arr[pos : pos + 4] = bytes(rng.choice([b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff"]))
    elif kind == 6:  # zero a stretch of the compressed data
        a = int(rng.integers(0, len(arr)))
        arr[a : a + int(rng.integers(1, 100))] = bytes(min(len(arr) - a, 100))
    else:  # flip bits in the second half (pixel data, not headers)
        for _ in range(int(rng.integers(1, 8))):
            pos = int(rng.integers(len(arr) // 2, len(arr)))
            arr[pos] ^= 1 << int(rng.integers(0, 8))
    return bytes(arr)


def cases(n: int, seed: int) -> list[tuple[str, bytes]]:
    rng = np.random.default_rng(seed)
    pool = seeds()
    found = []
    for i in range(n):
        fmt, data = pool[i % len(pool)]
        if i % 10 == 0:  # random bytes, sometimes behind a real magic number
            data = rng.integers(0, 256, int(rng.integers(0, 4096)), dtype=np.uint8).tobytes()
            if i % 20 == 0:
                data = pool[int(rng.integers(0, len(pool)))][1][:16] + data
        else:
            data = mutate(rng, data)
            if i % 7 == 0:
                data = mutate(rng, data)  # twice
        found.append((f"case_{i:05d}{SUFFIX[fmt]}", data))
    return found


# -- one case ------------------------------------------------------------------------------


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang()


def _init_worker(tmp: str, hang_seconds: int, max_pixels: int) -> None:
    global _TMP, _HANG, _MAX_PIXELS
    _TMP, _HANG, _MAX_PIXELS = Path(tmp), hang_seconds, max_pixels
    signal.signal(signal.SIGALRM, _alarm)


def run_case(case: tuple[str, bytes]) -> dict:
    from ganstyle_desktop.engine.data import NoTrainingImages, TrainingImages
    from ganstyle_desktop.engine.export import read_image_with_metadata
    from ganstyle_desktop.engine.imageio import ImageLoadError
    from ganstyle_desktop.library.probe import ImageRejected, inspect_image

    name, data = case
    result = {"name": name, "outcome": "rejected", "detail": ""}
    path = _TMP / name
    signal.alarm(_HANG)
    try:
        try:
            inspect_image(data, max_pixels=_MAX_PIXELS)
        except ImageRejected as exc:
            result["detail"] = _category(exc.reason)
            return result
        result["outcome"] = "accepted"
        path.write_bytes(data)
        try:
            TrainingImages([path], size=32)
            read_image_with_metadata(path, max_pixels=_MAX_PIXELS)
        except (NoTrainingImages, ImageLoadError) as exc:
            result.update(outcome="accepted_but_unreadable", detail=str(exc))
    except _Hang:
        result.update(outcome="hang", detail=f"over {_HANG} s")
    except Exception:  # noqa: BLE001 - exactly what this benchmark counts
        result.update(outcome="crash", detail=traceback.format_exc(limit=3))
    finally:
        signal.alarm(0)
        path.unlink(missing_ok=True)
    return result


def _category(reason: str) -> str:
    for words in (
        "not an image",
        "damaged",
        "truncated",
        "too small",
        "over the limit",
        "too many pixels",
        "too long and thin",
        "no pixels",
        "empty",
        "cannot convert",
    ):
        if words in reason:
            return words
    return reason[:60]


# -- a batch through the whole importer ----------------------------------------------------


def import_batch(sample: list[tuple[str, bytes]], root: Path, max_pixels: int) -> dict:
    from ganstyle_desktop.library import Catalog, ImportOptions, import_paths

    folder = root / "batch"
    folder.mkdir()
    for name, data in sample:
        (folder / name).write_bytes(data)
    archive = root / "batch.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data in sample[: len(sample) // 4]:
            zf.writestr(f"z/{name}", data)
    with Catalog.open(root / "ws") as catalog:
        did = catalog.create_dataset("fuzz")
        started = time.perf_counter()
        report = import_paths(
            catalog, did, [folder, archive], options=ImportOptions(max_pixels=max_pixels)
        )
        seconds = time.perf_counter() - started
        return {
            "files": len(sample) + len(sample) // 4,
            "imported": len(report.imported),
            "already_present": len(report.duplicates),
            "refused": len(report.failures),
            "every_file_accounted_for": len(report.imported) + len(report.skipped)
            >= len(sample) + len(sample) // 4,
            "catalog_consistent": catalog.check().ok,
            "seconds": round(seconds, 2),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--hang-seconds", type=int, default=20)
    parser.add_argument(
        "--max-pixels", type=int, default=4_000_000, help="pixel limit for the fuzzed files"
    )
    parser.add_argument("--batch", type=int, default=1000, help="cases run through import")
    args = parser.parse_args()

    corpus = cases(args.cases, args.seed)
    started = time.perf_counter()
    outcomes: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    examples: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        with multiprocessing.get_context("fork").Pool(
            args.workers, _init_worker, (tmp, args.hang_seconds, args.max_pixels)
        ) as pool:
            for done, result in enumerate(pool.imap_unordered(run_case, corpus, 16), 1):
                outcomes[result["outcome"]] += 1
                if result["outcome"] == "rejected":
                    reasons[result["detail"]] += 1
                elif result["outcome"] != "accepted":
                    examples.setdefault(result["outcome"], [])
                    if len(examples[result["outcome"]]) < 5:
                        examples[result["outcome"]].append(result)
                if done % 1000 == 0:
                    print(f"{done}/{len(corpus)} {dict(outcomes)}", file=sys.stderr)
        fuzz_seconds = time.perf_counter() - started
        root = Path(tmp) / "import"
        root.mkdir()
        batch = import_batch(corpus[: args.batch], root, args.max_pixels) if args.batch else {}
    print(
        json.dumps(
            {
                "cases": len(corpus),
                "seed": args.seed,
                "seed_files": len(seeds()),
                "accepted": outcomes["accepted"],
                "rejected": outcomes["rejected"],
                "crashes": outcomes["crash"],
                "hangs": outcomes["hang"],
                "accepted_but_unreadable": outcomes["accepted_but_unreadable"],
                "rejection_reasons": dict(reasons.most_common()),
                "seconds": round(fuzz_seconds, 1),
                "workers": args.workers,
                "load_average": [round(x, 2) for x in os.getloadavg()],
                "import_batch": batch,
                "examples": examples,
            },
            indent=2,
        )
    )
    failed = outcomes["crash"] + outcomes["hang"] + outcomes["accepted_but_unreadable"]
    return 1 if failed or not batch.get("catalog_consistent", True) else 0


if __name__ == "__main__":
    sys.exit(main())
