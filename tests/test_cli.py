"""``ganstyle-cli`` train and info, in-process through ``cli.main`` and as a subprocess."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch
from PIL import Image

from ganstyle_desktop import cli
from ganstyle_desktop.cli import train_cmd
from ganstyle_desktop.cli.progress import ProgressBar, format_duration, format_rate
from ganstyle_desktop.engine.modelfile import ModelCard, load_model, read_card, save_model
from ganstyle_desktop.engine.nets import GeneratorSpec, ResnetGenerator
from ganstyle_desktop.engine.presets import PRESETS, describe_preset

REPO = Path(__file__).resolve().parents[1]


def _images(folder: Path, n: int, seed: int, size: int = 40) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    paths = []
    for i in range(n):
        arr = (torch.rand(size, size + 8, 3, generator=g) * 255).to(torch.uint8).numpy()
        path = folder / f"img_{i}.png"
        Image.fromarray(arr).save(path)
        paths.append(path)
    return paths


@pytest.fixture
def dataset(tmp_path: Path) -> dict:
    """data/styles/ukiyo-e prints/*, data/content/*, data/MANIFEST.csv (as the shared set)."""
    root = tmp_path / "data"
    style_files = _images(root / "styles" / "Ukiyo-e Prints", 2, seed=1)
    _images(root / "content", 2, seed=2)
    rows = [
        {
            "path": f.relative_to(root).as_posix(),
            "style_or_content": "ukiyo-e-prints",
            "culture_or_region": "Japan, Edo period",
            "title_if_known": f"Print {i}",
            "artist_if_known": "Hokusai",
            "source_repo": "example/repo",
            "source_path": f"art/{i}.jpg",
            "license_note": "public domain",
        }
        for i, f in enumerate(style_files)
    ]
    rows.append(dict(rows[0], path="styles/elsewhere/other.png", culture_or_region="Elsewhere"))
    with open(root / "MANIFEST.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return {
        "style": root / "styles" / "Ukiyo-e Prints",
        "content": root / "content",
        "rows": rows[:2],
    }


def _tiny_model(path: Path) -> Path:
    torch.manual_seed(0)
    spec = GeneratorSpec(width=4, n_blocks=1, n_down=2, separable=True)
    card = ModelCard(
        name="Ink wash test",
        method="fastcut",
        preset="tiny",
        training_size=32,
        traditions=[
            {"slug": "chinese-shan-shui", "name": "Shan shui", "culture": "Chinese", "era": "Song"}
        ],
        steps=3,
        data_provenance=[
            {"path": "a.jpg", "title_if_known": "Mountains", "license_note": "public domain"}
        ],
        metrics={"style_score": 0.25},
        training={"command": "ganstyle-cli train ...", "wall_seconds": 2.0, "hardware": "CPU"},
    )
    return save_model(path, ResnetGenerator(spec), card)


# -- info ------------------------------------------------------------------------------------


def test_info_prints_the_card(tmp_path: Path, capsys) -> None:
    path = _tiny_model(tmp_path / "ink.safetensors")
    assert cli.main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Name:" in out and "Ink wash test" in out
    assert "Shan shui [chinese-shan-shui]: Chinese; Song" in out
    assert "Parameters:      5,075" in out or "5,075" in out
    assert "Method:" in out and "fastcut" in out
    assert "a.jpg: Mountains / public domain" in out
    assert "style_score" in out


def test_info_json_is_the_card(tmp_path: Path, capsys) -> None:
    path = _tiny_model(tmp_path / "ink.safetensors")
    assert cli.main(["info", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert ModelCard.from_dict(data) == read_card(path)


def test_info_refuses_pickles_and_missing_files(tmp_path: Path, capsys) -> None:
    evil = tmp_path / "evil.pth"
    torch.save({"w": torch.zeros(2)}, evil)
    assert cli.main(["info", str(evil)]) == 2
    err = capsys.readouterr().err
    assert "evil.pth is a PyTorch pickle" in err and "never loads" in err
    assert cli.main(["info", str(tmp_path / "nothing.safetensors")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert cli.main(["info"]) == 2
    assert "--presets" in capsys.readouterr().err


def test_info_presets_json(capsys) -> None:
    assert cli.main(["info", "--presets", "--size", "64", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["preset"] for d in data] == list(PRESETS)
    assert data[-1] == describe_preset(data[-1]["preset"], 64)


def test_info_presets_text(capsys) -> None:
    assert cli.main(["info", "--presets", "--size", "64"]) == 0
    out = capsys.readouterr().out
    assert "classic: CycleGAN reference sizes" in out
    for name in ("lite", "tiny"):  # the cheap ones; classic is printed the same way
        d = describe_preset(name, 64)
        assert f"{d['preset']}: {d['summary']}" in out
        assert f"{d['generator_parameters']:,} parameters" in out
        assert f"{d['generator_gmacs']:.3f} GMACs" in out
    assert cli.main(["info", "--presets", "--size", "30"]) == 2


# -- train: bad input ------------------------------------------------------------------------


def test_train_missing_folder_exits_2(tmp_path: Path, dataset, capsys) -> None:
    missing = tmp_path / "no-such-folder"
    code = cli.main(
        [
            "train",
            "--style",
            str(missing),
            "--content",
            str(dataset["content"]),
            "--out",
            str(tmp_path / "run"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "error:" in err and "style folder" in err and str(missing) in err
    assert not (tmp_path / "run").exists()


def test_train_bad_input_exits_2(tmp_path: Path, dataset, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no pictures here")
    base = ["train", "--out", str(tmp_path / "run")]
    style, content = str(dataset["style"]), str(dataset["content"])
    assert cli.main([*base, "--style", style, "--content", str(empty)]) == 2
    assert "No images in the content folder" in capsys.readouterr().err
    assert cli.main([*base, "--style", style, "--content", content, "--preset", "huge"]) == 2
    assert "Unknown preset 'huge'" in capsys.readouterr().err
    assert cli.main([*base, "--style", style, "--content", content, "--size", "30"]) == 2
    assert "multiple of 4" in capsys.readouterr().err
    assert cli.main([*base, "--content", content]) == 2
    assert "--style" in capsys.readouterr().err
    assert cli.main([*base, "--style", style, "--content", content, "--tradition-tags", "x"]) == 2
    assert "key=value" in capsys.readouterr().err
    assert cli.main([*base, "--resume"]) == 2
    assert "Nothing to resume" in capsys.readouterr().err


def test_train_unusable_device_exits_2(tmp_path: Path, dataset, capsys) -> None:
    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    code = cli.main(
        [
            "train", "--style", str(dataset["style"]), "--content", str(dataset["content"]),
            "--out", str(tmp_path / "run"), "--device", "cuda", "--preset", "tiny",
        ]
    )  # fmt: skip
    assert code == 2
    assert "CUDA was requested" in capsys.readouterr().err


# -- train: configuration ----------------------------------------------------------------------


def _args(*argv: str):
    return cli.build_parser().parse_args(["train", *argv])


def test_build_config_reads_manifest_provenance_and_tags(tmp_path: Path, dataset) -> None:
    args = _args(
        "--style", str(dataset["style"]), "--content", str(dataset["content"]),
        "--out", str(tmp_path / "run"), "--tradition-tags", "era=Edo,medium=woodblock",
    )  # fmt: skip
    config = train_cmd.build_config(args)
    (style,) = config.styles
    assert style.name == "ukiyo-e-prints"
    assert style.display_name == "Ukiyo-e Prints"
    assert style.tags == {"culture": "Japan, Edo period", "era": "Edo", "medium": "woodblock"}
    assert style.provenance == dataset["rows"]  # the row for a file not in the folder is left out
    assert config.method == "multistyle" and config.preset == "painter"  # the defaults


def test_several_styles_default_to_multistyle_with_distinct_names(tmp_path: Path, dataset) -> None:
    other = tmp_path / "other" / "Ukiyo-e Prints"
    _images(other, 1, seed=3)
    args = _args(
        "--style", str(dataset["style"]), "--style", str(other),
        "--content", str(dataset["content"]), "--out", str(tmp_path / "run"),
        "--tradition-tags", "ukiyo-e-prints-2:culture=Elsewhere",
    )  # fmt: skip
    config = train_cmd.build_config(args)
    assert config.method == "multistyle"
    assert [s.name for s in config.styles] == ["ukiyo-e-prints", "ukiyo-e-prints-2"]
    assert config.styles[0].tags["culture"] == "Japan, Edo period"
    assert config.styles[1].tags == {"culture": "Elsewhere"}
    assert config.styles[1].provenance == []


def test_slugify_keeps_letters_of_any_script() -> None:
    assert train_cmd.slugify("Japanese Ukiyo-e") == "japanese-ukiyo-e"
    assert train_cmd.slugify("浮世絵 prints!") == "浮世絵-prints"
    assert train_cmd.slugify("__") == ""


# -- train: end to end -------------------------------------------------------------------------


def test_tiny_training_run_writes_a_loadable_model(tmp_path: Path, dataset, capsys) -> None:
    run_dir = tmp_path / "run"
    code = cli.main(
        [
            "train", "--style", str(dataset["style"]), "--content", str(dataset["content"]),
            "--out", str(run_dir), "--preset", "tiny", "--size", "32", "--steps", "3",
            "--preview-every", "2", "--name", "My tiny model",
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    model_path = run_dir / "model.safetensors"
    assert f"model: {model_path}" in captured.out
    assert "step 3/3" in captured.err and "ETA" in captured.err
    assert "s/it" in captured.err or "it/s" in captured.err
    model = load_model(model_path)
    card = model.card
    assert card.name == "My tiny model"
    assert card.steps == 3 and card.preset == "tiny" and card.training_size == 32
    assert card.traditions[0]["slug"] == "ukiyo-e-prints"
    assert card.traditions[0]["culture"] == "Japan, Edo period"
    assert card.data_provenance == dataset["rows"]
    assert "--name 'My tiny model'" in card.training["command"]
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        y = model.module_for()(x)
    assert y.shape == x.shape and torch.isfinite(y).all()
    assert sorted(p.name for p in (run_dir / "previews").iterdir()) == [
        "step_0000002.png",
        "step_0000003.png",
    ]
    # A second run into the same folder is refused; resuming a finished run changes nothing
    # but keeps the name given the first time.
    again = ["train", "--style", str(dataset["style"]), "--content", str(dataset["content"])]
    assert cli.main([*again, "--out", str(run_dir), "--preset", "tiny"]) == 2
    assert "already holds a training run" in capsys.readouterr().err
    assert cli.main(["train", "--out", str(run_dir), "--resume"]) == 0
    assert read_card(model_path).name == "My tiny model"


def test_ctrl_c_in_a_subprocess_saves_a_checkpoint_and_exits_130(tmp_path: Path, dataset) -> None:
    run_dir = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "ganstyle_desktop.cli", "train",
            "--style", str(dataset["style"]), "--content", str(dataset["content"]),
            "--out", str(run_dir), "--preset", "tiny", "--size", "32", "--steps", "100000",
            "--checkpoint-every", "2", "--preview-every", "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )  # fmt: skip
    watchdog = threading.Timer(120, proc.kill)  # never hang the test suite
    watchdog.start()
    try:
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if "checkpoint saved" in line:
                proc.send_signal(signal.SIGINT)
                break
        out, err = proc.communicate(timeout=120)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = "".join(seen) + err
    assert proc.returncode == 130, err
    assert "Cancelled at step" in err and "--resume" in err
    assert "Traceback" not in err
    model = load_model(run_dir / "model.safetensors")
    assert 2 <= model.card.steps < 100000
    assert (run_dir / "checkpoints" / f"step_{model.card.steps:07d}" / "COMPLETE").exists()


# -- the progress bar --------------------------------------------------------------------------


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_tty_redraws_one_line() -> None:
    stream = _Tty()
    bar = ProgressBar(10, label="step", stream=stream, refresh_seconds=0.0)
    assert bar.is_tty
    for i in range(1, 11):
        bar.update(i, detail="g 1.000", seconds_per_step=0.5, eta_seconds=(10 - i) * 0.5)
    bar.write("checkpoint saved")
    bar.close()
    text = stream.getvalue()
    assert text.count("\n") == 2  # the message and the final newline; the bar redraws in place
    assert text.startswith("\r[")
    assert re.search(r"\r\[#+\] step 10/10 \| 100%", text)  # full bar, no "-" left
    assert "2.00 it/s" in text and "ETA 0:00" in text
    assert "checkpoint saved\n" in text


def test_progress_bar_without_a_tty_prints_plain_lines() -> None:
    stream = io.StringIO()
    bar = ProgressBar(1000, stream=stream, line_every_seconds=3600)
    assert not bar.is_tty
    for i in range(1, 1001):
        bar.update(i, seconds_per_step=2.5, eta_seconds=2.5 * (1000 - i))
    bar.close()
    lines = stream.getvalue().splitlines()
    # The first update and the last, not a thousand lines, and no carriage returns.
    assert lines == [
        "   1/1000 |   0% | 2.50 s/it | ETA 41:38",
        "1000/1000 | 100% | 2.50 s/it | ETA 0:00",
    ]
    assert "\r" not in stream.getvalue()


def test_duration_and_rate_formats() -> None:
    assert format_duration(75) == "1:15"
    assert format_duration(3725) == "1:02:05"
    assert format_duration(None) == "?" and format_duration(float("nan")) == "?"
    assert format_rate(0.25) == "4.00 it/s" and format_rate(3.0) == "3.00 s/it"
    assert format_rate(0) == "? it/s"
