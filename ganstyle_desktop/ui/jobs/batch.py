"""Stylizing many photos into a folder: the worker behind the Batch dialog.

One model load, then each photo in turn: decoded by the engine's reader (the pixel
limit applies), stylized at full resolution (tiles when needed), written by the engine's
writer with the photo's metadata, as ``ganstyle-cli stylize`` writes it. A photo that
cannot be read, stylized or written costs one line in the report and the rest goes on;
Cancel stops at the next layer of the network and the report says what was done.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from ganstyle_desktop.engine.blend import Blend
from ganstyle_desktop.engine.control import JobCancelled, JobControl

from .core import Progress, Report, describe_exception, limit_torch_threads

log = logging.getLogger(__name__)

__all__ = [
    "BATCH_FORMATS",
    "BatchFileDone",
    "BatchReport",
    "BatchRequest",
    "collect_batch_inputs",
    "stylize_batch",
]

# suffix -> what the person reads
BATCH_FORMATS = {"png": "PNG", "jpg": "JPEG", "webp": "WebP", "tif": "TIFF"}
EXISTING_CHOICES = ("number", "replace", "skip")


@dataclass(frozen=True)
class BatchRequest:
    """Paint every photo of ``inputs`` (files and folders) into ``output_dir``.

    Each result is ``<photo name><suffix>.<image_format>``; ``existing`` says what to do
    when that file is there already: add a number, replace it, or skip the photo.
    """

    model_path: Path
    inputs: tuple[Path, ...]
    output_dir: Path
    blend: Blend = Blend()
    image_format: str = "png"
    quality: int = 95
    suffix: str = ""
    existing: str = "number"
    recursive: bool = True
    device: str = "auto"
    max_pixels: int | None = None  # None: the engine's limit


@dataclass(frozen=True)
class BatchFileDone:
    """One photo's outcome, reported as it happens (``target`` None: not written)."""

    index: int
    total: int
    source: Path
    target: Path | None
    reason: str = ""  # why it failed or was skipped
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.target is not None


@dataclass
class BatchReport:
    written: list[tuple[Path, Path]] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    cancelled: bool = False
    total: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        text = f"{len(self.written)} of {self.total} photos stylized"
        if self.failed:
            text += f", {len(self.failed)} failed"
        if self.skipped:
            text += f", {len(self.skipped)} skipped"
        if self.cancelled:
            text += " (cancelled before the end)"
        return text

    def failure_text(self) -> str:
        """One line per photo that was not written, with the reason."""
        lines = [f"{src.name}: {reason}" for src, reason in self.failed]
        lines += [f"{src.name}: skipped, {reason}" for src, reason in self.skipped]
        return "\n".join(lines)


def collect_batch_inputs(
    inputs: tuple[Path, ...] | list[Path], recursive: bool = True, exclude: Path | None = None
) -> list[Path]:
    """The photo files of ``inputs`` (files as given, folders searched), in order, each
    once; nothing inside ``exclude`` (the output folder: its results are no input)."""
    from ganstyle_desktop.engine.imageio import IMAGE_EXTENSIONS, collect_image_files

    skip = exclude.resolve() if exclude is not None else None
    found: list[Path] = []
    for source in inputs:
        source = Path(source)
        if source.is_dir() and not recursive:
            files = sorted(
                p
                for p in source.iterdir()
                if p.is_file()
                and p.suffix.lower() in IMAGE_EXTENSIONS
                and not p.name.startswith(".")
            )
        else:
            files = collect_image_files([source])
        for path in files:
            if skip is not None and path.resolve().is_relative_to(skip):
                continue
            found.append(path)
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def _target_for(request: BatchRequest, source: Path, taken: set[Path]) -> Path | None:
    """Where ``source``'s result goes (None: skip it, a result is there already)."""
    base = f"{source.stem}{request.suffix}"
    target = request.output_dir / f"{base}.{request.image_format}"
    if request.existing == "skip" and target.exists():
        return None
    n = 2
    while target in taken or (request.existing == "number" and target.exists()):
        target = request.output_dir / f"{base}-{n}.{request.image_format}"
        n += 1
    return target


def stylize_batch(request: BatchRequest, control: JobControl, report: Report) -> BatchReport:
    """Stylize every photo of the request; reports :class:`Progress` (photos done, and a
    stage naming the photo and its tiles) and a :class:`BatchFileDone` per photo."""
    limit_torch_threads()
    from ganstyle_desktop.engine.export import read_image_with_metadata, save_result
    from ganstyle_desktop.engine.model_cache import device_for, load_model_cached
    from ganstyle_desktop.engine.stylize import stylize_array

    if request.image_format not in BATCH_FORMATS:
        raise ValueError(f"unknown format {request.image_format!r}")
    if request.existing not in EXISTING_CHOICES:
        raise ValueError(f"unknown choice for existing files {request.existing!r}")
    started = time.monotonic()
    result = BatchReport()
    files = collect_batch_inputs(request.inputs, request.recursive, request.output_dir)
    result.total = len(files)
    report(Progress(0, len(files), "preparing"))
    request.output_dir.mkdir(parents=True, exist_ok=True)
    model = None
    if not request.blend.is_photo and files:
        model = load_model_cached(request.model_path, device_for(request.device))
    taken: set[Path] = set()
    try:
        for index, source in enumerate(files):
            control.raise_if_cancelled()
            name = source.name
            report(Progress(index, len(files), name))
            target = _target_for(request, source, taken)
            if target is None:
                reason = "a result of it is in the output folder already"
                result.skipped.append((source, reason))
                report(BatchFileDone(index, len(files), source, None, reason))
                continue
            one_started = time.monotonic()

            def tiles(event, index=index, name=name) -> None:
                if event.total:
                    report(Progress(index, len(files), f"{name}: {event.done}/{event.total}"))

            try:
                pixels, meta = read_image_with_metadata(source, max_pixels=request.max_pixels)
                control.raise_if_cancelled()
                out = stylize_array(
                    model,
                    pixels,
                    blend=request.blend,
                    device=request.device,
                    control=control,
                    progress=tiles,
                )
                del pixels
                save_result(
                    out,
                    target,
                    source=source,
                    meta=meta,
                    quality=request.quality,
                    unchanged=request.blend.is_photo,
                )
            except JobCancelled:
                raise
            except Exception as exc:  # noqa: BLE001 - one bad photo must not stop the batch
                log.info("batch: %s failed: %s", source, exc)
                reason = describe_exception(exc)
                prefix = f"{name}: "
                reason = reason[len(prefix) :] if reason.startswith(prefix) else reason
                result.failed.append((source, reason))
                report(BatchFileDone(index, len(files), source, None, reason))
                continue
            taken.add(target)
            result.written.append((source, target))
            report(
                BatchFileDone(
                    index, len(files), source, target, seconds=time.monotonic() - one_started
                )
            )
        report(Progress(len(files), len(files), "done"))
    except JobCancelled:
        result.cancelled = True
    result.seconds = time.monotonic() - started
    return result
