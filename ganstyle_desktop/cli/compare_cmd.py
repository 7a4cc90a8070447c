"""``ganstyle-cli compare``: one photo in every tradition of one or more models, as a
labelled contact sheet PNG (the same sheet the app's Compare view exports)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import CliError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="render a photo in every tradition of the given models as one sheet",
        description="Render PHOTO in every tradition each MODEL knows (multi-style models: "
        "one cell per tradition) and save a labelled contact sheet PNG.",
    )
    parser.add_argument("photo", type=Path, help="the photo to render")
    parser.add_argument("models", nargs="+", type=Path, metavar="MODEL", help="model files")
    parser.add_argument("--out", type=Path, required=True, help="sheet to write (.png)")
    parser.add_argument("--cell", type=int, default=320, help="cell side in px (320)")
    parser.add_argument("--columns", type=int, default=None, help="cells per row")
    parser.add_argument("--title", default="", help="a title above the grid")
    parser.add_argument("--no-original", action="store_true", help="leave out the photo itself")
    parser.add_argument("--device", default="cpu", help="auto, cpu, cuda or mps (cpu)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ganstyle_desktop.engine.contact_sheet import compare_sheet
    from ganstyle_desktop.engine.imageio import ImageLoadError

    if args.out.suffix.lower() != ".png":
        raise CliError(f"{args.out}: the sheet is a PNG; give a path ending in .png.")
    if not 32 <= args.cell <= 2048:
        raise CliError("--cell must be between 32 and 2048 pixels.")
    missing = [str(m) for m in args.models if not m.is_file()]
    if missing:
        raise CliError(f"No such model file: {', '.join(missing)}.")
    try:
        out = compare_sheet(
            args.models,
            args.photo,
            args.out,
            cell_side=args.cell,
            columns=args.columns,
            title=args.title,
            include_original=not args.no_original,
            device=args.device,
        )
    except ImageLoadError as exc:
        raise CliError(str(exc)) from exc
    except ValueError as exc:
        raise CliError(f"{exc} (see the log above for why each model was skipped)") from exc
    print(json.dumps({"sheet": str(out), "bytes": out.stat().st_size}))
    return 0
