"""Quality at a wall-clock budget: train lite FastCUT for ``--minutes`` on a style set
from ../shared/data, then measure S, edge SSIM, palette distance and KID on images held
apart from training. Prints one JSON object.

    python benchmarks/bench_quality.py --minutes 30 --style japanese-ukiyo-e
    python benchmarks/bench_quality.py --minutes 0.5          # a smoke run

A quarter of the photos and of the style images (at least 2 of each, chosen by a seeded
shuffle) are held apart: the model never sees them. The held-apart photos are what gets
stylized and measured. The style reference for S, palette and KID is the whole style set
(``--style-reference all``, the default): S compares halves of the reference with each
other, and a handful of held-apart paintings gives halves too small to measure (S comes out
undefined); ``--style-reference held`` uses only the held-apart paintings. The number of steps is set from the speed of a few
calibration steps so the learning-rate schedule ends with the budget; training stops at the
budget in any case.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
NON_COMMERCIAL = {"persian-miniature", "indian-mughal-miniature"}


def split(files: list[Path], seed: int) -> tuple[list[Path], list[Path]]:
    files = sorted(files)
    random.Random(seed).shuffle(files)
    n_held = max(2, len(files) // 4)
    return files[n_held:], files[:n_held]


def calibrate(config, seconds: float = 20.0, max_steps: int = 5) -> float:
    """Median seconds per step over a few steps of a throwaway run."""
    from dataclasses import replace

    from ganstyle_desktop.engine.control import JobControl
    from ganstyle_desktop.engine.events import StepCompleted
    from ganstyle_desktop.engine.trainer import Trainer

    with tempfile.TemporaryDirectory() as tmp:
        control = JobControl()
        probe = replace(config, out_dir=tmp, steps=max_steps + 1, preview_every=0)
        stamps, t0 = [], time.perf_counter()
        for event in Trainer(probe, control).run():
            if isinstance(event, StepCompleted):
                stamps.append(time.perf_counter())
                if time.perf_counter() - t0 > seconds or len(stamps) > max_steps:
                    control.cancel()
        gaps = sorted(b - a for a, b in zip(stamps, stamps[1:], strict=False))
        return gaps[len(gaps) // 2] if gaps else max(stamps[0] - t0, 1e-3)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--style", default="japanese-ukiyo-e")
    p.add_argument("--size", type=int, default=256, help="training and evaluation size")
    p.add_argument("--method", default="fastcut")
    p.add_argument("--preset", default="lite")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--style-reference", choices=("all", "held"), default="all")
    p.add_argument("--out", type=Path, help="keep the run folder here (default: a temp folder)")
    args = p.parse_args()
    if args.style in NON_COMMERCIAL:
        print(
            f"note: {args.style} is non-commercial: fine for a benchmark, never ship it",
            file=sys.stderr,
        )
    import torch

    from ganstyle_desktop.engine.config import StyleSource, TrainConfig
    from ganstyle_desktop.engine.control import JobControl
    from ganstyle_desktop.engine.events import StepCompleted, TrainingFinished
    from ganstyle_desktop.engine.imageio import collect_image_files
    from ganstyle_desktop.engine.metrics import evaluate_model
    from ganstyle_desktop.engine.modelfile import load_model
    from ganstyle_desktop.engine.trainer import Trainer

    if args.threads:
        torch.set_num_threads(args.threads)
    style_train, style_held = split(
        collect_image_files([SHARED / "styles" / args.style]), args.seed
    )
    photo_train, photo_held = split(collect_image_files([SHARED / "content"]), args.seed)
    run_dir = args.out or Path(tempfile.mkdtemp(prefix="bench_quality_"))
    config = TrainConfig(
        styles=[StyleSource(args.style, [str(f) for f in style_train])],
        content_paths=[str(f) for f in photo_train],
        out_dir=str(run_dir),
        method=args.method,
        preset=args.preset,
        size=args.size,
        steps=1,
        device=args.device,
        seed=args.seed,
        preview_every=0,
        checkpoint_every=0,
        n_previews=1,
    )
    budget = args.minutes * 60.0
    seconds_per_step = calibrate(config, seconds=min(20.0, budget / 4))
    config.steps = max(2, int(budget / seconds_per_step))
    control = JobControl()
    t0 = time.perf_counter()
    steps_done, model_path = 0, None
    for event in Trainer(config, control).run():
        if isinstance(event, StepCompleted):
            steps_done = event.step
            if time.perf_counter() - t0 >= budget:
                control.cancel()  # the budget is spent: stop and export what we have
        elif isinstance(event, TrainingFinished):
            model_path = event.model_path
    train_seconds = time.perf_counter() - t0
    if model_path is None:
        raise SystemExit("training produced no model")
    t1 = time.perf_counter()
    reference = style_train + style_held if args.style_reference == "all" else style_held
    metrics = evaluate_model(
        load_model(model_path),
        reference,
        photo_held,
        args.size,
        device=args.device,
        seed=args.seed,
    )
    result = {
        "benchmark": "quality",
        "machine": platform.platform(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "style": args.style,
        "method": args.method,
        "preset": args.preset,
        "size": args.size,
        "budget_minutes": args.minutes,
        "calibrated_seconds_per_step": round(seconds_per_step, 3),
        "planned_steps": config.steps,
        "steps": steps_done,
        "train_seconds": round(train_seconds, 1),
        "eval_seconds": round(time.perf_counter() - t1, 1),
        "train_images": {"style": len(style_train), "content": len(photo_train)},
        "held_apart": {
            "style": [f.name for f in style_held],
            "content": [f.name for f in photo_held],
        },
        "style_reference": args.style_reference,
        "model": str(model_path),
        "metrics": metrics,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
