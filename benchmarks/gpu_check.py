"""GPU check: the CUDA paths, run for real, in under 8 minutes; one JSON object on stdout.

    benchmarks/gpu_check.sh                       # on a CUDA machine: everything
    python benchmarks/gpu_check.py --only train_amp,inference_parity --budget 120

Sections (each records ``status`` ok / error / skipped, its seconds and its figures; one
that fails does not stop the others, and the global ``--budget`` skips or cuts short what
would not fit):

- ``environment``: torch, CUDA, cuDNN, the GPUs, the project's presets and methods.
- ``train_amp``: a few training steps of every method x preset (looked up at run time)
  under autocast bfloat16, and float16 with a GradScaler, channels_last; losses finite.
- ``inference_parity``: bf16 and fp16 against fp32 inference of the starter model on a real
  photo: mean, 99th percentile and max difference in 8-bit levels; the same for 16-bit
  output, with the distinct levels each keeps.
- ``stylize_large``: 2048x2048 and 4096x4096 stylize seconds and peak GPU memory, tiled in
  the default 1 GB budget and as one whole-image pass.
- ``train_speed``: training steps/s at 256 px through the Trainer (data, DiffAugment, EMA
  included) for every preset at batch 1, 4, 8 (FastCUT unless ``--speed-method``).
- ``ddp``: ``torchrun`` over every visible GPU (NCCL) against one process with the same
  per-GPU batch: seconds per step and scaling efficiency. With one GPU, two processes
  share it over gloo (checks the DDP code path on CUDA, not a speed figure).

Without CUDA, the CUDA-only parts are skipped with the reason, and the CPU-safe parts run
small: every method x preset for a step or two under CPU autocast, bf16/fp16 parity on
the CPU, and a two-process gloo DDP run. Nothing is installed; the photo is the first of
``../shared/data/content`` when present, else ``--photo`` or the bundled sample (which is
rendered, not photographed: the JSON says which was used).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED_CONTENT = ROOT.parent / "shared" / "data" / "content"
SAMPLE = ROOT / "resources" / "samples" / "sample_landscape.jpg"
STARTER = ROOT / "models" / "ganstyle-traditions.safetensors"
CPU_MAX_GENERATOR_MILLIONS = 1.0  # on the CPU, train_amp leaves bigger presets out
DEFAULT_BUDGET = 450.0  # seconds: under 8 minutes with start-up and the shell around it
STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"[gpu_check {time.monotonic() - STARTED:5.0f} s] {message}", file=sys.stderr, flush=True)


class OutOfTime(Exception):
    """The global budget ran out in the middle of a section."""


class Check:
    """What every section gets: the options, the budget, the device, the photo."""

    def __init__(self, args: argparse.Namespace) -> None:
        import torch

        self.args = args
        self.deadline = STARTED + args.budget
        self.cuda = torch.cuda.is_available() and not args.cpu
        self.device = "cuda" if self.cuda else "cpu"
        self.photo_path, self.photo_is_real = _photo_path(args.photo)
        self._photo = None

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def out_of_time(self, reserve: float = 0.0) -> bool:
        return self.left() < reserve

    def photo(self):
        """The photo as HxWx3 uint8."""
        if self._photo is None:
            import numpy as np

            from ganstyle_desktop.engine.imageio import load_rgb

            self._photo = np.asarray(load_rgb(self.photo_path))
        return self._photo

    def sync(self) -> None:
        if self.cuda:
            import torch

            torch.cuda.synchronize()


def _photo_path(given: str | None) -> tuple[Path, bool]:
    if given:
        return Path(given), True
    photos = sorted(SHARED_CONTENT.glob("*.jpg")) if SHARED_CONTENT.is_dir() else []
    return (photos[0], True) if photos else (SAMPLE, False)


def _resized(image, width: int, height: int):
    import numpy as np
    from PIL import Image

    return np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.BICUBIC))


def _levels(a, b) -> dict:
    """Mean, 99th percentile and max of |a - b| in the images' own levels."""
    import numpy as np

    diff = np.abs(a.astype(np.int64) - b.astype(np.int64))
    return {
        "mean": round(float(diff.mean()), 4),
        "p99": float(np.percentile(diff, 99)),
        "max": int(diff.max()),
    }


def _finite(losses: dict[str, float]) -> bool:
    return all(math.isfinite(v) for v in losses.values())


# -- sections ---------------------------------------------------------------------------------


def environment(check: Check) -> dict:
    import torch

    from ganstyle_desktop import __version__
    from ganstyle_desktop.engine.methods import method_names
    from ganstyle_desktop.engine.presets import PRESETS

    gpus = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            gpus.append(
                {
                    "name": props.name,
                    "memory_gb": round(props.total_memory / 2**30, 1),
                    "capability": f"{props.major}.{props.minor}",
                }
            )
    return {
        "project": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "cuda_runtime": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "cuda_used": check.cuda,
        "gpus": gpus,
        "bf16_supported": bool(check.cuda and torch.cuda.is_bf16_supported()),
        "presets": list(PRESETS),
        "methods": method_names(),
        "photo": str(check.photo_path),
        "photo_is_real": check.photo_is_real,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def train_amp(check: Check) -> dict:
    import torch

    from ganstyle_desktop.engine.config import StyleSource, TrainConfig
    from ganstyle_desktop.engine.devices import DevicePlan
    from ganstyle_desktop.engine.methods import method_class, method_names
    from ganstyle_desktop.engine.presets import PRESETS

    args = check.args
    size = args.amp_size or (128 if check.cuda else 32)
    steps = args.amp_steps or (3 if check.cuda else 2)
    batch = 2
    device = torch.device(check.device)
    content, style = _crops(check, size, batch * 2)
    modes = [("bf16", torch.bfloat16), ("fp16", torch.float16)]
    runs, failures, left_out = [], [], {}
    truncated = False
    presets = _chosen(args.presets, list(PRESETS))
    if not check.cuda and not args.presets:
        # CPU autocast is a stand-in (fp16 is emulated): big generators would take minutes.
        for name in list(presets):
            millions = _generator_parameters(name) / 1e6
            if millions > CPU_MAX_GENERATOR_MILLIONS:
                presets.remove(name)
                left_out[name] = f"CPU: {millions:.1f} M generator parameters, too slow here"
    for method in _chosen(args.methods, method_names()):
        for preset in presets:
            if PRESETS[preset].is_painter and method != "multistyle":
                left_out[f"{method}/{preset}"] = "the painter preset trains with multistyle only"
                continue
            for label, dtype in modes:
                if check.out_of_time(reserve=5):
                    truncated = True
                    break
                n_styles = 2 if method == "multistyle" else 1
                config = TrainConfig(
                    styles=[StyleSource(f"style-{i}") for i in range(n_styles)],
                    content_paths=["unused"],
                    out_dir="unused",
                    method=method,
                    preset=preset,
                    size=size,
                    batch_size=batch,
                    steps=1000,
                    seed=0,
                )
                plan = DevicePlan(device, dtype, True, f"{check.device}, {label}, channels_last")
                record: dict = {"method": method, "preset": preset, "precision": label}
                t0 = time.perf_counter()
                try:
                    trainer = method_class(method)(config, plan)
                    if hasattr(trainer, "observe_styles"):  # as the Trainer does
                        trainer.observe_styles(_style_sources(style, n_styles))
                    ids = torch.arange(batch, device=device) % n_styles
                    for step in range(steps):
                        rows = slice((step % 2) * batch, (step % 2) * batch + batch)
                        losses = trainer.train_step(
                            plan.prepare_batch(content[rows]), plan.prepare_batch(style[rows]), ids
                        )
                    check.sync()
                    record.update(
                        steps=steps,
                        finite=_finite(losses),
                        losses={k: round(v, 4) for k, v in losses.items()},
                        grad_scaler=trainer.scaler is not None,
                        seconds=round(time.perf_counter() - t0, 3),
                    )
                    if trainer.scaler is not None:
                        record["scale"] = float(trainer.scaler.get_scale())
                    if not record["finite"]:
                        failures.append(f"{method}/{preset}/{label}: non-finite loss")
                except Exception as exc:  # one combination failing must not hide the rest
                    record["error"] = f"{type(exc).__name__}: {exc}"
                    failures.append(f"{method}/{preset}/{label}: {record['error']}")
                runs.append(record)
                say(f"train_amp {method}/{preset}/{label}: {record.get('error') or 'ok'}")
                del plan
                _free_memory(check)
    return {
        "device": check.device,
        "size": size,
        "batch": batch,
        "steps": steps,
        "channels_last": True,
        "all_finite": not failures and not truncated,
        "failures": failures,
        "truncated": truncated,
        "presets_left_out": left_out,
        "runs": runs,
    }


def inference_parity(check: Check) -> dict:
    import numpy as np

    from ganstyle_desktop.engine.modelfile import load_model
    from ganstyle_desktop.engine.stylize import stylize_array

    side = check.args.parity_size or (1024 if check.cuda else 256)
    photo = check.photo()
    h, w = photo.shape[:2]
    scale = side / min(h, w)
    photo = _resized(photo, max(8, round(w * scale)), max(8, round(h * scale)))
    model = load_model(STARTER, device="cpu")

    def run(image, precision):
        return stylize_array(model, image, device=check.device, precision=precision, tiling="whole")

    result: dict = {
        "model": STARTER.name,
        "photo": check.photo_path.name,
        "photo_is_real": check.photo_is_real,
        "size": list(photo.shape[:2]),
        "device": check.device,
    }
    reference = run(photo, "fp32")
    for precision in ("bf16", "fp16"):
        result[f"{precision}_vs_fp32_8bit_levels"] = _levels(run(photo, precision), reference)
    deep = photo.astype(np.uint16) * 257
    reference16 = run(deep, "fp32")
    result["16bit"] = {"fp32_distinct_levels": _distinct(reference16)}
    for precision in ("bf16", "fp16"):
        out = run(deep, precision)
        result["16bit"][f"{precision}_vs_fp32_levels"] = _levels(out, reference16)
        result["16bit"][f"{precision}_distinct_levels"] = _distinct(out)
    # The default for 16-bit output must be the fp32 result itself.
    result["16bit"]["auto_equals_fp32"] = bool(np.array_equal(run(deep, "auto"), reference16))
    return result


def stylize_large(check: Check) -> dict:
    if not check.cuda and not check.args.rehearse:
        return _skip("no CUDA GPU: 2048/4096 px GPU stylize times and memory need one")
    from ganstyle_desktop.engine.events import StylizeFinished
    from ganstyle_desktop.engine.modelfile import load_model
    from ganstyle_desktop.engine.stylize import stylize_array, stylize_steps

    model = load_model(STARTER, device="cpu")
    photo = check.photo()
    sizes = (2048, 4096) if check.cuda else (96, 160)  # --rehearse: tiny, on the CPU
    warm = 512 if check.cuda else 64
    stylize_array(model, _resized(photo, warm, warm), device=check.device)  # kernels, cuDNN
    runs = []
    modes = [
        ("tiled, 1 GB budget, auto precision", {"memory_budget_mb": 1024}),
        ("whole image, auto precision", {"tiling": "whole"}),
        ("whole image, fp32", {"tiling": "whole", "precision": "fp32"}),
    ]
    budget = 1024 if check.cuda else 1  # MB: tiles on the CPU rehearsal too
    modes[0] = (modes[0][0], {"memory_budget_mb": budget})
    for size in sizes:
        image = _resized(photo, size, size)
        for label, options in modes:
            if check.out_of_time(reserve=20):
                runs.append({"size": size, "mode": label, "skipped": "time budget"})
                continue
            record: dict = {"size": size, "mode": label}
            try:
                base = _reset_peak_memory(check)
                check.sync()
                t0 = time.perf_counter()
                for event in stylize_steps(model, image, device=check.device, **options):
                    if isinstance(event, StylizeFinished):
                        record.update(
                            tiles=event.extra.get("tiles"),
                            precision=event.extra.get("precision"),
                        )
                check.sync()
                record["seconds"] = round(time.perf_counter() - t0, 3)
                record["peak_gpu_mb"] = _peak_memory_mb(check, base)
            except Exception as exc:  # e.g. out of memory on a small GPU: record it
                record["error"] = f"{type(exc).__name__}: {exc}"[:500]
            runs.append(record)
            say(f"stylize_large {size} {label}: {record.get('seconds', record.get('error'))}")
            _free_memory(check)
    return {"model": STARTER.name, "runs": runs}


def train_speed(check: Check) -> dict:
    if not check.cuda and not check.args.rehearse:
        return _skip("no CUDA GPU: 256 px training speed is a GPU figure")
    from ganstyle_desktop.engine.config import StyleSource, TrainConfig
    from ganstyle_desktop.engine.events import StepCompleted
    from ganstyle_desktop.engine.presets import PRESETS
    from ganstyle_desktop.engine.trainer import Trainer

    args = check.args
    size, warmup, timed = 256, 3, args.speed_steps
    presets = _chosen(args.presets, list(PRESETS))
    if not check.cuda:  # --rehearse: tiny, on the CPU
        size, warmup, timed = 32, 1, 2
        presets = _chosen(args.presets or "tiny", list(PRESETS))
    method = args.speed_method
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        folders = _image_folders(check, Path(tmp), side=size + size // 4)
        for preset in presets:
            for batch in (1, 4, 8):
                if check.out_of_time(reserve=15):
                    runs.append({"preset": preset, "batch": batch, "skipped": "time budget"})
                    continue
                n_styles = 2 if method == "multistyle" else 1
                config = TrainConfig(
                    styles=[
                        StyleSource(f"s{i}", [str(folders[f"style{i}"])]) for i in range(n_styles)
                    ],
                    content_paths=[str(folders["content"])],
                    out_dir=str(Path(tmp) / f"run-{preset}-{batch}"),
                    method=method,
                    preset=preset,
                    size=size,
                    batch_size=batch,
                    steps=warmup + timed + 1,
                    device=check.device,
                    preview_every=0,
                    checkpoint_every=0,
                    n_previews=1,
                )
                record: dict = {"preset": preset, "batch": batch, "method": method}
                try:
                    base = _reset_peak_memory(check)
                    stamps = [
                        time.perf_counter()
                        for event in Trainer(config).run()
                        if isinstance(event, StepCompleted)
                    ]
                    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)][warmup:]
                    median = sorted(gaps)[len(gaps) // 2]
                    record.update(
                        steps_per_second=round(1.0 / median, 2),
                        images_per_second=round(batch / median, 1),
                        peak_gpu_mb=_peak_memory_mb(check, base),
                    )
                except Exception as exc:
                    record["error"] = f"{type(exc).__name__}: {exc}"[:500]
                runs.append(record)
                say(
                    f"train_speed {preset} b{batch}: {record.get('steps_per_second', record.get('error'))}"
                )
                _free_memory(check)
    return {"size": size, "method": method, "timed_steps": timed, "runs": runs}


def ddp(check: Check) -> dict:
    import torch

    gpus = torch.cuda.device_count() if check.cuda else 0
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    if gpus >= 2:
        nproc, note = gpus, f"NCCL over {gpus} GPUs"
        preset, size, batch, steps = "lite", 256, 4, 30
    elif gpus == 1:
        nproc, note = 2, "two processes sharing one GPU over gloo: the DDP path, not a speed"
        env["GANSTYLE_DIST_BACKEND"] = "gloo"
        preset, size, batch, steps = "lite", 128, 2, 12
    else:
        nproc, note = 2, "no CUDA GPU: two CPU processes over gloo"
        preset, size, batch, steps = "tiny", 32, 2, 6
    result: dict = {"processes": nproc, "note": note, "preset": preset, "size": size}
    result["batch_per_process"] = batch
    with tempfile.TemporaryDirectory() as tmp:
        folders = _image_folders(check, Path(tmp), side=size + size // 4)
        common = [
            "train",
            "--style",
            str(folders["style0"]),
            "--content",
            str(folders["content"]),
            "--preset",
            preset,
            "--size",
            str(size),
            "--steps",
            str(steps),
            "--batch-size",
            str(batch),
            "--device",
            check.device,
            "--checkpoint-every",
            str(steps),
            "--preview-every",
            str(steps),
        ]
        run_dir = Path(tmp) / "ddp"
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        launcher += ["--nproc-per-node", str(nproc), "-m", "ganstyle_desktop.cli"]
        many = _timed_run([*launcher, *common, "--out", str(run_dir)], env, check)
        result["ddp"] = many
        result["model_files"] = sorted(p.name for p in run_dir.glob("*.safetensors"))
        result["checkpoints"] = sorted(p.name for p in (run_dir / "checkpoints").glob("step_*"))
        if not check.out_of_time(reserve=30):
            one = [sys.executable, "-m", "ganstyle_desktop.cli", *common]
            result["one_process"] = _timed_run([*one, "--out", str(Path(tmp) / "one")], env, check)
            s_many = many.get("seconds_per_step")
            s_one = result["one_process"].get("seconds_per_step")
            if s_many and s_one:
                result["scaling_efficiency"] = round(s_one / s_many, 3)  # 1.0: perfect
                result["images_per_second"] = round(nproc * batch / s_many, 1)
    ok = many.get("returncode") == 0 and result["model_files"] == ["model.safetensors"]
    if not ok:
        result["_status"] = "error"
    return result


# -- helpers ----------------------------------------------------------------------------------


def _skip(reason: str) -> dict:
    say(f"skipped: {reason}")
    return {"_status": "skipped", "reason": reason}


def _chosen(wanted: str | None, available: list[str]) -> list[str]:
    if not wanted:
        return available
    names = [n.strip() for n in wanted.split(",") if n.strip()]
    return [n for n in names if n in available]


def _style_sources(style, n_styles: int) -> list:
    """Style sets as the Trainer hands them to a method: uint8 C x H x W images."""
    from types import SimpleNamespace

    import torch

    pixels = ((style.detach().float().cpu() + 1) * 127.5).clamp(0, 255).to(torch.uint8)
    return [SimpleNamespace(images=list(pixels[i::n_styles])) for i in range(n_styles)]


def _generator_parameters(preset: str) -> int:
    from ganstyle_desktop.engine.presets import describe_preset

    return int(describe_preset(preset, 16)["generator_parameters"]) if preset else 0


def _distinct(image) -> int:
    import numpy as np

    return int(min(len(np.unique(image[:, :, c])) for c in range(3)))


def _crops(check: Check, size: int, n: int):
    """``n`` content crops of the photo and ``n`` "paintings" (posterised, recoloured
    crops), float32 NCHW in [-1, 1] on the CPU."""
    import numpy as np
    import torch

    photo = check.photo()
    h, w = photo.shape[:2]
    rng = np.random.default_rng(0)
    side = min(h, w)
    crops = []
    for _ in range(n):
        y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        crops.append(_resized(np.ascontiguousarray(photo[y : y + side, x : x + side]), size, size))
    content = np.stack(crops)
    style = (content[..., ::-1] // 48 * 48).astype(np.uint8)

    def as_tensor(a):
        return torch.from_numpy(np.ascontiguousarray(a)).permute(0, 3, 1, 2).float() / 127.5 - 1

    return as_tensor(content), as_tensor(style)


def _image_folders(check: Check, root: Path, side: int) -> dict[str, Path]:
    from PIL import Image

    content, style = _crops(check, side, 8)
    folders = {"content": root / "content", "style0": root / "style0", "style1": root / "style1"}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    for i in range(8):
        for name, batch in (("content", content), (f"style{i % 2}", style)):
            pixels = ((batch[i].permute(1, 2, 0) + 1) * 127.5).round().clamp(0, 255).byte().numpy()
            Image.fromarray(pixels).save(folders[name] / f"{name}_{i}.png")
    return folders


def _timed_run(command: list[str], env: dict, check: Check) -> dict:
    timeout = max(10.0, min(check.left() - 5, 240.0))
    t0 = time.monotonic()
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"returncode": None, "error": f"timed out after {timeout:.0f} s"}
    found = re.search(r"\(([\d.]+) s/step over steps", done.stderr)
    record = {
        "returncode": done.returncode,
        "wall_seconds": round(time.monotonic() - t0, 1),
        "seconds_per_step": float(found.group(1)) if found else None,
    }
    parallel = re.search(r"Data-parallel training: [^\n]*", done.stderr)
    if parallel:
        record["message"] = parallel.group(0)
    if done.returncode != 0:
        record["stderr_tail"] = done.stderr[-2000:]
    return record


def _reset_peak_memory(check: Check) -> int:
    """Start a peak-memory measurement; returns the bytes already allocated."""
    if not check.cuda:
        return 0
    import torch

    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    return torch.cuda.memory_allocated()


def _peak_memory_mb(check: Check, base: int) -> float | None:
    if not check.cuda:
        return None
    import torch

    return round((torch.cuda.max_memory_allocated() - base) / 2**20, 1)


def _free_memory(check: Check) -> None:
    import gc

    gc.collect()
    if check.cuda:
        import torch

        torch.cuda.empty_cache()


SECTIONS: list[tuple[str, Callable[[Check], dict], float]] = [
    # name, function, seconds it needs at least to be worth starting
    ("environment", environment, 0),
    ("train_amp", train_amp, 20),
    ("inference_parity", inference_parity, 10),
    ("stylize_large", stylize_large, 20),
    ("train_speed", train_speed, 30),
    ("ddp", ddp, 30),
]


def run_section(name: str, function: Callable[[Check], dict], need: float, check: Check) -> dict:
    if check.out_of_time(reserve=need):
        say(f"{name}: skipped, {check.left():.0f} s of the budget left")
        return {"status": "skipped", "reason": f"time budget ({check.left():.0f} s left)"}
    say(f"{name} ...")
    t0 = time.monotonic()
    try:
        result = function(check)
        status = result.pop("_status", "ok")
        entry = {"status": status, **result}
    except (Exception, OutOfTime) as exc:
        entry = {
            "status": "error",
            "error": f"{type(exc).__name__}: {exc}"[:1000],
            "traceback": traceback.format_exc()[-3000:],
        }
        say(f"{name}: {entry['error']}")
    entry["seconds"] = round(time.monotonic() - t0, 1)
    with contextlib.suppress(Exception):
        _free_memory(check)
    return entry


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budget", type=float, default=DEFAULT_BUDGET, help="seconds in all")
    p.add_argument("--only", help="comma-separated sections to run")
    p.add_argument("--skip", default="", help="comma-separated sections to leave out")
    p.add_argument("--methods", help="comma-separated methods (default: all)")
    p.add_argument("--presets", help="comma-separated presets (default: every preset)")
    p.add_argument("--photo", help="the photo for parity and sizes (default: see above)")
    p.add_argument("--cpu", action="store_true", help="act as if there were no GPU")
    p.add_argument("--amp-size", type=int, help="train_amp crop side (128 on CUDA, 32 on CPU)")
    p.add_argument("--amp-steps", type=int, help="train_amp steps (3 on CUDA, 2 on CPU)")
    p.add_argument("--parity-size", type=int, help="parity photo short side (1024; CPU 256)")
    p.add_argument("--speed-method", default="fastcut")
    p.add_argument("--speed-steps", type=int, default=10)
    p.add_argument("--json-out", type=Path, help="also write the JSON here")
    p.add_argument(
        "--rehearse",
        action="store_true",
        help="without CUDA, run the CUDA-only sections on the CPU at toy sizes (checks the "
        "script itself; the figures mean nothing)",
    )
    args = p.parse_args()

    report: dict = {"check": "ganstyle gpu_check", "budget_seconds": args.budget, "sections": {}}
    wanted = set(args.only.split(",")) if args.only else {name for name, _, _ in SECTIONS}
    wanted -= set(args.skip.split(","))

    def out_of_time(signum, frame) -> None:
        raise OutOfTime(f"the {args.budget:.0f} s budget ran out")

    signal.signal(signal.SIGALRM, out_of_time)
    # A hard stop for a section that overruns; generous, since start-up alone (torch, the
    # photo) can take tens of seconds on a loaded machine.
    signal.alarm(int(args.budget) + 60)
    try:
        check = Check(args)
        report["cuda"] = check.cuda
        if not check.cuda:
            say("no CUDA GPU: the CUDA-only parts are skipped, CPU-safe parts run small")
        for name, function, need in SECTIONS:
            if name in wanted:
                report["sections"][name] = run_section(name, function, need, check)
    except (Exception, OutOfTime, KeyboardInterrupt) as exc:
        report["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        signal.alarm(0)
    report["wall_seconds"] = round(time.monotonic() - STARTED, 1)
    report["failed"] = [n for n, s in report["sections"].items() if s["status"] == "error"]
    text = json.dumps(report, indent=2)
    if args.json_out:
        args.json_out.write_text(text + "\n", encoding="utf-8")
    print(text, flush=True)
    return 1 if report["failed"] or "error" in report else 0


if __name__ == "__main__":
    sys.exit(main())
