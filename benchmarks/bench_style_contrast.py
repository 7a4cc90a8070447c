"""How the painter's starting style codes paint, before any training, at several contrasts.

Each tradition's code is the mean style embedding of its training artworks (every 5th file
held apart, as ``train_starter.py`` does), pushed ``contrast`` times its offset away from the
mean of the traditions' codes (``methods/recipe.contrasted``, the one definition). The
pretrained transfer network (the painter at step 0, and the teacher of its training) paints
the held-out photos (every 4th) in each code, and the outputs are measured as the starter
bar measures a model: recognised share, edge SSIM, separation (distance to the nearest
other tradition's output over distance to the photo) and the brushwork gap to the
tradition's artworks.

    python benchmarks/bench_style_contrast.py --contrast 0 0.5 1 1.5 [--sheet out.png]
    python benchmarks/bench_style_contrast.py --contrast 1 --evenness 0 0.5 1

``--evenness`` first spreads the codes evenly (``methods/recipe.evened``: 1 makes every pair
of traditions equally far apart, with the same mean and total spread), then the contrast.

Prints one JSON object per contrast.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch
from bench_recipe import _recognizer_class, fitted_recognizer
from data_sets import load_square, photo_split, style_files
from PIL import Image

from ganstyle_desktop.engine.methods.recipe import contrasted, evened
from ganstyle_desktop.engine.metrics import brushwork_gap, edge_ssim
from ganstyle_desktop.engine.style_prior import shared_prior
from ganstyle_desktop.engine.style_teacher import shared_teacher

TRADITIONS = ("japanese-ukiyo-e", "chinese-shan-shui", "european-impressionism",
              "post-impressionism", "italo-byzantine")
STYLE_HOLDOUT_EVERY = 5  # as train_starter.py
EMBED_IMAGES = 64


def _tensor(images: list[np.ndarray]) -> torch.Tensor:
    return torch.stack([torch.from_numpy(i).permute(2, 0, 1).float() / 255.0 for i in images])


def _pixels(batch: torch.Tensor) -> list[np.ndarray]:
    return [(o.permute(1, 2, 0).numpy() * 255.0).round().clip(0, 255).astype(np.uint8)
            for o in batch]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contrast", type=float, nargs="+", default=[0.0, 0.5, 1.0, 1.5])
    parser.add_argument("--evenness", type=float, nargs="+", default=[0.0],
                        help="style evenness before the contrast (each with each contrast)")
    parser.add_argument("--traditions", default=",".join(TRADITIONS))
    parser.add_argument("--sheet", help="write a sheet: 3 photos, every tradition, each contrast")
    args = parser.parse_args()
    torch.set_num_threads(1)
    slugs = [s for s in args.traditions.split(",") if s]
    prior, teacher, recognizer = shared_prior("cpu"), shared_teacher("cpu"), fitted_recognizer()
    _, held = photo_split()
    photos = load_square(held, 256)
    x = _tensor(photos)
    means, artworks = [], {}
    for slug in slugs:
        files = style_files(slug)
        train = [f for i, f in enumerate(files, 1) if i % STYLE_HOLDOUT_EVERY]
        held_art = [f for i, f in enumerate(files, 1) if not i % STYLE_HOLDOUT_EVERY]
        step = max(1, len(train) // EMBED_IMAGES)
        with torch.no_grad():
            means.append(prior.embedding(_tensor(load_square(train[::step][:EMBED_IMAGES])))
                         .mean(0))
        artworks[slug] = load_square(held_art[:40])
    rows = torch.stack(means)
    sheet_columns = []
    settings = [(c, e) for e in args.evenness for c in args.contrast]
    for contrast, evenness in settings:
        t0 = time.perf_counter()
        codes = contrasted(evened(rows, evenness), contrast)
        outputs = {}
        with torch.no_grad():
            for slug, code in zip(slugs, codes, strict=True):
                outputs[slug] = _pixels(teacher(x, code[None].expand(len(photos), -1)))
        photo_arr = np.stack(photos).astype(np.float64)
        result = {}
        for slug in slugs:
            own = np.stack(outputs[slug]).astype(np.float64)
            to_photo = float(np.abs(own - photo_arr).mean())
            nearest = min(float(np.abs(own - np.stack(outputs[o]).astype(np.float64)).mean())
                          for o in slugs if o != slug) if len(slugs) > 1 else float("nan")
            result[slug] = {
                "recognised_share": round(recognizer.recognised_share(
                    outputs[slug], _recognizer_class(slug))["recognised_share"], 4),
                "edge_ssim": round(edge_ssim(photos, outputs[slug]), 4),
                "separation_ratio": round(nearest / max(to_photo, 1e-9), 4),
                "brushwork_gap": round(brushwork_gap(outputs[slug], artworks[slug]), 4),
            }
        print(json.dumps({"benchmark": "bench_style_contrast", "contrast": contrast,
                          "evenness": evenness,
                          "photos": len(photos), "per_tradition": result,
                          "seconds": round(time.perf_counter() - t0, 1)}), flush=True)
        if args.sheet:
            picks = [outputs[s][i] for s in slugs for i in (0, len(photos) // 2, len(photos) - 1)]
            grid = [np.concatenate(picks[k * 3:(k + 1) * 3], 1) for k in range(len(slugs))]
            sheet_columns.append(np.concatenate(grid, 0))
    if args.sheet:
        top = np.concatenate([photos[i] for i in (0, len(photos) // 2, len(photos) - 1)], 1)
        columns = [np.concatenate([top, c], 0) for c in sheet_columns]
        image = Image.fromarray(np.concatenate(columns, 1))
        image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS).save(args.sheet)
        print(json.dumps({"sheet": args.sheet}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
