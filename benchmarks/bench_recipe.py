"""One training experiment of the style recipe, judged as the project judges itself.

Trains a single-style (FastCUT by default) or multi-style model on traditions of
``../shared/data`` with the settings given, on the training photos only (every 4th photo is
held out), and every ``--eval-every`` steps paints the held-out photos and measures them:

- recognised share: the share of outputs the tradition recogniser (fitted on every
  artwork and photo of the shared data, filtered photos included) assigns to the intended
  tradition;
- the colour-aware style score S (mean and spread over splits of the style set);
- edge SSIM (is the photo's structure still there?);
- for several traditions, how far apart the traditions' outputs are relative to how far
  each is from the photo.

Each evaluation also writes a contact sheet (held-out photos above, outputs below) to
``benchmarks/results/recipe/NAME/``: look at it. Prints one JSON line per evaluation and a
final JSON object.

    python benchmarks/bench_recipe.py --name ukiyo-base --style japanese-ukiyo-e \\
        --preset mid --steps 1500 --eval-every 500 --set lambda_critic=1 --set lambda_style=10
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import fields
from pathlib import Path

import numpy as np
from data_sets import (
    NOT_SHIPPABLE,
    ROOT,
    STYLES,
    cached_views,
    content_files,
    load_square,
    photo_split,
    recognizer_classes,
    style_files,
)
from PIL import Image

RESULTS = ROOT / "benchmarks" / "results" / "recipe"
EVAL_SIZE = 256


def parse_set(items: list[str]) -> dict:
    from ganstyle_desktop.engine.config import TrainConfig

    types = {f.name: f for f in fields(TrainConfig)}
    out: dict = {}
    for item in items:
        key, _, value = item.partition("=")
        if key not in types:
            sys.exit(f"unknown setting {key!r}")
        default = types[key].default
        if value.lower() == "none":
            out[key] = None
        elif isinstance(default, bool):
            out[key] = value.lower() in ("1", "true", "yes")
        elif isinstance(default, int) and not isinstance(default, bool):
            out[key] = int(value)
        elif isinstance(default, float) or default is None:
            out[key] = float(value)
        else:
            out[key] = value
    return out


def fitted_recognizer():
    """The benchmark recogniser (every shared class, photos and filtered photos), cached."""
    from ganstyle_desktop.engine.recognizer import (
        FILTER_VERSION,
        FILTERED_PER_PHOTO,
        PHOTO,
        TraditionRecognizer,
        filtered_photos,
        image_features,
    )

    classes = recognizer_classes()
    n_art = sum(len(v) for v in classes.values())
    cache = RESULTS / f"recognizer-v{FILTER_VERSION}-{len(classes)}-{n_art}.json"
    if cache.is_file():
        return TraditionRecognizer.from_json(cache.read_text())
    feats = {name: cached_views(files, 4).reshape(-1, cached_views(files, 4).shape[-1])
             for name, files in classes.items()}
    photos = content_files()
    photo_views = cached_views(photos, 4)
    art = load_square([f for files in classes.values() for f in files[::7]])
    filt = image_features(filtered_photos(load_square(photos), art, FILTERED_PER_PHOTO))
    feats[PHOTO] = np.concatenate([photo_views.reshape(-1, photo_views.shape[-1]), filt])
    model = TraditionRecognizer.fit_features(feats)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(model.to_json())
    return model


def evaluate(model_path: Path, slugs: list[str], recognizer, photos, photo_images,
             style_sets) -> tuple[dict, dict[str, list[np.ndarray]]]:
    from ganstyle_desktop.engine.metrics import (
        brushwork_gap,
        contour_fscore,
        edge_ssim,
        mesh_excess,
        style_score_spread,
    )
    from ganstyle_desktop.engine.modelfile import load_model
    from ganstyle_desktop.engine.stylize import stylize_array

    model = load_model(model_path, device="cpu")
    result: dict = {}
    outputs_by: dict[str, list[np.ndarray]] = {}
    for slug in slugs:
        blend = {slug: 1.0} if len(slugs) > 1 else None
        outs = [stylize_array(model, p, blend=blend, device="cpu") for p in photo_images]
        outputs_by[slug] = outs
        rec = recognizer.recognised_share(outs, _recognizer_class(slug))
        s = style_score_spread(outs, style_sets[slug], photo_images, EVAL_SIZE)
        result[slug] = {
            "recognised_share": rec["recognised_share"],
            "assigned": rec["assigned"],
            "style_score": s["style_score"],
            "style_score_spread": s["style_score_spread"],
            "edge_ssim": edge_ssim(photo_images, outs),
            "contour_fscore": round(contour_fscore(photo_images, outs), 4),
            # Surfaces (flat areas, contours, strokes) vs the tradition's artworks, and
            # the photos' own gap: a colour filter keeps the photos' gap.
            "brushwork_gap": round(brushwork_gap(outs, style_sets[slug]), 4),
            "photo_brushwork_gap": round(brushwork_gap(photo_images, style_sets[slug]), 4),
            # A fine mesh over the picture (1 = none, as photos and artworks).
            "mesh": round(mesh_excess(outs), 3),
        }
    if len(slugs) > 1:
        photos_arr = np.stack(photo_images).astype(np.float64)
        for slug in slugs:
            own = np.stack(outputs_by[slug]).astype(np.float64)
            to_photo = float(np.abs(own - photos_arr).mean())
            others = [float(np.abs(own - np.stack(outputs_by[o]).astype(np.float64)).mean())
                      for o in slugs if o != slug]
            result[slug]["diff_to_photo"] = to_photo
            result[slug]["min_diff_to_other_tradition"] = min(others)
            result[slug]["separation_ratio"] = min(others) / max(to_photo, 1e-9)
    return result, outputs_by


MAX_STYLE_FOR_SCORE = 100


def style_subset(slug: str) -> list:
    """Up to MAX_STYLE_FOR_SCORE artworks, evenly spaced: S's cost grows with the set."""
    files = style_files(slug)
    step = max(1, len(files) // MAX_STYLE_FOR_SCORE)
    return files[::step][:MAX_STYLE_FOR_SCORE]


def _recognizer_class(slug: str) -> str:
    from data_sets import ALIASES

    return ALIASES.get(slug, slug)


def contact_sheet(photo_images, outputs_by: dict[str, list[np.ndarray]], path: Path) -> None:
    rows = [np.concatenate([np.asarray(Image.fromarray(p).resize((160, 160))) for p in photo_images], 1)]
    for outs in outputs_by.values():
        rows.append(np.concatenate(
            [np.asarray(Image.fromarray(o).resize((160, 160))) for o in outs], 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(rows, 0)).save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--style", action="append", required=True, help="tradition slug")
    parser.add_argument("--method", default=None)
    parser.add_argument("--preset", default="mid")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--flat-colours", type=int, default=None,
                        help="experiment: override the preset's flat_colours")
    args = parser.parse_args()
    if args.flat_colours is not None:
        from dataclasses import replace

        from ganstyle_desktop.engine import presets

        p = presets.PRESETS[args.preset]
        presets.PRESETS[args.preset] = replace(
            p, generator=replace(p.generator, flat_colours=args.flat_colours)
        )

    import torch

    torch.set_num_threads(args.threads)
    from ganstyle_desktop.engine.config import StyleSource, TrainConfig
    from ganstyle_desktop.engine.events import CheckpointSaved, StepCompleted, TrainingFinished
    from ganstyle_desktop.engine.trainer import Trainer

    for slug in args.style:
        if not (STYLES / slug).is_dir():
            sys.exit(f"no tradition {slug!r} in {STYLES}")
    out = RESULTS / args.name
    train_photos, held = photo_split()
    method = args.method or ("multistyle" if len(args.style) > 1 else "fastcut")
    config = TrainConfig(
        styles=[StyleSource(name=s, paths=[str(STYLES / s)], display_name=s) for s in args.style],
        content_paths=[str(p) for p in train_photos],
        out_dir=str(out / "run"),
        method=method,
        preset=args.preset,
        size=args.size,
        steps=args.steps,
        seed=args.seed,
        preview_every=0,
        checkpoint_every=args.eval_every,
        keep_last=2,
        **parse_set(args.set),
    )
    recognizer = fitted_recognizer()
    photo_images = load_square(held, EVAL_SIZE)
    style_sets = {s: load_square(style_subset(s), EVAL_SIZE) for s in args.style}
    t0 = time.perf_counter()
    train_seconds = 0.0
    evaluations = []
    last_step_time = time.perf_counter()
    sps = None
    for event in Trainer(config, resume=args.resume).run():
        if isinstance(event, StepCompleted):
            sps = event.seconds_per_step
            if event.step % 50 == 0:
                print(f"step {event.step}/{event.total_steps} {sps:.2f} s/step "
                      + " ".join(f"{k} {v:.3f}" for k, v in event.losses.items()),
                      file=sys.stderr, flush=True)
        if isinstance(event, CheckpointSaved) and event.model_path is not None:
            train_seconds += time.perf_counter() - last_step_time
            metrics, outputs = evaluate(event.model_path, args.style, recognizer, held,
                                        photo_images, style_sets)
            contact_sheet(photo_images, outputs, out / f"sheet_{event.step:06d}.png")
            row = {"step": event.step, "train_minutes": round(train_seconds / 60, 2),
                   "seconds_per_step": sps, "metrics": metrics}
            evaluations.append(row)
            print(json.dumps(row), flush=True)
            last_step_time = time.perf_counter()
        if isinstance(event, TrainingFinished):
            break
    summary = {
        "benchmark": "recipe",
        "name": args.name,
        "styles": args.style,
        "not_shippable": {s: NOT_SHIPPABLE[s] for s in args.style if s in NOT_SHIPPABLE},
        "method": method,
        "preset": args.preset,
        "size": args.size,
        "settings": parse_set(args.set),
        "held_out_photos": [p.name for p in held],
        "wall_minutes": round((time.perf_counter() - t0) / 60, 2),
        "evaluations": evaluations,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
