"""Resume from a chosen checkpoint, Stop in every phase, previews and quality checks of every
tradition of a multi-style run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from training_setup import tiny_config, write_images

from ganstyle_desktop.engine import data, imageio
from ganstyle_desktop.engine.checkpoints import CHECKPOINTS, SUPERSEDED, checkpoint_dir
from ganstyle_desktop.engine.config import ConfigError, StyleSource
from ganstyle_desktop.engine.control import JobControl
from ganstyle_desktop.engine.events import (
    CheckpointSaved,
    MetricsComputed,
    PreviewReady,
    StepCompleted,
    TrainingFinished,
    TrainingStarted,
)
from ganstyle_desktop.engine.trainer import Trainer, find_checkpoints


def _steps(tmp_path: Path, **overrides) -> list:
    return list(Trainer(tiny_config(tmp_path, **overrides)).run())


# -- resume from a chosen checkpoint -----------------------------------------------------


def test_resume_from_an_older_checkpoint_continues_from_that_step(tmp_path: Path) -> None:
    settings = dict(steps=6, checkpoint_every=2, keep_last=5)
    reference = tiny_config(tmp_path / "ref", **settings)
    list(Trainer(reference).run())  # checkpoints 2, 4, 6

    config = tiny_config(tmp_path / "run", **settings)
    list(Trainer(config).run())
    run_dir = Path(config.out_dir)
    assert [c.name for c in find_checkpoints(run_dir)] == [
        "step_0000002",
        "step_0000004",
        "step_0000006",
    ]
    older = checkpoint_dir(run_dir, 2)
    events = list(Trainer(config, resume_from=older / "model.safetensors").run())
    started = next(e for e in events if isinstance(e, TrainingStarted))
    steps = [e.step for e in events if isinstance(e, StepCompleted)]
    assert started.start_step == 2 and steps == [3, 4, 5, 6]  # not 6, the newest
    # The abandoned future is moved aside, not mixed into the new timeline.
    moved = sorted(p.name for p in (run_dir / SUPERSEDED).glob("*/step_*"))
    assert moved == ["step_0000004", "step_0000006"]
    assert [c.name for c in find_checkpoints(run_dir)] == [
        "step_0000002",
        "step_0000004",
        "step_0000006",
    ]
    # It really continued from step 2's state: on the CPU the run is a pure function of
    # its seed, so step 4 equals step 4 of an uninterrupted run.
    ours = load_file(str(checkpoint_dir(run_dir, 4) / "state.safetensors"))
    theirs = load_file(str(checkpoint_dir(Path(reference.out_dir), 4) / "state.safetensors"))
    assert all(torch.equal(ours[k], theirs[k]) for k in theirs)


def test_resume_from_rewinds_the_best_mark(tmp_path: Path) -> None:
    config = tiny_config(tmp_path, steps=4, checkpoint_every=2, keep_last=5)
    list(Trainer(config).run())
    run_dir = Path(config.out_dir)
    (run_dir / CHECKPOINTS / "best.json").write_text(json.dumps({"step": 4, "metrics": {}}))
    list(Trainer(config, resume_from=checkpoint_dir(run_dir, 2)).run())
    best = run_dir / CHECKPOINTS / "best.json"
    assert not best.exists() or json.loads(best.read_text())["step"] <= 2


def test_resume_from_a_checkpoint_of_another_run_is_refused(tmp_path: Path) -> None:
    first = tiny_config(tmp_path / "a", steps=2, checkpoint_every=2)
    second = tiny_config(tmp_path / "b", steps=2, checkpoint_every=2)
    list(Trainer(first).run())
    list(Trainer(second).run())
    foreign = checkpoint_dir(Path(first.out_dir), 2)
    with pytest.raises(ConfigError, match="not a checkpoint of the run"):
        list(Trainer(second, resume_from=foreign).run())


# -- Stop in every phase ---------------------------------------------------------------------


class _CountingLoader:
    """Wraps an image loader; cancels ``control`` on the first load of a file under
    ``folder`` and counts every load after that (there must be none)."""

    def __init__(self, real, control: JobControl, folder: Path) -> None:
        self.real, self.control, self.folder = real, control, folder
        self.after_cancel = 0
        self.hit = False

    def __call__(self, path, *args, **kwargs):
        if self.control.cancelled:
            self.after_cancel += 1
        elif self.folder in Path(path).parents:
            self.hit = True
            self.control.cancel()
        return self.real(path, *args, **kwargs)


@pytest.mark.parametrize("phase", ["content", "style", "previews", "quality"])
def test_stop_is_honoured_while_images_load(tmp_path: Path, monkeypatch, phase: str) -> None:
    style_dir, content_dir, held_dir = tmp_path / "style", tmp_path / "content", tmp_path / "h"
    write_images(style_dir, 4, seed=1)
    write_images(content_dir, 10, seed=2, size=(40, 48))
    config = tiny_config(tmp_path, steps=50, metrics_every=10 if phase == "quality" else 0)
    control = JobControl()
    if phase in ("content", "style"):
        folder = content_dir if phase == "content" else style_dir
        loader = _CountingLoader(data.load_rgb, control, folder)
        monkeypatch.setattr(data, "load_rgb", loader)
    elif phase == "previews":  # the preview photos load after the training images
        real_preview_batch = data.preview_batch
        loader = _CountingLoader(data.load_rgb, control, content_dir)
        loader.hit = True

        def preview_batch(files, size, n):
            monkeypatch.setattr(data, "load_rgb", loader)
            control.cancel()
            return real_preview_batch(files, size, n)

        import ganstyle_desktop.engine.trainer as trainer_module

        monkeypatch.setattr(trainer_module, "preview_batch", preview_batch)
    else:  # the quality checks decode the style set and the held-apart photos
        held_dir.mkdir()
        loader = _CountingLoader(imageio.load_rgb, control, style_dir)
        monkeypatch.setattr(imageio, "load_rgb", loader)
    events = list(Trainer(config, control).run())
    assert loader.hit, "the phase under test never ran"
    assert loader.after_cancel == 0  # not one more image decoded after Stop
    assert not any(isinstance(e, StepCompleted) for e in events)
    finished = events[-1]
    assert isinstance(finished, TrainingFinished) and finished.cancelled
    assert finished.step == 0 and finished.model_path is None


def test_stop_during_a_save_ends_right_after_it(tmp_path: Path, monkeypatch) -> None:
    import ganstyle_desktop.engine.trainer as trainer_module

    control = JobControl()
    real_save = trainer_module.save_checkpoint

    def save_then_stop(*args, **kwargs):
        control.cancel()  # pressed while the checkpoint is written
        return real_save(*args, **kwargs)

    monkeypatch.setattr(trainer_module, "save_checkpoint", save_then_stop)
    config = tiny_config(tmp_path, steps=50, checkpoint_every=2)
    events = list(Trainer(config, control).run())
    steps = [e.step for e in events if isinstance(e, StepCompleted)]
    saved = [e.step for e in events if isinstance(e, CheckpointSaved)]
    assert steps == [1, 2] and saved[0] == 2  # no step after the save
    assert events[-1].cancelled and events[-1].step == 2


# -- every tradition of a multi-style run -----------------------------------------------------


def test_previews_and_quality_checks_cover_every_tradition(tmp_path: Path) -> None:
    styles = []
    for i, slug in enumerate(["ukiyo-e", "shan-shui", "impressionism"]):
        folder = tmp_path / slug
        write_images(folder, 3, seed=10 + i)
        styles.append(StyleSource(slug, [str(folder)], display_name=slug.title()))
    write_images(tmp_path / "content", 10, seed=2, size=(40, 48))
    config = tiny_config(
        tmp_path, "multistyle", styles=styles, steps=2, preview_every=2, metrics_every=2
    )
    events = list(Trainer(config).run())
    preview = next(e for e in events if isinstance(e, PreviewReady))
    assert [name for name, _ in preview.traditions] == ["Ukiyo-E", "Shan-Shui", "Impressionism"]
    assert all(len(outs) == len(preview.inputs) for _, outs in preview.traditions)
    renderings = [outs[0].tobytes() for _, outs in preview.traditions]
    assert len(set(renderings)) == 3  # each row is its own tradition
    assert preview.outputs[0].tobytes() == renderings[0]
    grid = Path(config.out_dir) / "previews" / "step_0000002.png"
    from PIL import Image

    with Image.open(grid) as im:  # photos, then one row per tradition
        assert im.height == 4 * preview.inputs[0].shape[0]
    metrics = next(e for e in events if isinstance(e, MetricsComputed)).metrics
    for slug in ("ukiyo-e", "shan-shui", "impressionism"):
        assert f"edge_ssim/{slug}" in metrics
    per = [metrics[f"edge_ssim/{s}"] for s in ("ukiyo-e", "shan-shui", "impressionism")]
    assert metrics["edge_ssim"] == pytest.approx(sum(per) / 3)
