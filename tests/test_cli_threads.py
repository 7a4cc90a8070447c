"""``--threads`` for ``ganstyle-cli train`` and ``stylize``: a sane default, the count in
use on the device label, and refusals of nonsense."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from test_cli_stylize import model_file, write_image  # noqa: F401 - fixtures

from ganstyle_desktop.cli import build_parser, main
from ganstyle_desktop.cli.threads import apply_threads_argument
from ganstyle_desktop.engine import devices


@pytest.fixture(autouse=True)
def _restore_threads():
    previous = torch.get_num_threads()
    yield
    torch.set_num_threads(previous)


def test_the_default_leaves_one_core_free(monkeypatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    for cores, expected in ((1, 1), (2, 1), (8, 7)):
        monkeypatch.setattr(devices, "usable_cores", lambda cores=cores: cores)
        assert devices.default_cpu_threads() == expected
        args = build_parser().parse_args(["stylize", "m.safetensors", "x.jpg", "--out", "o"])
        assert args.threads is None
        assert apply_threads_argument(args) == min(expected, torch.get_num_threads()) == expected
    # torchrun: the cores are shared by the processes of a machine, or OMP_NUM_THREADS rules
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "3")
    assert devices.default_cpu_threads() == 2  # (8 - 1) // 3
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    assert devices.default_cpu_threads() == 4


@pytest.mark.parametrize("command", ["train", "stylize"])
def test_threads_must_be_a_positive_number(command: str, capsys) -> None:
    base = ["train", "--out", "r"] if command == "train" else ["stylize", "m", "x", "--out", "o"]
    for bad in ("0", "-2", "two"):
        with pytest.raises(SystemExit) as exited:
            build_parser().parse_args([*base, "--threads", bad])
        assert exited.value.code == 2
    assert "--threads" in capsys.readouterr().err


def test_the_label_tells_the_thread_count_in_use() -> None:
    devices.set_cpu_threads(1)
    assert devices.plan_for("cpu").label == "CPU (1 thread)"
    devices.set_cpu_threads(2)
    assert devices.plan_for("cpu").label == "CPU (2 threads)"


def test_stylize_runs_with_the_threads_asked_for(
    model_file, tmp_path: Path, monkeypatch  # noqa: F811
) -> None:
    from ganstyle_desktop.engine import onnx_backend

    monkeypatch.setattr(onnx_backend, "_THREAD_LIMIT", None)  # restored after the test
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # read by ONNX Runtime's sessions, not torch
    photos = tmp_path / "photos"
    write_image(photos / "a.png")
    torch.set_num_threads(2)
    assert main(["stylize", str(model_file), str(photos), "--out", str(tmp_path / "out"),
                 "--threads", "1"]) == 0  # fmt: skip
    assert torch.get_num_threads() == 1
    assert onnx_backend.default_threads() == 1  # an ONNX Runtime session would take 1 too
    assert (tmp_path / "out" / "a.png").is_file()


def test_train_records_the_threads_on_its_device_line(tmp_path: Path, capsys) -> None:
    for i in range(2):  # (tests/engine's helpers are not importable from here alone)
        write_image(tmp_path / "style" / f"s{i}.png", size=(40, 40), seed=1 + i)
        write_image(tmp_path / "content" / f"c{i}.png", size=(40, 40), seed=10 + i)
    code = main(
        ["train", "--style", str(tmp_path / "style"), "--content", str(tmp_path / "content"),
         "--out", str(tmp_path / "run"), "--preset", "tiny", "--size", "32", "--steps", "2",
         "--device", "cpu", "--threads", "1"]
    )  # fmt: skip
    assert code == 0
    assert "on CPU (1 thread)" in capsys.readouterr().err
