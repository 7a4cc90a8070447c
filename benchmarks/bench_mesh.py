"""The fine mesh: how strongly a pattern repeating every 2 and 4 pixels stands out of the
paintings, against photos and the traditions' own artworks.

The painter paints at 1/4 resolution and doubles twice; what it gets wrong repeats at
those periods, a fine mesh over the whole picture. ``engine.metrics.mesh_excess`` is the
median over images of the energy at those frequencies over the energy around them (1 =
none). This measures it for each model in every tradition on the held-apart photos at 256
and 512 px (as ``ship_starter.py`` paints them, every pixel), and for the photos and each
tradition's artworks (256 px) as the baseline.

    python benchmarks/bench_mesh.py [--model M ...] [--sizes 256,512] [--untrained]

``--untrained`` also measures the pretrained network the painter starts from, in the
starting codes of the five shipped traditions (contrast 1, evenness 1, as
``bench_style_contrast.py`` paints them), at the first size.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_recipe import style_subset  # noqa: E402
from data_sets import load_square, photo_split  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_model = ROOT / "models" / "ganstyle-traditions.safetensors"
    parser.add_argument("--model", type=Path, action="append", help="default: the starter")
    parser.add_argument("--sizes", default="256,512")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--untrained", action="store_true",
                        help="also the pretrained network in the starting codes")
    args = parser.parse_args()

    from ganstyle_desktop.engine import onnx_backend
    from ganstyle_desktop.engine.metrics import mesh_excess
    from ganstyle_desktop.engine.modelfile import load_model
    from ganstyle_desktop.engine.stylize import stylize_array

    onnx_backend.set_thread_limit(args.threads)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    _, held = photo_split()
    photos = {size: load_square(held, size) for size in sizes}
    result: dict = {"benchmark": "bench_mesh", "photos": len(held),
                    "baseline": {"photos": round(mesh_excess(photos[sizes[0]]), 3)},
                    "models": {}}
    models = args.model or [default_model]
    traditions: list[str] = []
    for path in models:
        model = load_model(path, device="cpu")
        slugs = [t["slug"] if isinstance(t, dict) else str(t) for t in model.traditions]
        traditions = traditions or slugs
        rows: dict = {}
        for slug in slugs:
            blend = {slug: 1.0} if len(slugs) > 1 else None
            rows[slug] = {
                f"{size}px": round(mesh_excess(
                    [stylize_array(model, p, blend=blend, device="cpu")
                     for p in photos[size]]), 3)
                for size in sizes
            }
        result["models"][str(path)] = rows
    for slug in traditions:
        try:
            result["baseline"][slug] = round(mesh_excess(load_square(style_subset(slug),
                                                                     sizes[0])), 3)
        except (OSError, ValueError) as exc:  # a tradition of the model's not in the data
            result["baseline"][slug] = f"not measured: {exc}"
    if args.untrained:
        result["untrained"] = _untrained(photos[sizes[0]])
    print(json.dumps(result, indent=1))
    return 0


def _untrained(photos: list) -> dict:
    import torch
    from bench_style_contrast import EMBED_IMAGES, STYLE_HOLDOUT_EVERY, TRADITIONS, _pixels, _tensor
    from data_sets import style_files

    from ganstyle_desktop.engine.methods.recipe import contrasted, evened
    from ganstyle_desktop.engine.metrics import mesh_excess
    from ganstyle_desktop.engine.style_prior import shared_prior
    from ganstyle_desktop.engine.style_teacher import shared_teacher

    torch.set_num_threads(1)
    prior, teacher = shared_prior("cpu"), shared_teacher("cpu")
    means = []
    for slug in TRADITIONS:
        files = style_files(slug)
        train = [f for i, f in enumerate(files, 1) if i % STYLE_HOLDOUT_EVERY]
        step = max(1, len(train) // EMBED_IMAGES)
        with torch.no_grad():
            crops = _tensor(load_square(train[::step][:EMBED_IMAGES]))
            means.append(prior.embedding(crops).mean(0))
    codes = contrasted(evened(torch.stack(means), 1.0), 1.0)
    x = _tensor(photos)
    out = {}
    with torch.no_grad():
        for slug, code in zip(TRADITIONS, codes, strict=True):
            paintings = _pixels(teacher(x, code[None].expand(len(photos), -1)))
            out[slug] = round(mesh_excess(paintings), 3)
    return out


if __name__ == "__main__":
    sys.exit(main())
