"""The one bridge from the UI to the engine and the library, for every background task.

Only this package calls the engine (tests/engine/test_import_contracts.py holds every
other UI module to plain values: a Blend, a TrainConfig, a catalog record). Views start
jobs and listen to their signals; they never import torch, never decode an image and
never load a model themselves.

Job kinds (:mod:`.core`): :class:`BackgroundTask` (one function),
:class:`LatestRequestJob` (the newest request wins, with partial results),
:class:`WorkQueue` (many small keyed items), :class:`TrainingJob`. The concrete jobs and
worker functions live beside them: photos and stylizing (:mod:`.images`), models, blends
and comparisons (:mod:`.models`), the dataset library (:mod:`.library`), the engine's
presets and devices (:mod:`.facts`), training (:mod:`.training`).

Engine modules import torch; they are imported inside the worker functions, off the GUI
thread, so the window shows before torch is loaded.
"""

from __future__ import annotations

from .core import (
    BackgroundTask,
    Job,
    JobBusy,
    LatestRequestJob,
    Partial,
    Progress,
    UserFacingError,
    WorkQueue,
    cancel_all,
    describe_exception,
    idle_monitor,
    live_jobs,
    live_threads,
    shutdown_all,
    wait_for_all,
    wait_for_jobs_of,
)
from .facts import EngineFacts, read_engine_facts
from .images import (
    Photo,
    PhotoJob,
    PhotoRequest,
    PhotoTooLarge,
    StylizeJob,
    StylizeRequest,
    StylizeResult,
    apply_pixel_limit,
    default_pixel_limit,
    export_result,
    read_photo,
)
from .training import CheckpointInfo, CheckpointListJob, TrainingJob, list_checkpoints

__all__ = [
    "BackgroundTask",
    "CheckpointInfo",
    "CheckpointListJob",
    "EngineFacts",
    "Job",
    "JobBusy",
    "LatestRequestJob",
    "Partial",
    "Photo",
    "PhotoJob",
    "PhotoRequest",
    "PhotoTooLarge",
    "Progress",
    "StylizeJob",
    "StylizeRequest",
    "StylizeResult",
    "TrainingJob",
    "UserFacingError",
    "WorkQueue",
    "apply_pixel_limit",
    "cancel_all",
    "default_pixel_limit",
    "describe_exception",
    "export_result",
    "idle_monitor",
    "list_checkpoints",
    "live_jobs",
    "live_threads",
    "read_engine_facts",
    "read_photo",
    "shutdown_all",
    "wait_for_all",
    "wait_for_jobs_of",
]
