"""Seconds from Stylize to the first picture on screen, and from Cancel to a stopped worker.

Runs the window's own stylize worker (``ui/jobs/images.py``) on a large photo, without
a window: it opens the photo as the canvas does, then stylizes it with the quick preview
the canvas asks for (the Output pane's size, ``--quick-side``), and records

- ``open_seconds``: decoding the photo and its screen copy (what happens before the
  photo shows);
- ``time_to_preview_seconds``: from Stylize to the quick preview (``cold``: the model
  is loaded first, as on the first Stylize; ``warm``: from the cache);
- ``cancel_latency_seconds``: Cancel pressed ``--cancel-after`` seconds into the
  full-resolution pass, until the worker has stopped (the window itself reacts at the
  click; this is how long the CPU stays busy);
- with ``--full``, ``full_seconds``: until the full-resolution result (before this
  mechanism, the first thing shown).

    python benchmarks/bench_time_to_preview.py --size 6000x4000
    python benchmarks/bench_time_to_preview.py --size 6000x4000 --full
    python benchmarks/bench_time_to_preview.py --size 6000x4000 --full --brush auto

Prints one JSON object. The photo is a shared-data content photo resized to ``--size``
(synthetic when the shared data is absent); the model is the shipped starter.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"


def _photo(size: tuple[int, int], folder: Path) -> Path:
    import numpy as np
    from PIL import Image

    photos = sorted((SHARED / "content").glob("*.jpg"))
    if photos:
        with Image.open(photos[0]) as im:
            big = im.convert("RGB").resize(size, Image.Resampling.BICUBIC)
    else:
        rng = np.random.default_rng(0)
        coarse = (rng.random((24, 36, 3)) * 255).astype(np.uint8)
        big = Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC)
    path = folder / f"photo-{size[0]}x{size[1]}.jpg"
    big.save(path, quality=92)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="6000x4000", help="photo size, WxH")
    parser.add_argument(
        "--model", type=Path, default=ROOT / "models" / "ganstyle-traditions.safetensors"
    )
    parser.add_argument("--quick-side", type=int, default=1024, help="preview's longer side")
    parser.add_argument("--cancel-after", type=float, default=2.0)
    parser.add_argument("--full", action="store_true", help="also time the full resolution")
    parser.add_argument(
        "--brush",
        default="1",
        help="brush size: 1 paints every pixel (the slow path previews are for); auto is "
        "the app's default, which paints a large photo smaller and enlarges it",
    )
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))

    from ganstyle_desktop.engine.blend import AUTO_BRUSH, Blend
    from ganstyle_desktop.engine.control import JobCancelled, JobControl
    from ganstyle_desktop.ui.jobs import Partial, StylizeRequest, read_photo
    from ganstyle_desktop.ui.jobs.images import _stylize

    def run(request, control: JobControl, marks: dict, start_pass: threading.Event | None):
        started = time.perf_counter()

        def report(event) -> None:
            if isinstance(event, Partial) and "preview" not in marks:
                marks["preview"] = time.perf_counter() - started
                if start_pass is not None:
                    start_pass.set()

        try:
            _stylize(request, control, report)
            marks["full"] = time.perf_counter() - started
        except JobCancelled:
            marks["cancelled_at"] = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        path = _photo((width, height), Path(tmp))
        t0 = time.perf_counter()
        photo = read_photo(path, 2048)
        open_seconds = time.perf_counter() - t0
        brush = AUTO_BRUSH if args.brush == "auto" else float(args.brush)
        blend = Blend.default().with_brush(brush)
        request = StylizeRequest(args.model, photo, blend=blend, quick_side=args.quick_side)

        # Cold: the first Stylize loads the model. Cancel once the full pass has begun.
        cold: dict = {}
        control = JobControl()
        in_pass = threading.Event()
        worker = threading.Thread(target=run, args=(request, control, cold, in_pass))
        worker.start()
        in_pass.wait(600)
        time.sleep(args.cancel_after)  # into the full-resolution pass
        cancel_pressed = time.perf_counter()
        control.cancel()
        worker.join()
        cancel_latency = cold.get("cancelled_at", time.perf_counter()) - cancel_pressed

        # Warm: the model is cached, as for every later Stylize.
        warm: dict = {}
        control = JobControl()
        in_pass = threading.Event()
        worker = threading.Thread(
            target=run, args=(request, control, warm, None if args.full else in_pass)
        )
        worker.start()
        if not args.full:
            in_pass.wait(600)
            control.cancel()
        worker.join()

    import torch

    result = {
        "photo": f"{width}x{height}",
        "model": args.model.name,
        "quick_side": args.quick_side,
        "brush": args.brush,
        "open_seconds": round(open_seconds, 2),
        "time_to_preview_seconds": {
            "cold": round(cold["preview"], 2),
            "warm": round(warm["preview"], 2),
        },
        "cancel_after_seconds": args.cancel_after,
        "cancel_latency_seconds": round(cancel_latency, 3),
        "full_seconds": round(warm["full"], 1) if "full" in warm else None,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
