"""The CLI under hostile conditions: full disks, bad model files, odd inputs. Every failure
is one clear line on stderr (no traceback) and a batch goes on past any one bad file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from ganstyle_desktop import cli

REPO = Path(__file__).resolve().parents[1]


def _images(folder: Path, n: int, seed: int, size: tuple[int, int] = (48, 40)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    paths = []
    for i in range(n):
        arr = (torch.rand(size[1], size[0], 3, generator=g) * 255).to(torch.uint8).numpy()
        path = folder / f"img_{i}.png"
        Image.fromarray(arr).save(path)
        paths.append(path)
    return paths


def _full_disk_for_safetensors(monkeypatch) -> None:
    import safetensors.torch
    from safetensors import SafetensorError

    def full(*args, **kwargs):
        raise SafetensorError("Error while serializing: I/O error: No space left (os error 28)")

    monkeypatch.setattr(safetensors.torch, "save_file", full)


def test_train_onto_a_full_disk_exits_2_with_one_clear_line(tmp_path: Path, monkeypatch, capsys):
    style, content = tmp_path / "style", tmp_path / "content"
    _images(style, 2, 1)
    _images(content, 2, 2)
    run_dir = tmp_path / "run"
    _full_disk_for_safetensors(monkeypatch)
    code = cli.main(
        [
            "train", "--style", str(style), "--content", str(content), "--out", str(run_dir),
            "--preset", "tiny", "--size", "32", "--steps", "2", "--checkpoint-every", "1",
        ]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ") and "cannot write" in last and "disk is full" in last
    assert "/." not in last  # never a hidden temp path
    leftovers = [p for p in run_dir.rglob("*") if p.name.startswith(".")]
    assert leftovers == []


def test_library_export_onto_a_full_disk_is_one_clear_line(tmp_path: Path, capsys, monkeypatch):
    import zipfile

    folder = tmp_path / "in"
    _images(folder, 2, 3)
    ws = tmp_path / "ws"
    base = ["library", "--workspace", str(ws)]
    assert cli.main([*base, "import", str(folder), "--dataset", "d", "--create"]) == 0
    capsys.readouterr()

    def full(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "write", full)
    out = tmp_path / "out" / "d.zip"
    assert cli.main([*base, "export", "d", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {out}: cannot write (the disk is full)"
    assert list(out.parent.iterdir()) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX special files")
def test_info_on_a_fifo_refuses_it_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "model.safetensors"
    os.mkfifo(fifo)
    # In a subprocess with a timeout: the bug was a process blocked forever in open().
    proc = subprocess.run(
        [sys.executable, "-m", "ganstyle_desktop.cli", "info", str(fifo)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 2
    assert "not a regular file" in proc.stderr and "FIFO" in proc.stderr
    assert "Traceback" not in proc.stderr


# -- hostile model files in info and stylize -------------------------------------------------


def _tiny_model(path: Path, *, poison: bool = False) -> Path:
    from ganstyle_desktop.engine.modelfile import ModelCard, save_model
    from ganstyle_desktop.engine.nets import GeneratorSpec, ResnetGenerator

    torch.manual_seed(0)
    generator = ResnetGenerator(GeneratorSpec(width=4, n_blocks=1, n_down=2, separable=True))
    if poison:
        with torch.no_grad():
            next(generator.parameters()).view(-1)[0] = float("nan")
    return save_model(path, generator, ModelCard(name="tiny"))


def _nested_header(path: Path) -> Path:
    import struct

    raw = ('{"x": ' + "[" * 50_000 + "]" * 50_000 + "}").encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw)
    return path


@pytest.mark.parametrize("make", [_nested_header, lambda p: _tiny_model(p, poison=True)])
def test_info_and_stylize_refuse_a_hostile_model_with_one_line(tmp_path: Path, capsys, make):
    model = make(tmp_path / "bad.safetensors")
    photos = _images(tmp_path / "photos", 1, 5)
    assert cli.main(["info", str(model)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: bad.safetensors: ") and "Traceback" not in err
    out = tmp_path / "out"
    assert cli.main(["stylize", str(model), str(photos[0]), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: bad.safetensors: ") and "Traceback" not in err
    assert not out.exists() or list(out.iterdir()) == []


def test_stylize_goes_on_past_a_one_pixel_and_a_1x4000_photo(tmp_path: Path, capsys) -> None:
    model = _tiny_model(tmp_path / "m.safetensors")
    photos = tmp_path / "photos"
    good = _images(photos, 2, 6, size=(40, 32))
    Image.new("RGB", (1, 4000), (9, 9, 9)).save(photos / "thin.png")
    Image.new("RGB", (1, 1), (9, 9, 9)).save(photos / "dot.png")
    out = tmp_path / "out"
    code = cli.main(["stylize", str(model), str(photos), "--out", str(out), "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in good)
    assert "Stylized 2 image(s)" in captured.out and "Failed 2:" in captured.out
    assert "thin.png: 1 x 4000 px" in captured.out and "at least 16 x 16 px" in captured.out
    assert "dot.png: 1 x 1 px" in captured.out
    assert "RuntimeError" not in captured.out + captured.err


def test_stylize_writes_a_244_character_file_name(tmp_path: Path, capsys) -> None:
    model = _tiny_model(tmp_path / "m.safetensors")
    photo = _images(tmp_path / "photos", 1, 8, size=(40, 32))[0]
    long_photo = photo.with_name("p" * 240 + ".png")  # 244 characters
    photo.rename(long_photo)
    out = tmp_path / "out"
    code = cli.main(["stylize", str(model), str(long_photo), "--out", str(out), "--device", "cpu"])
    assert code == 0, capsys.readouterr().out
    assert [p.name for p in out.iterdir()] == [long_photo.name]
