"""``ganstyle-cli train``: learn a tradition's style from a folder of artworks.

Builds a :class:`TrainConfig` from the arguments (with provenance and culture tags from a
``MANIFEST.csv`` found beside the style folder), runs the engine's trainer and shows its
progress. Ctrl-C asks the trainer to stop after the current step; it saves a checkpoint
that ``--resume`` continues from, and the command exits with status 130.

Under ``torchrun --nproc-per-node N`` (or several nodes) the same command trains one model
data-parallel: each process trains on its share of every step's batch, rank 0 alone
prints and writes (see ``engine/distributed.py`` for why N x batch b equals one process
with batch N*b).
"""

from __future__ import annotations

import argparse
import logging
import re
import shlex
import signal
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ganstyle_desktop.engine.atomic import WriteError, write_reason
from ganstyle_desktop.engine.config import (
    GAN_LOSSES,
    METHODS,
    ConfigError,
    StyleSource,
    TrainConfig,
)
from ganstyle_desktop.engine.devices import DeviceUnavailable
from ganstyle_desktop.engine.imageio import IMAGE_EXTENSIONS, collect_image_files
from ganstyle_desktop.engine.presets import PRESETS, UnknownPreset
from ganstyle_desktop.engine.provenance import (  # noqa: F401 - MANIFEST_NAME: public name
    MANIFEST_NAME,
    find_manifest,
    manifest_provenance,
)

from . import CliError
from .parallel import cli_data_parallel
from .progress import ProgressBar
from .threads import add_threads_argument, apply_threads_argument

if TYPE_CHECKING:
    from ganstyle_desktop.engine.distributed import DataParallel

log = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    defaults = TrainConfig(styles=[], content_paths=[], out_dir="")
    p = subparsers.add_parser(
        "train",
        help="train a style model from a folder of artworks and a folder of photos",
        description="Train a photo-to-painting model. One style folder learns one tradition; "
        "several --style folders (method multistyle) learn one blendable model.",
    )
    p.add_argument(
        "--style",
        action="append",
        type=Path,
        metavar="DIR",
        help="folder of artworks in the tradition (repeat for a multi-style model)",
    )
    p.add_argument(
        "--content", action="append", type=Path, metavar="DIR", help="folder of photos (repeatable)"
    )
    p.add_argument("--out", type=Path, required=True, metavar="RUN_DIR", help="run folder")
    p.add_argument(
        "--method",
        choices=METHODS,
        help="multistyle (the default: several styles, or the painter preset), fastcut "
        "(default for one style with another preset), cut or cyclegan",
    )
    p.add_argument(
        "--preset",
        default=defaults.preset,
        help=f"network size: {', '.join(PRESETS)} (default {defaults.preset})",
    )
    p.add_argument("--size", type=int, default=defaults.size, help="training crop size in px")
    p.add_argument("--steps", type=int, default=defaults.steps)
    p.add_argument(
        "--batch-size",
        type=int,
        default=defaults.batch_size,
        help="images per step; under torchrun per process (the effective batch is "
        "processes x this)",
    )
    p.add_argument("--lr", type=float, default=defaults.lr, help="learning rate")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    add_threads_argument(p)
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--gan-loss", choices=GAN_LOSSES, default=defaults.gan_loss)
    p.add_argument("--preview-every", type=int, default=defaults.preview_every, metavar="N")
    p.add_argument("--checkpoint-every", type=int, default=defaults.checkpoint_every, metavar="N")
    p.add_argument(
        "--metrics-every",
        type=int,
        default=0,
        metavar="N",
        help="every N steps, measure style score and edge SSIM on content photos held out of "
        "training (1 in 5, with at least 10 photos) and keep the best checkpoint (0: off)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in RUN_DIR with its saved settings (only --device applies)",
    )
    p.add_argument("--name", help="the model's name (default: tradition, method and preset)")
    p.add_argument(
        "--init-model",
        type=Path,
        metavar="MODEL",
        help="multistyle: add the --style traditions to this trained multi-style model "
        "(only their style embeddings train; its traditions stay exactly as they are)",
    )
    p.add_argument(
        "--tradition-tags",
        action="append",
        default=[],
        metavar="[SLUG:]KEY=VALUE,...",
        help="tags for the model card, e.g. culture=Japanese,era=Edo (prefix SLUG: to tag one "
        "of several styles); they override tags from MANIFEST.csv",
    )
    add_recipe_arguments(p)
    p.set_defaults(run=run)


# -- the style recipe: one flag per TrainConfig knob, generated so they cannot drift --------


def knob_flag(f) -> str:
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def knob_type(f):
    """The Python type a knob's value has (the Training panel reads the same)."""
    from ganstyle_desktop.engine.config import knob_value_type

    return knob_value_type(f)


def add_recipe_arguments(p: argparse.ArgumentParser) -> None:
    from ganstyle_desktop.engine.config import recipe_knobs

    group = p.add_argument_group(
        "style recipe", "the loss terms and augmentation that decide how the model paints"
    )
    for f in recipe_knobs():
        kind = knob_type(f)
        text = f.metadata["help"]
        if "default" not in text:
            text += f" (default: {f.default})"
        kwargs: dict = {"dest": f"knob_{f.name}", "default": None, "help": text}
        if f.metadata.get("choices"):
            kwargs["choices"] = f.metadata["choices"]
        if kind is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = kind
            kwargs["metavar"] = kind.__name__.upper() if kind is not str else "TEXT"
        group.add_argument(knob_flag(f), **kwargs)


def recipe_values(args: argparse.Namespace) -> dict:
    """The knobs given on the command line (the rest keep TrainConfig's defaults)."""
    from ganstyle_desktop.engine.config import recipe_knobs

    values = {}
    for f in recipe_knobs():
        value = getattr(args, f"knob_{f.name}", None)
        if value is not None:
            values[f.name] = value
    return values


def recipe_command_parts(config: TrainConfig) -> list[str]:
    """Flags that reproduce ``config``'s recipe (only what differs from the defaults)."""
    from ganstyle_desktop.engine.config import recipe_knobs

    parts: list[str] = []
    for f in recipe_knobs():
        value = getattr(config, f.name)
        if value is None or value == f.default:
            continue
        if isinstance(value, bool):
            parts.append(knob_flag(f) if value else "--no-" + knob_flag(f)[2:])
        else:
            parts += [knob_flag(f), f"{value:g}" if isinstance(value, float) else str(value)]
    return parts


# -- building the configuration ---------------------------------------------------------------


def slugify(name: str) -> str:
    """``"Japanese Ukiyo-e"`` -> ``"japanese-ukiyo-e"``; letters of any script are kept."""
    return re.sub(r"[\W_]+", "-", name.lower()).strip("-")


def parse_tags(items: list[str], slugs: list[str]) -> dict[str, dict[str, str]]:
    """``["culture=Japan", "ukiyo:era=Edo"]`` -> tags per slug ("" applies to all)."""
    tags: dict[str, dict[str, str]] = {}
    for item in items:
        target = ""
        head, sep, rest = item.partition(":")
        if sep and "=" not in head:
            target, item = head.strip(), rest
            if target not in slugs:
                raise CliError(
                    f"--tradition-tags names style {target!r}; the styles are {', '.join(slugs)}."
                )
        for pair in item.split(","):
            if not pair.strip():
                continue
            key, eq, value = pair.partition("=")
            if not eq or not key.strip():
                raise CliError(f"--tradition-tags entry {pair!r} must look like key=value.")
            tags.setdefault(target, {})[key.strip()] = value.strip()
    return tags


def _image_files(folder: Path, role: str) -> list[Path]:
    if not folder.exists():
        raise CliError(f"The {role} folder {folder} does not exist.")
    files = collect_image_files([folder])
    if not files:
        kinds = ", ".join(sorted(IMAGE_EXTENSIONS))
        raise CliError(
            f"No images in the {role} folder {folder} (looked for {kinds}, in subfolders too)."
        )
    return files


def build_config(args: argparse.Namespace) -> TrainConfig:
    """A validated TrainConfig from the arguments; CliError says what to fix."""
    if not args.style:
        raise CliError("Give a folder of artworks with --style DIR.")
    if not args.content:
        raise CliError("Give a folder of photos with --content DIR.")
    if args.preset not in PRESETS:
        raise CliError(f"Unknown preset {args.preset!r}; choose one of {', '.join(PRESETS)}.")
    init_model = getattr(args, "init_model", None)
    multi = len(args.style) > 1 or init_model is not None
    # The painter preset (the default) learns one tradition or several with multistyle.
    painter = PRESETS[args.preset].is_painter
    method = args.method or ("multistyle" if multi or painter else "fastcut")

    styles: list[StyleSource] = []
    used: set[str] = set()
    for folder in args.style:
        files = _image_files(folder, "style")
        base = slugify(folder.resolve().name) or "style"
        slug, n = base, 2
        while slug in used:  # two folders called "paintings" still get two names
            slug, n = f"{base}-{n}", n + 1
        used.add(slug)
        manifest = find_manifest(folder)
        provenance, tags = manifest_provenance(files, manifest) if manifest else ([], {})
        styles.append(
            StyleSource(
                name=slug,
                paths=[str(folder.resolve())],
                display_name=folder.resolve().name,
                tags=tags,
                provenance=provenance,
            )
        )
    extra = parse_tags(args.tradition_tags, [s.name for s in styles])
    for s in styles:
        s.tags.update(extra.get("", {}))
        s.tags.update(extra.get(s.name, {}))
    for folder in args.content:
        _image_files(folder, "content")

    config = TrainConfig(
        styles=styles,
        content_paths=[str(c.resolve()) for c in args.content],
        out_dir=str(args.out),
        method=method,
        preset=args.preset,
        size=args.size,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        gan_loss=args.gan_loss,
        device=args.device,
        seed=args.seed,
        preview_every=args.preview_every,
        checkpoint_every=args.checkpoint_every,
        metrics_every=args.metrics_every,
        init_model=str(init_model.resolve()) if init_model else "",
        **recipe_values(args),
    )
    try:
        config.validate()
    except ConfigError as exc:
        raise CliError(str(exc)) from exc
    return config


def command_line(
    config: TrainConfig, name: str | None, tradition_tags: list[str] | tuple[str, ...] = ()
) -> str:
    """The command that reproduces ``config`` (recorded on the model card)."""
    parts = ["ganstyle-cli", "train"]
    for s in config.styles:
        parts += ["--style", *s.paths]
    for c in config.content_paths:
        parts += ["--content", c]
    parts += ["--out", config.out_dir, "--method", config.method, "--preset", config.preset]
    parts += ["--size", str(config.size), "--steps", str(config.steps)]
    parts += ["--batch-size", str(config.batch_size), "--lr", f"{config.lr:g}"]
    parts += ["--seed", str(config.seed), "--gan-loss", config.gan_loss, "--device", config.device]
    parts += ["--preview-every", str(config.preview_every)]
    parts += ["--checkpoint-every", str(config.checkpoint_every)]
    if config.metrics_every:
        parts += ["--metrics-every", str(config.metrics_every)]
    parts += recipe_command_parts(config)
    for item in tradition_tags:
        parts += ["--tradition-tags", item]
    if name:
        parts += ["--name", name]
    return shlex.join(parts)


# -- running ----------------------------------------------------------------------------------


class _CtrlC:
    """First Ctrl-C: cancel after the current step (checkpoint kept). Second: stop now."""

    def __init__(self, control, bar_holder: list, grace_seconds: float = 0.0) -> None:
        self.control = control
        self.bar_holder = bar_holder
        self.grace_seconds = grace_seconds  # a repeat this soon is the same Ctrl-C
        self.first_at: float | None = None
        self.previous = None
        self.installed = False

    def __enter__(self) -> _CtrlC:
        # Signal handlers can only be set from the main thread (tests may call main()
        # from elsewhere; there Ctrl-C does not reach us anyway).
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
            self.installed = True
        return self

    def _handle(self, signum, frame) -> None:
        if self.control.cancelled:
            if time.monotonic() - (self.first_at or 0.0) < self.grace_seconds:
                return
            raise KeyboardInterrupt
        self.first_at = time.monotonic()
        self.control.cancel()
        message = "Stopping after this step and saving a checkpoint (Ctrl-C again: quit now)..."
        if self.bar_holder:
            self.bar_holder[0].write(message)
        else:
            print(message, file=sys.stderr, flush=True)

    def __exit__(self, *exc: object) -> None:
        if self.installed:
            signal.signal(signal.SIGINT, self.previous)


def _loss_text(losses: dict[str, float]) -> str:
    return " ".join(f"{k} {v:.3f}" for k, v in losses.items())


def run(args: argparse.Namespace) -> int:
    apply_threads_argument(args)
    if args.resume:
        config_path = args.out / "config.json"
        if not config_path.is_file():
            raise CliError(f"Nothing to resume in {args.out}: it has no config.json.")
        # The trainer takes every setting but the device from the run's config.json.
        config = replace(TrainConfig.load(config_path), device=args.device)
        args.name = args.name or _previous_name(args.out)
        if args.style or args.content:
            print(
                f"note: resuming with the settings saved in {config_path}; "
                "--style/--content and other settings given here are not used",
                file=sys.stderr,
            )
    else:
        config = build_config(args)
    # Under torchrun: one process per rank, rank 0 the only one heard (cli/parallel.py).
    with cli_data_parallel(config.device) as parallel:
        return _train(args, config, parallel)


def _train(args: argparse.Namespace, config: TrainConfig, parallel: DataParallel | None) -> int:
    from ganstyle_desktop.engine.control import JobControl
    from ganstyle_desktop.engine.data import NoTrainingImages
    from ganstyle_desktop.engine.events import (
        CheckpointSaved,
        LogMessage,
        MetricsComputed,
        Paused,
        Resumed,
        StepCompleted,
        TrainingFinished,
        TrainingStarted,
    )
    from ganstyle_desktop.engine.trainer import Trainer

    control = JobControl()
    bar_holder: list[ProgressBar] = []
    step_times: list[tuple[int, float]] = []
    finished: TrainingFinished | None = None
    try:
        trainer = Trainer(config, control, resume=args.resume, parallel=parallel)
        # torchrun passes a terminal's Ctrl-C on to every process; where a process also gets
        # it from the terminal (launchers that keep the terminal's process group), the two
        # count as one.
        with _CtrlC(control, bar_holder, grace_seconds=2.0 if parallel else 0.0):
            for event in trainer.run():
                bar = bar_holder[0] if bar_holder else None
                if isinstance(event, TrainingStarted):
                    print(
                        f"Training {event.method} ({event.preset}) on {event.device}: "
                        f"step {event.start_step} of {event.total_steps}, run folder {event.run_dir}",
                        file=sys.stderr,
                        flush=True,
                    )
                    bar = ProgressBar(event.total_steps, label="step")
                    bar.update(event.start_step)
                    bar_holder.append(bar)
                elif isinstance(event, StepCompleted):
                    step_times.append((event.step, time.perf_counter()))
                    if bar:
                        bar.update(
                            event.step,
                            detail=_loss_text(event.losses),
                            seconds_per_step=event.seconds_per_step,
                            eta_seconds=event.eta_seconds,
                        )
                elif isinstance(event, CheckpointSaved):
                    _say(
                        bar,
                        f"checkpoint saved: {event.path}" + (" (best)" if event.is_best else ""),
                    )
                elif isinstance(event, LogMessage):
                    _say(bar, f"{event.level}: {event.message}")
                elif isinstance(event, MetricsComputed):
                    shown = ", ".join(f"{k} {v:.4g}" for k, v in event.metrics.items())
                    _say(bar, f"metrics at step {event.step}: {shown}")
                elif isinstance(event, Paused | Resumed):
                    _say(bar, f"{type(event).__name__.lower()} at step {event.step}")
                elif isinstance(event, TrainingFinished):
                    finished = event
    except (ConfigError, NoTrainingImages, DeviceUnavailable, UnknownPreset, WriteError) as exc:
        raise CliError(str(exc)) from exc
    except OSError as exc:  # e.g. the run folder cannot be made: a read-only disk
        raise CliError(f"{exc.filename or config.out_dir}: {write_reason(exc)}") from exc
    finally:
        if bar_holder:
            bar_holder[0].close()

    if finished is None:  # the trainer ended without saying so: treat as a failure
        print("error: training ended unexpectedly", file=sys.stderr)
        return 1
    if finished.model_path is not None:
        command = command_line(config, args.name, [] if args.resume else args.tradition_tags)
        _record_cli_details(finished.model_path, command, args.name)
    timing = _timing_text(step_times)
    if finished.cancelled:
        launcher = "ganstyle-cli"
        if parallel is not None:
            launcher = f"torchrun --nproc-per-node {parallel.world_size} -m ganstyle_desktop.cli"
        print(
            f"Cancelled at step {finished.step}. The run folder keeps the last checkpoint; "
            f"continue with: {launcher} train --out {shlex.quote(str(config.out_dir))} --resume",
            file=sys.stderr,
        )
        if finished.model_path is not None:
            print(f"model so far: {finished.model_path}")
        return 130
    print(
        f"Finished {finished.step} steps in {finished.wall_seconds:.1f} s{timing}. "
        f"Previews: {Path(config.out_dir) / 'previews'}",
        file=sys.stderr,
    )
    if finished.model_path is not None:
        print(f"model: {finished.model_path}")
    return 0


def _say(bar: ProgressBar | None, message: str) -> None:
    if bar is not None:
        bar.write(message)
    else:
        print(message, file=sys.stderr, flush=True)


def _timing_text(step_times: list[tuple[int, float]]) -> str:
    """Mean seconds per step after the first (which pays for warm-up)."""
    if len(step_times) < 2:
        return ""
    (s0, t0), (s1, t1) = step_times[0], step_times[-1]
    return f" ({(t1 - t0) / (s1 - s0):.3f} s/step over steps {s0 + 1}-{s1})"


def _record_cli_details(model_path: Path, command: str, name: str | None) -> None:
    """Put the reproducing command (and --name) on the final model cards."""
    from ganstyle_desktop.engine.modelfile import ModelFileError, read_card, rewrite_card
    from ganstyle_desktop.engine.trainer import REVERSE_MODEL_FILE

    paths = [model_path, model_path.parent / REVERSE_MODEL_FILE]
    for path in paths:
        if not path.is_file():
            continue
        try:
            card = read_card(path)
            training = dict(card.training, command=command)
            new_name = card.name
            if name:
                new_name = name if path == model_path else f"{name} (reverse)"
            rewrite_card(path, replace(card, name=new_name, training=training))
        except (ModelFileError, OSError, ValueError) as exc:
            log.warning("%s: could not record the command on the card (%s)", path, exc)


def _previous_name(run_dir: Path) -> str | None:
    """The --name an earlier session of this run gave (recorded in its card's command)."""
    from ganstyle_desktop.engine.modelfile import ModelFileError, read_card
    from ganstyle_desktop.engine.trainer import MODEL_FILE

    try:
        command = read_card(run_dir / MODEL_FILE).training.get("command", "")
        words = shlex.split(command)
    except (ModelFileError, OSError, ValueError):
        return None
    for flag, value in zip(words, words[1:], strict=False):  # pairs of neighbours
        if flag == "--name":
            return value
    return None
