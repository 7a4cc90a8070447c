"""Typed events that long engine loops yield; the UI worker re-emits them as Qt signals.

Images travel as HxWx3 uint8 numpy copies so no tensor crosses into the UI layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class TrainingStarted:
    total_steps: int
    start_step: int  # > 0 when resuming
    device: str
    method: str
    preset: str
    run_dir: Path


@dataclass(frozen=True)
class StepCompleted:
    step: int  # steps done so far (1-based count)
    total_steps: int
    losses: dict[str, float]
    images_per_second: float
    seconds_per_step: float
    eta_seconds: float
    learning_rate: float


@dataclass(frozen=True)
class PreviewReady:
    step: int
    inputs: list[np.ndarray]  # fixed photos, HxWx3 uint8
    outputs: list[np.ndarray]  # the EMA generator's renderings of them (first tradition)
    # (tradition name, renderings) for every tradition the generator knows, in order
    traditions: list[tuple[str, list[np.ndarray]]] = field(default_factory=list)


@dataclass(frozen=True)
class MetricsComputed:
    step: int
    metrics: dict[str, float]  # e.g. {"style_score": .., "edge_ssim": ..}


@dataclass(frozen=True)
class CheckpointSaved:
    step: int
    path: Path  # the checkpoint folder or file
    model_path: Path | None = None  # an exported model file written with it
    is_best: bool = False


@dataclass(frozen=True)
class LogMessage:
    level: str  # "info" | "warning" | "error"
    message: str


@dataclass(frozen=True)
class Paused:
    step: int


@dataclass(frozen=True)
class Resumed:
    step: int


@dataclass(frozen=True)
class TrainingFinished:
    step: int
    model_path: Path | None
    cancelled: bool = False
    wall_seconds: float = 0.0


@dataclass(frozen=True)
class StylizeProgress:
    done: int  # tiles (or passes) done
    total: int
    stage: str = "stylizing"


@dataclass(frozen=True)
class StylizePreview:
    """A painting of the whole photo smaller than the result, ahead of it (the statistics
    view's pass), with the result's statistics and strength."""

    output: np.ndarray  # hxwx3, the input's dtype
    seconds: float  # since the stylize started
    stage: str = "view"


@dataclass(frozen=True)
class StylizeFinished:
    output: np.ndarray  # HxWx3 uint8 (or uint16 when asked to keep 16-bit)
    seconds: float
    tiled: bool
    extra: dict = field(default_factory=dict)


TrainingEvent = (
    TrainingStarted
    | StepCompleted
    | PreviewReady
    | MetricsComputed
    | CheckpointSaved
    | LogMessage
    | Paused
    | Resumed
    | TrainingFinished
)
