"""How long Stop takes in each phase of a training run (seconds from cancel to the end).

Runs the engine's Trainer on the shared sample data (photos and one style set of
``../shared/data``) and cancels it once per phase: while the content photos load, while
the style set loads, while the preview photos load, during the quality checks' set-up,
between steps, and while a checkpoint is written. Prints one JSON object; the goal is at
most 1 s in every phase. The cancel comes from a second thread, as the window's Stop does.

    python benchmarks/bench_stop_latency.py --preset lite --size 256
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"


def _run_phase(phase: str, args: argparse.Namespace, tmp: Path) -> dict:
    import ganstyle_desktop.engine.trainer as trainer_module
    from ganstyle_desktop.engine import data, imageio
    from ganstyle_desktop.engine.config import StyleSource, TrainConfig
    from ganstyle_desktop.engine.control import JobControl
    from ganstyle_desktop.engine.events import CheckpointSaved, StepCompleted, TrainingFinished

    style_dir = DATA / "styles" / args.style
    content_dir = DATA / "content"
    control = JobControl()
    cancelled_at: list[float] = []

    def cancel_soon(delay: float = 0.05) -> None:
        def go() -> None:
            time.sleep(delay)
            cancelled_at.append(time.perf_counter())
            control.cancel()

        threading.Thread(target=go, daemon=True).start()

    started = threading.Event()
    patches: list[tuple[object, str, object]] = []

    def patch(module: object, name: str, value: object) -> None:
        patches.append((module, name, getattr(module, name)))
        setattr(module, name, value)

    def loader(real, folder: Path | None):
        def load(path, *a, **k):
            if not started.is_set() and (folder is None or folder in Path(path).parents):
                started.set()
                cancel_soon()
            return real(path, *a, **k)

        return load

    if phase == "content photos":
        patch(data, "load_rgb", loader(data.load_rgb, content_dir))
    elif phase == "style images":
        patch(data, "load_rgb", loader(data.load_rgb, style_dir))
    elif phase == "preview photos":
        real = trainer_module.preview_batch

        def preview_batch(files, size, n):
            patch(data, "load_rgb", loader(data.load_rgb, None))
            return real(files, size, n)

        patch(trainer_module, "preview_batch", preview_batch)
    elif phase == "quality set-up":
        patch(imageio, "load_rgb", loader(imageio.load_rgb, style_dir))
    elif phase == "saving":
        real_save = trainer_module.save_checkpoint

        def save(*a, **k):
            cancelled_at.append(time.perf_counter())
            control.cancel()  # pressed while the checkpoint is being written
            return real_save(*a, **k)

        patch(trainer_module, "save_checkpoint", save)

    config = TrainConfig(
        styles=[StyleSource(args.style, [str(style_dir)])],
        content_paths=[str(content_dir)],
        out_dir=str(tmp / phase.replace(" ", "-")),
        method="fastcut",
        preset=args.preset,
        size=args.size,
        steps=100_000,
        preview_every=50,
        checkpoint_every=3 if phase == "saving" else 100_000,
        metrics_every=100 if phase == "quality set-up" else 0,
    )
    finished = None
    steps = 0
    seconds_per_step = 0.0
    last_step_at = saved_at = None
    try:
        for event in trainer_module.Trainer(config, control).run():
            if isinstance(event, CheckpointSaved) and cancelled_at:
                saved_at = time.perf_counter()
            if isinstance(event, StepCompleted):
                steps = event.step
                seconds_per_step = event.seconds_per_step
                if cancelled_at:
                    last_step_at = time.perf_counter()
                if phase == "stepping" and event.step == 3 and not cancelled_at:
                    cancel_soon(0.5 * event.seconds_per_step)  # somewhere inside a step
            if isinstance(event, TrainingFinished):
                finished = event
    finally:
        for module, name, value in reversed(patches):
            setattr(module, name, value)
    ended = time.perf_counter()

    def since_cancel(t: float | None) -> float | None:
        return round(t - cancelled_at[0], 3) if t is not None and cancelled_at else None

    return {
        "phase": phase,
        # cancel -> the run's end (TrainingFinished), the stop-time checkpoint included
        "stop_seconds": since_cancel(ended),
        # cancel -> the step in progress ended (None: no step was in progress)
        "step_in_progress_seconds": since_cancel(last_step_at),
        # cancel -> the checkpoint written on the way out (None: nothing to keep yet)
        "checkpoint_seconds": since_cancel(saved_at),
        "seconds_per_step": round(seconds_per_step, 3),
        "cancelled": bool(finished and finished.cancelled),
        "steps_done": steps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="lite")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--style", default="japanese-ukiyo-e")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    phases = [
        "content photos",
        "style images",
        "preview photos",
        "quality set-up",
        "stepping",
        "saving",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        results = [_run_phase(p, args, Path(tmp)) for p in phases]
    print(
        json.dumps(
            {
                "benchmark": "stop_latency",
                "preset": args.preset,
                "size": args.size,
                "threads": args.threads,
                "torch": torch.__version__,
                "load_average": os.getloadavg(),
                "results": results,
                "worst_seconds": max(r["stop_seconds"] or 0 for r in results),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
