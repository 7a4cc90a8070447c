"""``ganstyle-cli stylize --strength/--blend``: one Blend value from the flags to the engine.

Strength 0 and all-zero weights write the photo itself; weights are relative (only their
ratios matter); strength mixes the styled picture with the photo.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganstyle_desktop.cli import main
from ganstyle_desktop.engine.export import read_image_with_metadata
from ganstyle_desktop.engine.modelfile import ModelCard, save_model
from ganstyle_desktop.engine.multistyle_nets import MultiStyleGenerator
from ganstyle_desktop.engine.nets import GeneratorSpec, ResnetGenerator

TRADITIONS = ["ukiyo-e", "shan-shui"]


@pytest.fixture(autouse=True)
def _one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def single_model(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    spec = GeneratorSpec(width=4, n_blocks=1, separable=True)
    card = ModelCard(name="tiny", method="fastcut", preset="tiny", training_size=32)
    return save_model(tmp_path / "tiny.safetensors", ResnetGenerator(spec), card)


@pytest.fixture
def multi_model(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    gen = MultiStyleGenerator(
        GeneratorSpec(width=4, n_blocks=2, n_down=2, separable=True), TRADITIONS, style_dim=8
    )
    with torch.no_grad():  # traditions that really differ
        for p in gen.mapping.parameters():
            p.normal_(0, 0.5)
    card = ModelCard(
        name="Tiny blend",
        kind="multistyle",
        method="multistyle",
        preset="tiny",
        architecture=gen.architecture(),
        training_size=32,
        traditions=[{"slug": t, "name": t} for t in TRADITIONS],
    )
    return save_model(tmp_path / "multi.safetensors", gen.eval(), card)


@pytest.fixture
def jpeg_photo(tmp_path: Path) -> Path:
    yy, xx = np.mgrid[0:60, 0:84]
    rng = np.random.default_rng(5)
    img = np.stack([xx * 3, yy * 4, (xx + yy) * 2], -1) + rng.integers(0, 40, (60, 84, 3))
    path = tmp_path / "photo.jpg"
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path, quality=90)
    return path


def _stylize(model: Path, photo: Path, out: Path, *flags: str) -> np.ndarray:
    assert main(["stylize", str(model), str(photo), "--out", str(out), *flags]) == 0
    (written,) = [p for p in out.iterdir() if p.is_file()]
    return read_image_with_metadata(written)[0]


def _mean_levels(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())


def test_strength_zero_writes_the_photo(single_model, multi_model, jpeg_photo, tmp_path) -> None:
    photo = read_image_with_metadata(jpeg_photo)[0]
    # same format as the input: the photo's own file, so not even JPEG generation loss
    for i, model in enumerate((single_model, multi_model)):
        same = _stylize(model, jpeg_photo, tmp_path / f"jpg{i}", "--strength", "0")
        assert _mean_levels(same, photo) <= 0.5
        assert (same == photo).all()
        png = _stylize(
            model, jpeg_photo, tmp_path / f"png{i}", "--strength", "0", "--format", "png"
        )
        assert (png == photo).all()
    # a blend given with strength 0 is still the photo
    blended = _stylize(
        multi_model, jpeg_photo, tmp_path / "b0", "--blend", "ukiyo-e=1", "--strength", "0"
    )
    assert (blended == photo).all()


def test_all_zero_weights_write_the_photo_not_the_first_tradition(
    multi_model, jpeg_photo, tmp_path
) -> None:
    photo = read_image_with_metadata(jpeg_photo)[0]
    zero = _stylize(
        multi_model,
        jpeg_photo,
        tmp_path / "zero",
        "--blend",
        "ukiyo-e=0,shan-shui=0",
        "--format",
        "png",
    )
    assert (zero == photo).all()
    first = _stylize(multi_model, jpeg_photo, tmp_path / "first", "--format", "png")
    assert _mean_levels(first, photo) > 2  # the model's own style does paint


def test_weights_are_relative_and_strength_mixes_with_the_photo(
    multi_model, jpeg_photo, tmp_path
) -> None:
    photo = read_image_with_metadata(jpeg_photo)[0].astype(np.float64)
    png = ("--format", "png")
    small = _stylize(
        multi_model, jpeg_photo, tmp_path / "a", "--blend", "ukiyo-e=0.1,shan-shui=0.3", *png
    )
    large = _stylize(
        multi_model, jpeg_photo, tmp_path / "b", "--blend", "ukiyo-e=1,shan-shui=3", *png
    )
    assert (small == large).all()  # only the ratio matters
    other = _stylize(multi_model, jpeg_photo, tmp_path / "c", "--blend", "shan-shui=1", *png)
    assert _mean_levels(other, large) > 0.5  # and the ratio does matter
    half = _stylize(
        multi_model,
        jpeg_photo,
        tmp_path / "d",
        "--blend",
        "ukiyo-e=1,shan-shui=3",
        "--strength",
        "0.5",
        *png,
    )
    expected = (large.astype(np.float64) + photo) / 2
    assert np.abs(half - expected).max() <= 1.0  # rounding only


def test_bad_blends_are_refused_with_the_reason(multi_model, jpeg_photo, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["stylize", str(multi_model), str(jpeg_photo), "--out", str(out)]
    assert main([*args, "--blend", "cubism=1"]) != 0
    assert "cubism" in capsys.readouterr().err
    assert main([*args, "--blend", "ukiyo-e=-1"]) != 0
    assert ">= 0" in capsys.readouterr().err
    assert main([*args, "--strength", "1.5"]) != 0
    assert "strength" in capsys.readouterr().err.lower()
    assert not out.exists() or not any(out.iterdir())


def test_brush_paints_smaller_and_enlarges_as_the_engine_does(
    multi_model, jpeg_photo, tmp_path, capsys
) -> None:
    from ganstyle_desktop.engine.blend import Blend
    from ganstyle_desktop.engine.modelfile import load_model
    from ganstyle_desktop.engine.stylize import stylize_array

    photo = read_image_with_metadata(jpeg_photo)[0]
    flags = ("--blend", "shan-shui=1", "--strength", "0.8", "--format", "png")
    brushed = _stylize(multi_model, jpeg_photo, tmp_path / "b2", *flags, "--brush", "2")
    expected = stylize_array(
        load_model(multi_model, device="cpu"),
        photo,
        blend=Blend.of({"shan-shui": 1.0}, 0.8, 2.0),
        device="cpu",
    )
    assert brushed.shape == photo.shape
    assert np.array_equal(brushed, expected)
    native = _stylize(multi_model, jpeg_photo, tmp_path / "b1", *flags, "--brush", "1")
    assert _mean_levels(native, brushed) > 1.0
    # the default, auto: a photo no larger than twice the training size paints every pixel
    auto = _stylize(multi_model, jpeg_photo, tmp_path / "auto", *flags)
    assert np.array_equal(auto, native)
    args = ["stylize", str(multi_model), str(jpeg_photo), "--out", str(tmp_path / "bad")]
    for bad in ("0.5", "9", "nan"):
        assert main([*args, "--brush", bad]) != 0
        assert "--brush must be auto or between 1 and 8" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse's own usage error
        main([*args, "--brush", "big"])
    assert "expected auto or a number, not 'big'" in capsys.readouterr().err


def test_the_auto_brush_paints_the_short_side_at_twice_the_training_size(
    multi_model, tmp_path
) -> None:
    yy, xx = np.mgrid[0:200, 0:280]
    rng = np.random.default_rng(6)
    img = np.stack([xx, yy, xx + yy], -1) + rng.integers(0, 60, (200, 280, 3))
    path = tmp_path / "large.png"
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)
    flags = ("--blend", "ukiyo-e=1", "--format", "png")
    auto = _stylize(multi_model, path, tmp_path / "auto", *flags)
    # training size 32: short side 200 painted at 64, brush 200 / 64
    assert np.array_equal(
        auto, _stylize(multi_model, path, tmp_path / "b", *flags, "--brush", "3.125")
    )
    assert not np.array_equal(
        auto, _stylize(multi_model, path, tmp_path / "c", *flags, "--brush", "3")
    )
