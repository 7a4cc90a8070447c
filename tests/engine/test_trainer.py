from __future__ import annotations

import json
import queue
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from training_setup import tiny_config

from ganstyle_desktop.engine.config import ConfigError, TrainConfig, recipe_knobs
from ganstyle_desktop.engine.control import JobControl
from ganstyle_desktop.engine.events import (
    CheckpointSaved,
    LogMessage,
    MetricsComputed,
    Paused,
    PreviewReady,
    Resumed,
    StepCompleted,
    TrainingFinished,
    TrainingStarted,
)
from ganstyle_desktop.engine.modelfile import load_model, read_card
from ganstyle_desktop.engine.trainer import Trainer, find_checkpoints


def test_run_yields_events_and_writes_the_run_folder(tmp_path: Path) -> None:
    config = tiny_config(tmp_path, "fastcut")
    (tmp_path / "content" / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    events = list(Trainer(config).run())
    run = Path(config.out_dir)

    assert isinstance(events[0], TrainingStarted) and events[0].start_step == 0
    assert events[0].total_steps == 4 and events[0].method == "fastcut"
    assert isinstance(events[-1], TrainingFinished) and not events[-1].cancelled
    assert events[-1].step == 4 and events[-1].model_path == run / "model.safetensors"
    logs = [e for e in events if isinstance(e, LogMessage)]
    assert any("broken.jpg:" in e.message and e.level == "warning" for e in logs)

    steps = [e for e in events if isinstance(e, StepCompleted)]
    assert [e.step for e in steps] == [1, 2, 3, 4]
    for e in steps:
        assert e.total_steps == 4 and e.seconds_per_step > 0 and e.images_per_second > 0
        assert e.eta_seconds >= 0 and e.learning_rate > 0 and "nce" in e.losses
    assert steps[-1].eta_seconds == 0

    previews = [e for e in events if isinstance(e, PreviewReady)]
    assert [e.step for e in previews] == [2, 4]
    for e in previews:
        assert len(e.inputs) == len(e.outputs) == 2
        assert all(a.shape == (32, 32, 3) and a.dtype == np.uint8 for a in e.inputs + e.outputs)
    grid = np.asarray(Image.open(run / "previews" / "step_0000004.png"))
    assert grid.shape == (64, 64, 3)
    assert np.array_equal(grid[32:, :32], previews[-1].outputs[0])

    saved = [e for e in events if isinstance(e, CheckpointSaved)]
    assert [e.step for e in saved] == [2, 4]
    assert [p.name for p in find_checkpoints(run)] == ["step_0000002", "step_0000004"]
    assert all(e.model_path.is_file() for e in saved)
    # Saved with every default written out, so a resume keeps this recipe.
    saved_config = TrainConfig.load(run / "config.json")
    assert saved_config.to_dict() == config.with_resolved_defaults().to_dict()
    assert config.lambda_nce is None and saved_config.lambda_nce == 10.0  # FastCUT's own
    assert all(getattr(saved_config, f.name) is not None for f in recipe_knobs())

    model = load_model(run / "model.safetensors")
    card = model.card
    assert card.method == "fastcut" and card.preset == "tiny" and card.steps == 4
    assert card.direction == "photo_to_style" and card.training_size == 32
    assert card.architecture["generator"] == "resnet" and card.architecture["spec"]["width"] == 4
    assert card.traditions == [{"slug": "test-style", "name": "Test style", "culture": "synthetic"}]
    assert card.data_provenance == [{"file": "img_0.png", "license": "CC0"}]
    assert read_card(saved[0].model_path).steps == 2


def test_cyclegan_also_exports_the_reverse_model(tmp_path: Path) -> None:
    config = tiny_config(tmp_path, "cyclegan", steps=2, checkpoint_every=0, preview_every=0)
    events = list(Trainer(config).run())
    assert [e.step for e in events if isinstance(e, PreviewReady)] == [2]  # the final one
    run = Path(config.out_dir)
    assert read_card(run / "model.safetensors").direction == "photo_to_style"
    reverse = read_card(run / "model_reverse.safetensors")
    assert reverse.direction == "style_to_photo" and reverse.method == "cyclegan"
    assert (find_checkpoints(run)[-1] / "model_reverse.safetensors").is_file()


def test_pause_resume_and_cancel_from_another_thread(tmp_path: Path) -> None:
    config = tiny_config(tmp_path, "fastcut", steps=10_000, checkpoint_every=0, preview_every=0)
    control = JobControl()
    events: queue.Queue = queue.Queue()
    stepped, paused, resumed = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def consume() -> None:
        try:
            for event in Trainer(config, control).run():
                events.put(event)
                if isinstance(event, StepCompleted):
                    stepped.set()
                elif isinstance(event, Paused):
                    paused.set()
                elif isinstance(event, Resumed):
                    resumed.set()
        except BaseException as exc:  # surfaced by the asserts below
            errors.append(exc)

    worker = threading.Thread(target=consume)
    worker.start()
    try:
        assert stepped.wait(60)
        control.pause()
        assert paused.wait(30)
        assert control.paused
        stepped.clear()
        control.resume()
        assert resumed.wait(30)
        assert stepped.wait(30)
        control.cancel()
        worker.join(60)
        assert not worker.is_alive()
    finally:
        control.cancel()
        worker.join(60)
    assert not errors, errors
    seen = []
    while not events.empty():
        seen.append(events.get())
    pause = next(e for e in seen if isinstance(e, Paused))
    resume = next(e for e in seen if isinstance(e, Resumed))
    assert resume.step == pause.step  # no step ran while paused
    between = seen[seen.index(pause) : seen.index(resume)]
    assert not any(isinstance(e, StepCompleted) for e in between)
    finished = seen[-1]
    assert isinstance(finished, TrainingFinished) and finished.cancelled
    assert pause.step < finished.step < 10_000
    run = Path(config.out_dir)
    assert find_checkpoints(run)[-1].name == f"step_{finished.step:07d}"
    assert finished.model_path == run / "model.safetensors"
    assert read_card(run / "model.safetensors").steps == finished.step


def test_evaluator_marks_and_keeps_the_best_checkpoint(tmp_path: Path) -> None:
    scores = iter([0.5, 0.9, 0.7, 0.1])
    calls: list[int] = []

    def evaluator(module, step: int) -> dict[str, float]:
        assert not module.training
        calls.append(step)
        return {"style_score": next(scores), "contour_f": 0.7, "edge_ssim": 0.3}

    config = tiny_config(
        tmp_path, "fastcut", metrics_every=1, checkpoint_every=0, keep_last=1, preview_every=0
    )
    events = list(Trainer(config, evaluator=evaluator).run())
    assert calls == [1, 2, 3, 4]
    assert [e.metrics["style_score"] for e in events if isinstance(e, MetricsComputed)] == [
        0.5,
        0.9,
        0.7,
        0.1,
    ]
    saved = [(e.step, e.is_best) for e in events if isinstance(e, CheckpointSaved)]
    assert saved == [(1, True), (2, True), (4, False)]
    run = Path(config.out_dir)
    assert [p.name for p in find_checkpoints(run)] == ["step_0000002", "step_0000004"]
    assert json.loads((run / "checkpoints" / "best.json").read_text())["step"] == 2
    assert read_card(run / "checkpoints" / "step_0000002" / "model.safetensors").metrics[
        "style_score"
    ] == pytest.approx(0.9)
    assert read_card(run / "model.safetensors").metrics["style_score"] == pytest.approx(0.1)


def test_refuses_to_mix_runs_and_to_resume_nothing(tmp_path: Path) -> None:
    config = tiny_config(tmp_path, "fastcut", steps=2)
    with pytest.raises(ConfigError, match="Nothing to resume"):
        Trainer(config, resume=True)
    list(Trainer(config).run())
    with pytest.raises(ConfigError, match="already holds"):
        list(Trainer(config).run())


def test_a_source_without_usable_images_is_named(tmp_path: Path) -> None:
    config = tiny_config(tmp_path, "fastcut", steps=1)
    for image in (tmp_path / "style").iterdir():
        image.write_bytes(b"")
    with pytest.raises(ValueError, match="Style 'Test style'.*empty"):
        list(Trainer(config).run())
