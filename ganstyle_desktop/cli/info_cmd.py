"""``ganstyle-cli info``: what a model file holds, or what the network presets cost."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import CliError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "info",
        help="show a model's card, or the network presets",
        description="Print a model file's card (read from its header; no weights are loaded), "
        "or, with --presets, the parameter and MAC counts of every network preset.",
    )
    parser.add_argument("model", nargs="?", type=Path, help="a .safetensors model file")
    parser.add_argument("--presets", action="store_true", help="describe every network preset")
    parser.add_argument(
        "--size", type=int, default=256, help="image side for the presets' MAC counts (256)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.presets:
        if args.model is not None:
            raise CliError("Give either a model file or --presets, not both.")
        return _print_presets(args.size, args.json)
    if args.model is None:
        raise CliError("Name a model file (ganstyle-cli info MODEL) or use --presets.")
    return _print_model(args.model, args.json)


# -- model cards -----------------------------------------------------------------------------


def _print_model(path: Path, as_json: bool) -> int:
    from ganstyle_desktop.engine.modelfile import ModelFileError, verify_model_file

    if path.is_dir():
        raise CliError(f"{path} is a folder; name a .safetensors model file inside it.")
    try:
        # What is shown is checked first: card, architecture, tensors, finite weights.
        verified = verify_model_file(path)
    except ModelFileError as exc:
        raise CliError(str(exc)) from exc
    if as_json:
        print(json.dumps(verified.card.to_dict(), indent=2, ensure_ascii=False))
        return 0
    print(format_card(verified.card, path, verified.parameters))
    return 0


def format_card(card, path: Path | None = None, parameters: int | None = None) -> str:
    """A model card as aligned ``Key: value`` lines for people."""
    from ganstyle_desktop.engine.modelfile import model_display_name

    rows: list[tuple[str, str]] = [("Name", model_display_name(card))]
    if path is not None:
        rows.append(("File", f"{path} ({_human_bytes(path.stat().st_size)})"))
    rows += [
        ("Kind", card.kind),
        ("Method", card.method or "?"),
        ("Preset", card.preset or "?"),
        ("Direction", card.direction.replace("_", " ")),
        ("Training size", f"{card.training_size} px" if card.training_size else "?"),
        ("Steps", str(card.steps)),
    ]
    arch = dict(card.architecture)
    generator = arch.pop("generator", "?")
    spec = arch.pop("spec", {})
    spec_text = ", ".join(f"{k}={v}" for k, v in spec.items())
    rows.append(("Generator", f"{generator} ({spec_text})" if spec_text else str(generator)))
    if parameters is not None:
        rows.append(("Parameters", f"{parameters:,}"))
    for i, tradition in enumerate(card.traditions):
        rows.append(("Traditions" if i == 0 else "", _tradition_text(tradition)))
    if not card.traditions:
        rows.append(("Traditions", "(none recorded)"))
    for key, value in sorted(card.metrics.items()):
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        rows.append(("Metric " + key, shown))
    training = card.training or {}
    seconds = training.get("wall_seconds")
    if isinstance(seconds, int | float) and not isinstance(seconds, bool):
        rows.append(("Training time", f"{float(seconds):.1f} s"))
    if training.get("hardware"):
        rows.append(("Hardware", str(training["hardware"])))
    if training.get("command"):
        rows.append(("Command", str(training["command"])))
    rows += [
        ("Engine version", card.engine_version or "?"),
        ("Created", card.created or "?"),
        ("Schema version", str(card.schema_version)),
    ]
    provenance = card.data_provenance
    rows.append(("Data provenance", f"{len(provenance)} file(s) recorded"))
    for row in provenance[:10]:
        rows.append(("", _provenance_text(row)))
    if len(provenance) > 10:
        rows.append(("", f"... and {len(provenance) - 10} more (see --json)"))
    width = max(len(k) for k, _ in rows) + 1
    return "\n".join(f"{(k + ':') if k else '':<{width}} {v}" for k, v in rows)


def _tradition_text(tradition: dict) -> str:
    name = tradition.get("name") or tradition.get("slug") or "?"
    extras = [
        str(tradition[k])
        for k in ("culture", "region", "era")
        if tradition.get(k) not in (None, "")
    ]
    slug = tradition.get("slug")
    text = f"{name} [{slug}]" if slug and slug != name else str(name)
    return f"{text}: {'; '.join(extras)}" if extras else text


def _provenance_text(row: dict) -> str:
    path = row.get("path") or row.get("file") or "?"
    bits = [row.get(k) for k in ("title_if_known", "artist_if_known", "license_note")]
    bits = [str(b) for b in bits if b]
    return f"{path}: {' / '.join(bits)}" if bits else str(path)


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


# -- presets ---------------------------------------------------------------------------------


def _print_presets(size: int, as_json: bool) -> int:
    from ganstyle_desktop.engine.presets import PRESETS, describe_preset

    if size < 16 or size % 4:
        raise CliError(f"--size {size}: give a multiple of 4 of at least 16.")
    described = [describe_preset(name, size) for name in PRESETS]
    if as_json:
        print(json.dumps(described, indent=2))
        return 0
    print(f"Network presets (MACs for one {size}x{size} image):")
    for d in described:
        g = d["generator"]
        print()
        print(f"{d['preset']}: {d['summary']}")
        print(
            f"  generator:     {d['generator_parameters']:>12,} parameters "
            f"{d['generator_gmacs']:>9.3f} GMACs  "
            + (
                "(pretrained transfer network: 8-16-32 channels, 5 style-modulated blocks)"
                if g.get("kind") == "painter"
                else f"(width {g['width']}, {g['n_blocks']} blocks, "
                f"{'separable' if g['separable'] else 'full'} convs)"
            )
        )
        print(
            f"  discriminator: {d['discriminator_parameters']:>12,} parameters "
            f"{d['discriminator_gmacs']:>9.3f} GMACs  "
            f"(width {d['discriminator']['width']}, {d['discriminator']['n_layers']} layers)"
        )
    return 0
