"""``ganstyle-cli stylize``: paint photos (files or whole folders) with a model.

Folders are searched recursively and their sub-folder structure is kept under ``--out``.
Existing outputs are skipped unless ``--overwrite``. A file that fails (unreadable,
unwritable) is reported in the summary and the rest carry on; the exit status is 1 when
anything failed.

Under ``torchrun --nproc-per-node N`` the input list is shared out round-robin, each
process on its own device (``cuda:LOCAL_RANK``); rank 0 prints one summary of them all.

``--backend`` picks what computes (see :mod:`ganstyle_desktop.engine.stylize`); the default
runs ONNX Runtime on the CPU where it is installed. Once a model file has been exported for
it (the first stylize with that file, cached by content), a stylize imports no torch at
all: start-up is the reading of the photo.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ganstyle_desktop.engine.blend import (
    AUTO_BRUSH,
    MAX_AUTO_BRUSH,
    MAX_BRUSH,
    Blend,
    BlendError,
)
from ganstyle_desktop.engine.export import FORMATS
from ganstyle_desktop.engine.imageio import collect_image_files
from ganstyle_desktop.engine.tiling import DEFAULT_MEMORY_BUDGET_MB

from . import CliError
from .parallel import cli_data_parallel
from .progress import ProgressBar
from .threads import add_threads_argument, apply_threads_argument

if TYPE_CHECKING:
    from ganstyle_desktop.engine.distributed import DataParallel

log = logging.getLogger(__name__)

FORMAT_CHOICES = ("png", "jpg", "webp", "tif")
PRECISION_CHOICES = ("auto", "fp32", "bf16", "fp16")
# The stylizer's backends (engine/stylize.py BACKENDS; not imported: it is the hot path).
BACKEND_CHOICES = ("auto", "onnx", "torch", "torch-compile")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "stylize",
        help="paint photos in a model's style (files or folders)",
        description="Stylize images at full resolution. Large images run in overlapping "
        "tiles that share one set of normalisation statistics, so memory stays bounded.",
    )
    p.add_argument("model", type=Path, help="a .safetensors model file")
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="image files or folders")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    p.add_argument(
        "--tile", type=int, metavar="N", help="tile side in pixels (default: from memory)"
    )
    p.add_argument(
        "--memory-mb",
        type=float,
        default=DEFAULT_MEMORY_BUDGET_MB,
        metavar="N",
        help="memory budget for the network's activations, in MB (default "
        f"{DEFAULT_MEMORY_BUDGET_MB}: a 4096 px square photo within 1 GB in all)",
    )
    p.add_argument(
        "--strength",
        type=float,
        default=1.0,
        help="share of the style, 0 to 1: 0 writes the photo itself, 1 full style (default 1)",
    )
    p.add_argument(
        "--brush",
        type=_brush,
        default=AUTO_BRUSH,
        metavar="B",
        help=f"stroke size: auto, or 1 to {MAX_BRUSH:g}. At B the photo is painted at 1/B of "
        "its size and enlarged back, strokes B times as large; 1 paints every pixel (on a "
        "large photo the model's strokes then shrink to a texture that reads as a filter). "
        "auto (the default): the photo's short side painted at twice the model's training "
        f"size, up to x{MAX_AUTO_BRUSH:g}",
    )
    p.add_argument(
        "--blend",
        metavar="A=W,B=W",
        help="multi-style models: relative tradition weights (only their ratios matter; "
        "all zero writes the photo itself)",
    )
    p.add_argument(
        "--format", choices=FORMAT_CHOICES, help="output format (default: like the input)"
    )
    p.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality 1-100 (95)")
    p.add_argument("--overwrite", action="store_true", help="replace outputs that exist")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument(
        "--precision",
        choices=PRECISION_CHOICES,
        default="auto",
        help="arithmetic of the network: auto (the device's fastest, but fp32 for 16-bit "
        "TIFF output, which bf16/fp16 would round to a few thousand levels), fp32, bf16, fp16",
    )
    add_threads_argument(p)
    p.add_argument(
        "--backend",
        choices=BACKEND_CHOICES,
        default="auto",
        help="what computes: auto (ONNX Runtime on the CPU when installed, else PyTorch), "
        "onnx, torch (eager), torch-compile",
    )
    p.set_defaults(run=run)


@dataclass
class Job:
    src: Path
    dst: Path


def _output_suffix(src: Path, image_format: str | None) -> str:
    if image_format:
        return "." + image_format
    suffix = src.suffix.lower()
    return suffix if suffix.lstrip(".") in FORMATS else ".png"  # e.g. BMP -> PNG


def plan_jobs(
    inputs: list[Path], out_dir: Path, image_format: str | None
) -> tuple[list[Job], list[tuple[Path, str]]]:
    """Source -> destination pairs (folders keep their structure) and missing inputs."""
    jobs: list[Job] = []
    missing: list[tuple[Path, str]] = []
    taken: set[Path] = set()
    out_resolved = out_dir.resolve()
    for source in inputs:
        if source.is_dir():
            files = [
                f
                for f in collect_image_files([source])
                if out_resolved not in f.resolve().parents  # never re-stylize our outputs
            ]
            pairs = [(f, f.relative_to(source)) for f in files]
        elif source.is_file():
            pairs = [(source, Path(source.name))]
        else:
            missing.append((source, "no such file or folder"))
            continue
        for src, rel in pairs:
            dst = out_dir / rel.with_suffix(_output_suffix(src, image_format))
            if dst in taken:  # photo.jpg and photo.png both -> photo.png
                dst = dst.with_name(f"{rel.stem}_{src.suffix.lstrip('.')}{dst.suffix}")
            taken.add(dst)
            jobs.append(Job(src, dst))
    return jobs, missing


def _check_out_dir(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as exc:
        raise CliError(
            f"Cannot write to the output folder {out_dir} "
            f"({exc.strerror or exc}). Choose a folder you can write to with --out."
        ) from exc
    if not os.access(out_dir, os.W_OK):
        raise CliError(f"The output folder {out_dir} is not writable; choose another with --out.")


def _torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1") or "1") > 1


def _runtime_without_torch(args: argparse.Namespace):
    """The cached ONNX Runtime export of the model when this stylize can use it: then no
    torch is imported (the auto backend on a CPU-only machine, or --backend onnx)."""
    from ganstyle_desktop.engine import onnx_backend

    if args.backend not in ("auto", "onnx") or args.precision not in ("auto", "fp32"):
        return None
    if _torchrun() or not onnx_backend.available():
        return None
    if args.device != "cpu" and not (args.device == "auto" and onnx_backend.cpu_only_machine()):
        return None
    if args.backend == "auto" and os.environ.get("GANSTYLE_BACKEND", "auto") not in (
        "",
        "auto",
        "onnx",
    ):
        return None
    return onnx_backend.cached_runtime(args.model) if args.model.is_file() else None


def _load(path: Path, device: str):
    from ganstyle_desktop.engine.modelfile import ModelFileError, load_model

    try:  # a missing file, a folder, a FIFO: load_model says which
        return load_model(path, device="cpu")
    except ModelFileError as exc:
        raise CliError(str(exc)) from exc


def _brush(text: str) -> float:
    """``--brush``: "auto" or a number (checked against the range in :func:`run`)."""
    if text.strip().lower() == "auto":
        return AUTO_BRUSH
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected auto or a number, not {text!r}") from None


def _parse_blend(text: str | None, strength: float, model, brush: float = AUTO_BRUSH) -> Blend:
    """``--blend``, ``--strength`` and ``--brush`` as the one Blend value the stylizer is
    given."""
    try:
        blend = Blend.parse(text, strength).with_brush(brush)
        if blend.is_own_style:
            return blend
        if getattr(model, "is_multistyle", False):
            # Unknown tradition names fail here, before any work.
            known = getattr(model, "generator", model).traditions
            blend.check_traditions(known, model.path.name)
        else:
            log.warning("%s is a single-style model; --blend is ignored", model.path)
            return blend.with_weights(None)
    except BlendError as exc:
        raise CliError(str(exc)) from exc
    return blend


def run(args: argparse.Namespace) -> int:
    if not 0.0 <= args.strength <= 1.0:
        raise CliError(f"--strength must be between 0 and 1, not {args.strength}.")
    if args.brush != AUTO_BRUSH and not 1.0 <= args.brush <= MAX_BRUSH:
        raise CliError(
            f"--brush must be auto or between 1 and {MAX_BRUSH:g}, not {args.brush:g}."
        )
    if not 1 <= args.quality <= 100:
        raise CliError(f"--quality must be 1 to 100, not {args.quality}.")
    if args.tile is not None and args.tile < 16:
        raise CliError(f"--tile must be at least 16 pixels, not {args.tile}.")
    if args.memory_mb < 16:
        raise CliError(f"--memory-mb must be at least 16, not {args.memory_mb}.")
    if args.threads is not None:  # ONNX Runtime's sessions too (torch: below)
        from ganstyle_desktop.engine import onnx_backend

        onnx_backend.set_thread_limit(args.threads)
    model = _runtime_without_torch(args)
    if model is None:
        from ganstyle_desktop.engine.devices import DeviceUnavailable, plan_for

        apply_threads_argument(args)
        try:
            plan_for(args.device)
        except DeviceUnavailable as exc:
            raise CliError(str(exc)) from exc
        model = _load(args.model, args.device)
    blend = _parse_blend(args.blend, args.strength, model, args.brush)
    jobs, failures = plan_jobs(args.inputs, args.out, args.format)
    if not jobs and not failures:
        raise CliError("No images found in the inputs (jpg, png, webp, tif, bmp).")
    _check_out_dir(args.out)
    if not _torchrun():
        return _stylize(args, model, blend, jobs, failures, None)
    # Under torchrun the processes share the jobs; rank 0 is the only one heard.
    with cli_data_parallel(args.device, backend="gloo") as parallel:
        return _stylize(args, model, blend, jobs, failures, parallel)


def _stylize(
    args: argparse.Namespace,
    model,
    blend: dict[str, float] | None,
    jobs: list[Job],
    failures: list[tuple[Path, str]],
    parallel: DataParallel | None,
) -> int:
    from ganstyle_desktop.engine.export import ExportError
    from ganstyle_desktop.engine.imageio import ImageLoadError
    from ganstyle_desktop.engine.stylize import StylizeError, stylize_file

    device = args.device
    if parallel is not None:
        from ganstyle_desktop.engine.devices import plan_for

        device = str(plan_for(args.device, local_rank=parallel.local_rank).device)
        all_jobs, jobs = jobs, parallel.share(jobs)
        if not parallel.is_main:
            failures = []  # missing inputs: rank 0 reports them once
    done = skipped = 0
    with ProgressBar(len(jobs), label="stylize") as bar:
        for index, job in enumerate(jobs):
            if job.dst.exists() and not args.overwrite:
                skipped += 1
                bar.update(index + 1, detail=f"{job.src.name} (exists, skipped)")
                continue

            def on_tile(event, index=index, name=job.src.name) -> None:
                bar.update(index, detail=f"{name} {event.stage} {event.done}/{event.total}")

            try:
                stylize_file(
                    model,
                    job.src,
                    job.dst,
                    blend=blend,
                    device=device,
                    memory_budget_mb=args.memory_mb,
                    tile_size=args.tile,
                    progress=on_tile,
                    quality=args.quality,
                    overwrite=args.overwrite,
                    precision=args.precision,
                    backend=args.backend,
                )
            except (
                ImageLoadError,
                ExportError,
                StylizeError,
                MemoryError,
                OSError,
                ValueError,
                RuntimeError,  # one odd photo never ends the batch
            ) as exc:
                reason = str(exc) if not isinstance(exc, MemoryError) else "out of memory"
                failures.append((job.src, reason))
                bar.write(f"failed: {job.src}: {reason}")
            else:
                done += 1
            bar.update(index + 1, detail=job.src.name)

    if parallel is not None:
        done, skipped, failures = _merged(parallel, all_jobs, done, skipped, failures)
    print(f"Stylized {done} image(s) into {args.out}.")
    if skipped:
        print(f"Skipped {skipped} that already exist (--overwrite replaces them).")
    if failures:
        print(f"Failed {len(failures)}:")
        for src, reason in failures:
            print(f"  {src}: {reason}")
        return 1
    return 0


def _merged(
    parallel: DataParallel,
    jobs: list[Job],
    done: int,
    skipped: int,
    failures: list[tuple[Path, str]],
) -> tuple[int, int, list[tuple[Path, str]]]:
    """Every process's counts and failures, the failures in the order one process would
    have met them (missing inputs first, then the job list's order)."""
    parts = parallel.gather_json(
        {"done": done, "skipped": skipped, "failures": [[str(s), r] for s, r in failures]}
    )
    order = {str(job.src): i for i, job in enumerate(jobs)}
    merged = [(Path(s), r) for part in parts for s, r in part["failures"]]
    merged.sort(key=lambda f: order.get(str(f[0]), -1))
    return (
        sum(part["done"] for part in parts),
        sum(part["skipped"] for part in parts),
        merged,
    )
