"""Stylize speed and memory at 512, 1024, 2048 and 4096 px squares, per preset.

Each (preset, size) runs in a fresh subprocess so its peak RSS is its own. Prints one JSON
object. Where a whole-image pass also fits (``--compare-max``), the child also reports the
mean absolute difference (in 0..255 levels) between the tiled output and
- the untiled output, the same photo and settings in one whole-image pass (both use the
  normalisation policy's view statistics: the tiling error), and
- plain whole-image inference (instance norm over the full-size image itself: how far the
  policy's view statistics are from it). ``bench_normalisation.py`` measures the policy
  on trained weights and real photos.

    python benchmarks/bench_stylize.py --presets lite --sizes 512 1024 2048 4096
    python benchmarks/bench_stylize.py --model my.safetensors --sizes 2048

Without ``--model`` the preset's generator is randomly initialised (seed 0): speed and
memory do not depend on the weights.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"


def _rss_mb() -> float:
    # Linux reports KiB, macOS bytes.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _test_image(size: int):
    import numpy as np
    from PIL import Image

    photos = sorted((SHARED / "content").glob("*.jpg"))
    if photos:
        with Image.open(photos[0]) as im:
            return np.asarray(im.convert("RGB").resize((size, size), Image.Resampling.LANCZOS))
    rng = np.random.default_rng(0)
    coarse = (rng.random((16, 16, 3)) * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(coarse).resize((size, size), Image.Resampling.BICUBIC))


def child(args: argparse.Namespace) -> None:
    import numpy as np
    import torch

    from ganstyle_desktop.engine.events import StylizeFinished
    from ganstyle_desktop.engine.stylize import stylize_array, stylize_steps

    torch.set_num_threads(args.threads)
    if args.model:
        from ganstyle_desktop.engine.modelfile import load_model

        model = load_model(args.model)
    else:
        from ganstyle_desktop.engine.nets import ResnetGenerator
        from ganstyle_desktop.engine.presets import get_preset

        torch.manual_seed(0)
        model = ResnetGenerator(get_preset(args.preset).generator).eval()
    image = _test_image(args.size)
    rss_before = _rss_mb()
    t0 = time.perf_counter()
    finished = None
    for event in stylize_steps(model, image, device=args.device, memory_budget_mb=args.memory_mb):
        if isinstance(event, StylizeFinished):
            finished = event
    seconds = time.perf_counter() - t0
    result = {
        "preset": args.preset if not args.model else str(args.model),
        "size": args.size,
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(_rss_mb(), 1),
        "rss_before_mb": round(rss_before, 1),
        "tiled": finished.tiled,
        "tiles": finished.extra.get("tiles"),
        "tile_size": finished.extra.get("tile_size"),
    }
    if args.size <= args.compare_max:
        tiled = finished.output
        if not finished.tiled:  # compare against a tiled run of the same image
            tiled = stylize_array(model, image, device=args.device, tile_size=args.size // 2)
        frozen = stylize_array(model, image, device=args.device, tiling="whole")
        plain = stylize_array(model, image, device=args.device, tiling="whole", statistics="full")

        def mad(a, b) -> float:
            return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())

        result["mad_tiled_vs_untiled"] = round(mad(tiled, frozen), 5)
        result["max_tiled_vs_untiled"] = int(
            np.abs(tiled.astype(np.int16) - frozen.astype(np.int16)).max()
        )
        result["mad_tiled_vs_plain_whole"] = round(mad(tiled, plain), 4)
    print(json.dumps(result))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", nargs="+", default=["lite"])
    p.add_argument("--sizes", nargs="+", type=int, default=[512, 1024, 2048, 4096])
    p.add_argument("--model", type=Path, help="a trained model file instead of random weights")
    p.add_argument("--memory-mb", type=float, default=1024)
    p.add_argument("--compare-max", type=int, default=2048, help="largest size to compare")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--preset", default="lite", help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, default=512, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args)
        return
    import torch

    runs = []
    for preset in [None] if args.model else args.presets:
        for size in args.sizes:
            cmd = [sys.executable, __file__, "--child", "--size", str(size)]
            cmd += ["--memory-mb", str(args.memory_mb), "--compare-max", str(args.compare_max)]
            cmd += ["--threads", str(args.threads), "--device", args.device]
            cmd += ["--model", str(args.model)] if args.model else ["--preset", preset]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                runs.append({"preset": preset, "size": size, "error": proc.stderr[-2000:]})
            else:
                runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(f"done {preset} {size}: {runs[-1]}", file=sys.stderr)
    print(
        json.dumps(
            {
                "benchmark": "stylize",
                "machine": platform.platform(),
                "cpu_threads": args.threads,
                "torch": torch.__version__,
                "memory_budget_mb": args.memory_mb,
                "runs": runs,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
