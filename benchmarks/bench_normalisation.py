"""How the stylizer's normalisation policy behaves across image sizes and memory budgets.

For each photo (the content photos of ``../shared/data``, scaled to ``--size`` on the long
side; enlarged ones get a little sensor grain) and each tradition of the model, prints the
mean and max absolute difference, in 0..255 levels, of:

- ``tiled_vs_untiled``: the policy's output with ``--memory-mb 64`` (tiles) against the
  same photo with ``--memory-mb 8000`` (one whole-image pass), same settings otherwise
  (this is the "looks the same whether or not it is tiled" figure);
- ``policy_vs_plain``: the policy's whole-image pass against plain whole-image inference
  (instance norm over the full-size image itself, ``statistics="full"``: the pass a
  photo got under the old policy while it fitted the budget);
- ``preview_vs_export``: the app's preview (the photo downscaled to 768 px, stylized)
  against the full-size export downscaled to the same size, for the policy and for plain
  per-pass statistics (what the user previews against what they get).

With ``--views`` it also sweeps the view's short side (1, 1.125, 2, 3 and 4 x the training
size, and plain) and reports each one's difference to plain inference and its fidelity to
the model's own rendering at its training scale: the photo scaled to 1.125 x the training
size (the training pipeline's scale) and stylized, against the full-size output scaled
to that size (``vs_training_scale``) and both blurred to 36 px (``lowpass_vs_training``,
colour and tone only).

    python benchmarks/bench_normalisation.py --size 1600 --photos 3 --threads 1
    python benchmarks/bench_normalisation.py --size 1600 --photos 2 --views
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
PREVIEW_SIDE = 768
PHOTOS = ["content_003.jpg", "content_010.jpg", "content_021.jpg", "content_030.jpg"]


def _photo(name: str, long_side: int):
    import numpy as np
    from PIL import Image

    path = SHARED / "content" / name
    if path.is_file():
        im = Image.open(path).convert("RGB")
    else:  # no shared data: smooth colour fields, like tests/engine/test_stylize.py
        rng = np.random.default_rng(len(name))
        coarse = (rng.random((24, 36, 3)) * 255).astype(np.uint8)
        im = Image.fromarray(coarse).resize((360, 240), Image.Resampling.BICUBIC)
    scale = long_side / max(im.size)
    size = (round(im.width * scale), round(im.height * scale))
    up = scale > 1
    im = im.resize(size, Image.Resampling.BICUBIC if up else Image.Resampling.LANCZOS)
    pixels = np.asarray(im).astype(np.float32)
    if up:  # an enlarged photo is unnaturally smooth; real ones have grain
        pixels += np.random.default_rng(0).normal(0, 3, pixels.shape)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def _resize(image, size: tuple[int, int]):
    import numpy as np
    from PIL import Image

    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))


def _short_side(image, side: int):
    h, w = image.shape[:2]
    scale = side / min(h, w)
    return _resize(image, (round(w * scale), round(h * scale)))


def _diff(a, b) -> dict:
    import numpy as np

    d = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return {"mean": float(d.mean()), "max": int(d.max())}


def _summary(rows: list[dict]) -> dict:
    import numpy as np

    return {
        "mean": round(float(np.mean([r["mean"] for r in rows])), 3),
        "max": int(max(r["max"] for r in rows)),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, help="model file (default: the first in models/)")
    p.add_argument("--size", type=int, default=1600, help="long side of the photos")
    p.add_argument("--photos", type=int, default=3)
    p.add_argument("--traditions", type=int, default=2, help="of a multi-style model")
    p.add_argument("--views", action="store_true", help="also sweep the view size")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()

    import torch

    from ganstyle_desktop.engine.modelfile import load_model
    from ganstyle_desktop.engine.stylize import VIEW_FACTOR, stylize_array, training_size_of

    torch.set_num_threads(args.threads)
    model_path = args.model or sorted((ROOT / "models").glob("*.safetensors"))[0]
    model = load_model(model_path)
    training = training_size_of(model)
    slugs = list(getattr(model.generator, "traditions", []) or [None])[: args.traditions]

    def paint(image, blend, **options):
        return stylize_array(model, image, blend=blend, device="cpu", **options)

    started = time.perf_counter()
    rows: dict[str, list[dict]] = {
        "tiled_vs_untiled": [],
        "policy_vs_plain": [],
        "preview_vs_export_policy": [],
        "preview_vs_export_plain": [],
    }
    factors = [1.0, 1.125, 2.0, 3.0, 4.0]
    sweep: dict[str, dict[str, list[dict]]] = {}
    for name in PHOTOS[: args.photos]:
        image = _photo(name, args.size)
        h, w = image.shape[:2]
        scale = PREVIEW_SIDE / max(h, w)
        preview_size = (round(w * scale), round(h * scale))
        preview_photo = _resize(image, preview_size)
        for slug in slugs:
            blend = {slug: 1.0} if slug else None
            tiled = paint(image, blend, memory_budget_mb=64)
            whole = paint(image, blend, memory_budget_mb=8000)
            plain = paint(image, blend, memory_budget_mb=8000, tiling="whole", statistics="full")
            rows["tiled_vs_untiled"].append(_diff(tiled, whole))
            rows["policy_vs_plain"].append(_diff(whole, plain))
            preview = paint(preview_photo, blend, tiling="whole")
            plain_preview = paint(preview_photo, blend, tiling="whole", statistics="full")
            rows["preview_vs_export_policy"].append(_diff(preview, _resize(whole, preview_size)))
            rows["preview_vs_export_plain"].append(
                _diff(plain_preview, _resize(plain, preview_size))
            )
            if args.views:
                small = _short_side(image, round(1.125 * training))
                reference = paint(small, blend, tiling="whole", statistics="full")
                target = (small.shape[1], small.shape[0])
                blurred_ref = _resize(reference, (36 * w // min(h, w), 36 * h // min(h, w)))
                for factor in [None, *factors]:
                    key = "plain" if factor is None else f"{factor:g}x"
                    if factor is None:
                        out = plain
                    else:
                        side = round(factor * training)
                        out = paint(image, blend, memory_budget_mb=8000, view_side=side)
                    entry = sweep.setdefault(key, {"vs_plain": [], "vs_training_scale": []})
                    entry.setdefault("lowpass_vs_training", [])
                    entry["vs_plain"].append(_diff(out, plain))
                    entry["vs_training_scale"].append(_diff(_resize(out, target), reference))
                    blurred = _resize(out, (blurred_ref.shape[1], blurred_ref.shape[0]))
                    entry["lowpass_vs_training"].append(_diff(blurred, blurred_ref))
        print(f"done {name}", file=sys.stderr)

    result = {
        "benchmark": "normalisation",
        "machine": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "torch": torch.__version__,
        "cpu_threads": args.threads,
        "model": str(
            model_path.relative_to(ROOT) if model_path.is_relative_to(ROOT) else model_path
        ),
        "training_size": training,
        "view_factor": VIEW_FACTOR,
        "photo_long_side": args.size,
        "photos": PHOTOS[: args.photos],
        "traditions": slugs,
        "levels": "mean and max absolute difference over pixels and channels, 0..255",
        **{key: _summary(value) for key, value in rows.items()},
        "seconds": round(time.perf_counter() - started, 1),
    }
    if args.views:
        result["view_sweep"] = {
            key: {metric: _summary(values) for metric, values in entry.items()}
            for key, entry in sweep.items()
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
