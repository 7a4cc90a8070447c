"""Training runs and guidance: listing the runs on disk (with a thumbnail of each one's
newest preview), adding a run's model or a checkpoint to the models folder, measuring this
machine's training speed for the outcome presets, and the check before Start.

The engine does the work (:mod:`engine.runs`, :mod:`engine.guidance`); the views get plain
values: :class:`RunEntry`, :class:`OutcomePlan`, and the engine's ``TrainingCheck``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QImage

from ganstyle_desktop.engine.control import JobControl

from .core import LatestRequestJob, Report, limit_torch_threads

log = logging.getLogger(__name__)

__all__ = [
    "OUTCOME_CHOICES",
    "CheckRequest",
    "OutcomePlan",
    "OutcomeRequest",
    "OutcomePlanJob",
    "RunEntry",
    "RunListJob",
    "TrainingCheckJob",
    "add_model_to_library",
    "library_copy_of",
    "plan_from_speed",
    "speed_key",
]

THUMB_SIDE = 96


def _outcome_choices() -> tuple[tuple[str, str], ...]:
    # engine.guidance imports no torch at import time: the labels are ready at once.
    from ganstyle_desktop.engine.guidance import CUSTOM, OUTCOMES

    return tuple((o.key, o.label) for o in OUTCOMES) + ((CUSTOM, "Custom settings"),)


OUTCOME_CHOICES: tuple[tuple[str, str], ...] = _outcome_choices()


# -- the runs on disk ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RunEntry:
    """A run as the Runs view shows it: the engine's RunSummary and a thumbnail (the
    newest rendering of the first preview photo; null when there is none yet)."""

    summary: Any  # engine.runs.RunSummary
    thumbnail: QImage

    @property
    def path(self) -> Path:
        return self.summary.path


def _thumbnail(preview: Path | None, cell: int) -> QImage:
    """The first rendering in a preview grid (its second row's first cell)."""
    if preview is None:
        return QImage()
    grid = QImage(str(preview))
    if grid.isNull():
        return QImage()
    side = cell if grid.height() >= 2 * cell else grid.height() // 2
    if side <= 0:
        return QImage()
    rendering = grid.copy(0, side, side, side)
    return rendering.scaled(
        THUMB_SIDE,
        THUMB_SIDE,
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )


def _list_runs(roots: tuple[Path, ...], control: JobControl, _report: Report) -> list[RunEntry]:
    from ganstyle_desktop.engine.runs import list_runs

    entries = []
    for summary in list_runs(*roots):
        control.raise_if_cancelled()
        entries.append(RunEntry(summary, _thumbnail(summary.preview, summary.size)))
    return entries


class RunListJob(LatestRequestJob):
    """``request((folder, ...))``; ``finished`` carries ``[RunEntry]``, newest first."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(_list_runs, parent, "run-list")


def add_model_to_library(
    model_path: Path, models_dir: Path, run_dir: Path | None = None, step: int | None = None
) -> str:
    """Copy a run's model (``step`` None) or a checkpoint's into the models folder, named
    after its dataset and tradition; returns the new file's path (worker only)."""
    from ganstyle_desktop.engine.runs import add_to_library

    return str(add_to_library(model_path, models_dir, run_dir=run_dir, step=step))


def library_copy_of(models_dir: Path, run_dir: Path, step: int | None = None) -> Path:
    """Where a run's model (or a checkpoint's) lives once it is in the models folder."""
    from ganstyle_desktop.engine.runs import library_copy_of as where

    return where(models_dir, run_dir, step)


# -- outcome presets ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OutcomeRequest:
    """Plan an outcome (an OUTCOME_CHOICES key), or with ``outcome`` "custom" just
    measure the given ``preset`` at ``size`` (``steps`` are kept)."""

    outcome: str
    method: str
    batch_size: int
    device: str
    n_styles: int = 1
    preset: str = ""
    size: int = 0
    steps: int = 0


@dataclass(frozen=True)
class OutcomePlan:
    """What an outcome means on this machine: the network preset, size and steps that fit
    its time budget at the measured seconds per step."""

    outcome: str
    method: str
    preset: str
    size: int
    steps: int
    batch_size: int
    device: str
    seconds_per_step: float
    estimated_seconds: float
    device_label: str = ""

    def speed_key(self) -> str:
        return speed_key(self.method, self.preset, self.size, self.batch_size, self.device)


def speed_key(method: str, preset: str, size: int, batch_size: int, device: str) -> str:
    """How a measured speed is remembered (settings): per method, network, size, batch
    and device."""
    return f"{method}/{preset}/{size}/{batch_size}/{device}"


def outcome_network(outcome: str, method: str | None = None) -> tuple[str, int] | None:
    """The (network preset, size) an outcome trains with ``method``; None for custom
    settings. Needs the engine's preset table (imports torch): call it in a worker."""
    from ganstyle_desktop.engine import guidance

    if outcome == guidance.CUSTOM:
        return None
    item = guidance.outcome(outcome)
    return guidance.outcome_preset(item, method), guidance.outcome_size(item)


def plan_from_speed(
    outcome: str,
    method: str,
    preset: str,
    size: int,
    batch_size: int,
    device: str,
    seconds_per_step: float,
    steps: int = 0,
    device_label: str = "",
) -> OutcomePlan:
    """The plan at a known speed (arithmetic only: safe in the GUI thread). Custom
    settings keep ``steps``; an outcome fits its steps to its time budget."""
    from ganstyle_desktop.engine import guidance

    if outcome != guidance.CUSTOM:
        steps = guidance.outcome_steps(guidance.outcome(outcome), seconds_per_step)
    return OutcomePlan(
        outcome,
        method,
        preset,
        size,
        steps,
        batch_size,
        device,
        float(seconds_per_step),
        guidance.estimate_seconds(steps, seconds_per_step),
        device_label,
    )


def _plan_outcome(request: OutcomeRequest, control: JobControl, _report: Report) -> OutcomePlan:
    limit_torch_threads()
    from ganstyle_desktop.engine import guidance

    network = outcome_network(request.outcome, request.method)
    preset, size = network if network is not None else (request.preset, request.size)
    sample = guidance.measure_seconds_per_step(
        request.method,
        preset,
        size,
        request.batch_size,
        request.device,
        n_styles=request.n_styles,
        control=control,
    )
    return plan_from_speed(
        request.outcome,
        request.method,
        preset,
        sample.size,
        request.batch_size,
        request.device,
        sample.seconds_per_step,
        request.steps,
        sample.device_label,
    )


class OutcomePlanJob(LatestRequestJob):
    """``request(OutcomeRequest)``: resolves an outcome's preset and size, measures a few
    steps (unless the speed is known) and computes the steps; ``finished`` carries an
    :class:`OutcomePlan`."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(_plan_outcome, parent, "outcome-plan")


# -- the check before Start ---------------------------------------------------------------------


@dataclass(frozen=True)
class CheckRequest:
    config: Any  # TrainConfig
    seconds_per_step: float | None
    outcome: str | None
    start_step: int = 0


def _check(request: CheckRequest, _control: JobControl, _report: Report) -> Any:
    from ganstyle_desktop.engine.guidance import check_training

    return check_training(
        request.config, request.seconds_per_step, request.outcome, request.start_step
    )


class TrainingCheckJob(LatestRequestJob):
    """``request(CheckRequest)``; ``finished`` carries the engine's ``TrainingCheck``
    (image counts, whether they are enough, time, expectations, licence warnings)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(_check, parent, "training-check")
