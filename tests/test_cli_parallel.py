"""``torchrun --nproc-per-node 2 -m ganstyle_desktop.cli stylize``: shared-out work, one
summary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganstyle_desktop.cli import main
from ganstyle_desktop.engine.modelfile import ModelCard, save_model
from ganstyle_desktop.engine.nets import GeneratorSpec, ResnetGenerator

sys.path.insert(0, str(Path(__file__).parent / "engine"))
from process_group import subprocess_env, torchrun_command  # noqa: E402


def write_image(path: Path, size: tuple[int, int], seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    spec = GeneratorSpec(width=4, n_blocks=1, separable=True)
    card = ModelCard(name="tiny", method="fastcut", preset="tiny", training_size=32)
    return save_model(tmp_path / "tiny.safetensors", ResnetGenerator(spec), card)


def _outputs(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


@pytest.mark.slow
def test_torchrun_shares_the_inputs_and_prints_one_summary(model_file: Path, tmp_path: Path):
    photos = tmp_path / "photos"
    names = ["a.jpg", "b.png", "trip/c.webp", "trip/d.png", "trip/e.jpg", "f.png"]
    for i, name in enumerate(names):
        write_image(photos / name, size=(40 + i, 30), seed=i)
    (photos / "trip" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    out = tmp_path / "out"
    (out / "a.jpg").parent.mkdir(parents=True)
    (out / "a.jpg").write_bytes(b"keep me")
    args = ["stylize", str(model_file), str(photos), str(tmp_path / "gone.jpg"), "--out"]

    done = subprocess.run(
        torchrun_command(2, *args, str(out), "--device", "cpu"),
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0  # a failed file fails the job, as in one process
    text = done.stdout
    # One summary, of both processes' work: each output was written exactly once.
    assert text.count("Stylized ") == 1 and "Stylized 5 image(s)" in text, text
    assert text.count("Skipped 1 that already exist") == 1
    assert text.count("Failed 2:") == 1
    failed = [line.strip() for line in text.splitlines() if line.startswith("  ")]
    assert failed[0].startswith(str(tmp_path / "gone.jpg")) and "broken.jpg" in failed[1]
    assert (out / "a.jpg").read_bytes() == b"keep me"

    # The same files, byte for byte, as one process writes.
    alone = tmp_path / "alone"
    (alone / "a.jpg").parent.mkdir(parents=True)
    (alone / "a.jpg").write_bytes(b"keep me")
    assert main([*args, str(alone), "--device", "cpu"]) == 1
    assert _outputs(out) == _outputs(alone)


def test_under_torchrun_a_repeated_ctrl_c_right_away_is_the_same_one() -> None:
    from ganstyle_desktop.cli.train_cmd import _CtrlC
    from ganstyle_desktop.engine.control import JobControl

    control = JobControl()
    handler = _CtrlC(control, [], grace_seconds=60.0)
    handler._handle(2, None)  # the terminal's Ctrl-C: stop after this step
    handler._handle(2, None)  # torchrun passing the same Ctrl-C on: not a second one
    assert control.cancelled
    handler.first_at -= 120.0
    with pytest.raises(KeyboardInterrupt):
        handler._handle(2, None)  # a real second Ctrl-C later: quit now
    alone = _CtrlC(JobControl(), [])
    alone._handle(2, None)
    with pytest.raises(KeyboardInterrupt):
        alone._handle(2, None)  # one process: the second Ctrl-C quits at once, as before
