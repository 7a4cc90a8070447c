"""Recipe loss terms against reference computations written from their definitions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ganstyle_desktop.engine.config import StyleSource, TrainConfig
from ganstyle_desktop.engine.devices import plan_for
from ganstyle_desktop.engine.methods import method_class
from ganstyle_desktop.engine.prior_losses import (
    BRUSHWORK_LEVELS,
    BRUSHWORK_SCALES,
    STYLE_TAPS,
    ProjectedCritic,
    brushwork_loss,
    brushwork_profile,
    colour_swd,
    feature_content_loss,
    feature_style_loss,
    pick_head,
)


def _feats(seed: int, n: int = 2) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {t: torch.randn(n, 3 + i, 5, 4, generator=g) for i, t in enumerate(STYLE_TAPS)}


def test_meanstd_style_loss_is_the_adain_loss() -> None:
    # Huang & Belongie 2017: sum over layers of ||mu(f) - mu(s)||^2 + ||sigma(f) - sigma(s)||^2
    # (here: mean squared error per layer, averaged over layers).
    fake, style = _feats(0), _feats(1)
    expected = 0.0
    for t in STYLE_TAPS:
        f, s = fake[t].numpy().astype(np.float64), style[t].numpy().astype(np.float64)
        mf, ms = f.mean(axis=(2, 3)), s.mean(axis=(2, 3))
        sf = np.sqrt(f.var(axis=(2, 3)) + 1e-5)
        ss = np.sqrt(s.var(axis=(2, 3)) + 1e-5)
        expected += ((mf - ms) ** 2).mean() + ((sf - ss) ** 2).mean()
    expected /= len(STYLE_TAPS)
    got = float(feature_style_loss(fake, style, STYLE_TAPS, "meanstd"))
    assert got == pytest.approx(expected, rel=1e-5)
    assert float(feature_style_loss(style, style, STYLE_TAPS)) == pytest.approx(0.0, abs=1e-7)


def test_gram_style_loss_is_gatys() -> None:
    fake, style = _feats(2), _feats(3)
    expected = 0.0
    for t in STYLE_TAPS:
        f = fake[t].numpy().astype(np.float64)
        s = style[t].numpy().astype(np.float64)
        n, c, h, w = f.shape
        gf = np.einsum("nchw,ndhw->ncd", f, f) / (c * h * w)
        gs = np.einsum("nchw,ndhw->ncd", s, s) / (c * h * w)
        expected += ((gf - gs) ** 2).mean()
    expected /= len(STYLE_TAPS)
    assert float(feature_style_loss(fake, style, STYLE_TAPS, "gram")) == pytest.approx(
        expected, rel=1e-5
    )


def test_one_artwork_is_the_target_of_every_output() -> None:
    fake = _feats(4, n=3)
    one = _feats(5, n=1)
    repeated = {k: v.expand(3, -1, -1, -1) for k, v in one.items()}
    assert float(feature_style_loss(fake, one)) == pytest.approx(
        float(feature_style_loss(fake, repeated)), rel=1e-6
    )


def test_style_loss_pulls_only_the_output() -> None:
    fake = {k: v.clone().requires_grad_(True) for k, v in _feats(6).items()}
    style = {k: v.clone().requires_grad_(True) for k, v in _feats(7).items()}
    feature_style_loss(fake, style).backward()
    assert all(v.grad is not None for v in fake.values())
    assert all(v.grad is None for v in style.values())


def test_content_loss_is_feature_mse() -> None:
    a, b = _feats(8), _feats(9)
    expected = float(((a["expanded_conv_5"] - b["expanded_conv_5"]) ** 2).mean())
    assert float(feature_content_loss(a, b)) == pytest.approx(expected, rel=1e-6)


def _sliced_w1_reference(a: np.ndarray, b: np.ndarray, dirs: np.ndarray) -> float:
    """W1 between two equal-size 1-D samples is the mean gap of their sorted values."""
    total = 0.0
    for d in dirs.T:
        total += np.abs(np.sort(a @ d) - np.sort(b @ d)).mean()
    return total / dirs.shape[1]


def test_colour_swd_is_the_sliced_wasserstein_distance() -> None:
    g = torch.Generator().manual_seed(0)
    fake = torch.rand(1, 3, 8, 8, generator=g) * 2 - 1
    style = torch.rand(1, 3, 8, 8, generator=g) * 2 - 1
    rng = torch.Generator().manual_seed(5)
    got = float(colour_swd(fake, style, rng, n_directions=16, n_pixels=64))
    # Replay the same draws: pixel indices for each side, then the directions.
    rng = torch.Generator().manual_seed(5)
    ia = torch.randint(0, 64, (64,), generator=rng)
    ib = torch.randint(0, 64, (64,), generator=rng)
    dirs = torch.randn(3, 16, generator=rng)
    dirs = (dirs / dirs.norm(dim=0, keepdim=True)).numpy().astype(np.float64)
    a = fake.flatten(2)[0].T.numpy()[ia.numpy()].astype(np.float64)
    b = style.flatten(2)[0].T.numpy()[ib.numpy()].astype(np.float64)
    assert got == pytest.approx(_sliced_w1_reference(a, b, dirs), rel=1e-5)


def test_colour_swd_sees_distributions_not_only_means() -> None:
    # Same mean colour, different spread: a mean-pulling palette term would call these
    # equal; the distribution term does not. And a permutation of pixels is free.
    g = torch.Generator().manual_seed(1)
    flat = torch.zeros(1, 3, 16, 16)
    spread = torch.randn(1, 3, 16, 16, generator=g) * 0.5
    spread = spread - spread.mean(dim=(2, 3), keepdim=True)
    shuffled = spread.flatten(2)[:, :, torch.randperm(256, generator=g)].view(1, 3, 16, 16)
    assert float(colour_swd(flat, spread, torch.Generator().manual_seed(2))) > 0.1
    assert float(colour_swd(shuffled, spread, torch.Generator().manual_seed(2),
                            n_pixels=256)) < 0.05


def _profile_reference(image: np.ndarray) -> np.ndarray:
    """From the definition: Rec. 709 luma of the [-1, 1] image in [0, 1]; per scale s, s x s
    box means; Sobel (replicate border) magnitude / 4; the quantile function (linear
    interpolation) at the mid-points of BRUSHWORK_LEVELS equal bins."""
    rgb = (image.astype(np.float64) + 1.0) / 2.0
    luma = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]
    levels = (np.arange(BRUSHWORK_LEVELS) + 0.5) / BRUSHWORK_LEVELS
    rows = []
    for s in BRUSHWORK_SCALES:
        h, w = luma.shape[0] // s, luma.shape[1] // s
        y = luma[: h * s, : w * s].reshape(h, s, w, s).mean(axis=(1, 3))
        p = np.pad(y, 1, mode="edge")
        gx = (p[:-2, 2:] + 2 * p[1:-1, 2:] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[1:-1, :-2] + p[2:, :-2])
        gy = (p[2:, :-2] + 2 * p[2:, 1:-1] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[:-2, 1:-1] + p[:-2, 2:])
        # (with the implementation's 1e-8 floor under the root, so flat areas match)
        rows.append(np.quantile(np.sqrt((gx * gx + gy * gy) / 16.0 + 1e-8), levels))
    return np.stack(rows)


def _flat_shapes(seed: int, side: int = 48) -> torch.Tensor:
    """A flat-colour 'print': a few constant rectangles, i.e. zero gradient but at edges."""
    g = torch.Generator().manual_seed(seed)
    image = torch.full((1, 3, side, side), -0.6)
    for _ in range(4):
        top, left = torch.randint(0, side - 12, (2,), generator=g).tolist()
        image[..., top : top + 12, left : left + 16] = torch.rand(3, 1, 1, generator=g) * 2 - 1
    return image


def test_brushwork_profile_is_the_gradient_magnitude_quantile_function() -> None:
    g = torch.Generator().manual_seed(3)
    images = torch.rand(2, 3, 24, 20, generator=g) * 2 - 1
    got = brushwork_profile(images).numpy()
    assert got.shape == (2, len(BRUSHWORK_SCALES), BRUSHWORK_LEVELS)
    for i in range(2):
        np.testing.assert_allclose(got[i], _profile_reference(images[i].numpy()), atol=2e-4)


def test_brushwork_loss_sees_surfaces_that_a_colour_filter_cannot_change() -> None:
    flat = _flat_shapes(0)
    target = brushwork_profile(flat)
    g = torch.Generator().manual_seed(4)
    textured = (flat + torch.randn(flat.shape, generator=g) * 0.15).clamp(-1, 1)
    tinted = flat * 0.8 + 0.1  # a colour filter of the same picture: same surfaces, less contrast
    # Reference: mean over scales of mean |quantile difference| / mean target magnitude.
    ref_target = _profile_reference(flat[0].numpy())
    ref_textured = _profile_reference(textured[0].numpy())
    expected = (np.abs(ref_textured - ref_target).mean(1) / (ref_target.mean(1) + 1e-6)).mean()
    assert float(brushwork_loss(textured, target)) == pytest.approx(expected, rel=1e-3)
    assert float(brushwork_loss(flat, target)) == pytest.approx(0.0, abs=1e-4)
    assert float(brushwork_loss(textured, target)) > 5 * float(brushwork_loss(tinted, target))


def test_brushwork_loss_pulls_a_noisy_output_towards_flat_areas() -> None:
    flat = _flat_shapes(1)
    target = brushwork_profile(flat)
    g = torch.Generator().manual_seed(5)
    noisy = (flat + torch.randn(flat.shape, generator=g) * 0.1).clamp(-1, 1)
    x = noisy.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([x], lr=0.01)
    before = float(brushwork_loss(x.detach(), target))
    for _ in range(60):
        optimiser.zero_grad()
        brushwork_loss(x, target).backward()
        optimiser.step()
    assert float(brushwork_loss(x.detach(), target)) < 0.5 * before
    # ... by smoothing the surfaces, not by going blank: the rectangles stay where they were.
    assert float((x.detach() - flat).abs().mean()) < float((noisy - flat).abs().mean())


def test_each_tradition_gets_its_artworks_brushwork_profile(tmp_path) -> None:
    from types import SimpleNamespace

    config = TrainConfig(
        styles=[StyleSource(name="a"), StyleSource(name="b")],
        content_paths=[str(tmp_path)], out_dir=str(tmp_path / "run"), method="multistyle",
        preset="lite", size=32, steps=2, batch_size=2, device="cpu", lambda_nce=0.0,
        lambda_palette=0.0, lambda_brushwork=2.0,
    )
    config.validate()
    method = method_class("multistyle")(config, plan_for("cpu"))
    g = torch.Generator().manual_seed(6)
    flat = [((_flat_shapes(k)[0] + 1) * 127.5).to(torch.uint8) for k in range(3)]
    noisy = [(torch.rand(3, 40, 36, generator=g) * 255).to(torch.uint8) for _ in range(2)]
    method.observe_styles([SimpleNamespace(images=flat), SimpleNamespace(images=noisy)])
    targets = [np.mean([_profile_reference(im.numpy() / 127.5 - 1.0) for im in images], 0)
               for images in (flat, noisy)]
    for k, expected in enumerate(targets):
        np.testing.assert_allclose(method.recipe.brushwork_targets[k].numpy(), expected,
                                   atol=2e-4)
    # Each output is judged against its own tradition's profile (weight 2).
    fake = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    heads = torch.tensor([1, 0])
    term = float(method.recipe.generator_terms(fake, fake, fake, heads)["brushwork"])
    expected = 2.0 * np.mean([
        (np.abs(_profile_reference(fake[i].numpy()) - targets[h]).mean(1)
         / (targets[h].mean(1) + 1e-6)).mean()
        for i, h in enumerate(heads.tolist())
    ])
    assert term == pytest.approx(expected, rel=1e-3)
    content = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    style = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    losses = method.train_step(content, style, torch.tensor([0, 1]))
    assert losses["brushwork"] > 0


def test_projected_critic_gives_a_map_per_tap_and_head() -> None:
    critic = ProjectedCritic([4, 6], n_heads=3, width=8)
    feats = [torch.randn(2, 4, 8, 8), torch.randn(2, 6, 4, 4)]
    maps = critic(feats)
    assert [m.shape for m in maps] == [(2, 3, 8, 8), (2, 3, 4, 4)]
    heads = torch.tensor([2, 0])
    picked = critic(feats, heads)
    assert torch.equal(picked[0][0, 0], maps[0][0, 2]) and torch.equal(picked[1][1, 0], maps[1][1, 0])
    assert torch.equal(pick_head(maps[0], 1), maps[0][:, 1:2])


def _config(tmp_path, method: str = "fastcut", **knobs) -> TrainConfig:
    styles = [StyleSource("a")] if method != "multistyle" else [StyleSource("a"), StyleSource("b")]
    cfg = TrainConfig(styles=styles, content_paths=["x"], out_dir=str(tmp_path), method=method,
                      preset="tiny", size=32, **knobs)
    cfg.validate()
    return cfg


@pytest.mark.parametrize("method", ["fastcut", "cut", "multistyle"])
def test_recipe_terms_train_the_networks_they_name(tmp_path, method: str) -> None:
    torch.manual_seed(0)
    cfg = _config(tmp_path, method, lambda_critic=1.0, lambda_style=1.0, lambda_content=1.0,
                  lambda_palette=1.0, d_scales=2)
    m = method_class(method)(cfg, plan_for("cpu"))
    critic_before = [p.detach().clone() for p in m.P.parameters()]
    g_before = [p.detach().clone() for p in m.G.parameters()]
    content = torch.rand(2, 3, 32, 32) * 2 - 1
    style = torch.rand(2, 3, 32, 32) * 2 - 1
    ids = torch.tensor([0, 1]) if method == "multistyle" else None
    losses = m.train_step(content, style, ids)
    for name in ("d", "critic_d", "g_gan", "critic", "style", "content", "palette", "nce"):
        assert name in losses and np.isfinite(losses[name]), name
    assert any(not torch.equal(a, b) for a, b in zip(critic_before, m.P.parameters(), strict=True))
    assert any(not torch.equal(a, b) for a, b in zip(g_before, m.G.parameters(), strict=True))
    # The critic is checkpointed and resumed with the method.
    assert any(k.startswith("net.P.") for k in m.state_tensors())
    assert any(k.startswith("optim.P") for k in m.state_tensors())


def test_without_pixel_gan_the_pixel_discriminator_is_left_alone(tmp_path) -> None:
    cfg = _config(tmp_path, lambda_gan=0.0, lambda_critic=1.0)
    m = method_class("fastcut")(cfg, plan_for("cpu"))
    before = [p.detach().clone() for p in m.D.parameters()]
    losses = m.train_step(torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1)
    assert "d" not in losses and "g_gan" not in losses and "critic" in losses
    assert all(torch.equal(a, b) for a, b in zip(before, m.D.parameters(), strict=True))


def test_teacher_term_is_l1_to_the_teachers_painting_in_the_tradition_style(tmp_path) -> None:
    from PIL import Image

    from ganstyle_desktop.engine.data import StyleSampler, TrainingImages
    from ganstyle_desktop.engine.style_prior import shared_prior
    from ganstyle_desktop.engine.style_teacher import shared_teacher

    torch.manual_seed(0)
    cfg = _config(tmp_path, "multistyle", lambda_teacher=2.0, lambda_palette=0.0)
    m = method_class("multistyle")(cfg, plan_for("cpu"))
    # Two traditions of flat pictures, one red and one blue: their mean embeddings differ.
    sources = [
        TrainingImages.from_images([Image.new("RGB", (40, 40), c) for _ in range(3)], 32)
        for c in ((200, 30, 30), (30, 30, 200))
    ]
    m.observe_styles(StyleSampler(sources).sources)
    prior = shared_prior("cpu")
    with torch.no_grad():
        red = prior.embedding(torch.tensor([200 / 255, 30 / 255, 30 / 255]).view(1, 3, 1, 1)
                              .expand(1, 3, 256, 256).contiguous())
    torch.testing.assert_close(m.recipe.tradition_embeddings[0], red[0], rtol=1e-4, atol=1e-4)
    content = torch.rand(2, 3, 64, 64) * 2 - 1
    fake = torch.rand(2, 3, 64, 64) * 2 - 1
    heads = torch.tensor([1, 0])
    jitter_state = m.rngs["jitter"].get_state()
    terms = m.recipe.generator_terms(fake, content, content, heads)
    # The definition: L1 to the teacher's painting of the same photo with its tradition's
    # mean embedding, plus half the relative squared error of the prior's features of both
    # (both views shifted by the same drawn amount).
    teacher = shared_teacher("cpu")
    replay = torch.Generator().manual_seed(0)
    replay.set_state(jitter_state)
    dy, dx = torch.randint(-8, 9, (4,), generator=replay).tolist()[:2]
    with torch.no_grad():
        target = teacher((content + 1) / 2, m.recipe.tradition_embeddings[heads]) * 2 - 1

        def feats(img):
            shifted = torch.nn.functional.pad(img, (8, 8, 8, 8), mode="reflect")
            shifted = shifted[:, :, 8 + dy : 8 + dy + 64, 8 + dx : 8 + dx + 64]
            return prior.features((shifted + 1) / 2, ("expanded_conv_2", "expanded_conv_5"))

        rel = [((a - b) ** 2).mean() / (b**2).mean() for a, b in zip(feats(fake), feats(target),
                                                                        strict=True)]
    expected = 2.0 * ((fake - target).abs().mean() + 0.5 * sum(rel) / 2)
    assert float(terms["teacher"]) == pytest.approx(float(expected), rel=1e-4)
    swapped = m.recipe.generator_terms(fake, content, content, heads.flip(0))["teacher"]
    assert float(swapped) != pytest.approx(float(terms["teacher"]))  # each its own tradition


def test_teacher_term_needs_the_style_sets(tmp_path) -> None:
    cfg = _config(tmp_path, lambda_teacher=1.0)
    m = method_class("fastcut")(cfg, plan_for("cpu"))
    with pytest.raises(RuntimeError, match="observe_styles"):
        m.train_step(torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1)


def test_a_run_with_every_recipe_term_resumes_exactly(tmp_path) -> None:
    from training_setup import tiny_config

    from ganstyle_desktop.engine.control import JobControl
    from ganstyle_desktop.engine.events import StepCompleted
    from ganstyle_desktop.engine.modelfile import load_model
    from ganstyle_desktop.engine.trainer import Trainer

    knobs = dict(steps=4, lambda_teacher=1.0, lambda_critic=0.5, lambda_style=1.0,
                 lambda_palette=0.5, lambda_brushwork=1.0, d_scales=2, checkpoint_every=2)
    straight = tiny_config(tmp_path / "a", "fastcut", **knobs)
    events = list(Trainer(straight).run())
    losses = [e.losses for e in events if isinstance(e, StepCompleted)]
    assert len(losses) == 4 and all(
        {"teacher", "critic", "style", "palette", "brushwork"} <= set(x) for x in losses
    )
    stopped = tiny_config(tmp_path / "b", "fastcut", **knobs)
    control = JobControl()
    for event in Trainer(stopped, control).run():
        if isinstance(event, StepCompleted) and event.step == 2:
            control.cancel()
    list(Trainer(stopped, resume=True).run())
    a = load_model(Path(straight.out_dir) / "model.safetensors").generator.state_dict()
    b = load_model(Path(stopped.out_dir) / "model.safetensors").generator.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
