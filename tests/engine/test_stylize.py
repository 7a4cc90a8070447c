"""Whole-image and tiled stylizing: one normalisation policy at every size, exactness of
tiles, bounded memory, strength, cancel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from ganstyle_desktop.engine.control import JobCancelled, JobControl
from ganstyle_desktop.engine.events import StylizeFinished, StylizeProgress
from ganstyle_desktop.engine.modelfile import ModelCard, StyleModel
from ganstyle_desktop.engine.nets import (
    FreezableInstanceNorm2d,
    GeneratorSpec,
    ResnetGenerator,
    receptive_field,
)
from ganstyle_desktop.engine.stylize import (
    VIEW_FACTOR,
    StylizeError,
    activation_bytes_per_pixel,
    plan_tiles,
    statistics_view,
    stylize_array,
    stylize_steps,
)

SPEC = GeneratorSpec(width=6, n_blocks=1, n_down=2, separable=True)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    # Tiny tensors: a second thread only spins, and on a shared CPU it spins for ages.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def tiny_model(seed: int = 0, training_size: int = 256) -> StyleModel:
    torch.manual_seed(seed)
    gen = ResnetGenerator(SPEC).eval()
    card = ModelCard(
        name="tiny",
        architecture={"generator": "resnet", "spec": SPEC.to_dict()},
        training_size=training_size,
    )
    return StyleModel(card, gen)


def photo(h: int, w: int, seed: int = 0, noise: float = 12.0) -> np.ndarray:
    """Smooth colour fields plus noise: structure at several scales, like a photo."""
    rng = np.random.default_rng(seed)
    coarse = (rng.random((h // 8 + 2, w // 8 + 2, 3)) * 255).astype(np.uint8)
    base = np.asarray(Image.fromarray(coarse).resize((w, h), Image.Resampling.BICUBIC))
    noisy = base.astype(np.float32) + rng.normal(0, noise, base.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def run_steps(*args, **kwargs) -> tuple[StylizeFinished, list[StylizeProgress]]:
    progress: list[StylizeProgress] = []
    finished = None
    for event in stylize_steps(*args, **kwargs):
        if isinstance(event, StylizeFinished):
            finished = event
        else:
            progress.append(event)
    assert finished is not None
    return finished, progress


def max_diff(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(np.int32) - b.astype(np.int32)).max())


def mean_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())


@pytest.mark.parametrize("shape", [(128, 176), (131, 169)])
def test_tiles_match_the_whole_image_pass(shape) -> None:
    model, image = tiny_model(), photo(*shape)
    tiled, progress = run_steps(model, image, tile_size=16, view_side=48)
    assert tiled.tiled and tiled.extra["tiles"] >= 4
    whole, _ = run_steps(model, image, tiling="whole", view_side=48)
    assert not whole.tiled
    assert tiled.extra["statistics_view"] == whole.extra["statistics_view"]
    assert tiled.output.shape == image.shape and tiled.output.dtype == np.uint8
    assert max_diff(tiled.output, whole.output) <= 1  # within 1/255
    # Progress counts the statistics pass and each tile, ending at the total.
    done = [p.done for p in progress]
    assert done == sorted(done) and done[-1] == progress[-1].total == tiled.extra["tiles"] + 1


def test_an_image_no_larger_than_its_view_gets_plain_instance_norm_tiled_or_not() -> None:
    model, image = tiny_model(training_size=128), photo(128, 160)  # view side 256
    view = statistics_view(128, 160, 4, 128)
    assert view.is_image
    tiled = stylize_array(model, image, tile_size=16)
    whole, progress = run_steps(model, image, tiling="whole")
    plain = stylize_array(model, image, tiling="whole", statistics="full")
    assert max_diff(tiled, plain) <= 1
    assert np.array_equal(whole.output, plain)  # the same pass: no statistics pass needed
    assert progress[-1].total == 1


def test_the_look_does_not_depend_on_the_memory_budget() -> None:
    """The policy's point: tiled or not, whatever the budget, one set of statistics."""
    model, image = tiny_model(training_size=32), photo(200, 296)  # view 64 x 96
    outputs = {
        "small budget": run_steps(model, image, memory_budget_mb=1.0)[0],
        "tiles asked for": run_steps(model, image, memory_budget_mb=8000.0, tile_size=48)[0],
        "large budget": run_steps(model, image, memory_budget_mb=8000.0)[0],
    }
    assert outputs["small budget"].tiled and outputs["tiles asked for"].tiled
    assert not outputs["large budget"].tiled
    views = {tuple(f.extra["statistics_view"]) for f in outputs.values()}
    assert views == {(64, 96)}
    for name in ("small budget", "tiles asked for"):
        assert max_diff(outputs[name].output, outputs["large budget"].output) <= 1, name
    # ... and the view's statistics are not plain whole-image ones (the check can fail).
    plain = stylize_array(model, image, tiling="whole", statistics="full")
    assert mean_diff(plain, outputs["large budget"].output) > 1


def test_per_tile_statistics_would_differ() -> None:
    """Guards the tests above: tiles with too little context are visibly wrong."""
    model, image = tiny_model(), photo(128, 176)
    careless = stylize_array(model, image, tile_size=64, context=4, view_side=48)
    whole = stylize_array(model, image, tiling="whole", view_side=48)
    assert max_diff(careless, whole) > 4


def test_the_view_is_the_whole_picture_at_twice_the_training_size() -> None:
    assert VIEW_FACTOR == 2.0
    assert statistics_view(1200, 1800, 4, 128) == statistics_view(1200, 1800, 4, 128, 256)
    view = statistics_view(1200, 1800, 4, 128)
    assert (view.height, view.width, view.is_image) == (256, 384, False)
    # A panorama's view is bounded in area, not only in its short side.
    wide = statistics_view(500, 4000, 4, 128)
    assert wide.height * wide.width <= 2 * 256 * 256 and abs(wide.width / wide.height - 8) < 0.2
    # Never upscaled: a small image is its own view (padded to the size multiple).
    small = statistics_view(101, 150, 4, 128)
    assert (small.height, small.width, small.is_image) == (104, 152, True)


class RecordingGenerator(nn.Module):
    """Wraps a generator and records the size of every input it is given."""

    def __init__(self, generator: ResnetGenerator) -> None:
        super().__init__()
        self.generator = generator
        self.spec = generator.spec
        self.size_multiple = generator.size_multiple
        self.seen: list[tuple[int, int]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append((x.shape[2], x.shape[3]))
        return self.generator(x)


def test_memory_stays_bounded_by_the_tile_and_the_view_not_the_image() -> None:
    torch.manual_seed(0)
    recorder = RecordingGenerator(ResnetGenerator(SPEC).eval())
    image = photo(700, 900)
    budget_mb = 4.0
    plan = plan_tiles(700, 900, recorder, memory_budget_mb=budget_mb)
    assert plan.tiled and plan.n_tiles > 4
    out = stylize_array(recorder, image, memory_budget_mb=budget_mb, training_size=32)
    assert out.shape == image.shape
    view, *tiles = recorder.seen
    assert view == (64, 84)  # the statistics pass ran on the 2 x 32 px view
    assert len(tiles) == plan.n_tiles
    largest = max(h * w for h, w in tiles)
    # No pass ever saw a full-size image: every tile fits the budget.
    assert largest <= plan.tile_height * plan.tile_width < image.shape[0] * image.shape[1] / 10
    assert largest * activation_bytes_per_pixel(recorder) <= budget_mb * 1024 * 1024


def test_the_view_follows_the_model_card_not_the_budget() -> None:
    torch.manual_seed(0)
    generator = ResnetGenerator(SPEC).eval()
    card = ModelCard(name="t", architecture={"spec": SPEC.to_dict()}, training_size=40)
    seen = []
    for budget in (1.0, 4.0):
        recorder = RecordingGenerator(generator)
        stylize_array(StyleModel(card, recorder), photo(300, 420), memory_budget_mb=budget)
        seen.append(recorder.seen[0])
        assert len(recorder.seen) > 2  # tiled
    assert seen == [(80, 112), (80, 112)]
    # A bare generator (no card) assumes the default training size (view side 512: this
    # photo is its own view), unless told.
    recorder = RecordingGenerator(generator)
    stylize_array(recorder, photo(300, 420), memory_budget_mb=1.0)
    assert recorder.seen[0] == (300, 420)
    recorder = RecordingGenerator(generator)
    stylize_array(recorder, photo(300, 420), memory_budget_mb=1.0, training_size=40)
    assert recorder.seen[0] == (80, 112)


def test_small_images_run_whole_and_large_ones_tile() -> None:
    gen = ResnetGenerator(SPEC)
    assert not plan_tiles(64, 64, gen).tiled
    assert plan_tiles(4000, 3000, gen, memory_budget_mb=64).tiled
    # Tiles overlap by at least half the receptive field.
    plan = plan_tiles(4000, 3000, gen, memory_budget_mb=64)
    overlap = plan.tile_height - (plan.y_starts[1] - plan.y_starts[0])
    assert overlap >= receptive_field(gen) / 2
    assert all(s % gen.size_multiple == 0 for s in plan.y_starts + plan.x_starts)
    assert plan.y_starts[-1] + plan.tile_height == plan.padded_height


def test_strength_zero_returns_the_input_and_half_blends() -> None:
    model, image = tiny_model(), photo(40, 56)
    assert np.array_equal(stylize_array(model, image, strength=0.0), image)
    full = stylize_array(model, image, strength=1.0).astype(np.float32)
    half = stylize_array(model, image, strength=0.5).astype(np.float32)
    expected = 0.5 * full + 0.5 * image.astype(np.float32)
    assert np.abs(half - expected).max() <= 1.0
    assert np.abs(full - image).mean() > 5  # the style did change the picture
    with pytest.raises(StylizeError):
        stylize_array(model, image, strength=1.5)


def test_sixteen_bit_input_gives_sixteen_bit_output() -> None:
    model, image = tiny_model(), photo(48, 64)
    deep = image.astype(np.uint16) * 257
    out16 = stylize_array(model, deep, tile_size=16)
    out8 = stylize_array(model, image, tile_size=16)
    assert out16.dtype == np.uint16 and out16.shape == image.shape
    assert np.abs(out16 / 257.0 - out8).max() <= 1.0


def test_cancel_between_tiles_raises_and_leaves_the_model_clean() -> None:
    model, image = tiny_model(), photo(200, 240)
    control = JobControl()
    seen: list[int] = []

    def on_progress(event: StylizeProgress) -> None:
        seen.append(event.done)
        if event.stage == "stylizing" and event.done >= 3:
            control.cancel()

    with pytest.raises(JobCancelled):
        stylize_array(model, image, tile_size=16, control=control, progress=on_progress)
    assert max(seen) == 3  # no tile ran after the cancel
    for layer in model.generator.modules():
        if isinstance(layer, FreezableInstanceNorm2d):
            assert layer.mode == "normal" and layer.frozen_mean is None
    # The model still works afterwards, on the same thread.
    assert stylize_array(model, photo(32, 32)).shape == (32, 32, 3)


@pytest.mark.parametrize("tiling", ["whole", "tiles"])
def test_cancel_stops_a_pass_at_the_next_layer_not_the_next_tile(tiling: str) -> None:
    """Cancel in the middle of one forward pass: not one more layer runs after it."""
    model, image = tiny_model(), photo(96, 128)
    control = JobControl()
    leaves = [m for m in model.generator.modules() if next(m.children(), None) is None]
    ran: list[int] = []
    hooks = [
        layer.register_forward_hook(lambda _m, _i, _o, n=n: ran.append(n))
        for n, layer in enumerate(leaves)
    ]
    middle = len(leaves) // 2
    hooks.append(leaves[middle].register_forward_hook(lambda *_: control.cancel()))
    try:
        with pytest.raises(JobCancelled):
            stylize_array(model, image, control=control, tiling=tiling, tile_size=64)
    finally:
        for h in hooks:
            h.remove()
    assert control.cancelled
    first_cancel = ran.index(middle)
    assert ran[first_cancel + 1 :] == []  # stopped right after the layer that cancelled
    assert len(ran) < len(leaves)  # the pass did not finish
    for layer in model.generator.modules():  # no hook or frozen statistics left behind
        assert not layer._forward_pre_hooks
        if isinstance(layer, FreezableInstanceNorm2d):
            assert layer.mode == "normal" and layer.frozen_mean is None
    assert stylize_array(model, image).shape == image.shape  # and it still works


def test_the_layer_check_stops_only_the_thread_that_asked_for_it() -> None:
    """Models are cached and shared: a cancelled stylize must not stop another thread's
    forward pass through the same layers."""
    import threading

    from ganstyle_desktop.engine.stylize import cancellable_layers

    gen = tiny_model().generator
    x = torch.zeros(1, 3, 32, 32)
    cancelled = JobControl()
    cancelled.cancel()
    outcome: list[str] = []

    def other_thread() -> None:
        with torch.inference_mode():
            gen(x)
        outcome.append("ran")

    with cancellable_layers(gen, cancelled):
        with pytest.raises(JobCancelled):  # this thread is stopped...
            with torch.inference_mode():
                gen(x)
        t = threading.Thread(target=other_thread)  # ...another one is not
        t.start()
        t.join(30)
    assert outcome == ["ran"]
    assert all(not m._forward_pre_hooks for m in gen.modules())


def test_multistyle_blends_tile_exactly_too() -> None:
    from ganstyle_desktop.engine.multistyle_nets import MultiStyleGenerator

    torch.manual_seed(0)
    gen = MultiStyleGenerator(SPEC, ["ukiyo-e", "ink-wash"], style_dim=8, mlp_hidden=16).eval()
    card = ModelCard(name="ms", kind="multistyle", architecture={"generator": "multistyle"})
    model, image = StyleModel(card, gen), photo(120, 136)
    blend = {"ukiyo-e": 0.3, "ink-wash": 0.7}
    tiled, _ = run_steps(model, image, blend=blend, tile_size=16, view_side=48)
    whole, _ = run_steps(model, image, blend=blend, tiling="whole", view_side=48)
    assert tiled.tiled and max_diff(tiled.output, whole.output) <= 1
    other = stylize_array(model, image, blend={"ukiyo-e": 1.0}, tiling="whole")
    assert max_diff(other, whole.output) > 1  # the blend reaches the network


def test_bad_arrays_are_refused() -> None:
    model = tiny_model()
    with pytest.raises(StylizeError):
        stylize_array(model, np.zeros((8, 8), np.uint8))
    with pytest.raises(StylizeError):
        stylize_array(model, np.zeros((8, 8, 3), np.float32))


MODELS = Path(__file__).resolve().parents[2] / "models"


def _small_model_file(tmp_path: Path) -> Path:
    """The shipped (trained) starter model if the checkout has one, else a tiny one."""
    shipped = sorted(MODELS.glob("*.safetensors"))
    if shipped:
        return shipped[0]
    from ganstyle_desktop.engine.modelfile import save_model

    model = tiny_model(training_size=128)
    return save_model(tmp_path / "tiny.safetensors", model.generator, model.card)


def test_cli_output_does_not_depend_on_the_memory_budget(tmp_path: Path) -> None:
    """Issue 11: one 1600 px photo with --memory-mb 64 (tiles) and 8000 (one pass)."""
    from ganstyle_desktop.cli import main

    model_file = _small_model_file(tmp_path)
    src = tmp_path / "photo.png"
    Image.fromarray(photo(1064, 1600, seed=3)).save(src)
    outputs = {}
    for budget in ("64", "8000"):
        out_dir = tmp_path / f"out-{budget}"
        args = ["stylize", str(model_file), str(src), "--out", str(out_dir), "--memory-mb", budget]
        assert main([*args, "--device", "cpu"]) == 0
        with Image.open(out_dir / "photo.png") as im:
            outputs[budget] = np.asarray(im.convert("RGB"))
    from ganstyle_desktop.engine.modelfile import load_model

    module = load_model(model_file).module_for(None)
    assert plan_tiles(1064, 1600, module, memory_budget_mb=64).tiled
    assert not plan_tiles(1064, 1600, module, memory_budget_mb=8000).tiled
    assert mean_diff(outputs["64"], outputs["8000"]) <= 1.0
    assert max_diff(outputs["64"], outputs["8000"]) <= 2


def test_frozen_statistics_normalise_by_the_captured_mean_and_variance() -> None:
    norm = FreezableInstanceNorm2d(3)
    with torch.no_grad():
        norm.weight.copy_(torch.tensor([1.5, 0.5, -1.0]))
        norm.bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
    view = torch.randn(1, 3, 8, 12, generator=torch.Generator().manual_seed(0)) * 2 + 1
    tile = torch.randn(2, 3, 5, 7, generator=torch.Generator().manual_seed(1))
    norm.mode = "capture"
    norm(view)
    norm.mode = "frozen"
    var, mean = torch.var_mean(view, dim=(2, 3), keepdim=True, unbiased=False)
    expected = (tile - mean) / torch.sqrt(var + norm.eps) * norm.weight.view(1, 3, 1, 1)
    expected = expected + norm.bias.view(1, 3, 1, 1)
    torch.testing.assert_close(norm(tile), expected, rtol=1e-5, atol=1e-6)
