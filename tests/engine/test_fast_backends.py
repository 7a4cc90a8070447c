"""The fast inference paths paint what the generator paints: the sub-pixel upsampler
against its definition, the eager fast equivalent and ONNX Runtime against plain PyTorch
(randomly initialised generators of the mid preset's design, shrunk), tiled against
untiled, the one-file ONNX export round trip, cancel mid-pass, the fallback without
onnxruntime, and a CLI stylize that never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.nn import functional as F

from ganstyle_desktop.engine import onnx_backend
from ganstyle_desktop.engine.control import JobCancelled, JobControl
from ganstyle_desktop.engine.modelfile import ModelCard, load_model, save_model
from ganstyle_desktop.engine.multistyle_nets import MultiStyleGenerator
from ganstyle_desktop.engine.nets import GeneratorSpec, ResnetGenerator, Upsample
from ganstyle_desktop.engine.stylize import choose_backend, stylize_array
from ganstyle_desktop.engine.torch_backend import SubpixelUpsample, fast_equivalent

needs_ort = pytest.mark.skipif(not onnx_backend.available(), reason="onnxruntime not installed")

# The mid preset's design (space-to-depth input, dense blocks at 1/8), narrower and
# shallower so a test runs in a second.
MID_LIKE = GeneratorSpec(width=8, n_blocks=2, n_down=2, separable=False, unshuffle=2)
TRADITIONS = ["ukiyo-e", "ink-wash"]


@pytest.fixture(autouse=True)
def _one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    coarse = (rng.random((h // 8 + 2, w // 8 + 2, 3)) * 255).astype(np.uint8)
    base = np.asarray(Image.fromarray(coarse).resize((w, h), Image.Resampling.BICUBIC))
    noise = rng.integers(-12, 13, (h, w, 3))
    return np.clip(base.astype(int) + noise, 0, 255).astype(np.uint8)


def model_file(folder: Path, multistyle: bool, seed: int = 0, training_size: int = 32) -> Path:
    torch.manual_seed(seed)
    if multistyle:
        gen = MultiStyleGenerator(MID_LIKE, TRADITIONS)
        torch.nn.init.normal_(gen.mapping[2].weight, std=0.3)  # traditions that differ
        card = ModelCard(
            name="mid-like",
            kind="multistyle",
            method="multistyle",
            architecture=gen.architecture(),
            training_size=training_size,
            traditions=[{"slug": t} for t in TRADITIONS],
        )
    else:
        gen = ResnetGenerator(MID_LIKE)
        card = ModelCard(name="mid-like", training_size=training_size)
    return save_model(folder / f"mid-like-{int(multistyle)}-{seed}.safetensors", gen.eval(), card)


def levels(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    diff = np.abs(a.astype(np.int32) - b.astype(np.int32))
    return float(diff.mean()), int(diff.max())


def plain(model, image: np.ndarray, blend=None, **options) -> np.ndarray:
    """The reference: the generator as trained, eager PyTorch, nothing rewritten."""
    module = model.module_for(blend)  # a bare module runs as it is
    return stylize_array(
        module, image, backend="torch", training_size=model.card.training_size, **options
    )


# -- the sub-pixel upsampler ----------------------------------------------------------------


@pytest.mark.parametrize("size", [(5, 7), (8, 8), (1, 3)])
def test_subpixel_upsampler_is_nearest_upsampling_then_the_3x3_conv(size) -> None:
    torch.manual_seed(1)
    up = Upsample(6, 4).eval()
    x = torch.randn(2, 6, *size)
    # The definition, written out: nearest x2, reflection pad 1, 3x3 convolution.
    upsampled = F.interpolate(x, scale_factor=2.0, mode="nearest")
    reference = F.conv2d(
        F.pad(upsampled, (1, 1, 1, 1), mode="reflect"), up.conv.weight, up.conv.bias
    )
    with torch.no_grad():
        fast = SubpixelUpsample(up)(x)
        assert torch.allclose(up(x), reference, atol=1e-5)  # the layer is its definition
    assert fast.shape == reference.shape
    assert torch.allclose(fast, reference, atol=1e-5)


def test_the_fast_equivalent_shares_the_generators_layers() -> None:
    gen = MultiStyleGenerator(MID_LIKE, TRADITIONS).eval()
    fast = fast_equivalent(gen)
    assert fast is fast_equivalent(gen)  # cached
    assert not any(isinstance(m, Upsample) for m in fast.modules())
    assert any(isinstance(m, Upsample) for m in gen.modules())  # the original is untouched
    originals = {id(p) for p in gen.parameters()}
    shared = [p for p in fast.parameters() if id(p) in originals]
    assert len(shared) >= len(list(gen.parameters())) - 2 * MID_LIKE.n_down


# -- eager fast equivalent and ONNX Runtime against plain PyTorch ---------------------------


@pytest.mark.parametrize("multistyle", [False, True])
def test_fast_backends_paint_what_the_generator_paints(tmp_path, multistyle) -> None:
    model = load_model(model_file(tmp_path, multistyle))
    image = photo(150, 214)  # larger than its view (64 px short side): capture, then frozen
    blend = {"ukiyo-e": 0.3, "ink-wash": 0.7} if multistyle else None
    reference = plain(model, image, blend)
    backends = ["torch"] + (["onnx"] if onnx_backend.available() else [])
    for backend in backends:
        out = stylize_array(model, image, blend=blend, backend=backend)
        mean, worst = levels(out, reference)
        assert mean <= 0.05 and worst <= 1, (backend, mean, worst)
    assert levels(reference, image)[0] > 5  # it painted something


@needs_ort
@pytest.mark.parametrize("multistyle", [False, True])
def test_onnx_tiles_match_one_pass_and_the_budget_changes_nothing(tmp_path, multistyle) -> None:
    model = load_model(model_file(tmp_path, multistyle, seed=2))
    image = photo(260, 390, seed=4)
    whole = stylize_array(model, image, backend="onnx", memory_budget_mb=8000)
    tiled = stylize_array(model, image, backend="onnx", memory_budget_mb=1.0)
    mean, worst = levels(tiled, whole)
    assert mean <= 0.05 and worst <= 1
    # And both follow the policy: the plain reference, tiled the same way.
    reference = plain(model, image, memory_budget_mb=1.0)
    assert levels(tiled, reference)[0] <= 0.05


@needs_ort
def test_onnx_blends_are_mixes_of_style_codes(tmp_path) -> None:
    model = load_model(model_file(tmp_path, True, seed=3))
    image = photo(96, 128, seed=5)
    first = stylize_array(model, image, blend={"ukiyo-e": 1.0}, backend="onnx")
    second = stylize_array(model, image, blend={"ink-wash": 1.0}, backend="onnx")
    mixed = stylize_array(model, image, blend={"ukiyo-e": 1, "ink-wash": 3}, backend="onnx")
    assert levels(first, second)[0] > 1  # the traditions differ
    assert levels(first, stylize_array(model, image, backend="onnx"))[1] == 0  # default: first
    reference = plain(model, image, {"ukiyo-e": 0.25, "ink-wash": 0.75})
    assert levels(mixed, reference)[0] <= 0.05


@needs_ort
def test_onnx_export_is_cached_by_content_and_read_without_torch(tmp_path) -> None:
    path = model_file(tmp_path, True)
    model = load_model(path)
    assert onnx_backend.cached_runtime(path) is None
    runtime = onnx_backend.ensure_runtime(model)
    again = onnx_backend.cached_runtime(path)
    assert again is not None and again.folder == runtime.folder
    assert again.traditions == TRADITIONS and again.card.training_size == 32
    # A changed file is a different model: not the cached export.
    other = model_file(tmp_path, True, seed=9)
    assert onnx_backend.cached_runtime(other) is None


# -- the one-file export --------------------------------------------------------------------


@needs_ort
def test_the_exported_onnx_file_round_trips_on_a_real_photo(tmp_path, shared_data) -> None:
    """Issue 15: the exported model run by ONNX Runtime matches PyTorch within 1 level
    mean on a real photo (larger than its view, so the view input matters)."""
    from ganstyle_desktop.cli import main
    from ganstyle_desktop.cli.export_cmd import run_onnx_file

    path = model_file(tmp_path, True, seed=6, training_size=128)
    with Image.open(sorted((shared_data / "content").glob("*.jpg"))[0]) as im:
        image = np.asarray(im.convert("RGB"))
    assert min(image.shape[:2]) > 256  # the view (2 x 128) is a downscaled copy
    dst = tmp_path / "exported.onnx"
    assert main(["export", str(path), "--onnx", "--out", str(dst), "--no-check"]) == 0
    card = json.loads(dst.with_suffix(".json").read_text())
    assert card["card"]["name"] == "mid-like" and card["onnx"]["traditions"] == TRADITIONS

    import onnxruntime as ort

    session = ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["ganstyle_card"])["training_size"] == 128
    assert [i.name for i in session.get_inputs()] == ["image", "view", "blend_weights"]
    ours = run_onnx_file(dst, image, training_size=128, blend_weights=[0.0, 1.0])
    model = load_model(path)
    reference = plain(model, image, {"ink-wash": 1.0})
    mean, _ = levels(ours, reference)
    assert mean <= 1.0
    assert levels(ours, plain(model, image, {"ukiyo-e": 1.0}))[0] > mean  # the blend counted
    # Exporting over an existing file needs --overwrite.
    assert main(["export", str(path), "--onnx", "--out", str(dst), "--no-check"]) == 2


# -- cancel, fallback, start-up ---------------------------------------------------------------


@needs_ort
def test_onnx_cancel_stops_a_pass_in_flight(tmp_path) -> None:
    import threading

    model = load_model(model_file(tmp_path, False))
    image = photo(900, 1200)
    stylize_array(model, photo(64, 64), backend="onnx")  # export and sessions first
    control = JobControl()
    timer = threading.Timer(0.05, control.cancel)
    timer.start()
    try:
        with pytest.raises(JobCancelled):
            stylize_array(model, image, backend="onnx", control=control, tiling="whole")
    finally:
        timer.cancel()


def test_without_onnxruntime_auto_falls_back_to_pytorch(tmp_path, monkeypatch) -> None:
    model = load_model(model_file(tmp_path, False))
    monkeypatch.setattr(onnx_backend, "available", lambda: False)
    assert choose_backend(model, "auto", "cpu") == "torch"
    out = stylize_array(model, photo(64, 80))
    assert out.shape == (64, 80, 3)
    from ganstyle_desktop.engine.stylize import StylizeError

    with pytest.raises(StylizeError, match="onnxruntime"):
        choose_backend(model, "onnx", "cpu")


def test_auto_is_onnx_for_model_files_only(tmp_path) -> None:
    model = load_model(model_file(tmp_path, False))
    expected = "onnx" if onnx_backend.available() else "torch"
    assert choose_backend(model, "auto", "cpu") == expected
    assert choose_backend(model.generator, "auto", "cpu") == "torch"  # training's checks
    assert choose_backend(model, "auto", "cpu", precision="bf16") == "torch"


@needs_ort
def test_cli_stylize_with_an_exported_model_never_imports_torch(tmp_path) -> None:
    path = model_file(tmp_path, True)
    onnx_backend.ensure_runtime(load_model(path))
    src = tmp_path / "p.png"
    Image.fromarray(photo(120, 160)).save(src)
    script = (
        "import sys\n"
        "from ganstyle_desktop.cli import main\n"
        f"code = main(['stylize', {str(path)!r}, {str(src)!r}, '--out', {str(tmp_path / 'o')!r},"
        " '--device', 'cpu', '--blend', 'ink-wash=1'])\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', code)\n"
    )
    env = {**__import__("os").environ}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-2:] == ["NO-TORCH", "0"], done.stdout + done.stderr
    assert (tmp_path / "o" / "p.png").is_file()
