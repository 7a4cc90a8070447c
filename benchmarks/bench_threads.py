"""Seconds per training step of ``ganstyle-cli train`` with its default threads, with
``--threads 1`` and with ``--threads <all cores>`` while a second process keeps every core
busy (what a shared machine, or a second job, does to a run).

The competitor is one process running float matrix products on as many torch threads as
there are cores. Each configuration runs as a fresh ``ganstyle-cli train`` subprocess (the
real command line, so ``--threads`` and its default are what is measured), alternating
rounds so that drifting background load hits every configuration alike. Seconds per step
come from the command's own summary ("s/step over steps 2-N", the first step excluded).

    python benchmarks/bench_threads.py --steps 40 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
COMPETITOR = """
import sys, torch
torch.set_num_threads(int(sys.argv[1]))
a = torch.randn(384, 384)
while True:
    a = torch.tanh(a @ a)
"""
SUMMARY = re.compile(r"\(([0-9.]+) s/step over steps")


def _images(tmp: Path) -> tuple[Path, Path]:
    style, content = DATA / "styles" / "japanese-ukiyo-e", DATA / "content"
    if style.is_dir() and content.is_dir():
        return style, content
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    style, content = tmp / "style", tmp / "content"
    for folder in (style, content):
        folder.mkdir()
        for i in range(8):
            pixels = rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{i}.png")
    return style, content


def _train(
    args: argparse.Namespace, threads: int | None, out: Path, style: Path, content: Path
) -> float:
    command = [
        sys.executable, "-m", "ganstyle_desktop.cli", "train",
        "--style", str(style), "--content", str(content), "--out", str(out),
        "--preset", args.preset, "--size", str(args.size), "--steps", str(args.steps),
        "--device", "cpu", "--preview-every", "100000", "--checkpoint-every", "100000",
    ]  # fmt: skip
    if threads is not None:
        command += ["--threads", str(threads)]
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # the command decides, not the shell
        env.pop(name, None)
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=3600)
    match = SUMMARY.search(done.stderr)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"train failed ({done.returncode}):\n{done.stderr[-2000:]}")
    device = re.search(r"on (CPU \(\d+ threads?\))", done.stderr)
    print(
        f"  threads={threads or 'default'}: {match.group(1)} s/step, {device and device.group(1)}",
        file=sys.stderr,
    )
    return float(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--preset", default="lite")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument(
        "--all-cores-rounds",
        type=int,
        default=1,
        help="rounds of --threads <all cores> (slow under load: 10-20x per step)",
    )
    parser.add_argument("--no-load", action="store_true", help="without the competing process")
    args = parser.parse_args()

    from ganstyle_desktop.engine.devices import default_cpu_threads, usable_cores

    cores = usable_cores()
    configs: list[tuple[str, int | None]] = [("default", None), ("threads_1", 1)]
    if cores > 1:
        configs.append((f"threads_{cores}", cores))
    competitor = None
    if not args.no_load:
        competitor = subprocess.Popen([sys.executable, "-c", COMPETITOR, str(cores)])
        time.sleep(2.0)  # let it reach full speed
    results: dict[str, list[float]] = {name: [] for name, _ in configs}
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    try:
        with tempfile.TemporaryDirectory(prefix="ganstyle-threads-") as tmp_name:
            tmp = Path(tmp_name)
            style, content = _images(tmp)
            for round_index in range(args.rounds):
                print(f"round {round_index + 1} of {args.rounds}", file=sys.stderr)
                order = configs if round_index % 2 == 0 else list(reversed(configs))
                for name, threads in order:
                    if threads == cores > 1 and round_index >= args.all_cores_rounds:
                        continue
                    out = tmp / f"run-{name}-{round_index}"
                    results[name].append(_train(args, threads, out, style, content))
    finally:
        if competitor is not None:
            competitor.terminate()
            competitor.wait(10)
    import torch

    summary = {
        name: round(statistics.median(values), 4) for name, values in results.items() if values
    }
    print(
        json.dumps(
            {
                "benchmark": "train_threads_under_load",
                "command": f"ganstyle-cli train --preset {args.preset} --size {args.size} --steps {args.steps} --device cpu",
                "competing_load": None
                if args.no_load
                else f"1 process, {cores} torch threads of matmul",
                "usable_cores": cores,
                "default_threads": default_cpu_threads(),
                "seconds_per_step_median": summary,
                "seconds_per_step_runs": results,
                "default_vs_threads_1": round(summary["default"] / summary["threads_1"], 3),
                "load_average_before": load_before,
                "machine": platform.processor() or platform.machine(),
                "torch": torch.__version__,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
