"""The recipe's networks, knobs, colour-aware score and best-checkpoint rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganstyle_desktop.engine.config import ConfigError, StyleSource, TrainConfig, recipe_knobs
from ganstyle_desktop.engine.metrics import style_score, swd
from ganstyle_desktop.engine.multistyle_nets import MultiStyleGenerator
from ganstyle_desktop.engine.nets import (
    DiscriminatorSpec,
    GeneratorSpec,
    MultiScaleDiscriminator,
    PatchDiscriminator,
    ResnetGenerator,
    make_discriminator,
    norm_statistics,
    receptive_field,
)
from ganstyle_desktop.engine.presets import describe_preset
from ganstyle_desktop.engine.quality_monitor import CONTOUR_FLOOR, meets_bar, quality

UNSHUFFLED = GeneratorSpec(width=8, n_blocks=2, n_down=1, unshuffle=2)


def test_unshuffled_generator_keeps_the_image_size_and_its_multiple() -> None:
    for gen in (ResnetGenerator(UNSHUFFLED), MultiStyleGenerator(UNSHUFFLED, ["a", "b"])):
        assert gen.size_multiple == 4
        out = gen(torch.rand(1, 3, 24, 20) * 2 - 1)
        assert out.shape == (1, 3, 24, 20)
        assert out.abs().max() <= 1


def _measured_receptive_field(gen: torch.nn.Module, side: int = 96) -> int:
    """Which input pixels move the centre output pixel: the receptive field, measured."""
    gen = gen.eval()
    x = (torch.rand(1, 3, side, side, generator=torch.Generator().manual_seed(0)) * 2 - 1)
    # Frozen statistics: instance norm would otherwise tie every pixel to every other.
    with torch.no_grad(), norm_statistics(gen, "capture"):
        gen(x)
    x.requires_grad_(True)
    with norm_statistics(gen, "frozen"):
        gen(x)[0, :, side // 2, side // 2].sum().backward()
    cols = torch.nonzero(x.grad.abs().sum(dim=(0, 1, 2)) > 0).flatten()
    return int(cols.max() - cols.min() + 1)


def test_receptive_field_formula_counts_the_unshuffle() -> None:
    torch.manual_seed(0)
    gen = ResnetGenerator(UNSHUFFLED)
    with torch.no_grad():
        for p in gen.parameters():
            p.copy_((torch.rand_like(p) + 0.1) * 0.05)  # no dead paths, no saturation
    measured = _measured_receptive_field(gen)
    assert abs(receptive_field(gen) - measured) <= 2


def test_mid_preset_is_between_lite_and_classic() -> None:
    mid, lite, classic = (describe_preset(n) for n in ("mid", "lite", "classic"))
    assert 2.0 <= mid["generator_gmacs"] <= 4.0
    assert lite["generator_gmacs"] < mid["generator_gmacs"] < classic["generator_gmacs"]


def test_multi_scale_discriminator_judges_each_scale() -> None:
    spec = DiscriminatorSpec(width=4, n_layers=2)
    assert isinstance(make_discriminator(spec, 1), PatchDiscriminator)
    d = make_discriminator(spec, 3, n_heads=2)
    assert isinstance(d, MultiScaleDiscriminator)
    maps = d(torch.rand(2, 3, 64, 64))
    assert len(maps) == 3 and maps[0].shape[1] == 2
    assert maps[0].shape[-1] > maps[1].shape[-1] > maps[2].shape[-1]
    # Each scale sees the image at its own resolution (half, then a quarter).
    x = torch.rand(1, 3, 64, 64)
    half = torch.nn.functional.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
    assert torch.allclose(d(x)[1], d.scales[1](half))


def _config(**kw) -> TrainConfig:
    return TrainConfig(styles=[StyleSource("a")], content_paths=["x"], out_dir="o", **kw)


def test_recipe_knobs_are_described_and_checked() -> None:
    knobs = {f.name: f for f in recipe_knobs()}
    assert {"diffaugment", "lambda_nce", "lambda_critic", "lambda_style", "d_scales",
            "lambda_palette"} <= set(knobs)
    assert all(f.metadata["help"] for f in knobs.values())
    assert "color" not in _config().diffaugment  # no colour augmentation by default
    _config().validate()
    with pytest.raises(ConfigError, match="lambda_style"):
        _config(lambda_style=-1.0).validate()
    with pytest.raises(ConfigError, match="style_loss"):
        _config(style_loss="nope").validate()
    with pytest.raises(ConfigError, match="DiffAugment"):
        _config(diffaugment="color,blur").validate()


def _textures(seed: int, n: int, tint=(1.0, 1.0, 1.0)) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        base = rng.integers(60, 200, size=(64, 64, 3)).astype(np.float64)
        out.append(np.clip(base * np.array(tint), 0, 255).astype(np.uint8))
    return out


def test_style_score_sees_palette() -> None:
    # A tinted and a channel-swapped copy of a style set have the same texture; only the
    # colours differ. Standardising each set on its own (the paper's recipe) made them
    # score like the set itself; the joint standardisation does not.
    style = _textures(0, 8, tint=(1.2, 0.8, 0.5))
    same = _textures(1, 8, tint=(1.2, 0.8, 0.5))
    swapped = [im[..., ::-1].copy() for im in same]
    assert swd(swapped, style, size=64) > 2 * swd(same, style, size=64)
    photos = _textures(2, 8, tint=(0.5, 0.8, 1.2))
    good = style_score(same, style, photos, size=64)["style_score"]
    bad = style_score(swapped, style, photos, size=64)["style_score"]
    assert good > bad
    assert 0.0 <= bad <= 1.0 and 0.0 <= good <= 1.0  # bounded


def test_quality_ranks_with_a_floor_and_stays_bounded() -> None:
    # Edge SSIM no longer decides: a painting (edge SSIM 0.35, contours kept) outranks a
    # filter (edge SSIM 0.95) that the recogniser does not take for the tradition.
    good = {"recognised": 0.8, "style_score": 0.6, "contour_f": 0.75, "edge_ssim": 0.35}
    better = {"recognised": 0.9, "style_score": 0.6, "contour_f": 0.7, "edge_ssim": 0.3}
    filt = {"recognised": 0.1, "style_score": 0.2, "contour_f": 1.0, "edge_ssim": 0.95}
    lost = {"recognised": 1.0, "style_score": 1.0, "contour_f": CONTOUR_FLOOR - 0.01,
            "edge_ssim": 0.9}
    assert quality(better) > quality(good) > quality(filt) > quality(lost)
    assert quality({"style_score": float("nan"), "contour_f": 0.9}) == 0.0
    for m in (good, better, lost, filt, {}):
        assert -1.0 <= quality(m) <= 1.5 and math.isfinite(quality(m))
    assert meets_bar(good) and not meets_bar(lost) and not meets_bar(filt)
    assert not meets_bar({"recognised": 0.69, "contour_f": 0.9})


FLAT = GeneratorSpec(width=8, n_blocks=2, n_down=1, unshuffle=2, flat_colours=4)


def test_flat_colour_head_paints_with_its_palette_and_ink() -> None:
    torch.manual_seed(0)
    gen = ResnetGenerator(FLAT)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        gen.flat_logit.fill_(20.0)  # all flat
        gen.flat.lines[1].bias.fill_(-20.0)  # no lines
        out = gen(x)
        colours = torch.tanh(gen.palette)
    # Every pixel is a convex mix of the palette: inside its colours' box.
    lo, hi = colours.min(0).values, colours.max(0).values
    assert (out[0].permute(1, 2, 0) >= lo - 1e-5).all() and (out[0].permute(1, 2, 0) <= hi + 1e-5).all()
    with torch.no_grad():
        gen.flat.lines[1].bias.fill_(20.0)  # lines everywhere: the ink
        inked = gen(x)
    assert torch.allclose(inked, torch.tanh(gen.ink).view(1, 3, 1, 1).expand_as(inked), atol=1e-5)
    with torch.no_grad():
        gen.flat_logit.fill_(-20.0)  # none of it: the plain output
        plain = gen(x)
        h = gen.layers[: gen.n_body](x)
        assert torch.allclose(plain, gen.layers[gen.n_body :](h), atol=1e-5)


def test_flat_colour_head_learns_and_is_per_tradition() -> None:
    torch.manual_seed(1)
    gen = MultiStyleGenerator(FLAT, ["a", "b"])
    with torch.no_grad():
        gen.mapping[2].weight.normal_(0, 0.5)  # traditions modulate differently
        gen.flat_logit.fill_(3.0)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    a, b = gen(x, 0), gen(x, 1)
    assert not torch.allclose(a, b)
    (a.mean() + b.mean()).backward()
    for p in (gen.palette, gen.ink, gen.flat_logit, gen.flat.choose[1].weight):
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_flat_colour_model_file_round_trip(tmp_path) -> None:
    from ganstyle_desktop.engine.modelfile import ModelCard, load_model, save_model

    gen = ResnetGenerator(FLAT).eval()
    card = ModelCard(name="flat", architecture={"generator": "resnet", "spec": FLAT.to_dict()})
    path = save_model(tmp_path / "flat.safetensors", gen, card)
    again = load_model(path, device="cpu").generator
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(gen(x), again(x))
