"""Training runs on disk, as a person thinks of them: what each run learns, how far it
got, its best checkpoint, the newest preview, and whether it finished or was interrupted.

A run is a folder holding ``config.json`` (written before the first step), complete
checkpoints under ``checkpoints/``, preview grids under ``previews/`` and, once a session
of it has ended after at least one step, ``model.safetensors``. Everything here is read
from those files, so a run started by the CLI, by another window or before a restart is
listed like any other.

:func:`add_to_library` copies a run's model (or one of its checkpoints' models) into the
models folder under a name made from the dataset and tradition it learned, so a trained
model appears in the Models list at once, with its card.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from .atomic import atomic_path
from .config import TrainConfig

log = logging.getLogger(__name__)

# The trainer's folder layout (engine/trainer.py, engine/checkpoints.py, which import torch:
# this module imports them where it reads checkpoints, so naming and the library paths
# stay cheap to import in the GUI thread). tests/engine/test_runs.py checks they agree.
CONFIG_FILE = "config.json"
MODEL_FILE = "model.safetensors"
PREVIEWS = "previews"
CHECKPOINTS = "checkpoints"

FINISHED, INTERRUPTED, NOT_STARTED = "finished", "interrupted", "not started"


@dataclass(frozen=True)
class RunSummary:
    """One run folder as the Runs view shows it."""

    path: Path
    name: str  # what it learns, for people: "Ukiyo-e · Japan"
    method: str
    preset: str
    size: int
    batch_size: int
    total_steps: int
    last_step: int  # the newest complete checkpoint's step (0: none yet)
    status: str  # finished | interrupted | not started
    started: float  # when config.json was written (seconds since the epoch)
    updated: float  # the newest file's time
    best_step: int | None = None
    best_metrics: dict = field(default_factory=dict)
    preview: Path | None = None  # the newest preview grid (photos, then renderings)
    model_path: Path | None = None  # the run's final model, once a session has ended
    traditions: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # where the style images come from (folders, datasets)

    @property
    def can_resume(self) -> bool:
        return self.status == INTERRUPTED

    def progress_text(self) -> str:
        return f"{self.last_step:,} of {self.total_steps:,} steps"

    def settings_text(self) -> str:
        return (
            f"{self.method} · {self.preset} · {self.size} px · batch {self.batch_size} · "
            f"{self.total_steps:,} steps"
        )


def _short_tradition(text: str) -> str:
    """The head of a long tradition note: "Japan, Edo period (...)" -> "Japan"."""
    head = re.split(r"[,(;/]", text or "", maxsplit=1)[0].strip()
    return head[:40]


def style_label(config: TrainConfig) -> str:
    """What a run learns, named after its datasets and traditions: "Ukiyo-e · Japan",
    "Impressionism + Ink wash" for several."""
    parts = []
    for style in config.styles:
        name = (style.display_name or style.name).strip() or "style"
        tradition = _short_tradition(
            style.tags.get("culture", "") or style.tags.get("tradition", "")
        )
        if tradition and tradition.lower() not in name.lower():
            name = f"{name} · {tradition}"
        parts.append(name)
    return " + ".join(parts) or "Unnamed style"


def _style_sources(config: TrainConfig) -> tuple[str, ...]:
    found = []
    for style in config.styles:
        folders = {str(Path(p).parent) if Path(p).suffix else str(p) for p in style.paths}
        if len(folders) == 1 and len(style.paths) == 1:
            found.append(next(iter(folders)))
        else:
            found.append(f"{style.display_name or style.name} ({len(style.paths)} files)")
    return tuple(found)


def _newest_preview(run_dir: Path) -> Path | None:
    folder = run_dir / PREVIEWS
    if not folder.is_dir():
        return None
    grids = sorted(folder.glob("step_*.png"))
    return grids[-1] if grids else None


def _best_metrics(run_dir: Path) -> dict:
    try:
        data = json.loads((run_dir / CHECKPOINTS / "best.json").read_text(encoding="utf-8"))
        metrics = data.get("metrics") or {}
        return {str(k): float(v) for k, v in metrics.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def read_run(run_dir: Path | str) -> RunSummary | None:
    """The summary of ``run_dir``, or None when it is no run (no readable config.json)."""
    from .checkpoints import best_step, find_checkpoints
    from .modelfile import ModelFileError, read_card

    run_dir = Path(run_dir)
    config_path = run_dir / CONFIG_FILE
    try:
        config = TrainConfig.load(config_path)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        if config_path.exists():
            log.info("%s is not a readable run: %s", run_dir, exc)
        return None
    checkpoints = find_checkpoints(run_dir)
    last_step = int(checkpoints[-1].name.removeprefix("step_")) if checkpoints else 0
    final = run_dir / MODEL_FILE
    model_path = final if final.is_file() else None
    final_step = 0
    if model_path is not None:
        try:
            final_step = int(read_card(model_path).steps)
        except (ModelFileError, OSError, ValueError, TypeError):
            model_path = None
    last_step = max(last_step, final_step)
    if last_step >= config.steps:
        status = FINISHED
    elif last_step > 0:
        status = INTERRUPTED
    else:
        status = NOT_STARTED
    preview = _newest_preview(run_dir)
    stamps = [config_path.stat().st_mtime]
    stamps += [p.stat().st_mtime for p in (*checkpoints[-1:], preview, model_path) if p]
    best = best_step(run_dir)
    return RunSummary(
        path=run_dir,
        name=style_label(config),
        method=config.method,
        preset=config.preset,
        size=config.size,
        batch_size=config.batch_size,
        total_steps=config.steps,
        last_step=last_step,
        status=status,
        started=stamps[0],
        updated=max(stamps),
        best_step=best,
        best_metrics=_best_metrics(run_dir) if best is not None else {},
        preview=preview,
        model_path=model_path,
        traditions=tuple(s.display_name or s.name for s in config.styles),
        sources=_style_sources(config),
    )


def list_runs(*roots: Path | str) -> list[RunSummary]:
    """Every run in the folders ``roots`` (each run a sub-folder), newest first."""
    found: dict[Path, RunSummary] = {}
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            continue
        for child in root.iterdir():
            if child.is_dir() and not child.name.startswith("."):
                summary = read_run(child)
                if summary is not None:
                    found[child.resolve()] = summary
    return sorted(found.values(), key=lambda r: r.started, reverse=True)


# -- into the models folder ---------------------------------------------------------------------


def _file_stem(text: str) -> str:
    stem = re.sub(r"[^\w.-]+", "-", text.strip(), flags=re.UNICODE).strip("-.")
    return stem[:80] or "model"


def library_name(run_dir: Path | str, step: int | None = None) -> str:
    """The Models list name of a run's model ("Ukiyo-e · Japan"), or of one of its
    checkpoints ("Ukiyo-e · Japan · step 400")."""
    run_dir = Path(run_dir)
    try:
        name = style_label(TrainConfig.load(run_dir / CONFIG_FILE))
    except (OSError, ValueError, TypeError, KeyError):
        name = run_dir.name
    return f"{name} · step {step:,}" if step is not None else name


def add_to_library(
    model_path: Path | str,
    models_dir: Path | str,
    *,
    run_dir: Path | str | None = None,
    step: int | None = None,
    name: str | None = None,
) -> Path:
    """Copy ``model_path`` (a run's model or a checkpoint's) into ``models_dir`` with its
    card renamed after what it learned; returns the new file.

    The file is named after the run (and the checkpoint's step), so adding the same
    run's model again replaces the earlier copy (a resumed run that finishes again) and
    never piles up duplicates. ``run_dir`` defaults to the folder the model sits in (a
    checkpoint's run: two levels up).
    """
    from .modelfile import read_card, rewrite_card

    source = Path(model_path)
    card = read_card(source)  # refuses pickles and damaged files before anything is copied
    if run_dir is None:
        parent = source.parent
        run_dir = parent.parent.parent if parent.parent.name == CHECKPOINTS else parent
    run_dir = Path(run_dir)
    name = name or library_name(run_dir, step)
    stem = _file_stem(run_dir.name + (f"-step{step}" if step is not None else ""))
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    dest = models_dir / f"{stem}.safetensors"
    with atomic_path(dest) as tmp:
        shutil.copyfile(source, tmp)
    training = dict(card.training)
    training["run"] = str(run_dir)
    training["added_to_library"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    if step is not None:
        training["checkpoint_step"] = int(step)
    rewrite_card(dest, replace(card, name=name, training=training))
    log.info("added %s to the models folder as %s (%s)", source, dest.name, name)
    return dest


def library_copy_of(models_dir: Path | str, run_dir: Path | str, step: int | None = None) -> Path:
    """Where :func:`add_to_library` puts (or put) this run's model or checkpoint."""
    stem = _file_stem(Path(run_dir).name + (f"-step{step}" if step is not None else ""))
    return Path(models_dir) / f"{stem}.safetensors"


__all__ = [
    "FINISHED",
    "INTERRUPTED",
    "NOT_STARTED",
    "RunSummary",
    "add_to_library",
    "library_copy_of",
    "library_name",
    "list_runs",
    "read_run",
    "style_label",
]
