"""Runs on disk as the Runs view lists them, and a run's model added to the library."""

from __future__ import annotations

import json
from pathlib import Path

from training_setup import tiny_config

from ganstyle_desktop.engine.control import JobControl
from ganstyle_desktop.engine.events import StepCompleted
from ganstyle_desktop.engine.modelfile import load_model, read_card
from ganstyle_desktop.engine.runs import (
    FINISHED,
    INTERRUPTED,
    NOT_STARTED,
    add_to_library,
    library_copy_of,
    list_runs,
    read_run,
    style_label,
)
from ganstyle_desktop.engine.trainer import Trainer


def _train(config, stop_after: int | None = None) -> None:
    control = JobControl()
    for event in Trainer(config, control).run():
        if isinstance(event, StepCompleted) and stop_after and event.step >= stop_after:
            control.cancel()


def test_a_finished_run_and_an_interrupted_one(tmp_path: Path) -> None:
    done = tiny_config(tmp_path, out_dir=str(tmp_path / "runs" / "a-done"), steps=4)
    _train(done)
    cut = tiny_config(tmp_path, out_dir=str(tmp_path / "runs" / "b-cut"), steps=40)
    _train(cut, stop_after=3)
    empty = tmp_path / "runs" / "c-empty"
    tiny_config(tmp_path, out_dir=str(empty)).save(empty / "config.json")
    (tmp_path / "runs" / "not-a-run").mkdir()

    finished = read_run(tmp_path / "runs" / "a-done")
    assert finished.status == FINISHED and finished.last_step == 4 and finished.total_steps == 4
    assert finished.model_path == tmp_path / "runs" / "a-done" / "model.safetensors"
    assert finished.preview is not None and finished.preview.name == "step_0000004.png"
    assert finished.name == "Test style · synthetic"
    assert (finished.method, finished.preset, finished.size) == ("fastcut", "tiny", 32)

    interrupted = read_run(tmp_path / "runs" / "b-cut")
    assert interrupted.status == INTERRUPTED and interrupted.can_resume
    assert 3 <= interrupted.last_step < 40
    assert read_run(empty).status == NOT_STARTED
    assert read_run(tmp_path / "runs" / "not-a-run") is None

    listed = list_runs(tmp_path / "runs", tmp_path / "missing")
    assert {r.path.name for r in listed} == {"a-done", "b-cut", "c-empty"}
    starts = [r.started for r in listed]
    assert starts == sorted(starts, reverse=True)  # newest first


def test_a_best_checkpoint_is_reported(tmp_path: Path) -> None:
    run = tiny_config(tmp_path, steps=4)
    _train(run)
    best = Path(run.out_dir) / "checkpoints" / "best.json"
    best.write_text(json.dumps({"step": 2, "metrics": {"style_score": 0.5}}), encoding="utf-8")
    summary = read_run(run.out_dir)
    assert summary.best_step == 2 and summary.best_metrics == {"style_score": 0.5}


def test_style_label_names_dataset_and_tradition(tmp_path: Path) -> None:
    config = tiny_config(tmp_path)
    config.styles[0].display_name = "Hokusai prints"
    config.styles[0].tags = {"culture": "Japan, Edo period (ukiyo-e woodblock prints)"}
    assert style_label(config) == "Hokusai prints · Japan"
    config.styles[0].tags = {"culture": "japan"}
    config.styles[0].display_name = "Japan prints"
    assert style_label(config) == "Japan prints"  # the tradition is in the name already


def test_adding_to_the_library_names_the_model_and_replaces_an_earlier_copy(
    tmp_path: Path,
) -> None:
    config = tiny_config(tmp_path, steps=4)
    _train(config)
    run_dir = Path(config.out_dir)
    models = tmp_path / "models"
    first = add_to_library(run_dir / "model.safetensors", models)
    assert first == library_copy_of(models, run_dir)
    card = read_card(first)
    assert card.name == "Test style · synthetic"
    assert card.training["run"] == str(run_dir)
    assert card.traditions and card.steps == 4  # the card travels with the weights
    assert json.loads(first.with_suffix(".json").read_text(encoding="utf-8"))["name"] == card.name
    load_model(first)  # a complete, loadable model
    again = add_to_library(run_dir / "model.safetensors", models)
    assert again == first and sorted(p.name for p in models.glob("*.safetensors")) == [first.name]

    checkpoint = run_dir / "checkpoints" / "step_0000002" / "model.safetensors"
    kept = add_to_library(checkpoint, models, step=2)
    assert kept != first and read_card(kept).name == "Test style · synthetic · step 2"
    assert read_card(kept).training["checkpoint_step"] == 2
    assert read_card(kept).training["run"] == str(run_dir)  # found two levels up


def test_the_layout_names_agree_with_the_trainer_and_naming_needs_no_torch() -> None:
    import subprocess
    import sys

    from ganstyle_desktop.engine import checkpoints, runs, trainer

    assert (runs.CONFIG_FILE, runs.MODEL_FILE, runs.PREVIEWS) == (
        trainer.CONFIG_FILE,
        trainer.MODEL_FILE,
        trainer.PREVIEWS,
    )
    assert runs.CHECKPOINTS == checkpoints.CHECKPOINTS
    code = (
        "import sys; from ganstyle_desktop.engine.runs import library_copy_of, style_label; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"  # the GUI thread may name a library copy
