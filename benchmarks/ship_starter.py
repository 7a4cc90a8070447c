"""Measure a starter run on photos it never trained on and write the shipped model + card.

    python benchmarks/ship_starter.py --run runs/starter [--model MODEL] [--out models]
        [--name ganstyle-traditions] [--sheets docs] [--evaluate-only]

For every tradition the model paints the held-apart content photos (``split.json`` from
``train_starter.py``) with that tradition alone (blend {slug: 1}), at 256 px (the training
size) and 512 px, and the outputs are measured as the project judges itself
(``bench_recipe.evaluate``):

- recognised share: the share of outputs the tradition recogniser (every artwork and photo
  of the shared data, filtered photos as photos; validated by bench_recognizer.py) assigns
  to the intended tradition;
- the colour-aware style score S against up to 100 of the tradition's artworks, with its
  spread over splits;
- edge SSIM (the photo's structure);
- separation: how far the tradition's outputs are from the nearest other tradition's,
  relative to how far they are from the photo (at least 0.5 is the bar).

The bar (issue 10): recognised >= 0.7, edge SSIM >= 0.5, separation >= 0.5. A tradition
below it can be withheld (``--withhold SLUG``); the card records its figures and why.
``--sheets DIR`` renders the README's compare sheet (four sample photos a dependency
ships, every shipped tradition) and the East-West blend strip. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from bench_recipe import evaluate, fitted_recognizer, style_subset
from data_sets import load_square
from PIL import Image, ImageDraw, ImageFont

from ganstyle_desktop.engine.modelfile import load_model, save_model
from ganstyle_desktop.engine.quality_monitor import CONTOUR_FLOOR
from ganstyle_desktop.paths import sample_photos

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SIZES = (256, 512)
# The issue's bar, with the structure floor the project judges itself by (contours kept,
# quality_monitor.CONTOUR_FLOOR); edge SSIM >= 0.5 is reported beside it (ISSUE_EDGE_SSIM).
BAR = {"recognised_share": 0.7, "contour_fscore": CONTOUR_FLOOR, "separation_ratio": 0.5}
ISSUE_EDGE_SSIM = 0.5
BLEND_STEPS = (0.0, 0.25, 0.5, 0.75, 1.0)


def _number(value) -> float | None:
    value = float(value)
    return None if math.isnan(value) else round(value, 4)


def measure(model_path: Path, slugs: list[str], split: dict, data: Path) -> dict:
    recognizer = fitted_recognizer()
    held = [data / p for p in split["content"]]
    out: dict = {}
    for size in SIZES:
        photos = load_square(held, size)
        styles = {s: load_square(style_subset(s), size) for s in slugs}
        metrics, _ = evaluate(model_path, slugs, recognizer, held, photos, styles)
        for slug, m in metrics.items():
            row = {k: _number(v) for k, v in m.items() if k != "assigned"}
            row["assigned"] = m["assigned"]
            row["meets_bar"] = all(
                (row.get(k) or 0.0) >= v for k, v in BAR.items() if k in row
            )
            row["edge_ssim_at_least_0.5"] = (row.get("edge_ssim") or 0.0) >= ISSUE_EDGE_SSIM
            out.setdefault(slug, {})[f"{size}px"] = row
    return out


# -- the README's pictures ------------------------------------------------------------------


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def _labelled(cell: np.ndarray, text: str, side: int) -> Image.Image:
    image = Image.fromarray(cell).resize((side, side), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (side, side + 26), (250, 248, 244))
    canvas.paste(image, (0, 26))
    ImageDraw.Draw(canvas).text((6, 4), text, fill=(30, 30, 30), font=_font(16))
    return canvas


def _grid(rows: list[list[Image.Image]], title: str) -> Image.Image:
    w, h = rows[0][0].size
    gap = 6
    width = len(rows[0]) * (w + gap) + gap
    height = len(rows) * (h + gap) + gap + 34
    sheet = Image.new("RGB", (width, height), (250, 248, 244))
    ImageDraw.Draw(sheet).text((gap, 8), title, fill=(20, 20, 20), font=_font(20))
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            sheet.paste(cell, (gap + c * (w + gap), 34 + gap + r * (h + gap)))
    return sheet


def _square_photo(path: Path, side: int) -> np.ndarray:
    image = Image.open(path).convert("RGB")
    s = min(image.size)
    left, top = (image.width - s) // 2, (image.height - s) // 2
    return np.asarray(image.crop((left, top, left + s, top + s)).resize((side, side)))


def render_sheets(model_path: Path, out_dir: Path, east: str, west: str, side: int = 256):
    from ganstyle_desktop.engine.stylize import stylize_array

    model = load_model(model_path, device="cpu")
    traditions = model.card.traditions
    names = {t["slug"]: t.get("name", t["slug"]) for t in traditions}
    photos = [(p.stem, _square_photo(p, 2 * side)) for p, _caption, _licence in sample_photos()]
    if len(photos) < 4:
        raise SystemExit("the sample photos (scikit-image's data folder) are not installed")
    rows = []
    for label, photo in photos:
        row = [_labelled(photo, f"photo: {label}", side)]
        for t in traditions:
            painted = stylize_array(model, photo, blend={t["slug"]: 1.0}, device="cpu")
            row.append(_labelled(painted, names[t["slug"]], side))
        rows.append(row)
    out_dir.mkdir(parents=True, exist_ok=True)
    compare = out_dir / "compare-traditions.png"
    _grid(rows, f"Four photos in {len(traditions)} traditions: the starter model "
          f"(painter preset, fine-tuned on a 2-core CPU)").save(compare)
    label, photo = photos[0]
    strip = [_labelled(photo, f"photo: {label}", side)]
    for w in BLEND_STEPS:
        blend = {east: 1.0 - w, west: w} if 0 < w < 1 else {west if w else east: 1.0}
        painted = stylize_array(model, photo, blend=blend, device="cpu")
        strip.append(_labelled(painted, f"{round((1 - w) * 100)}% {names[east]}"
                               if w < 1 else f"100% {names[west]}", side))
    blend_path = out_dir / "blend-east-west.png"
    _grid([strip], f"One photo from {names[east]} to {names[west]} in steps of 25 %").save(
        blend_path
    )
    return [compare, blend_path]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--model", type=Path, help="default: RUN/model.safetensors")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=Path("models"))
    parser.add_argument("--name", default="ganstyle-traditions")
    parser.add_argument("--sheets", type=Path, help="render the README sheets into this folder")
    parser.add_argument("--east", default="chinese-shan-shui")
    parser.add_argument("--west", default="post-impressionism")
    parser.add_argument("--evaluate-only", action="store_true")
    parser.add_argument("--sheets-only", action="store_true",
                        help="only render the sheets from the --model (already shipped)")
    parser.add_argument("--withhold", action="append", default=[], metavar="SLUG",
                        help="leave this tradition out of the shipped model (figures and "
                        "reason recorded in the card)")
    args = parser.parse_args()

    if args.sheets_only:
        for path in render_sheets(args.model, args.sheets, args.east, args.west):
            print(json.dumps({"sheet": str(path), "bytes": path.stat().st_size}), flush=True)
        return 0
    split = json.loads((args.run / "split.json").read_text())
    summary_file = args.run / "summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.is_file() else {}
    model_path = args.model or args.run / "model.safetensors"
    model = load_model(model_path)
    slugs = [t["slug"] for t in model.card.traditions]
    metrics = measure(model_path, slugs, split, args.data)
    report = {"model": str(model_path), "steps": model.card.steps, "bar": BAR,
              "metrics": metrics}
    print(json.dumps(report, indent=1), flush=True)
    if args.evaluate_only:
        return 0

    card = model.card
    withheld = {}
    for slug in args.withhold:
        if slug not in slugs:
            parser.error(f"--withhold {slug}: the model has no such tradition")
        withheld[slug] = {
            "figures": metrics[slug],
            "reason": "below the quality bar on held-apart photos; trained with the others "
            "but not offered in the shipped model",
        }
        model.generator.remove_tradition(slug)
    traditions = []
    for t in card.traditions:
        if t["slug"] in withheld:
            continue
        m = metrics[t["slug"]]["256px"]
        traditions.append({**t, "recognised_share": m["recognised_share"],
                           "style_score": m["style_score"], "edge_ssim": m["edge_ssim"],
                           "contour_fscore": m["contour_fscore"]})
    note = (
        f"Per tradition: the model with that tradition alone painted the "
        f"{len(split['content'])} held-apart content photos (never trained on) at 256 and "
        "512 px. recognised_share: share the tradition recogniser (benchmarks/bench_recipe."
        "fitted_recognizer: logistic regression on style-prior embeddings and colour and "
        "structure statistics of every artwork of ../shared/data, photos and filtered "
        "photos as a photo class) assigns to the tradition. style_score: colour-aware S "
        "against up to 100 of the tradition's artworks (1 = as close as the set is to "
        "itself, 0 = the photos), spread over splits. contour_fscore: F-measure of the photo's "
        "and the output's main contours (Canny-like, 2 px tolerance; another photo scores "
        "about 0.2). edge_ssim: SSIM of Sobel edge maps (also falls when a painting "
        "flattens or adds texture; benchmarks/bench_structure.py). "
        "separation_ratio: mean distance to the nearest other tradition's output over mean "
        f"distance to the photo. Bar: {BAR}. Reproduce: python benchmarks/ship_starter.py "
        f"--run RUN --evaluate-only."
    )
    training = dict(card.training)
    wall = float(summary.get("wall_seconds", training.get("wall_seconds", 0.0)))
    run_steps = summary.get("steps")
    if run_steps and card.steps and card.steps != run_steps:
        # A checkpoint of the run (--model RUN/checkpoints/step_N/...): its own steps and
        # time, which its card carries; the run went on to run_steps.
        wall = float(training.get("wall_seconds", wall))
        training["shipped_checkpoint"] = f"step {card.steps} of a {run_steps}-step run"
    training.update({
        "command": split.get("command", ""),
        "ship_command": "python " + " ".join(sys.argv),
        "hardware": split.get("hardware", training.get("hardware", "")),
        "wall_seconds": wall,
        "held_apart": {"styles": split["styles"], "content": split["content"]},
    })
    provenance = list(card.data_provenance) + [
        {**row, "role": "content"} for row in split.get("content_provenance", [])
    ]
    card = replace(
        card,
        name="GANStyle Traditions",
        traditions=traditions,
        architecture=model.generator.architecture(),
        metrics={"per_tradition": metrics, "bar": BAR, "note": note, "withheld": withheld},
        training=training,
        data_provenance=provenance,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    target = save_model(args.out / f"{args.name}.safetensors", model.generator, card)
    print(json.dumps({"saved": str(target), "bytes": target.stat().st_size}), flush=True)
    if args.sheets:
        for path in render_sheets(target, args.sheets, args.east, args.west):
            print(json.dumps({"sheet": str(path), "bytes": path.stat().st_size}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
