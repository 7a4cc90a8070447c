"""Train the shipped multi-style starter model on ../shared/data (public-domain sets only).

    python benchmarks/train_starter.py --out runs/starter [--steps 600] [--size 256]
        [--preset painter] [recipe flags of ganstyle-cli train, e.g. --lambda-critic 1]

Holds apart every 5th artwork of each tradition and every 4th content photo (sorted by
file name) for evaluation; the split is written to ``OUT/split.json`` and the card. Then
``benchmarks/ship_starter.py`` measures the model on the held-apart images and writes
``models/``. Prints one JSON line per 50 steps and a final JSON summary.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

from ganstyle_desktop.cli.train_cmd import add_recipe_arguments, recipe_values
from ganstyle_desktop.engine.config import StyleSource, TrainConfig
from ganstyle_desktop.engine.events import StepCompleted, TrainingFinished
from ganstyle_desktop.engine.imageio import collect_image_files
from ganstyle_desktop.engine.trainer import Trainer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
# Public-domain sets only: persian-miniature and indian-mughal-miniature are
# non-commercial and must never be in anything the project ships.
TRADITIONS = {
    "japanese-ukiyo-e": ("Japanese ukiyo-e", "Japan", "Edo period, 18th-19th c."),
    "chinese-shan-shui": ("Chinese shan shui", "China", "ink landscape painting"),
    "european-impressionism": ("European Impressionism", "France", "late 19th c."),
    "italo-byzantine": ("Italo-Byzantine", "Italy (Siena/Florence)", "13th-15th c."),
    "post-impressionism": ("Post-Impressionism", "France/Netherlands", "1886-1905"),
    "dutch-golden-age": ("Dutch Golden Age", "Netherlands", "17th c."),
}
DEFAULT_TRADITIONS = (
    "japanese-ukiyo-e,chinese-shan-shui,european-impressionism,post-impressionism,"
    "italo-byzantine"
)
NON_COMMERCIAL = {"persian-miniature", "indian-mughal-miniature"}
STYLE_HOLDOUT_EVERY = 5  # files 5, 10, 15, ... of each tradition
CONTENT_HOLDOUT_EVERY = 4  # photos 4, 8, 12, ...


def split(files: list[Path], every: int) -> tuple[list[Path], list[Path]]:
    train = [f for i, f in enumerate(files, 1) if i % every]
    held = [f for i, f in enumerate(files, 1) if not i % every]
    return train, held


def manifest_rows(data: Path) -> dict[str, dict]:
    with open(data / "MANIFEST.csv", newline="", encoding="utf-8") as fh:
        return {row["path"]: row for row in csv.DictReader(fh)}


def provenance(rows: dict[str, dict], data: Path, files: list[Path]) -> list[dict]:
    out = []
    for f in files:
        row = rows.get(f.relative_to(data).as_posix())
        if row is None:
            raise SystemExit(f"{f}: not in MANIFEST.csv; refusing to train on unknown data")
        out.append(
            {
                "file": row["path"],
                "title": row["title_if_known"],
                "artist": row["artist_if_known"],
                "source": f"{row['source_repo']}/{row['source_path']}",
                "license": row["license_note"],
            }
        )
    return out


def build_config(args: argparse.Namespace) -> tuple[TrainConfig, dict]:
    data = Path(args.data)
    rows = manifest_rows(data)
    styles, held = [], {"styles": {}, "content": []}
    slugs = [t.strip() for t in args.traditions.split(",") if t.strip()]
    for slug in slugs:
        if slug in NON_COMMERCIAL or slug not in TRADITIONS:
            raise SystemExit(f"{slug}: not a public-domain tradition this script may ship")
        name, region, era = TRADITIONS[slug]
        files = sorted(collect_image_files([data / "styles" / slug]))
        train, hold = split(files, STYLE_HOLDOUT_EVERY)
        held["styles"][slug] = [f.relative_to(data).as_posix() for f in hold]
        styles.append(
            StyleSource(
                name=slug,
                paths=[str(f) for f in train],
                display_name=name,
                tags={"region": region, "era": era},
                provenance=provenance(rows, data, train),
            )
        )
    base_model = ""
    if args.add_to:
        # Extend a finished run's model: keep its held-apart split for its traditions.
        base = json.loads((Path(args.add_to) / "split.json").read_text())
        held["styles"] = {**base["styles"], **held["styles"]}
        summary = json.loads((Path(args.add_to) / "summary.json").read_text())
        held["base_run"] = {
            "command": base["command"],
            "hardware": base["hardware"],
            "steps": summary["steps"],
            "wall_seconds": summary["wall_seconds"],
        }
        base_model = str(Path(args.add_to) / "model.safetensors")
    photos = sorted(collect_image_files([data / "content"]))
    train_photos, held_photos = split(photos, CONTENT_HOLDOUT_EVERY)
    held["content"] = [f.relative_to(data).as_posix() for f in held_photos]
    held["content_provenance"] = provenance(rows, data, train_photos)
    config = TrainConfig(
        styles=styles,
        content_paths=[str(f) for f in train_photos],
        out_dir=args.out,
        method="multistyle",
        preset=args.preset,
        size=args.size,
        steps=args.steps,
        batch_size=1,
        lr=args.lr,
        device="cpu",
        seed=args.seed,
        preview_every=200,
        n_previews=3,
        checkpoint_every=200,
        keep_last=8,
        init_model=base_model,
        **recipe_values(args),
    )
    return config, held


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--preset", default="painter")
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--traditions", default=DEFAULT_TRADITIONS, help="comma-separated slugs")
    parser.add_argument(
        "--add-to",
        metavar="RUN_DIR",
        help="add --traditions to the model of this finished run (only their embeddings train)",
    )
    add_recipe_arguments(parser)  # the same recipe flags as ganstyle-cli train
    parser.add_argument(
        "--threads", type=int, default=0, help="torch CPU threads (0: torch's default)"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    config, held = build_config(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    held["command"] = "python " + " ".join(sys.argv)
    held["hardware"] = (
        f"{platform.machine()} CPU, {os.cpu_count()} cores (shared), "
        f"torch threads: {torch.get_num_threads()}"
    )
    (out / "split.json").write_text(json.dumps(held, indent=2))
    started = time.monotonic()
    for event in Trainer(config).run():
        if isinstance(event, StepCompleted) and (event.step % 50 == 0 or event.step in (1, 10, 25)):
            print(
                json.dumps(
                    {
                        "step": event.step,
                        "s_per_step": round(event.seconds_per_step, 3),
                        "eta_s": round(event.eta_seconds),
                        "losses": {k: round(v, 4) for k, v in event.losses.items()},
                    }
                ),
                flush=True,
            )
        elif isinstance(event, TrainingFinished):
            summary = {
                "steps": event.step,
                "model": str(event.model_path),
                "wall_seconds": round(time.monotonic() - started, 1),
            }
            (out / "summary.json").write_text(json.dumps(summary, indent=2))
            print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
