"""Seconds per training step (batch 1) per method and preset; prints JSON lines.

    python benchmarks/train_step_speed.py --size 256 --steps 3 lite:fastcut classic:cyclegan

The CPU may be shared: run it on an idle machine for numbers worth comparing, and
compare only numbers from one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from ganstyle_desktop.engine.config import StyleSource, TrainConfig
from ganstyle_desktop.engine.devices import plan_for
from ganstyle_desktop.engine.methods import method_class
from ganstyle_desktop.engine.presets import describe_preset


def measure(preset: str, method: str, size: int, steps: int, device: str) -> dict:
    plan = plan_for(device)
    config = TrainConfig(
        styles=[StyleSource("bench", [])],
        content_paths=["unused"],
        out_dir=tempfile.mkdtemp(),
        method=method,
        preset=preset,
        size=size,
        steps=1000,
    )
    trainer_method = method_class(method)(config, plan)
    g = torch.Generator().manual_seed(0)
    content = plan.prepare_batch(torch.rand(1, 3, size, size, generator=g) * 2 - 1)
    style = plan.prepare_batch(torch.rand(1, 3, size, size, generator=g) * 2 - 1)
    trainer_method.train_step(content, style)  # warm-up
    times = []
    for _ in range(steps):
        if plan.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        trainer_method.train_step(content, style)
        if plan.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    info = describe_preset(preset, size)
    return {
        "preset": preset,
        "method": method,
        "size": size,
        "device": plan.label,
        "threads": torch.get_num_threads(),
        "seconds_per_step_median": round(statistics.median(times), 4),
        "seconds_per_step_all": [round(t, 4) for t in times],
        "generator_gmacs": info["generator_gmacs"],
        "generator_parameters": info["generator_parameters"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "runs",
        nargs="*",
        default=[
            "lite:fastcut",
            "lite:cut",
            "lite:cyclegan",
            "classic:fastcut",
            "classic:cyclegan",
        ],
    )
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON lines here")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    lines = []
    for run in args.runs:
        preset, method = run.split(":")
        line = json.dumps(measure(preset, method, args.size, args.steps, args.device))
        print(line, flush=True)
        lines.append(line)
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
