"""Which backend paints fastest with the look kept: every inference backend on the same
photo and model, interleaved, with CPU seconds, wall seconds and parity against plain
PyTorch (the generator as trained, nothing rewritten).

Backends compared (``--backends``):

- ``plain``: eager PyTorch on the generator as it is (the reference, and the stylizer of
  earlier releases);
- ``torch``: eager PyTorch on the fast equivalent (sub-pixel upsamplers, channels_last,
  frozen norms on batch norm's inference kernel) - the ``torch`` backend;
- ``torch-compile``: ``torch.compile`` of the fast equivalent (its compile time reported
  apart, since a stylize pays it once per process);
- ``onnx``: ONNX Runtime on the exported runtime pair - the ``onnx`` backend;
- ``onnx-int8``: the tile graph quantized by ``onnxruntime.quantization.quantize_dynamic``
  (needs the ``onnx`` package), statistics pass in float32.

Each backend paints the photo through :func:`stylize_steps` with the one normalisation
policy (statistics view, then frozen tiles or passes). Parity is the mean and largest
absolute difference from ``plain`` in 8-bit levels. Medians of ``--repeats`` interleaved
rounds. The model is a randomly initialised generator of ``--preset`` (``--multistyle``
for the multi-style generator the starter models use), or ``--model`` FILE.

    python benchmarks/bench_backends.py --size 1024 --repeats 3
    python benchmarks/bench_backends.py --size 2048 --backends torch,onnx

Prints one JSON object.
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

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"


def photo(side: int):
    import numpy as np
    from PIL import Image

    photos = sorted((SHARED / "content").glob("*.jpg"))
    if photos:
        with Image.open(photos[20 % len(photos)]) as im:
            return np.asarray(im.convert("RGB").resize((side, side), Image.Resampling.BICUBIC))
    rng = np.random.default_rng(0)
    coarse = (rng.random((side // 16, side // 16, 3)) * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(coarse).resize((side, side), Image.Resampling.BICUBIC))


def random_model(preset: str, multistyle: bool, folder: Path):
    import torch

    from ganstyle_desktop.engine.modelfile import ModelCard, load_model, save_model
    from ganstyle_desktop.engine.multistyle_nets import MultiStyleGenerator
    from ganstyle_desktop.engine.nets import ResnetGenerator
    from ganstyle_desktop.engine.presets import get_preset

    torch.manual_seed(0)
    spec = get_preset(preset).generator
    if multistyle:
        gen = MultiStyleGenerator(spec, ["ukiyo-e", "ink-wash", "impressionism"])
        # Mapping weights start at zero (plain instance norm); give them a style to paint.
        torch.nn.init.normal_(gen.mapping[2].weight, std=0.05)
        card = ModelCard(
            name=f"random {preset}",
            kind="multistyle",
            method="multistyle",
            preset=preset,
            architecture=gen.architecture(),
            training_size=256,
            traditions=[{"slug": t} for t in gen.traditions],
        )
    else:
        gen = ResnetGenerator(spec)
        card = ModelCard(name=f"random {preset}", preset=preset, training_size=256)
    path = save_model(folder / f"random-{preset}.safetensors", gen.eval(), card)
    return load_model(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024, help="square photo side")
    parser.add_argument("--preset", default="mid")
    parser.add_argument("--multistyle", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--model", type=Path, help="a model file instead of a random one")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--backends",
        default="plain,torch,torch-compile,onnx,onnx-int8",
        help="comma-separated, from plain, torch, torch-compile, onnx, onnx-int8",
    )
    args = parser.parse_args()

    import numpy as np
    import torch

    from ganstyle_desktop.engine import onnx_backend
    from ganstyle_desktop.engine.events import StylizeFinished
    from ganstyle_desktop.engine.modelfile import load_model
    from ganstyle_desktop.engine.stylize import stylize_steps, training_size_of

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    names = [b.strip() for b in args.backends.split(",") if b.strip()]
    image = photo(args.size)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["GANSTYLE_CACHE_DIR"] = tmp
        model = (
            load_model(args.model)
            if args.model
            else random_model(args.preset, args.multistyle, Path(tmp))
        )
        notes: dict = {}

        def paint(name: str):
            if name == "plain":
                target, backend = model.module_for(None), "torch"  # a bare module: as it is
            elif name == "onnx-int8":
                target, backend = int8_runtime(), "onnx"
            else:
                target, backend = model, name
            c0, t0 = time.process_time(), time.perf_counter()
            out = None
            for event in stylize_steps(
                target,
                image,
                backend=backend,
                device="cpu",
                training_size=training_size_of(model),
            ):
                if isinstance(event, StylizeFinished):
                    out = event.output
            return out, time.process_time() - c0, time.perf_counter() - t0

        int8_cache: dict = {}

        def int8_runtime():
            if "runtime" not in int8_cache:
                from onnxruntime.quantization import QuantType, quantize_dynamic

                runtime = onnx_backend.ensure_runtime(model)
                folder = Path(tmp) / "int8"
                folder.mkdir(exist_ok=True)
                for f in ("stats.onnx", "runtime.json"):
                    (folder / f).write_bytes((runtime.folder / f).read_bytes())
                quantize_dynamic(
                    str(runtime.folder / "tiles.onnx"),
                    str(folder / "tiles.onnx"),
                    weight_type=QuantType.QInt8,
                )
                int8_cache["runtime"] = onnx_backend.RuntimeModel(folder, runtime.meta, None)
            return int8_cache["runtime"]

        # Warm-up (and one-time costs: export, compile), not timed in the medians.
        reference = None
        outputs: dict = {}
        for name in names:
            t0 = time.perf_counter()
            try:
                outputs[name], _, _ = paint(name)
            except Exception as exc:  # noqa: BLE001 - report a backend that cannot run
                notes[name] = f"{type(exc).__name__}: {exc}"[:300]
            notes.setdefault(f"{name}_first_call_seconds", round(time.perf_counter() - t0, 2))
        runnable = [n for n in names if n in outputs]
        reference = outputs.get("plain")
        cpu: dict = {n: [] for n in runnable}
        wall: dict = {n: [] for n in runnable}
        for _ in range(args.repeats):
            for name in runnable:  # interleaved: machine load affects every backend alike
                _, c, w = paint(name)
                cpu[name].append(c)
                wall[name].append(w)

    results = {}
    for name in runnable:
        row = {
            "cpu_seconds": round(statistics.median(cpu[name]), 3),
            "wall_seconds": round(statistics.median(wall[name]), 3),
        }
        if reference is not None:
            diff = np.abs(outputs[name].astype(np.int16) - reference.astype(np.int16))
            row["parity_mean_levels"] = round(float(diff.mean()), 3)
            row["parity_max_levels"] = int(diff.max())
        results[name] = row
    keeps_look = [n for n in runnable if results[n].get("parity_mean_levels", 0.0) <= 1.0]
    fastest = min(keeps_look, key=lambda n: results[n]["cpu_seconds"]) if keeps_look else None
    print(
        json.dumps(
            {
                "photo": f"{args.size}x{args.size}",
                "model": str(args.model)
                if args.model
                else f"random {args.preset}" + (" multi-style" if args.multistyle else ""),
                "threads": int(os.environ["OMP_NUM_THREADS"]),
                "repeats": args.repeats,
                "backends": results,
                "fastest_keeping_the_look": fastest,
                "notes": notes,
                "torch": torch.__version__,
                "onnxruntime": _version("onnxruntime"),
                "cpu": platform.processor() or platform.machine(),
                "cores": os.cpu_count(),
                "load_average": [round(x, 1) for x in os.getloadavg()],
            },
            indent=2,
        )
    )


def _version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


if __name__ == "__main__":
    main()
