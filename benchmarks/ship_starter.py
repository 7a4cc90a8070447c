"""Evaluate a starter run on its held-apart images and write the shipped model + card.

    python benchmarks/ship_starter.py --run runs/starter [--model runs/starter/model.safetensors]
        [--out models] [--name ganstyle-traditions-lite] [--sheet docs/compare-traditions.png]

For every tradition the model is run with that tradition alone (blend {slug: 1}) on the
held-apart content photos (``split.json`` from ``train_starter.py``), and the outputs are
measured with :func:`ganstyle_desktop.engine.metrics.evaluate_model`:

- against the held-apart artworks of the tradition (never trained on), and
- against the tradition's whole set (more images, so a steadier style floor),

at 128 px (the training size) and 256 px. Prints one JSON object with every figure; the
card gets the same numbers and a note on how they were measured.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from ganstyle_desktop.engine.metrics import evaluate_model
from ganstyle_desktop.engine.modelfile import load_model, save_model

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SIZES = (128, 256)
KEEP = ("style_score", "edge_ssim", "palette_distance", "kid", "n_style", "n_content")


def evaluate(model, split: dict, data: Path) -> dict:
    content = [data / p for p in split["content"]]
    out: dict = {}
    for slug, held in split["styles"].items():
        held_files = [data / p for p in held]
        all_files = sorted((data / "styles" / slug).glob("*.jpg"))
        per: dict = {}
        for size in SIZES:
            for label, files in (("held_apart", held_files), ("full_set", all_files)):
                result = evaluate_model(
                    model, files, content, size=size, blend={slug: 1.0}, device="cpu"
                )
                per[f"{label}_{size}"] = {k: round(float(result[k]), 4) for k in KEEP}
        out[slug] = per
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--model", type=Path, help="default: RUN/model.safetensors")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=Path("models"))
    parser.add_argument("--name", default="ganstyle-traditions-lite")
    parser.add_argument("--sheet", type=Path, help="also render the compare-traditions sheet")
    parser.add_argument(
        "--photo", type=Path, default=Path("resources/samples/sample_landscape.jpg")
    )
    parser.add_argument("--primary-size", type=int, default=256, choices=SIZES)
    parser.add_argument("--evaluate-only", action="store_true")
    args = parser.parse_args()

    split = json.loads((args.run / "split.json").read_text())
    summary = (
        json.loads((args.run / "summary.json").read_text())
        if (args.run / "summary.json").is_file()
        else {}
    )
    model_path = args.model or args.run / "model.safetensors"
    model = load_model(model_path)
    metrics = evaluate(model, split, args.data)
    report = {"model": str(model_path), "steps": model.card.steps, "metrics": metrics}
    print(json.dumps(report, indent=2), flush=True)
    if args.evaluate_only:
        return 0

    key = f"held_apart_{args.primary_size}"
    card = model.card
    traditions = []
    for t in card.traditions:
        m = metrics[t["slug"]][key]
        traditions.append({**t, "style_score": m["style_score"], "edge_ssim": m["edge_ssim"]})
    note = (
        "Per tradition: the model with that tradition alone (blend {slug: 1}) stylized the "
        f"{len(split['content'])} held-apart content photos; S (style score: SWD of 7x7 "
        "Laplacian-pyramid patches, 0 = still a photo, 1 = as close as the style set is to "
        "itself) and edge SSIM (SSIM of Sobel edge maps of input and output luminance) from "
        "ganstyle_desktop.engine.metrics.evaluate_model, square centre crops at "
        f"{args.primary_size} px. 'held_apart' compares with the tradition's artworks held "
        "out of training (few images, so its own-spread floor is noisy); 'full_set' with all "
        "of the tradition's artworks. Reproduce: python benchmarks/ship_starter.py --run RUN "
        "--evaluate-only."
    )
    training = dict(card.training)
    training.update(
        {
            "command": split.get("command", ""),
            "ship_command": "python " + " ".join(sys.argv),
            "hardware": split.get("hardware", training.get("hardware", "")),
            "wall_seconds": summary.get("wall_seconds", training.get("wall_seconds")),
            "held_apart": {"styles": split["styles"], "content": split["content"]},
        }
    )
    provenance = list(card.data_provenance) + [
        {**row, "role": "content"} for row in split.get("content_provenance", [])
    ]
    card = replace(
        card,
        name="Traditions (lite): ukiyo-e, shan shui, Impressionism",
        traditions=traditions,
        metrics={"per_tradition": metrics, "primary": key, "note": note},
        training=training,
        data_provenance=provenance,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    target = save_model(args.out / f"{args.name}.safetensors", model.generator, card)
    print(json.dumps({"saved": str(target), "bytes": target.stat().st_size}), flush=True)
    if args.sheet:
        from ganstyle_desktop.engine.contact_sheet import compare_sheet

        compare_sheet(
            [target],
            args.photo,
            args.sheet,
            cell_side=256,
            columns=4,
            title="One photo, three traditions: GANStyle's starter model",
        )
        print(json.dumps({"sheet": str(args.sheet), "bytes": args.sheet.stat().st_size}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
