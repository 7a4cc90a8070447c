"""Guidance before training: presets named by outcome, sized by this machine's measured
speed, and the check a person reads before pressing Start.

``OUTCOMES`` is the one table that turns "Quick look: ~5 min", "Good: ~30 min" and "Best:
hours" into a network preset, a training size and a time budget; the steps follow from
the seconds one step takes *here*, measured by :func:`measure_seconds_per_step` (a few
real optimisation steps of the chosen method on synthetic batches). The network presets
and sizes are not copied here: an outcome names the engine's default preset and the
default training size (``engine.presets.DEFAULT_PRESET``, ``TrainConfig.size``), or a
preset it prefers when the engine has it, so whoever tunes the presets tunes these.

:func:`check_training` says how many images a run would learn from, whether that is
enough, how long it would take, what to expect, and whether the style set's licence
forbids commercial use.
"""

from __future__ import annotations

import logging
import math
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from .config import TrainConfig

log = logging.getLogger(__name__)

# How many images make a style set, and a photo set, that a GAN can learn from.
STYLE_TOO_FEW = 10  # below: it copies the pictures instead of learning the style
STYLE_ENOUGH = 30  # from here: a style, not a handful of pictures
STYLE_PLENTY = 100
CONTENT_TOO_FEW = 5
CONTENT_ENOUGH = 20
STARTUP_SECONDS = 20.0  # loading torch and the images, building the networks
OVERHEAD = 1.15  # previews, checkpoints and quality checks on top of the steps


@dataclass(frozen=True)
class Outcome:
    """A training budget named by what it gives.

    ``presets``: network presets in order of preference ("" is the engine's default);
    the first one the engine has is used. ``size``: the training crop (0: the default
    size; negative: the default divided by ``-size``)."""

    key: str
    label: str
    budget_seconds: float
    presets: tuple[str, ...]
    size: int
    min_steps: int
    max_steps: int
    expect: str


OUTCOMES: tuple[Outcome, ...] = (
    Outcome(
        "quick",
        "Quick look: ~5 min",
        5 * 60,
        ("", "lite"),  # the default network, or one every method trains
        -2,
        100,
        20_000,
        "a first impression: the style's colours and textures over the photo's shapes, "
        "with blotches; enough to see whether the style set suits you",
    ),
    Outcome(
        "good",
        "Good: ~30 min",
        30 * 60,
        ("", "lite"),  # the default network, or one every method trains
        0,
        300,
        100_000,
        "a usable model: the palette and brushwork of the style, the photo's structure "
        "kept; fine detail still soft",
    ),
    Outcome(
        "best",
        "Best: hours",
        4 * 3600,
        ("", "lite"),  # the default network, or one every method trains
        0,
        1000,
        500_000,
        "the best this network size can do: settled textures and cleaner edges",
    ),
)
CUSTOM = "custom"

# Measured with benchmarks/bench_time_to_style.py (painter defaults, 2-core CPU): the
# recogniser named the tradition at the first evaluation, 100 steps (~1.6 min), for
# ukiyo-e, Impressionism and post-Impressionism.
PAINTER_EXPECTATION = (
    "Expect a painting from the first minutes: the pretrained painter starts in the "
    "average manner of your artworks, set apart from the other traditions you train "
    "with it (on this project's 2-core test machine a tradition was recognisable after "
    "about 100 steps, under 2 minutes), and the run sharpens what sets them apart. It "
    "paints strokes, texture, palette and softly flattened planes; hard-edged colour "
    "fields are beyond it."
)


def outcome(key: str) -> Outcome:
    for item in OUTCOMES:
        if item.key == key:
            return item
    raise KeyError(f"unknown outcome {key!r}; choose one of {[o.key for o in OUTCOMES]}")


def outcome_preset(item: Outcome, method: str | None = None) -> str:
    """The network an outcome trains: its first preferred preset the engine has (and
    ``method``, when given, can train: the painter needs the multistyle method)."""
    from .config import methods_for_preset
    from .presets import DEFAULT_PRESET, PRESETS

    usable = [
        name
        for name in (n or DEFAULT_PRESET for n in item.presets)
        if name in PRESETS and (method is None or method in methods_for_preset(name))
    ]
    if usable:
        return usable[0]
    if method is None or method in methods_for_preset(DEFAULT_PRESET):
        return DEFAULT_PRESET
    return next(name for name in PRESETS if method in methods_for_preset(name))


def outcome_size(item: Outcome) -> int:
    default = TrainConfig(styles=[], content_paths=[], out_dir="").size
    size = default if item.size == 0 else (default // -item.size if item.size < 0 else item.size)
    return max(16, size // 4 * 4)


def _nice(steps: float) -> int:
    """Round to two significant figures (1,234 -> 1,200), so the numbers read as plans."""
    if steps < 100:
        return max(1, int(round(steps)))
    magnitude = 10 ** (int(math.log10(steps)) - 1)
    return int(round(steps / magnitude) * magnitude)


def outcome_steps(item: Outcome, seconds_per_step: float) -> int:
    """Steps that fit the outcome's time budget at ``seconds_per_step``."""
    usable = max(0.0, item.budget_seconds - STARTUP_SECONDS) / OVERHEAD
    steps = usable / max(seconds_per_step, 1e-6)
    return max(item.min_steps, min(item.max_steps, _nice(steps)))


def estimate_seconds(steps: int, seconds_per_step: float) -> float:
    return STARTUP_SECONDS + steps * seconds_per_step * OVERHEAD


def format_duration(seconds: float) -> str:
    """ "about 4 min", "about 1 h 20 min", "under a minute"."""
    if seconds < 60:
        return "under a minute"
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return f"about {minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours >= 10:
        return f"about {hours} h"
    return f"about {hours} h {minutes:02d} min" if minutes else f"about {hours} h"


# -- measuring this machine -------------------------------------------------------------------


@dataclass(frozen=True)
class SpeedSample:
    method: str
    preset: str
    size: int
    batch_size: int
    device: str
    seconds_per_step: float
    device_label: str


def measure_seconds_per_step(
    method: str,
    preset: str,
    size: int,
    batch_size: int = 1,
    device: str = "auto",
    *,
    n_styles: int = 1,
    steps: int = 3,
    control=None,
) -> SpeedSample:
    """Seconds one optimisation step of ``method`` takes here: one warm-up step, then
    the median of ``steps`` timed ones, on synthetic batches of the real shape (the cost
    of a step does not depend on what the pixels show). Cancellable between steps."""
    import torch

    from .config import StyleSource
    from .devices import plan_for
    from .methods import method_class

    config = TrainConfig(
        styles=[StyleSource(name=f"style-{i}") for i in range(max(1, n_styles))],
        content_paths=["."],
        out_dir="",
        method=method,
        preset=preset,
        size=max(16, size // 4 * 4),
        batch_size=batch_size,
        device=device,
        diffaugment="color,translation,cutout",
    )
    config.validate()  # a preset the method cannot train is said plainly (ConfigError)
    plan = plan_for(device, mixed_precision=config.mixed_precision)
    trainer = method_class(method)(config, plan)
    rng = torch.Generator().manual_seed(0)
    observe = getattr(trainer, "observe_styles", None)
    if callable(observe):  # terms that need the style sets (the teacher, a painter's rows)
        artworks = SimpleNamespace(
            images=[torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8, generator=rng)]
        )
        observe([artworks] * len(config.styles))
    shape = (batch_size, 3, config.size, config.size)
    content = plan.prepare_batch(torch.rand(shape, generator=rng) * 2 - 1)
    style = plan.prepare_batch(torch.rand(shape, generator=rng) * 2 - 1)
    style_ids = torch.zeros(batch_size, dtype=torch.long).to(plan.device)
    times = []
    for index in range(steps + 1):
        if control is not None:
            control.raise_if_cancelled()
        t0 = time.perf_counter()
        trainer.train_step(content, style, style_ids)
        if plan.device.type == "cuda":
            torch.cuda.synchronize(plan.device)
        if index:  # the first step pays for allocation and kernel selection
            times.append(time.perf_counter() - t0)
    return SpeedSample(
        method, preset, config.size, batch_size, device, statistics.median(times), plan.label
    )


# -- the check before Start ---------------------------------------------------------------------


@dataclass
class TrainingCheck:
    """What a person should know before a run starts. ``level``: "ok", "warning" (start
    if you like) or "blocked" (nothing to learn from)."""

    style_counts: dict[str, int] = field(default_factory=dict)  # per tradition
    content_count: int = 0
    level: str = "ok"
    lines: list[str] = field(default_factory=list)  # what it found, in sentences
    warnings: list[str] = field(default_factory=list)  # what could go wrong
    estimated_seconds: float | None = None
    noncommercial: list[str] = field(default_factory=list)  # files, as their rows name them
    tests_only: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join(self.lines + self.warnings)


def _count_files(paths: list[str]) -> int:
    from .imageio import collect_image_files

    try:
        return len(collect_image_files(paths))
    except (FileNotFoundError, OSError):
        return 0


def _rows_for(paths: list[str], provenance: list[dict]) -> list[dict]:
    """The provenance rows of a source: its own, else those of the nearest manifest."""
    if provenance:
        return list(provenance)
    from .imageio import collect_image_files
    from .provenance import find_manifest, manifest_provenance

    rows: list[dict] = []
    folders = [Path(p) for p in paths if Path(p).is_dir()]
    for folder in folders:
        manifest = find_manifest(folder)
        if manifest is None:
            continue
        try:
            files = collect_image_files([folder])
        except (FileNotFoundError, OSError):
            continue
        rows += manifest_provenance(files, manifest)[0]
    return rows


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def expectation(config: TrainConfig, outcome_key: str | None = None) -> str:
    """What the run will give, in words (from the outcome, else from its length)."""
    if config.preset == "tiny":
        return "The tiny network is for tests: it learns almost nothing."
    if config.preset == "painter":
        return PAINTER_EXPECTATION
    if outcome_key and outcome_key != CUSTOM:
        try:
            return f"Expect {outcome(outcome_key).expect}."
        except KeyError:
            pass
    images_seen = config.steps * config.batch_size
    if images_seen < 300:
        return "Expect a first impression: colours shift towards the style; the photo stays."
    if images_seen < 2000:
        return f"Expect {OUTCOMES[0].expect}."
    if images_seen < 20_000:
        return f"Expect {OUTCOMES[1].expect}."
    return f"Expect {OUTCOMES[2].expect}."


def check_training(
    config: TrainConfig,
    seconds_per_step: float | None = None,
    outcome_key: str | None = None,
    start_step: int = 0,
) -> TrainingCheck:
    """Counts the images of ``config``'s sources and reads their licences (folders: the
    nearest MANIFEST.csv; datasets: their rows) into a :class:`TrainingCheck`."""
    check = TrainingCheck()
    for style in config.styles:
        label = style.display_name or style.name
        check.style_counts[label] = _count_files(list(style.paths))
        nc, tests = _restricted(list(style.paths), style.provenance)
        check.noncommercial += nc
        check.tests_only += tests
    check.content_count = _count_files(list(config.content_paths))
    nc, tests = _restricted(list(config.content_paths), [])
    check.noncommercial += nc
    check.tests_only += tests

    for label, count in check.style_counts.items():
        if count == 0:
            check.level = "blocked"
            check.warnings.append(f"Style “{label}” has no images to learn from.")
        elif count < STYLE_TOO_FEW:
            check.warnings.append(
                f"Style “{label}”: only {_plural(count, 'image')}. With so few the model "
                f"copies these pictures instead of learning a style; {STYLE_ENOUGH} or more "
                "is better."
            )
        elif count < STYLE_ENOUGH:
            check.lines.append(
                f"Style “{label}”: {_plural(count, 'image')}, enough for a first model "
                f"({STYLE_ENOUGH}+ give a broader style)."
            )
        else:
            word = "plenty" if count >= STYLE_PLENTY else "enough"
            check.lines.append(f"Style “{label}”: {_plural(count, 'image')}, {word}.")
    n = check.content_count
    if n == 0:
        check.level = "blocked"
        check.warnings.append("There are no photos to learn from.")
    elif n < CONTENT_TOO_FEW:
        check.warnings.append(
            f"Only {_plural(n, 'photo')}: the model may only work on photos like these; "
            f"{CONTENT_ENOUGH} or more varied photos are better."
        )
    else:
        word = "enough" if n >= CONTENT_ENOUGH else "few but usable"
        check.lines.append(f"Photos: {_plural(n, 'photo')}, {word}.")

    if seconds_per_step is not None and seconds_per_step > 0:
        remaining = max(0, config.steps - start_step)
        check.estimated_seconds = estimate_seconds(remaining, seconds_per_step)
        check.lines.append(
            f"Time: {format_duration(check.estimated_seconds)} for {config.steps - start_step:,} "
            f"steps at {config.size} px ({seconds_per_step:.2f} s per step measured here)."
        )
        goal = _outcome_or_none(outcome_key)
        if goal is not None and check.estimated_seconds > 1.5 * goal.budget_seconds:
            check.warnings.append(
                f"This machine is slower than “{goal.label}” allows: even "
                f"{config.steps:,} steps (the fewest worth running) take "
                f"{format_duration(check.estimated_seconds)}. A busy computer is slower; "
                "other programs closed, it goes faster."
            )
    check.lines.append(expectation(config, outcome_key))
    if check.noncommercial:
        check.warnings.append(
            f"Licence: {_plural(len(check.noncommercial), 'image')} in this set "
            f"({_sample(check.noncommercial)}) may be used for non-commercial purposes only: "
            "so may a model trained on them. Do not sell or ship it."
        )
    if check.tests_only:
        check.warnings.append(
            f"Licence: {_plural(len(check.tests_only), 'image')} ({_sample(check.tests_only)}) "
            "are released for tests and benchmarks only: do not share a model trained on them."
        )
    if check.level == "ok" and check.warnings:
        check.level = "warning"
    return check


def _outcome_or_none(key: str | None) -> Outcome | None:
    try:
        return outcome(key) if key and key != CUSTOM else None
    except KeyError:
        return None


def _sample(names: list[str], keep: int = 2) -> str:
    shown = ", ".join(Path(n).name for n in names[:keep])
    return shown + (f" and {len(names) - keep} more" if len(names) > keep else "")


def _restricted(paths: list[str], provenance: list[dict]) -> tuple[list[str], list[str]]:
    from .provenance import restricted_rows

    return restricted_rows(_rows_for(paths, provenance))
