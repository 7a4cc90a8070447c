"""Brush size on large photos: does a painting of a large photo still read as the tradition?

A model paints strokes of a fixed size in pixels. On a photo much larger than its training
size they shrink to a texture, and the whole picture (what one sees fitted to a window)
reads as a filter. This paints the shipped model's held-apart photos at ``--side`` px
(the shared photos are about 500 px: they are enlarged, bicubic, so their objects are as
many pixels across as in a larger photo) in every tradition at each brush size, and judges
each painting as a whole, scaled to 256 px as the project's measures take it:

- recognised share: the benchmark recogniser (``bench_recipe.fitted_recognizer``);
- brushwork gap: the distance of the painting's gradient distribution from its tradition's
  artworks (``engine.metrics.brushwork_gap``; lower is closer), and the photos' own gap;
- contour F-score against the photo (structure kept);
- seconds per painting (one torch/ONNX thread).

    python benchmarks/bench_brush.py [--side 1024] [--brushes 1,2,4] [--sheet docs/brush-sizes.png]

Prints JSON. ``--sheet`` also draws the first sample photo (scikit-image's, shippable) at
``--side`` px in two traditions at each brush, every painting shown whole.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_recipe import _recognizer_class, fitted_recognizer, style_subset  # noqa: E402
from data_sets import SHARED, load_square  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_model = ROOT / "models" / "ganstyle-traditions.safetensors"
    parser.add_argument("--model", type=Path, default=default_model)
    parser.add_argument("--side", type=int, default=1024, help="photo side, px")
    parser.add_argument("--brushes", default="1,2,4")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sheet", type=Path, help="also draw the brush sheet here (PNG)")
    parser.add_argument("--sheet-traditions", default="european-impressionism,japanese-ukiyo-e")
    parser.add_argument("--sheet-only", action="store_true", help="only draw the sheet")
    args = parser.parse_args()

    from ganstyle_desktop.engine import onnx_backend
    from ganstyle_desktop.engine.blend import Blend
    from ganstyle_desktop.engine.metrics import brushwork_gap, contour_fscore, square
    from ganstyle_desktop.engine.modelfile import load_model
    from ganstyle_desktop.engine.stylize import stylize_array

    onnx_backend.set_thread_limit(args.threads)
    model = load_model(args.model, device="cpu")
    brushes = [float(b) for b in args.brushes.split(",") if b]
    if args.sheet_only:
        if not args.sheet:
            parser.error("--sheet-only needs --sheet PATH")
        print(json.dumps({"sheet": str(draw_sheet(model, args, brushes))}))
        return 0
    held = [SHARED / p for p in model.card.training["held_apart"]["content"]]
    photos = load_square(held, args.side)
    seen = [square(p, 256) for p in photos]  # the photo as a whole, as the measures see it
    recognizer = fitted_recognizer()
    results: dict = {}
    for t in model.card.traditions:
        slug = t["slug"]
        styles = load_square(style_subset(slug), 256)
        row: dict = {"photo_brushwork_gap": round(brushwork_gap(seen, styles), 4)}
        for brush in brushes:
            started = time.process_time()
            outs = [
                stylize_array(model, p, blend=Blend.of({slug: 1.0}, 1.0, brush), device="cpu")
                for p in photos
            ]
            seconds = (time.process_time() - started) / len(photos)
            whole = [square(o, 256) for o in outs]
            rec = recognizer.recognised_share(whole, _recognizer_class(slug))
            row[f"x{brush:g}"] = {
                "recognised_share": round(rec["recognised_share"], 3),
                "assigned": rec["assigned"],
                "brushwork_gap": round(brushwork_gap(whole, styles), 4),
                "contour_fscore": round(contour_fscore(seen, whole), 4),
                "cpu_seconds_per_photo": round(seconds, 3),
            }
            print(slug, brush, row[f"x{brush:g}"], file=sys.stderr, flush=True)
        results[slug] = row
    report = {
        "benchmark": "bench_brush",
        "model": str(args.model),
        "side": args.side,
        "photos": len(photos),
        "note": "held-apart photos enlarged (bicubic) to the side; measures on the whole "
        "painting scaled to 256 px",
        "results": results,
    }
    if args.sheet:
        report["sheet"] = str(draw_sheet(model, args, brushes))
    print(json.dumps(report, indent=1))
    return 0


def draw_sheet(model, args: argparse.Namespace, brushes: list[float]) -> Path:
    from ship_starter import _grid, _labelled, _square_photo

    from ganstyle_desktop.engine.blend import Blend
    from ganstyle_desktop.engine.stylize import resolved_brush, stylize_array
    from ganstyle_desktop.paths import sample_photos

    photos = sample_photos()
    if not photos:
        raise SystemExit("the sample photos (scikit-image's data folder) are not installed")
    path, _caption, _licence = photos[0]
    photo = _square_photo(path, args.side)
    names = {t["slug"]: t.get("name", t["slug"]) for t in model.card.traditions}
    auto = resolved_brush(Blend.default(), args.side, args.side, model)
    cell = 320
    rows = []
    for slug in [s for s in args.sheet_traditions.split(",") if s]:
        row = [_labelled(photo, f"photo: {path.stem}, {args.side} px", cell)]
        for brush in brushes:
            painted = stylize_array(model, photo, blend=Blend.of({slug: 1.0}, 1.0, brush))
            label = f"{names[slug]}, brush x{brush:g}" + (" (Auto)" if brush == auto else "")
            row.append(_labelled(painted, label, cell))
        rows.append(row)
    title = f"One {args.side} px photo at each brush size, every painting shown whole"
    args.sheet.parent.mkdir(parents=True, exist_ok=True)
    _grid(rows, title).save(args.sheet)
    return args.sheet


if __name__ == "__main__":
    raise SystemExit(main())
