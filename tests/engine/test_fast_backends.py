"""The fast inference paths paint what the generator paints: the sub-pixel upsampler
against its definition, the eager fast equivalent and ONNX Runtime against plain PyTorch
(randomly initialised generators of the mid preset's design, shrunk, with and without the
flat-colour head), tiled against untiled, the one-file ONNX export round trip, cancel
mid-pass, the fallbacks (no onnxruntime, a generator option or a generator kind the fast
paths do not know: eager PyTorch, the right picture), and a CLI stylize that never imports
torch."""

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
# With the flat-colour head (main's GeneratorSpec.flat_colours), on both kinds of input stem.
MID_FLAT = GeneratorSpec(
    width=8, n_blocks=2, n_down=2, separable=False, unshuffle=2, flat_colours=4
)
LITE_FLAT = GeneratorSpec(width=8, n_blocks=1, n_down=2, separable=True, flat_colours=3)
SPECS = {"mid": MID_LIKE, "mid-flat": MID_FLAT, "lite-flat": LITE_FLAT}
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


def model_file(
    folder: Path,
    multistyle: bool,
    seed: int = 0,
    training_size: int = 32,
    spec: GeneratorSpec = MID_LIKE,
) -> Path:
    torch.manual_seed(seed)
    if multistyle:
        gen = MultiStyleGenerator(spec, TRADITIONS)
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
        gen = ResnetGenerator(spec)
        card = ModelCard(name="mid-like", training_size=training_size)
    if spec.flat_colours:
        with torch.no_grad():  # half the picture from the head, so a mistake in it shows
            gen.flat_logit.fill_(0.0)
    name = f"mid-like-{int(multistyle)}-{seed}-{spec.unshuffle}-{spec.flat_colours}"
    return save_model(folder / f"{name}.safetensors", gen.eval(), card)


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


@pytest.mark.parametrize(
    "kernel, size", [(9, (20, 20)), (9, (21, 18)), (7, (9, 12)), (9, (9, 9)), (9, (13, 10))]
)
def test_strided_phase_conv_is_the_plain_convolution(kernel, size) -> None:
    from ganstyle_desktop.engine.torch_backend import StridedPhaseConv

    torch.manual_seed(2)
    conv = torch.nn.Conv2d(8, 3, kernel)
    x = torch.randn(2, 8, *size)
    # The definition, written out: out[o, y, x] = b[o] + sum w[o, i, u, v] * x[i, y + u, x + v].
    w, b = conv.weight.detach().double(), conv.bias.detach().double()
    xd = x.double()
    h, wd = size[0] - kernel + 1, size[1] - kernel + 1
    reference = b.view(1, -1, 1, 1).repeat(2, 1, h, wd)
    for u in range(kernel):
        for v in range(kernel):
            reference = reference + torch.einsum(
                "oi,nihw->nohw", w[:, :, u, v], xd[:, :, u : u + h, v : v + wd]
            )
    assert StridedPhaseConv.suits(conv)
    with torch.no_grad():
        fast = StridedPhaseConv(conv)(x)
    assert fast.shape == reference.shape
    assert torch.allclose(fast.double(), reference, atol=1e-4)
    # With the reflection pad before it taken in: the convolution of the reflected input.
    pad = kernel // 2
    with torch.no_grad():
        padded = torch.nn.Sequential(torch.nn.ReflectionPad2d(pad), conv)(x)
        taken_in = StridedPhaseConv(conv, reflect=pad)(x)
    assert taken_in.shape == padded.shape
    assert torch.allclose(taken_in, padded, atol=1e-4)
    # Only what it computes exactly: strided, padded or many-output convolutions stay.
    assert not StridedPhaseConv.suits(torch.nn.Conv2d(8, 3, 9, padding=4))
    assert not StridedPhaseConv.suits(torch.nn.Conv2d(8, 3, 9, stride=2))
    assert not StridedPhaseConv.suits(torch.nn.Conv2d(8, 16, 9))
    assert not StridedPhaseConv.suits(torch.nn.Conv2d(8, 3, 3))


@pytest.mark.parametrize("kernel, size", [(9, (20, 20)), (9, (12, 18)), (7, (8, 10)), (3, (6, 4))])
def test_phase_stem_is_the_encoders_first_two_layers(kernel, size) -> None:
    from ganstyle_desktop.engine.torch_backend import PhaseStem

    torch.manual_seed(3)
    first, second = torch.nn.Conv2d(3, 8, kernel), torch.nn.Conv2d(8, 16, 3, stride=2)
    layers = [
        torch.nn.ReflectionPad2d(kernel // 2), first, torch.nn.ReLU(),
        torch.nn.ReflectionPad2d(1), second, torch.nn.ReLU(),
    ]  # fmt: skip
    x = torch.randn(2, 3, *size)
    # The definition, written out in double precision: reflect pad, convolution, ReLU,
    # reflect pad 1, the stride-2 convolution (whose ReLU the encoder keeps).
    xd = x.double()
    h = torch.relu(
        F.conv2d(
            F.pad(xd, (kernel // 2,) * 4, mode="reflect"),
            first.weight.detach().double(),
            first.bias.detach().double(),
        )
    )
    reference = F.conv2d(
        F.pad(h, (1, 1, 1, 1), mode="reflect"),
        second.weight.detach().double(),
        second.bias.detach().double(),
        stride=2,
    )
    assert PhaseStem.suits(layers)
    with torch.no_grad():
        fast = PhaseStem(first, second)(x)
    assert fast.shape == reference.shape
    assert torch.allclose(fast.double(), reference, atol=1e-4)
    # Only the exact pattern: a stride-1 second layer or a norm in between stays as it is.
    assert not PhaseStem.suits(layers[:4] + [torch.nn.Conv2d(8, 16, 3)])
    assert not PhaseStem.suits([layers[0], first, torch.nn.InstanceNorm2d(8), *layers[3:]])
    assert not PhaseStem.suits([torch.nn.ReflectionPad2d(kernel // 2 + 1), *layers[1:]])


def test_the_upsampling_stages_compile_with_dynamic_sizes(tmp_path) -> None:
    # Inductor (torch 2.13) could not compile a pixel shuffle followed by an instance norm
    # with dynamic sizes: the torch-compile backend failed on every painter. The upsampling
    # stages of the painter's fast equivalent, compiled, against the same stages eager.
    model = load_model(_painter_file(tmp_path))
    fast = fast_equivalent(model.generator)
    generator = model.generator
    affine, _ = generator._modulation(generator.embedding_table()[:1])
    first = 2 * len(fast.blocks)

    def stages(h: torch.Tensor) -> torch.Tensor:
        for i, stage in enumerate(fast.up):
            h = stage(h, affine[first + i : first + i + 1])
        return h

    torch._dynamo.reset()
    compiled = torch.compile(stages, dynamic=True)
    with torch.inference_mode():
        for size in ((16, 20), (12, 6)):
            x = torch.randn(1, fast.up[0].upsample.weight.shape[1], *size)
            assert torch.allclose(compiled(x), stages(x), atol=1e-5)


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


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("multistyle", [False, True])
def test_fast_backends_paint_what_the_generator_paints(tmp_path, multistyle, spec) -> None:
    model = load_model(model_file(tmp_path, multistyle, spec=SPECS[spec]))
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
@pytest.mark.parametrize(("multistyle", "spec"), [(False, "mid"), (True, "mid-flat")])
def test_onnx_tiles_match_one_pass_and_the_budget_changes_nothing(
    tmp_path, multistyle, spec
) -> None:
    model = load_model(model_file(tmp_path, multistyle, seed=2, spec=SPECS[spec]))
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


@needs_ort
def test_sessions_keep_the_optimized_graph_per_machine_and_paint_the_same(tmp_path) -> None:
    import onnxruntime as ort

    runtime = onnx_backend.ensure_runtime(load_model(model_file(tmp_path, True)))
    graph = runtime.folder / "tiles.onnx"
    kept = onnx_backend.optimized_path(graph)
    assert onnx_backend.machine_fingerprint() in kept.name  # another machine: another file
    x = np.random.default_rng(0).random((1, 3, 32, 48), dtype=np.float32) * 2 - 1
    channels = sum(runtime.norm_channels)
    feeds = {
        "x": x,
        "blend_weights": np.array([0.3, 0.7], np.float32),
        "mean": np.linspace(-0.2, 0.2, channels, dtype=np.float32),
        "var": np.linspace(0.5, 1.5, channels, dtype=np.float32),
    }
    # The reference: a session that optimizes the graph itself, nothing kept.
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    reference = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
    expected = reference.run(None, feeds)[0]

    onnx_backend.forget_sessions()
    kept.unlink(missing_ok=True)
    first = onnx_backend.session_for(graph, 1)  # optimizes, and keeps the result
    assert kept.is_file() and not list(kept.parent.glob("*.partial"))
    np.testing.assert_allclose(first.run(None, feeds)[0], expected, atol=1e-5)
    onnx_backend.forget_sessions()
    loaded = onnx_backend.session_for(graph, 1)  # from the kept graph, as it is
    assert loaded is not first
    np.testing.assert_allclose(loaded.run(None, feeds)[0], expected, atol=1e-5)

    # A damaged kept graph is made again, and the session still paints.
    onnx_backend.forget_sessions()
    kept.write_bytes(b"not an onnx graph")
    again = onnx_backend.session_for(graph, 1)
    np.testing.assert_allclose(again.run(None, feeds)[0], expected, atol=1e-5)
    assert kept.stat().st_size > 1000
    onnx_backend.forget_sessions()


@needs_ort
def test_a_cache_it_cannot_write_to_still_paints(tmp_path, monkeypatch) -> None:
    runtime = onnx_backend.ensure_runtime(load_model(model_file(tmp_path, False)))
    graph = runtime.folder / "stats.onnx"
    unwritable = tmp_path / "no-such-folder" / "stats.optimized.onnx"
    monkeypatch.setattr(onnx_backend, "optimized_path", lambda path: unwritable)
    onnx_backend.forget_sessions()
    session = onnx_backend.session_for(graph, 1)  # ONNX Runtime cannot write the file there
    x = np.zeros((1, 3, 32, 32), np.float32)
    assert session.run(None, {"x": x})[0].shape == (1, 3, 32, 32)
    assert not unwritable.exists()
    onnx_backend.forget_sessions()


SECOND_SESSION_FAULTS = """
import resource, sys
import numpy as np
from ganstyle_desktop.engine import onnx_backend
if sys.argv[2] == "own":  # what ONNX Runtime does by default: an arena per session
    onnx_backend._shared_arena = lambda: False
graph = sys.argv[1]
x = np.random.default_rng(0).random((1, 3, 384, 384), dtype=np.float32) * 2 - 1
faults = []
for _ in range(2):  # two sessions of one graph, as the statistics and tiles passes are
    session = onnx_backend._open_session(onnx_backend.Path(graph), 1)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    session.run(None, {"x": x})
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(faults[0], faults[1])
"""


@needs_ort
def test_sessions_share_one_arena_so_a_second_pass_reuses_touched_memory(tmp_path) -> None:
    """A session's first run touches (page-faults) its working set. With one arena for the
    process, the next session's run finds that memory already touched; with an arena per
    session (ONNX Runtime's default) it faults it all again."""
    runtime = onnx_backend.ensure_runtime(load_model(model_file(tmp_path, False)))
    graph = str(runtime.folder / "stats.onnx")
    onnx_backend.session_for(Path(graph), 1)  # the optimized graph kept: no optimizer work

    def faults(arena: str) -> tuple[int, int]:
        done = subprocess.run([sys.executable, "-c", SECOND_SESSION_FAULTS, graph, arena],
                              capture_output=True, text=True, check=True)
        first, second = map(int, done.stdout.split()[-2:])
        return first, second

    own_first, own_second = faults("own")
    shared_first, shared_second = faults("shared")
    assert own_second > 0.5 * own_first  # per session: the second pass faults it all again
    assert shared_second < 0.25 * own_second, (shared_first, shared_second, own_second)


def test_without_a_shared_arena_sessions_keep_their_own(monkeypatch) -> None:
    ort = pytest.importorskip("onnxruntime")

    def refuse(*args, **kwargs):
        raise RuntimeError("this build has no environment allocators")

    monkeypatch.setattr(ort, "create_and_register_allocator", refuse)
    assert onnx_backend._register_arena.__wrapped__() is False
    monkeypatch.setattr(onnx_backend, "_shared_arena", lambda: False)
    options = onnx_backend._options(1, ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    with pytest.raises(Exception):  # noqa: B017, PT011 - not set: ORT's own default
        options.get_session_config_entry("session.use_env_allocators")


# -- the one-file export --------------------------------------------------------------------


@needs_ort
@pytest.mark.parametrize("spec", ["mid", "mid-flat"])
def test_the_exported_onnx_file_round_trips_on_a_real_photo(tmp_path, shared_data, spec) -> None:
    """Issue 15: the exported model run by ONNX Runtime matches PyTorch within 1 level
    mean on a real photo (larger than its view, so the view input matters)."""
    from ganstyle_desktop.cli import main
    from ganstyle_desktop.cli.export_cmd import run_onnx_file

    path = model_file(tmp_path, True, seed=6, training_size=128, spec=SPECS[spec])
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


def test_without_the_onnx_exporter_auto_uses_an_existing_export_or_pytorch(
    tmp_path, monkeypatch
) -> None:
    path = model_file(tmp_path, False)
    model = load_model(path)
    monkeypatch.setattr(onnx_backend, "can_export", lambda: False)
    assert choose_backend(model, "auto", "cpu") == "torch"
    if onnx_backend.available():
        monkeypatch.undo()
        onnx_backend.ensure_runtime(model)  # exported once, where onnx was installed
        monkeypatch.setattr(onnx_backend, "can_export", lambda: False)
        assert choose_backend(model, "auto", "cpu") == "onnx"


def test_auto_is_onnx_for_model_files_only(tmp_path) -> None:
    model = load_model(model_file(tmp_path, False))
    expected = "onnx" if onnx_backend.available() else "torch"
    assert choose_backend(model, "auto", "cpu") == expected
    assert choose_backend(model.generator, "auto", "cpu") == "torch"  # training's checks
    assert choose_backend(model, "auto", "cpu", precision="bf16") == "torch"


def _backend_used(model, image, **options) -> tuple[np.ndarray, str]:
    from ganstyle_desktop.engine.events import StylizeFinished
    from ganstyle_desktop.engine.stylize import stylize_steps

    for event in stylize_steps(model, image, **options):
        if isinstance(event, StylizeFinished):
            return event.output, event.extra["backend"]
    raise AssertionError("no result")


def test_a_generator_option_new_to_the_fast_paths_runs_the_generator_as_it_is(
    tmp_path, monkeypatch
) -> None:
    """A spec option the fast equivalent and the export were not checked on (here the
    flat-colour head, as if it were new) sends the model to eager PyTorch, unrewritten,
    and the picture is the generator's own, exactly."""
    from ganstyle_desktop.engine import torch_backend
    from ganstyle_desktop.engine.onnx_export import OnnxExportError, export_onnx_file

    model = load_model(model_file(tmp_path, False, spec=MID_FLAT))
    image = photo(150, 214)
    reference = plain(model, image)
    assert torch_backend.is_fast_capable(model.generator)
    monkeypatch.setattr(
        torch_backend, "FAST_SPEC_OPTIONS", torch_backend.FAST_SPEC_OPTIONS - {"flat_colours"}
    )
    assert "flat_colours" in torch_backend.fast_path_refusal(model.generator)
    assert choose_backend(model, "auto", "cpu") == "torch"
    for asked in ("auto", "torch", "onnx", "torch-compile"):
        if asked == "onnx" and not onnx_backend.available():
            continue
        out, used = _backend_used(model, image, backend=asked)
        assert used == "torch", asked
        assert levels(out, reference) == (0.0, 0), asked  # the plain generator's picture
    painter = torch_backend.TorchPainter(model, None, device="cpu")
    assert not painter.fast and not any(
        isinstance(m, torch_backend.SubpixelUpsample) for m in painter.module.modules()
    )
    with pytest.raises(OnnxExportError, match="flat_colours"):
        export_onnx_file(model, tmp_path / "x.onnx")
    assert onnx_backend.cached_runtime(model.path) is None  # nothing was exported


class ConditionalNormNet(torch.nn.Module):
    """A generator kind the fast paths do not know: a small transfer network with
    conditional instance norm (one scale and shift per style), like the one the lead
    may add."""

    size_multiple = 4

    def __init__(self, n_styles: int = 2, width: int = 6) -> None:
        super().__init__()
        from ganstyle_desktop.engine.nets import FreezableInstanceNorm2d

        self.down = torch.nn.Conv2d(3, width, 3, stride=2, padding=1)
        self.norm = FreezableInstanceNorm2d(width, affine=False)
        self.gamma = torch.nn.Parameter(1 + 0.3 * torch.randn(n_styles, width))
        self.beta = torch.nn.Parameter(0.3 * torch.randn(n_styles, width))
        self.up = torch.nn.ConvTranspose2d(width, 3, 4, stride=2, padding=1)
        self.style = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm(self.down(x))
        h = h * self.gamma[self.style, :, None, None] + self.beta[self.style, :, None, None]
        return torch.tanh(self.up(torch.relu(h)))


def test_an_unknown_generator_kind_is_painted_by_eager_pytorch(tmp_path, monkeypatch) -> None:
    from ganstyle_desktop.engine import modelfile

    monkeypatch.setitem(modelfile._BUILDERS, "test-cin", lambda _arch: ConditionalNormNet())
    torch.manual_seed(4)
    path = save_model(
        tmp_path / "cin.safetensors",
        ConditionalNormNet().eval(),
        ModelCard(name="cin", architecture={"generator": "test-cin"}, training_size=32),
    )
    model = load_model(path)
    assert type(model.generator) is ConditionalNormNet
    image = photo(48, 64, seed=7)  # no larger than its view: one plain pass
    with torch.no_grad():  # the reference: the network by hand, rounded to levels
        x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1
        y = model.generator(x)[0].permute(1, 2, 0).numpy()
    reference = np.clip(np.rint((y + 1) * 127.5), 0, 255).astype(np.uint8)
    assert choose_backend(model, "auto", "cpu") == "torch"
    for asked in ("auto", "onnx", "torch-compile", "torch"):
        if asked == "onnx" and not onnx_backend.available():
            continue
        out, used = _backend_used(model, image, backend=asked)
        assert used == "torch", asked
        mean, worst = levels(out, reference)
        assert mean <= 0.01 and worst <= 1, asked
    assert levels(reference, image)[0] > 5  # it painted something
    assert onnx_backend.cached_runtime(path) is None


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


def _painter_file(folder: Path) -> Path:
    from ganstyle_desktop.engine.painter_nets import PainterGenerator

    g = torch.Generator().manual_seed(3)
    painter = PainterGenerator.pretrained(TRADITIONS, torch.rand(2, 100, generator=g) * 2)
    card = ModelCard(
        name="painter",
        kind="multistyle",
        method="multistyle",
        preset="painter",
        architecture=painter.architecture(),
        training_size=64,
        traditions=[{"slug": t} for t in TRADITIONS],
    )
    return save_model(folder / "painter.safetensors", painter.eval(), card)


def test_the_painter_takes_the_fast_paths_and_paints_the_same(tmp_path) -> None:
    from ganstyle_desktop.engine.torch_backend import PhaseStem, StridedPhaseConv

    model = load_model(_painter_file(tmp_path))
    fast_layers = list(fast_equivalent(model.generator).modules())
    assert any(isinstance(m, StridedPhaseConv) for m in fast_layers)
    assert any(isinstance(m, PhaseStem) for m in fast_layers)
    image = photo(150, 214)  # larger than its view: capture, then frozen statistics
    blend = {"ukiyo-e": 0.4, "ink-wash": 0.6}
    reference = plain(model, image, blend)
    backends = ["torch"] + (["onnx"] if onnx_backend.available() else [])
    for backend in backends:
        out, used = _backend_used(model, image, blend=blend, backend=backend)
        assert used == backend
        mean, worst = levels(out, reference)
        assert mean <= 0.05 and worst <= 1, (backend, mean, worst)
    assert levels(reference, image)[0] > 5


def test_exports_trace_under_the_models_lock(tmp_path, monkeypatch) -> None:
    """Tracing sets statistics on the model's own layers, so an export must hold the lock
    a stylize of the same model holds (the window prepares a model while one paints)."""
    from ganstyle_desktop.engine import onnx_export
    from ganstyle_desktop.engine.torch_backend import _lock_for

    model = load_model(model_file(tmp_path, True, seed=6))
    held = []
    real_export = onnx_export._export

    def checking_export(module, *args, **kwargs):
        held.append(_lock_for(module).locked())
        return real_export(module, *args, **kwargs)

    monkeypatch.setattr(onnx_export, "_export", checking_export)
    onnx_export.export_runtime(model, tmp_path / "runtime")
    onnx_export.export_onnx_file(model, tmp_path / "one.onnx")
    assert held == [True, True, True]
    assert not _lock_for(fast_equivalent(model.generator)).locked()  # and released
