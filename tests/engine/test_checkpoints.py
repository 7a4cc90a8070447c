from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ganstyle_desktop.engine.checkpoints import (
    best_checkpoint,
    find_checkpoints,
    load_checkpoint,
    load_latest_checkpoint,
    save_checkpoint,
)


def _state(value: float) -> dict[str, torch.Tensor]:
    return {
        "net.w": torch.full((2, 3), value),
        "rng.data": torch.Generator().manual_seed(int(value)).get_state(),
        "optim.G.0.step": torch.tensor(value),
    }


def test_round_trip_and_model_writer(tmp_path: Path) -> None:
    def write_models(folder: Path) -> None:
        (folder / "model.safetensors").write_bytes(b"model")

    folder = save_checkpoint(tmp_path, 5, _state(5.0), {"lr": 0.1}, write_models=write_models)
    assert folder == tmp_path / "checkpoints" / "step_0000005"
    assert (folder / "model.safetensors").read_bytes() == b"model"
    ckpt = load_checkpoint(folder)
    assert ckpt.step == 5 and ckpt.meta["lr"] == 0.1
    for key, value in _state(5.0).items():
        assert torch.equal(ckpt.tensors[key], value) and ckpt.tensors[key].dtype == value.dtype
    assert not any(p.name.startswith(".") for p in (tmp_path / "checkpoints").iterdir())


def test_keeps_the_last_n_and_the_best(tmp_path: Path) -> None:
    for step in (1, 2, 3):
        save_checkpoint(
            tmp_path,
            step,
            _state(step),
            {},
            keep_last=2,
            is_best=step == 1,
            metrics={"style_score": 1.0},
        )
    for step in (4, 5):
        save_checkpoint(tmp_path, step, _state(step), {}, keep_last=2)
    assert [p.name for p in find_checkpoints(tmp_path)] == [
        "step_0000001",
        "step_0000004",
        "step_0000005",
    ]
    assert best_checkpoint(tmp_path) == tmp_path / "checkpoints" / "step_0000001"
    best = json.loads((tmp_path / "checkpoints" / "best.json").read_text())
    assert best["step"] == 1 and best["metrics"]["style_score"] == 1.0


def test_half_written_checkpoints_are_never_valid(tmp_path: Path) -> None:
    save_checkpoint(tmp_path, 2, _state(2.0), {})
    root = tmp_path / "checkpoints"
    # A process killed while writing: the temp folder, or a folder without its marker.
    partial = root / ".tmp-step_0000004-999"
    partial.mkdir()
    (partial / "state.safetensors").write_bytes(b"\0" * 10)
    unmarked = root / "step_0000003"
    unmarked.mkdir()
    (unmarked / "state.safetensors").write_bytes(b"garbage")
    (unmarked / "state.json").write_text("{}")
    assert [p.name for p in find_checkpoints(tmp_path)] == ["step_0000002"]
    assert load_latest_checkpoint(tmp_path).step == 2
    with pytest.raises(ValueError, match="incomplete"):
        load_checkpoint(unmarked)


def test_damaged_newest_checkpoint_falls_back_to_an_older_one(tmp_path: Path) -> None:
    save_checkpoint(tmp_path, 1, _state(1.0), {}, keep_last=5)
    newest = save_checkpoint(tmp_path, 2, _state(2.0), {}, keep_last=5)
    (newest / "state.safetensors").write_bytes(b"\x01\x02")  # disk corruption after the fact
    assert load_latest_checkpoint(tmp_path).step == 1


def test_failed_write_leaves_no_folder(tmp_path: Path) -> None:
    def failing_writer(folder: Path) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(tmp_path, 7, _state(7.0), {}, write_models=failing_writer)
    assert find_checkpoints(tmp_path) == []
    assert list((tmp_path / "checkpoints").iterdir()) == []
