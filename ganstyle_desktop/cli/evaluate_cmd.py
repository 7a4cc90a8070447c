"""``ganstyle-cli evaluate``: measure a model against a style set: the share of outputs
the tradition recogniser takes for the tradition, the colour-aware style score S with its
spread, edge SSIM, the combined quality and whether the bar is met, palette distance and
random-feature KID."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from . import CliError

_LABELS = (
    ("recognised", "Recognised as the tradition (share)"),
    ("style_score", "Style score S (0 photo .. 1 style)"),
    ("style_score_spread", "  its spread over 5 splits of the style set"),
    ("quality", "Quality (ranks checkpoints; -1 .. 1.5)"),
    ("contour_f", "Contours kept (F-score; 1 = all, ~0.2 = none)"),
    ("edge_ssim", "Edge SSIM (gradient maps alike, 1 = all)"),
    ("palette_distance", "Palette distance (Lab W1; lower closer)"),
    ("palette_distance_photos", "  the photos' own palette distance"),
    ("kid", "Random-feature KID (lower closer)"),
    ("kid_photos", "  the photos' own KID"),
    ("swd_outputs_style", "SWD outputs - style"),
    ("swd_photos_style", "SWD photos - style"),
    ("swd_style_floor", "SWD style half A - half B"),
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="measure how well a model paints in its style",
        description="Stylize the content photos and compare them with the style set.",
    )
    p.add_argument("model", type=Path, help="a .safetensors model file")
    p.add_argument("--style", type=Path, required=True, metavar="DIR", help="style images")
    p.add_argument("--content", type=Path, required=True, metavar="DIR", help="photos")
    p.add_argument("--size", type=int, default=256, help="square size measured at (256)")
    p.add_argument("--blend", metavar="A=W,B=W", help="multi-style models: tradition weights")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--seed", type=int, default=0, help="seed of the random patches (0)")
    p.add_argument(
        "--other-style",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="artworks of another tradition the recogniser must tell apart (repeatable)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)


def _files(folder: Path, role: str) -> list[Path]:
    from ganstyle_desktop.engine.imageio import collect_image_files

    if not folder.exists():
        raise CliError(f"The {role} folder {folder} does not exist.")
    files = collect_image_files([folder])
    if len(files) < 2:
        raise CliError(f"The {role} folder {folder} needs at least 2 images; found {len(files)}.")
    return files


def run(args: argparse.Namespace) -> int:
    from ganstyle_desktop.engine.metrics import MetricsError, evaluate_model
    from ganstyle_desktop.engine.modelfile import ModelFileError, load_model
    from ganstyle_desktop.engine.multistyle_nets import BlendError, parse_blend

    if args.size < 32:
        raise CliError(f"--size must be at least 32, not {args.size}.")
    style, content = _files(args.style, "style"), _files(args.content, "content")
    if not args.model.is_file():
        raise CliError(f"{args.model}: no such model file.")
    try:
        model = load_model(args.model, device="cpu")
        blend = parse_blend(args.blend) if args.blend else None
        others = {folder.resolve().name: _files(folder, "other style") for folder in args.other_style}
        result = evaluate_model(
            model,
            style,
            content,
            args.size,
            blend=blend,
            device=args.device,
            seed=args.seed,
            tradition=args.style.resolve().name,
            other_styles=others,
        )
    except (ModelFileError, BlendError, MetricsError) as exc:
        raise CliError(str(exc)) from exc
    result["model"] = str(args.model)
    if args.json:
        # NaN (an undefined style score) is not JSON: print null.
        clean = {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in result.items()
        }
        print(json.dumps(clean, indent=2))
        return 0
    print(
        f"{args.model.name}: {result['n_content']} photos vs {result['n_style']} style images "
        f"at {result['size']} px"
    )
    verdict = "meets the bar" if result.get("meets_bar") else "does not meet the bar"
    print(f"  Recognisably the tradition: {verdict} (recognised >= 0.7, edge SSIM >= 0.5)")
    print(f"  Taken for: {result.get('recognised_as')}")
    for key, label in _LABELS:
        value = result.get(key)
        if isinstance(value, float):
            text = f"{value:.4f}" if math.isfinite(value) else "undefined (too few style images)"
            print(f"  {label:<42} {text}")
    for line in result.get("skipped", []):
        print(f"  skipped {line}")
    return 0
