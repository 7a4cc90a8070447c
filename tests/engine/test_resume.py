"""An interrupted run, resumed, ends bit-identical to one that never stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from training_setup import tiny_config

from ganstyle_desktop.engine.control import JobControl
from ganstyle_desktop.engine.events import StepCompleted, TrainingFinished, TrainingStarted
from ganstyle_desktop.engine.trainer import Trainer, find_checkpoints

REPO = Path(__file__).resolve().parents[2]


def _assert_same_files(a: Path, b: Path) -> None:
    ta, tb = load_file(str(a)), load_file(str(b))
    assert ta.keys() == tb.keys()
    different = [k for k in ta if not torch.equal(ta[k], tb[k])]
    assert not different, different[:5]


def _assert_same_runs(a: Path, b: Path, step: int, reverse: bool) -> None:
    _assert_same_files(a / "model.safetensors", b / "model.safetensors")
    if reverse:
        _assert_same_files(a / "model_reverse.safetensors", b / "model_reverse.safetensors")
    # Every resumable tensor: weights, EMA, Adam moments, RNG states, image pools.
    name = f"checkpoints/step_{step:07d}/state.safetensors"
    _assert_same_files(a / name, b / name)


@pytest.mark.parametrize(
    ("method", "how"),
    [("fastcut", "cancel"), ("cut", "abandon"), ("cyclegan", "cancel"), ("cyclegan", "abandon")],
)
def test_interrupted_then_resumed_equals_uninterrupted(
    tmp_path: Path, method: str, how: str
) -> None:
    settings = dict(steps=6, checkpoint_every=3, preview_every=2)
    reference = tiny_config(tmp_path / "a", method, **settings)
    list(Trainer(reference).run())

    config = tiny_config(tmp_path / "b", method, **settings)
    control = JobControl()
    run = Trainer(config, control).run()
    for event in run:
        if isinstance(event, StepCompleted) and event.step == 4:
            if how == "cancel":
                control.cancel()  # saves a checkpoint of step 4
            else:
                break  # like a crash: only the step-3 checkpoint exists
    run.close()
    expected_start = 4 if how == "cancel" else 3
    assert find_checkpoints(config.out_dir)[-1].name == f"step_{expected_start:07d}"

    events = list(Trainer(config, resume=True).run())
    started = events[0]
    assert isinstance(started, TrainingStarted) and started.start_step == expected_start
    assert [e.step for e in events if isinstance(e, StepCompleted)] == list(
        range(expected_start + 1, 7)
    )
    assert isinstance(events[-1], TrainingFinished) and events[-1].step == 6
    _assert_same_runs(Path(reference.out_dir), Path(config.out_dir), 6, method == "cyclegan")


CHILD = """
import sys
sys.path[:0] = [{repo!r}, {tests!r}]
import training_setup  # one torch thread, like the parent
from ganstyle_desktop.engine.config import TrainConfig
from ganstyle_desktop.engine.control import JobControl
from ganstyle_desktop.engine.trainer import Trainer
from ganstyle_desktop.engine.events import StepCompleted

control = JobControl()
for event in Trainer(TrainConfig.load(sys.argv[1]), control).run():
    print(type(event).__name__, getattr(event, "step", ""), flush=True)
    if isinstance(event, StepCompleted) and event.step == 7:
        control.pause()  # nobody resumes: the parent kills us while we wait
"""


def test_run_killed_with_sigkill_resumes_and_completes(tmp_path: Path) -> None:
    settings = dict(steps=10, checkpoint_every=5, preview_every=5, keep_last=1)
    config = tiny_config(tmp_path / "b", "fastcut", **settings)
    config_file = tmp_path / "child_config.json"
    config.save(config_file)
    script = CHILD.format(repo=str(REPO), tests=str(Path(__file__).parent))
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(config_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    watchdog = threading.Timer(120, child.kill)  # never hang the suite
    watchdog.start()
    try:
        lines = []
        for line in child.stdout:
            lines.append(line.strip())
            if line.startswith("Paused"):
                break
        assert lines and lines[-1] == "Paused 7", (lines, child.stderr.read())
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(30) == -signal.SIGKILL
    finally:
        watchdog.cancel()
        if child.poll() is None:
            child.kill()
            child.wait(30)
        child.stdout.close()
        child.stderr.close()

    run = Path(config.out_dir)
    assert [p.name for p in find_checkpoints(run)] == ["step_0000005"]
    # What a kill during the next save would leave: never taken for a checkpoint.
    torn = run / "checkpoints" / "step_0000010"
    torn.mkdir()
    (torn / "state.safetensors").write_bytes(b"\0" * 64)
    (torn / "state.json").write_text('{"step": 10}')
    (run / "checkpoints" / ".tmp-step_0000008-1").mkdir()

    events = list(Trainer(config, resume=True).run())
    assert events[0].start_step == 5
    assert isinstance(events[-1], TrainingFinished) and events[-1].step == 10
    assert [p.name for p in find_checkpoints(run)] == ["step_0000010"]
    assert not (run / "checkpoints" / ".tmp-step_0000008-1").exists()

    reference = tiny_config(tmp_path / "a", "fastcut", **settings)
    list(Trainer(reference).run())
    _assert_same_runs(Path(reference.out_dir), run, 10, reverse=False)
