"""End-to-end training speed: seconds per step at 256 px of each method x preset through
the engine's Trainer (data sampling, DiffAugment, EMA included), with the classic CycleGAN
configuration measured in the same run and the ratio default/classic. Prints one JSON
object.

    python benchmarks/bench_train_speed.py                  # every method x lite, classic
    python benchmarks/bench_train_speed.py --pairs lite:fastcut classic:cyclegan --steps 5

Steps are timed between the trainer's StepCompleted events after ``--warmup`` steps;
previews and checkpoints are off. The CPU may be shared with other work: compare only
numbers from one run (the load average is recorded).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
# Public-domain sets only (see ../shared/data/README.md).
STYLES = ("japanese-ukiyo-e", "european-impressionism")
METHODS = ("fastcut", "cut", "cyclegan", "multistyle")
DEFAULT = "lite:fastcut"
REFERENCE = "classic:cyclegan"


def measure(preset: str, method: str, size: int, steps: int, warmup: int, device: str) -> dict:
    from ganstyle_desktop.engine.config import StyleSource, TrainConfig
    from ganstyle_desktop.engine.events import StepCompleted
    from ganstyle_desktop.engine.trainer import Trainer

    n_styles = 2 if method == "multistyle" else 1
    styles = [StyleSource(s, [str(SHARED / "styles" / s)]) for s in STYLES[:n_styles]]
    with tempfile.TemporaryDirectory() as run_dir:
        config = TrainConfig(
            styles=styles,
            content_paths=[str(SHARED / "content")],
            out_dir=run_dir,
            method=method,
            preset=preset,
            size=size,
            steps=warmup + steps + 1,
            device=device,
            preview_every=0,
            checkpoint_every=0,
            n_previews=1,
        )
        trainer = Trainer(config)
        stamps: list[float] = []
        for event in trainer.run():
            if isinstance(event, StepCompleted):
                stamps.append(time.perf_counter())
        gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)][warmup:][:steps]
        return {
            "preset": preset,
            "method": method,
            "size": size,
            "device": trainer.plan.label,
            "seconds_per_step": round(statistics.median(gaps), 4),
            "step_seconds": [round(g, 4) for g in gaps],
        }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--pairs",
        nargs="+",
        help="preset:method pairs (default: every method with lite and classic)",
    )
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--steps", type=int, default=3, help="timed steps per pair")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    pairs = args.pairs or [f"{pr}:{m}" for pr in ("lite", "classic") for m in METHODS]
    for required in (DEFAULT, REFERENCE):
        if required not in pairs:
            pairs.append(required)
    load_before = os.getloadavg()
    results = []
    for pair in pairs:
        preset, method = pair.split(":")
        t0 = time.perf_counter()
        results.append(measure(preset, method, args.size, args.steps, args.warmup, args.device))
        print(
            f"{pair}: {results[-1]['seconds_per_step']} s/step ({time.perf_counter() - t0:.0f} s)",
            file=sys.stderr,
        )
    by_pair = {f"{r['preset']}:{r['method']}": r["seconds_per_step"] for r in results}
    print(
        json.dumps(
            {
                "benchmark": "train_speed",
                "machine": platform.platform(),
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "load_average_before": [round(x, 2) for x in load_before],
                "load_average_after": [round(x, 2) for x in os.getloadavg()],
                "results": results,
                "ratio_default_to_classic_cyclegan": round(
                    by_pair[DEFAULT] / by_pair[REFERENCE], 4
                ),
                "default": DEFAULT,
                "reference": REFERENCE,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
