"""Training checkpoints: a folder per step, written whole or not at all.

``run_dir/checkpoints/step_0000200/`` holds ``state.safetensors`` (weights, EMA,
optimiser moments, RNG states, image pools), ``state.json`` (step and hyper-parameters)
and ``model.safetensors`` (the EMA generator with its card). The folder is built under a
hidden temp name, every file fsynced, a ``COMPLETE`` marker written last, then renamed into
place; only folders with the marker count. ``best.json`` names the best step.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from .atomic import (
    WriteError,
    _fsync_dir,
    as_os_error,
    remove_stale_temp_files,
    write_reason,
    write_text_atomic,
)

log = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
STATE_TENSORS = "state.safetensors"
STATE_META = "state.json"
MARKER = "COMPLETE"
BEST = "best.json"
STATE_SCHEMA_VERSION = 1


@dataclass
class Checkpoint:
    path: Path
    step: int
    tensors: dict[str, torch.Tensor]
    meta: dict


def checkpoint_dir(run_dir: Path | str, step: int) -> Path:
    return Path(run_dir) / CHECKPOINTS / f"step_{step:07d}"


def _step_of(folder: Path) -> int | None:
    name = folder.name
    if not name.startswith("step_"):
        return None
    try:
        return int(name[5:])
    except ValueError:
        return None


def is_complete(folder: Path) -> bool:
    return (
        (folder / MARKER).is_file()
        and (folder / STATE_TENSORS).is_file()
        and (folder / STATE_META).is_file()
    )


def find_checkpoints(run_dir: Path | str) -> list[Path]:
    """Complete checkpoint folders of a run, oldest first (half-written ones are ignored)."""
    root = Path(run_dir) / CHECKPOINTS
    if not root.is_dir():
        return []
    found = [
        (s, p)
        for p in root.iterdir()
        if p.is_dir() and (s := _step_of(p)) is not None and is_complete(p)
    ]
    return [p for _, p in sorted(found)]


def best_step(run_dir: Path | str) -> int | None:
    try:
        data = json.loads((Path(run_dir) / CHECKPOINTS / BEST).read_text(encoding="utf-8"))
        return int(data["step"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def best_checkpoint(run_dir: Path | str) -> Path | None:
    step = best_step(run_dir)
    if step is None:
        return None
    folder = checkpoint_dir(run_dir, step)
    return folder if is_complete(folder) else None


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def save_checkpoint(
    run_dir: Path | str,
    step: int,
    tensors: dict[str, torch.Tensor],
    meta: dict,
    *,
    keep_last: int = 3,
    write_models: Callable[[Path], None] | None = None,
    is_best: bool = False,
    metrics: dict[str, float] | None = None,
) -> Path:
    """Write checkpoint ``step`` atomically, then prune to the last ``keep_last`` + best.

    ``write_models(folder)`` writes the exported model file(s) into the temp folder
    before it is sealed.
    """
    from safetensors.torch import save_file

    root = Path(run_dir) / CHECKPOINTS
    final = checkpoint_dir(run_dir, step)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(final, write_reason(exc), exc.errno) from exc
    if is_complete(final):
        # A step's state is unique (e.g. cancel right after a scheduled save, or right
        # after resuming): the folder on disk already holds exactly this state.
        if is_best:
            write_text_atomic(
                root / BEST, json.dumps({"step": step, "metrics": metrics or {}}, indent=2)
            )
        return final
    tmp = root / f".tmp-step_{step:07d}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp / STATE_TENSORS))
        _fsync_file(tmp / STATE_TENSORS)
        full_meta = {
            "schema_version": STATE_SCHEMA_VERSION,
            "step": step,
            "metrics": metrics or {},
            **meta,
        }
        (tmp / STATE_META).write_text(json.dumps(full_meta, indent=2), encoding="utf-8")
        _fsync_file(tmp / STATE_META)
        if write_models is not None:
            write_models(tmp)
        (tmp / MARKER).write_text(str(step), encoding="utf-8")
        _fsync_file(tmp / MARKER)
        _fsync_dir(tmp)
        if final.exists():  # an incomplete leftover under the final name: never valid
            shutil.rmtree(final)
        os.replace(tmp, final)
        _fsync_dir(root)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        # A full or read-only disk: one clear error naming the checkpoint, nothing left.
        if isinstance(exc, WriteError):  # a model file inside: name the checkpoint instead
            raise WriteError(final, exc.reason, exc.errno) from exc
        os_error = as_os_error(exc) if isinstance(exc, Exception) else None
        if os_error is not None:
            raise WriteError(final, write_reason(os_error), os_error.errno) from exc
        raise
    if is_best:
        write_text_atomic(
            root / BEST, json.dumps({"step": step, "metrics": metrics or {}}, indent=2)
        )
    prune_checkpoints(run_dir, keep_last)
    return final


def prune_checkpoints(run_dir: Path | str, keep_last: int) -> None:
    """Delete all but the newest ``keep_last`` complete checkpoints and the best one, and
    leftovers of interrupted writes."""
    root = Path(run_dir) / CHECKPOINTS
    complete = find_checkpoints(run_dir)
    keep = set(complete[-max(keep_last, 1) :])
    best = best_checkpoint(run_dir)
    if best is not None:
        keep.add(best)
    for folder in complete:
        if folder not in keep:
            shutil.rmtree(folder, ignore_errors=True)
    for leftover in root.iterdir():
        if leftover.is_dir() and leftover.name.startswith(".tmp-"):
            if not _owned_by_live_process(leftover):
                shutil.rmtree(leftover, ignore_errors=True)


def _owned_by_live_process(folder: Path) -> bool:
    pid = folder.name.rsplit("-", 1)[-1]
    return pid.isdigit() and int(pid) == os.getpid()


def load_checkpoint(folder: Path | str) -> Checkpoint:
    from safetensors.torch import load_file

    folder = Path(folder)
    if not is_complete(folder):
        raise ValueError(f"{folder.name}: incomplete checkpoint (no {MARKER} marker)")
    meta = json.loads((folder / STATE_META).read_text(encoding="utf-8"))
    tensors = load_file(str(folder / STATE_TENSORS), device="cpu")
    return Checkpoint(folder, int(meta["step"]), tensors, meta)


def load_latest_checkpoint(run_dir: Path | str) -> Checkpoint | None:
    """The newest checkpoint that loads; damaged ones are skipped with a warning."""
    for folder in reversed(find_checkpoints(run_dir)):
        try:
            return load_checkpoint(folder)
        except Exception as exc:  # a damaged file must not block resuming from an older one
            log.warning("checkpoint %s cannot be loaded (%s); trying an older one", folder, exc)
    return None


SUPERSEDED = "superseded"


def set_aside_newer_checkpoints(
    run_dir: Path | str, step: int, best: dict | None = None
) -> list[Path]:
    """Move the complete checkpoints newer than ``step`` to ``run_dir/superseded/<time>/``.

    Resuming from an older checkpoint branches the run: the newer ones belong to the
    timeline given up, and must neither be pruned in among the new checkpoints nor be
    what a later "resume" picks. They are kept (moved, not deleted). ``best`` is the best
    record as of ``step`` (from that checkpoint's state): ``best.json`` is rewritten to it
    when it named a step that was moved. Returns the moved folders' new paths.
    """
    import time

    run_dir = Path(run_dir)
    newer = [p for p in find_checkpoints(run_dir) if (_step_of(p) or 0) > step]
    if not newer:
        return []
    target = run_dir / SUPERSEDED / time.strftime("%Y%m%d-%H%M%S")
    n = 2
    while target.exists():
        target = target.with_name(f"{target.name.split('.')[0]}.{n}")
        n += 1
    target.mkdir(parents=True)
    moved = []
    for folder in newer:
        dest = target / folder.name
        os.replace(folder, dest)
        moved.append(dest)
    _fsync_dir(run_dir / CHECKPOINTS)
    best_file = run_dir / CHECKPOINTS / BEST
    named = best_step(run_dir)
    if named is not None and named > step:
        if best and best.get("step") is not None and int(best["step"]) <= step:
            record = {"step": int(best["step"]), "metrics": dict(best.get("metrics") or {})}
            write_text_atomic(best_file, json.dumps(record, indent=2))
        else:
            with contextlib.suppress(OSError):
                best_file.unlink()
    log.info("%d checkpoint(s) newer than step %d moved to %s", len(moved), step, target)
    return moved


def remove_stale_temp_folders(run_dir: Path | str) -> None:
    """Clear what a killed process left half-written: checkpoint folders (never valid) and
    the hidden temp files of atomic writes (the model, its card, config, previews)."""
    run_dir = Path(run_dir)
    root = run_dir / CHECKPOINTS
    for folder in (run_dir, root, run_dir / "previews"):
        for path in remove_stale_temp_files(folder):
            log.info("removed %s, left by an interrupted write", path)
    if not root.is_dir():
        return
    for leftover in root.iterdir():
        if leftover.is_dir() and leftover.name.startswith(".tmp-"):
            with contextlib.suppress(OSError):
                shutil.rmtree(leftover)
