"""The training loop: a generator of typed events, steerable from another thread.

``Trainer(config).run()`` loads the data, builds the method, and yields
:mod:`.events` objects step by step; the UI worker re-emits them as signals, the CLI
prints them, tests inspect them. Pause and cancel (:class:`.control.JobControl`) are
honoured between steps. On the CPU a run is a pure function of its config and seed: every
random draw comes from a dedicated ``torch.Generator`` whose state is checkpointed, so a
resumed run (even after SIGKILL) continues exactly as if it had never stopped.

Under torchrun (``parallel``, see :mod:`.distributed`) every process runs this loop on its
share of each step's batch; they hold identical state, so rank 0 alone writes previews,
checkpoints and the model file, and any checkpoint resumes the whole group.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from .atomic import write_with_atomic
from .checkpoints import (
    CHECKPOINTS,
    Checkpoint,
    checkpoint_dir,
    find_checkpoints,
    load_checkpoint,
    load_latest_checkpoint,
    remove_stale_temp_folders,
    save_checkpoint,
    set_aside_newer_checkpoints,
)
from .config import ConfigError, PipelineConfig, TrainConfig
from .control import JobCancelled, JobControl
from .data import NoTrainingImages, StyleSampler, TrainingImages, preview_batch
from .devices import DevicePlan, plan_for
from .distributed import DataParallel, Shard
from .events import (
    CheckpointSaved,
    LogMessage,
    MetricsComputed,
    Paused,
    PreviewReady,
    Resumed,
    StepCompleted,
    TrainingEvent,
    TrainingFinished,
    TrainingStarted,
)
from .imageio import collect_image_files
from .methods import method_class
from .methods.base import TrainingMethod
from .modelfile import ModelCard, save_model
from .nets import ResnetGenerator
from .optim import load_rng_state, rng_state_tensor, seeded_generator
from .quality_monitor import HOLD_EVERY, QualityMonitor, quality, split_held_apart

log = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
MODEL_FILE = "model.safetensors"
REVERSE_MODEL_FILE = "model_reverse.safetensors"
PREVIEWS = "previews"
BEST_METRIC = "quality"  # quality_monitor.quality: bounded, higher is better
_TRAINER_PREFIX = "trainer."

Evaluator = Callable[[nn.Module, int], dict[str, float]]

__all__ = ["Trainer", "find_checkpoints", "to_uint8_images"]


class Trainer:
    """Runs one training job in ``config.out_dir``.

    ``resume=True`` continues the run saved there: its ``config.json`` (only the device
    choice is taken from ``config``, as the run may continue on another machine) and its
    newest complete checkpoint, or ``resume_from`` (a checkpoint folder of this run, or
    its ``model.safetensors``). Resuming from an older checkpoint branches the run there:
    the newer checkpoints are moved to ``superseded/`` so they can never be mixed into
    (or resumed instead of) the new timeline.

    Cancel is honoured in every phase: between the images being loaded, during the quality
    set-up, between steps, and after a save; a run cancelled before its first step yields
    ``TrainingFinished(cancelled=True)`` without writing anything.
    """

    def __init__(
        self,
        config: TrainConfig,
        control: JobControl | None = None,
        *,
        resume: bool = False,
        resume_from: Path | str | None = None,
        evaluator: Evaluator | None = None,
        parallel: DataParallel | None = None,
    ) -> None:
        run_dir = Path(config.out_dir)
        resume = resume or resume_from is not None
        if resume:
            saved_path = run_dir / CONFIG_FILE
            if not saved_path.is_file():
                raise ConfigError(
                    f"Nothing to resume in {run_dir}: it has no {CONFIG_FILE}. "
                    "Start a new run instead."
                )
            saved = TrainConfig.load(saved_path)
            saved.out_dir = str(run_dir)  # the folder may have been moved
            saved.device = config.device
            config = saved
        config.validate()
        self.config = config
        self.run_dir = run_dir
        self.control = control or JobControl()
        self.resume = resume
        self.resume_from = Path(resume_from) if resume_from is not None else None
        self.evaluator = evaluator
        self.plan: DevicePlan = plan_for(
            config.device,
            mixed_precision=config.mixed_precision,
            local_rank=parallel.local_rank if parallel else None,
        ).with_parallel(parallel)
        self.method: TrainingMethod | None = None
        self._best: dict | None = None  # {"step": int, "metrics": {...}}
        self._metrics: dict | None = None  # the latest {"step": int, "metrics": {...}}
        self._wall_before = 0.0  # training seconds of earlier sessions of this run
        self._start_step = 0  # the step this session starts from (> 0 when resuming)
        self._processes_before: int | None = None  # of the checkpoint resumed from

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> Iterator[TrainingEvent]:
        t_session = time.monotonic()
        try:
            set_up = yield from self._set_up()
        except JobCancelled:
            # Stopped before the first step: nothing new exists to save.
            yield TrainingFinished(
                self._start_step, None, cancelled=True, wall_seconds=self._wall(t_session)
            )
            return
        yield from self._steps(*set_up, t_session)

    def _set_up(self):
        """Load data, build the method, restore a checkpoint and start the quality checks;
        yields the start-up events and returns what the steps need. Raises JobCancelled
        (between images, and between phases) when cancelled."""
        cfg, control, plan = self.config, self.control, self.plan
        self._start_step = 0
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if plan.is_main:
            remove_stale_temp_folders(self.run_dir)
        if not self.resume and find_checkpoints(self.run_dir):
            raise ConfigError(
                f"{self.run_dir} already holds a training run; resume it or choose an empty folder."
            )

        skipped: list[str] = []
        content_sources, held_apart = self._hold_apart_for_quality_checks()
        if not plan.is_main:  # quality checks (and the best checkpoint) are rank 0's
            self.evaluator, held_apart = None, []
        content = _load_images(
            "Content photos", content_sources, cfg, cfg.content_pipeline, skipped, control
        )
        self.content_files: list[Path] = list(content.files)  # what it trains on
        styles = StyleSampler(
            [
                _load_images(
                    f"Style {s.display_name or s.name!r}",
                    s.paths,
                    cfg,
                    cfg.style_pipeline,
                    skipped,
                    control,
                )
                for s in cfg.styles
            ]
        )
        control.raise_if_cancelled()
        method = method_class(cfg.method)(cfg, plan)
        self.method = method
        observe = getattr(method, "observe_styles", None)
        if callable(observe):  # terms that need to know the style sets (the teacher's)
            observe(styles.sources)
        data_rng = seeded_generator(cfg.seed, 1)
        shard = plan.shard(cfg.batch_size)  # this process's rows of each step's batch

        step = 0
        resumed_from: Path | None = None
        set_aside: list[Path] = []
        if self.resume:
            control.raise_if_cancelled()
            ckpt = self._checkpoint_to_resume()
            if ckpt is not None:
                method_tensors = {
                    k: v for k, v in ckpt.tensors.items() if not k.startswith(_TRAINER_PREFIX)
                }
                method.load_state(method_tensors, ckpt.meta["method_state"])
                load_rng_state(data_rng, ckpt.tensors[_TRAINER_PREFIX + "rng.data"])
                step = ckpt.step
                self._start_step = step
                self._best = ckpt.meta.get("best")
                self._wall_before = float(ckpt.meta.get("wall_seconds", 0.0))
                resumed_from = ckpt.path
                self._processes_before = int(ckpt.meta.get("processes", 1))
        elif plan.is_main:
            # With every default written out: a resume keeps this recipe whatever the
            # defaults become in a later version.
            cfg.with_resolved_defaults().save(self.run_dir / CONFIG_FILE)
        if plan.parallel is not None:
            method.attach_data_parallel()

        previews = preview_batch(_until_cancelled(content.files, control), cfg.size, cfg.n_previews)
        control.raise_if_cancelled()
        if resumed_from is not None and self.resume_from is not None:
            # The run branches here: newer checkpoints belong to an abandoned future.
            set_aside = set_aside_newer_checkpoints(self.run_dir, step, self._best)
        yield TrainingStarted(cfg.steps, step, plan.label, cfg.method, cfg.preset, self.run_dir)
        if resumed_from is not None:
            yield LogMessage("info", f"Resumed from {resumed_from.name} (step {step}).")
        elif self.resume:
            yield LogMessage("info", "No complete checkpoint found; starting from step 0.")
        if set_aside:
            yield LogMessage(
                "info",
                f"{len(set_aside)} newer checkpoint(s) moved to {set_aside[0].parent} "
                "(this run continues from the chosen one).",
            )
        for message in skipped:
            yield LogMessage("warning", f"Skipped {message}")
        if plan.parallel is not None:
            yield self._data_parallel_message(shard)
        if self._processes_before not in (None, shard.total // cfg.batch_size):
            yield LogMessage(
                "warning",
                f"This run was trained in {self._processes_before} processes and continues "
                f"in {shard.total // cfg.batch_size}: the effective batch changes from "
                f"{self._processes_before * cfg.batch_size} to {shard.total}.",
            )
        if cfg.metrics_every and self.evaluator is None and plan.is_main:
            yield self._start_quality_checks(held_apart)
        control.raise_if_cancelled()
        return content, styles, step, data_rng, previews, shard

    def _steps(
        self,
        content: TrainingImages,
        styles: StyleSampler,
        step: int,
        data_rng: torch.Generator,
        previews: torch.Tensor,
        shard: Shard,
        t_session: float,
    ) -> Iterator[TrainingEvent]:
        cfg, control, plan = self.config, self.control, self.plan
        method = self.method
        assert method is not None
        seconds_per_step = 0.0
        while step < cfg.steps:
            if control.paused and not control.cancelled:
                yield Paused(step)
                while not control.wait_while_paused(0.5):
                    pass
                if not control.cancelled:
                    yield Resumed(step)
            cancelled = control.cancelled
            if plan.parallel is not None:  # all processes stop after the same step
                cancelled = plan.parallel.any(cancelled)
            if cancelled:
                yield from self._finish(step, data_rng, t_session, cancelled=True)
                return

            t0 = time.perf_counter()
            rows = None if shard.whole else shard.rows
            content_batch = content.sample(shard.total, data_rng, rows=rows)
            style_batch, style_ids = styles.sample(shard.total, data_rng, rows=rows)
            lr = method.learning_rate()
            losses = method.train_step(
                plan.prepare_batch(content_batch),
                plan.prepare_batch(style_batch),
                style_ids.to(plan.device),
            )
            if plan.parallel is not None:  # the global batch's losses, on every process
                losses = plan.parallel.mean(losses)
            step += 1
            dt = time.perf_counter() - t0
            # Smoothed, so the ETA does not jump with every step.
            seconds_per_step = dt if seconds_per_step == 0.0 else 0.9 * seconds_per_step + 0.1 * dt
            yield StepCompleted(
                step=step,
                total_steps=cfg.steps,
                losses=losses,
                images_per_second=shard.total / max(seconds_per_step, 1e-9),
                seconds_per_step=seconds_per_step,
                eta_seconds=seconds_per_step * (cfg.steps - step),
                learning_rate=lr,
            )

            last = step == cfg.steps
            if (cfg.preview_every and step % cfg.preview_every == 0) or last:
                if len(previews) and plan.is_main:
                    yield self._preview(step, previews)
            new_best = False
            if self.evaluator is not None and cfg.metrics_every and step % cfg.metrics_every == 0:
                metrics = dict(self.evaluator(method.export_generator(), step))
                if BEST_METRIC not in metrics:  # an evaluator of its own: rank it the same way
                    metrics[BEST_METRIC] = quality(metrics)
                yield MetricsComputed(step, dict(metrics))
                self._metrics = {"step": step, "metrics": {k: float(v) for k, v in metrics.items()}}
                score = metrics.get(BEST_METRIC)
                if score is not None and (
                    self._best is None or score > self._best["metrics"].get(BEST_METRIC, -np.inf)
                ):
                    self._best = {
                        "step": step,
                        "metrics": {k: float(v) for k, v in metrics.items()},
                    }
                    new_best = True
            if (cfg.checkpoint_every and step % cfg.checkpoint_every == 0) or new_best or last:
                if plan.is_main:
                    yield self._checkpoint(step, data_rng, t_session, is_best=new_best)

        yield from self._finish(step, data_rng, t_session, cancelled=False)

    # -- pieces -----------------------------------------------------------------------------
    def _checkpoint_to_resume(self) -> Checkpoint | None:
        """The chosen checkpoint (``resume_from``), or the newest one that loads."""
        if self.resume_from is None:
            return self._resume_checkpoint()
        folder = self.resume_from
        if folder.suffix == ".safetensors":  # a checkpoint's model file
            folder = folder.parent
        if folder.resolve().parent != (self.run_dir / CHECKPOINTS).resolve():
            raise ConfigError(
                f"{folder} is not a checkpoint of the run in {self.run_dir}; "
                "choose one of its checkpoints."
            )
        try:
            return load_checkpoint(folder)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise ConfigError(
                f"{folder.name}: cannot resume from this checkpoint ({exc})."
            ) from exc

    def _wall(self, t_session: float) -> float:
        return self._wall_before + (time.monotonic() - t_session)

    def _finish(
        self, step: int, data_rng: torch.Generator, t_session: float, *, cancelled: bool
    ) -> Iterator[TrainingEvent]:
        model_path = None
        if step > 0 and self.plan.is_main:
            if cancelled:
                yield self._checkpoint(step, data_rng, t_session, is_best=False)
            model_path = self._export(self.run_dir, step, self._wall(t_session))
        yield TrainingFinished(
            step, model_path, cancelled=cancelled, wall_seconds=self._wall(t_session)
        )

    def _checkpoint(
        self, step: int, data_rng: torch.Generator, t_session: float, *, is_best: bool
    ) -> CheckpointSaved:
        assert self.method is not None
        tensors = dict(self.method.state_tensors())
        tensors[_TRAINER_PREFIX + "rng.data"] = rng_state_tensor(data_rng)
        cfg = self.config
        wall = self._wall(t_session)
        meta = {
            "method": cfg.method,
            "preset": cfg.preset,
            "seed": cfg.seed,
            "wall_seconds": wall,
            "scheduler": {
                "kind": "constant_then_linear",
                "base_lr": cfg.lr,
                "decay_start": cfg.decay_start,
                "total_steps": cfg.steps,
            },
            "optimizer": {"kind": "adam", "betas": [0.5, 0.999]},
            "best": self._best,
            "method_state": self.method.state_meta(),
        }
        if self.plan.parallel is not None:
            meta["processes"] = self.plan.parallel.world_size
        metrics = self._best["metrics"] if is_best and self._best else None
        folder = save_checkpoint(
            self.run_dir,
            step,
            tensors,
            meta,
            keep_last=cfg.keep_last,
            write_models=lambda tmp: self._export(tmp, step, wall),
            is_best=is_best,
            metrics=metrics,
        )
        return CheckpointSaved(step, folder, folder / MODEL_FILE, is_best=is_best)

    def _export(self, folder: Path, step: int, wall_seconds: float) -> Path:
        assert self.method is not None
        path = save_model(
            folder / MODEL_FILE,
            self.method.export_generator(),
            self.model_card(step, "photo_to_style", wall_seconds),
        )
        reverse = self.method.reverse_generator()
        if reverse is not None:
            save_model(
                folder / REVERSE_MODEL_FILE,
                reverse,
                self.model_card(step, "style_to_photo", wall_seconds, generator=reverse),
            )
        return path

    def model_card(
        self, step: int, direction: str, wall_seconds: float, generator: nn.Module | None = None
    ) -> ModelCard:
        assert self.method is not None
        cfg = self.config
        generator = generator if generator is not None else self.method.export_generator()
        traditions = [
            {"slug": s.name, "name": s.display_name or s.name, **dict(s.tags)} for s in cfg.styles
        ]
        provenance = [dict(row) for s in cfg.styles for row in s.provenance]
        names = " + ".join(t["name"] for t in traditions)
        fields: dict = {
            "name": f"{names} ({cfg.method}, {cfg.preset})",
            "kind": "single",
            "method": cfg.method,
            "preset": cfg.preset,
            "direction": direction,
            "training_size": cfg.size,
            "traditions": traditions,
            "steps": step,
            "data_provenance": provenance,
            # Only metrics measured on exactly these weights.
            "metrics": dict(self._metrics["metrics"])
            if self._metrics and self._metrics["step"] == step
            else {},
            "training": {
                "wall_seconds": round(wall_seconds, 1),
                "hardware": self.plan.label,
                "seed": cfg.seed,
                "batch_size": cfg.batch_size,
                "gan_loss": cfg.gan_loss,
                "diffaugment": cfg.diffaugment,
            },
        }
        if self.plan.parallel is not None:
            fields["training"]["processes"] = self.plan.parallel.world_size
            fields["training"]["effective_batch_size"] = self.plan.shard(cfg.batch_size).total
        if isinstance(generator, ResnetGenerator):
            fields["architecture"] = {"generator": "resnet", "spec": generator.spec.to_dict()}
        # Methods with other generators (multistyle) describe themselves.
        card_fields = getattr(self.method, "card_fields", None)
        if callable(card_fields):
            fields.update(card_fields())
        return ModelCard(**fields)

    def _resume_checkpoint(self) -> Checkpoint | None:
        """The newest loadable checkpoint; under torchrun, the one rank 0 chose (every
        process reads it from the run folder, which they must all see)."""
        parallel = self.plan.parallel
        if parallel is None:
            return load_latest_checkpoint(self.run_dir)
        ckpt = load_latest_checkpoint(self.run_dir) if parallel.is_main else None
        step = parallel.broadcast_int(ckpt.step if ckpt is not None else -1)
        if ckpt is not None or step < 0:
            return ckpt
        folder = checkpoint_dir(self.run_dir, step)
        try:
            return load_checkpoint(folder)
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"Process {parallel.rank} cannot read {folder} ({exc}): every process of a "
                "run needs the run folder and the data at the same path (a shared file system)."
            ) from exc

    def _data_parallel_message(self, shard: Shard) -> LogMessage:
        parallel, cfg = self.plan.parallel, self.config
        assert parallel is not None
        return LogMessage(
            "info",
            f"Data-parallel training: {parallel.world_size} processes ({parallel.backend}) x "
            f"batch {cfg.batch_size} = effective batch {shard.total}. Learning rate rule: "
            f"{cfg.lr:g} applies to the effective batch as given, not scaled, because the "
            f"run computes what one process with --batch-size {shard.total} would.",
        )

    def _hold_apart_for_quality_checks(self) -> tuple[list[str], list[Path]]:
        """Content sources to train on, and the photos kept out of training for the
        built-in quality checks (none unless ``metrics_every`` asks for them)."""
        cfg = self.config
        if not cfg.metrics_every or self.evaluator is not None:
            return list(cfg.content_paths), []
        try:
            files = collect_image_files(cfg.content_paths)
        except FileNotFoundError:
            return list(cfg.content_paths), []  # _load_images reports it
        train, held = split_held_apart(files)
        return ([str(f) for f in train] if held else list(cfg.content_paths)), held

    def _start_quality_checks(self, held: list[Path]) -> LogMessage:
        cfg = self.config
        if not held:
            return LogMessage(
                "warning",
                "Quality checks are off: they hold 1 photo in 5 apart and need at least 2, "
                f"so give at least {2 * HOLD_EVERY} content photos.",
            )
        control = self.control
        size = max(cfg.size, 64)
        try:
            # Every tradition of a multi-style run is measured against its own style set,
            # by one recogniser that knows all of them (and photos); Stop is checked
            # before each image it decodes or describes.
            self.evaluator = QualityMonitor(
                {s.name: collect_image_files(s.paths) for s in cfg.styles},
                held,
                getattr(self, "content_files", []),
                size,
                seed=cfg.seed,
                should_stop=control.raise_if_cancelled,
            )
        except (ValueError, FileNotFoundError) as exc:
            return LogMessage("warning", f"Quality checks are off: {exc}.")
        n = len(cfg.styles)
        every = f" for each of {n} traditions" if n > 1 else ""
        return LogMessage(
            "info",
            f"Quality checks every {cfg.metrics_every} steps{every} on {len(held)} "
            "held-apart photos: " + ", ".join(p.name for p in held),
        )

    def _preview(self, step: int, inputs: torch.Tensor) -> PreviewReady:
        assert self.method is not None
        generator = self.method.export_generator()
        rows = self._preview_rows(generator)
        with torch.no_grad(), self.plan.autocast():
            x = self.plan.prepare_batch(inputs)
            if rows is None:  # one style
                label = self.config.styles[0].display_name or self.config.styles[0].name
                per_tradition = [(label, to_uint8_images(generator(x)))]
            else:  # every tradition the generator knows, one row each
                per_tradition = [(name, to_uint8_images(generator(x, i))) for i, name in rows]
        ins = to_uint8_images(inputs)
        grid = np.concatenate(
            [np.concatenate(ins, axis=1)]
            + [np.concatenate(outs, axis=1) for _, outs in per_tradition],
            axis=0,
        )
        target = self.run_dir / PREVIEWS / f"step_{step:07d}.png"
        write_with_atomic(
            target, lambda tmp: Image.fromarray(grid).save(tmp, format="PNG"), suffix=".png"
        )
        return PreviewReady(step, ins, per_tradition[0][1], traditions=per_tradition)

    def _preview_rows(self, generator: nn.Module) -> list[tuple[int, str]] | None:
        """(style index, name) per tradition of a multi-style generator; None for one."""
        slugs = list(getattr(generator, "traditions", []) or [])
        if len(slugs) < 2:
            return None
        records = getattr(self.method, "traditions", None)
        names = {}
        if callable(records):
            names = {r.get("slug"): r.get("name") or r.get("slug") for r in records()}
        names.update({s.name: s.display_name or s.name for s in self.config.styles})
        return [(i, str(names.get(slug) or slug)) for i, slug in enumerate(slugs)]


def _until_cancelled(items: Iterable, control: JobControl) -> Iterator:
    """``items`` one by one, raising JobCancelled before each once ``control`` is
    cancelled: loaders that decode file after file stop within one file of a Stop."""
    for item in items:
        control.raise_if_cancelled()
        yield item


def _load_images(
    label: str,
    sources: list[str],
    cfg: TrainConfig,
    pipeline: PipelineConfig,
    skipped: list[str],
    control: JobControl | None = None,
) -> TrainingImages:
    try:
        files = collect_image_files(sources)
        if control is not None:
            control.raise_if_cancelled()
            files = _until_cancelled(files, control)
        return TrainingImages(files, cfg.size, pipeline, log=skipped.append)
    except (NoTrainingImages, FileNotFoundError) as exc:
        raise NoTrainingImages(f"{label}: {exc}") from exc


def to_uint8_images(batch: torch.Tensor) -> list[np.ndarray]:
    """[-1, 1] NCHW -> list of HxWx3 uint8 numpy copies."""
    x = ((batch.detach().float().cpu().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return [img.permute(1, 2, 0).numpy().copy() for img in x]
