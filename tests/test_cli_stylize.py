"""``ganstyle-cli stylize`` over folders and ``ganstyle-cli evaluate``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganstyle_desktop.cli import main
from ganstyle_desktop.engine.modelfile import ModelCard, save_model
from ganstyle_desktop.engine.nets import GeneratorSpec, ResnetGenerator


@pytest.fixture(autouse=True)
def _one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    spec = GeneratorSpec(width=4, n_blocks=1, separable=True)
    card = ModelCard(name="tiny", method="fastcut", preset="tiny", training_size=32)
    return save_model(tmp_path / "models" / "tiny.safetensors", ResnetGenerator(spec), card)


def write_image(path: Path, size=(40, 30), seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    write_image(root / "a.jpg", seed=1)
    write_image(root / "trip" / "b.png", size=(33, 47), seed=2)
    write_image(root / "trip" / "day2" / "c.webp", seed=3)
    return root


def test_folder_batch_keeps_structure_and_size(model_file, photos, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["stylize", str(model_file), str(photos), "--out", str(out)]) == 0
    made = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert made == ["a.jpg", "trip/b.png", "trip/day2/c.webp"]
    with Image.open(out / "trip" / "b.png") as im:
        assert im.size == (33, 47)
    assert "Stylized 3 image(s)" in capsys.readouterr().out


def test_existing_outputs_are_skipped_unless_overwrite(model_file, photos, tmp_path, capsys):
    out = tmp_path / "out"
    main(["stylize", str(model_file), str(photos), "--out", str(out), "--format", "png"])
    first = (out / "a.png").stat().st_mtime_ns
    (out / "a.png").write_bytes(b"keep me")
    capsys.readouterr()
    assert (
        main(["stylize", str(model_file), str(photos), "--out", str(out), "--format", "png"]) == 0
    )
    text = capsys.readouterr().out
    assert "Skipped 3" in text and "Stylized 0" in text
    assert (out / "a.png").read_bytes() == b"keep me"
    args = ["stylize", str(model_file), str(photos / "a.jpg"), "--out", str(out)]
    assert main(args + ["--format", "png", "--overwrite", "--strength", "0.5"]) == 0
    assert (out / "a.png").stat().st_mtime_ns != first
    with Image.open(out / "a.png") as im:
        assert im.size == (40, 30)


def test_a_bad_file_is_reported_and_the_rest_carry_on(model_file, photos, tmp_path, capsys):
    (photos / "trip" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    out = tmp_path / "out"
    code = main(
        ["stylize", str(model_file), str(photos), str(tmp_path / "gone.jpg"), "--out", str(out)]
    )
    assert code == 1
    text = capsys.readouterr().out
    assert "Stylized 3 image(s)" in text and "Failed 2" in text
    assert "broken.jpg" in text and "gone.jpg: no such file or folder" in text
    assert not (out / "trip" / "broken.jpg").exists()
    assert not [p for p in out.rglob(".*") if p.is_file()]  # no temp files left


def test_unwritable_out_fails_cleanly(model_file, photos, tmp_path, capsys) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code = main(["stylize", str(model_file), str(photos), "--out", str(blocker / "sub")])
    assert code == 2
    err = capsys.readouterr().err
    assert "Cannot write to the output folder" in err and "--out" in err


def test_user_errors_exit_two(model_file, photos, tmp_path, capsys) -> None:
    out = str(tmp_path / "out")
    assert main(["stylize", str(tmp_path / "none.safetensors"), str(photos), "--out", out]) == 2
    assert main(["stylize", str(model_file), str(photos), "--out", out, "--strength", "2"]) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["stylize", str(model_file), str(empty), "--out", out]) == 2
    assert "No images found" in capsys.readouterr().err


def test_tiles_from_the_command_line(model_file, tmp_path) -> None:
    src = write_image(tmp_path / "big.png", size=(150, 130))
    out = tmp_path / "out"
    assert main(["stylize", str(model_file), str(src), "--out", str(out), "--tile", "64"]) == 0
    with Image.open(out / "big.png") as im:
        assert im.size == (150, 130)


def test_evaluate_prints_json(model_file, tmp_path, capsys) -> None:
    y, x = np.mgrid[0:48, 0:48]
    for i in range(4):
        write_image(tmp_path / "style" / f"s{i}.png", size=(48, 48), seed=10 + i)  # noise
        smooth = np.stack([x * (2 + i), y * 4, x + y], axis=2).clip(0, 255).astype(np.uint8)
        (tmp_path / "content").mkdir(exist_ok=True)
        Image.fromarray(smooth).save(tmp_path / "content" / f"c{i}.png")
    args = ["evaluate", str(model_file), "--style", str(tmp_path / "style")]
    args += ["--content", str(tmp_path / "content"), "--size", "32"]
    assert main(args + ["--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("style_score", "edge_ssim", "palette_distance", "kid"):
        assert isinstance(result[key], float)
    assert main(args) == 0
    assert "Edge SSIM" in capsys.readouterr().out
    assert (
        main(["evaluate", str(model_file), "--style", str(tmp_path / "nope"), "--content", "x"])
        == 2
    )
