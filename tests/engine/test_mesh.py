"""The fine-mesh measure (the excess energy at the frequencies a 2x-upsampling generator
repeats at, every 2 and 4 pixels) against a reference written from the definition with
numpy's FFT, and the blurred teacher term."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganstyle_desktop.engine.config import StyleSource, TrainConfig
from ganstyle_desktop.engine.devices import plan_for
from ganstyle_desktop.engine.methods import method_class
from ganstyle_desktop.engine.metrics import MetricsError, lattice_energy, mesh_excess
from ganstyle_desktop.engine.prior_losses import gaussian_blur

LUMA = np.array([0.2126, 0.7152, 0.0722])


def _reference(image: np.ndarray) -> tuple[float, float]:
    """(peak, background) from the definition: Hann-windowed power spectrum of the mean-free
    Rec. 709 luma; at each (a h/4, b w/4) but (0, 0), the 3 x 3 bins around it, and the
    mean of the other bins of the 13 x 13 box around it, times 9."""
    rgb = (image.astype(np.float64) + 1.0) / 2.0  # 3 x H x W in [-1, 1] -> [0, 1]
    luma = np.tensordot(LUMA, rgb, axes=(0, 0))
    h, w = luma.shape
    window = np.outer(np.hanning(h), np.hanning(w))
    power = np.abs(np.fft.fft2((luma - luma.mean()) * window)) ** 2
    peak = background = 0.0
    for a in range(4):
        for b in range(4):
            if a == b == 0:
                continue
            fy, fx = a * h // 4, b * w // 4
            box = sum(power[(fy + i) % h, (fx + j) % w] for i in range(-1, 2) for j in range(-1, 2))
            ring = sum(power[(fy + i) % h, (fx + j) % w] for i in range(-6, 7) for j in range(-6, 7))
            peak += box
            background += (ring - box) / (169 - 9) * 9
    return peak, background


def _smooth(seed: int, side: int = 64) -> np.ndarray:
    """A photo-like image in [-1, 1]: noise low-passed by repeated box blurs (3 x H x W)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, side, side))
    for _ in range(6):
        x = (x + np.roll(x, 1, 1) + np.roll(x, -1, 1)) / 3
        x = (x + np.roll(x, 1, 2) + np.roll(x, -1, 2)) / 3
    return np.clip(x / np.abs(x).max() * 0.8, -1, 1)


def _meshed(image: np.ndarray, strength: float = 0.15) -> np.ndarray:
    """``image`` with a period-4 mesh printed over it, as nearest-neighbour upsampling
    leaves one: the same 4 x 4 tile repeated."""
    rng = np.random.default_rng(1)
    tile = rng.uniform(-1, 1, (4, 4))
    h, w = image.shape[1:]
    mesh = np.tile(tile, (h // 4, w // 4))
    return np.clip(image + strength * mesh[None], -1, 1)


def test_lattice_energy_is_the_reference_computation() -> None:
    images = [_smooth(0), _meshed(_smooth(2)), _meshed(_smooth(3, 48), 0.05)]
    for image in images:
        peak, background = lattice_energy(torch.from_numpy(image).float()[None])
        ref_peak, ref_background = _reference(image)
        assert float(peak[0]) == pytest.approx(ref_peak, rel=1e-3)
        assert float(background[0]) == pytest.approx(ref_background, rel=1e-3)


def test_the_measure_sees_a_mesh_and_not_a_photo() -> None:
    def pixels(image: np.ndarray) -> np.ndarray:
        return ((np.moveaxis(image, 0, 2) + 1) * 127.5).round().astype(np.uint8)

    photos = [pixels(_smooth(s)) for s in range(4)]
    meshed = [pixels(_meshed(_smooth(s))) for s in range(4)]
    assert mesh_excess(photos) < 1.5
    assert mesh_excess(meshed) > 5.0
    # The median over images of each one's peak over background.
    mixed = [meshed[0], photos[1], meshed[2]]
    ratios = [np.divide(*_reference(np.moveaxis(m, 2, 0) / 127.5 - 1.0)) for m in mixed]
    assert mesh_excess(mixed) == pytest.approx(float(np.median(ratios)), rel=1e-3)
    # A side that is not a multiple of 4 is measured on the part that is, not refused.
    assert mesh_excess([m[:63, :62] for m in meshed]) > 5.0
    with pytest.raises(MetricsError, match="too small"):
        mesh_excess([photos[0][:8, :8]])
    with pytest.raises(MetricsError):
        mesh_excess([])


def test_gaussian_blur_is_the_separable_gaussian() -> None:
    rng = np.random.default_rng(4)
    image = rng.uniform(-1, 1, (2, 3, 20, 18))
    sigma = 1.5
    radius = int(3 * sigma + 0.5)
    taps = np.exp(-np.arange(-radius, radius + 1) ** 2 / (2 * sigma**2))
    kernel = np.outer(taps, taps) / taps.sum() ** 2
    padded = np.pad(image, ((0, 0), (0, 0), (radius, radius), (radius, radius)), mode="reflect")
    expected = np.zeros_like(image)
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            expected += kernel[dy, dx] * padded[:, :, dy : dy + 20, dx : dx + 18]
    got = gaussian_blur(torch.from_numpy(image).float(), sigma).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)


def _painter_method(tmp_path, **knobs):
    from PIL import Image

    from ganstyle_desktop.engine.data import StyleSampler, TrainingImages

    config = TrainConfig(
        styles=[StyleSource(name="red"), StyleSource(name="blue")],
        content_paths=[str(tmp_path)], out_dir=str(tmp_path / "run"), method="multistyle",
        preset="painter", size=32, steps=2, batch_size=2, device="cpu",
        lambda_palette=0.0, lambda_brushwork=0.0, lambda_critic=0.0, **knobs,
    )
    config.validate()
    method = method_class("multistyle")(config, plan_for("cpu"))
    sources = [
        TrainingImages.from_images([Image.new("RGB", (40, 40), c) for _ in range(3)], 32)
        for c in ((200, 30, 30), (30, 30, 200))
    ]
    method.observe_styles(StyleSampler(sources).sources)
    return method


def test_the_blurred_teacher_is_l1_between_blurred_paintings(tmp_path) -> None:
    from ganstyle_desktop.engine.style_teacher import shared_teacher

    method = _painter_method(tmp_path, lambda_teacher=2.0, teacher_blur=2.0)
    g = torch.Generator().manual_seed(3)
    content = torch.rand(2, 3, 48, 48, generator=g) * 2 - 1
    fake = torch.rand(2, 3, 48, 48, generator=g) * 2 - 1
    heads = torch.tensor([1, 0])
    term = float(method.recipe.generator_terms(fake, content, content, heads)["teacher"])
    with torch.no_grad():
        codes = method.recipe.tradition_embeddings[heads]
        target = shared_teacher("cpu")((content + 1) / 2, codes) * 2 - 1
    expected = 2.0 * (gaussian_blur(fake, 2.0) - gaussian_blur(target, 2.0)).abs().mean()
    assert term == pytest.approx(float(expected), rel=1e-5)
    # It judges layout and colour only: a fine texture added to the output hardly moves it,
    # where the unblurred teacher (pixels and features) sees it.
    checker = torch.from_numpy(np.indices((48, 48)).sum(0) % 2 * 0.6 - 0.3).float()
    textured = target + checker  # unclamped: the blur averages the checks away exactly
    blurred_gap = float(method.recipe.generator_terms(textured, content, content, heads)
                        ["teacher"])
    plain = _painter_method(tmp_path, lambda_teacher=2.0)
    plain_gap = float(plain.recipe.generator_terms(textured, content, content, heads)
                      ["teacher"])
    assert blurred_gap < 0.2 * plain_gap


def test_teacher_blur_is_checked(tmp_path) -> None:
    with pytest.raises(Exception, match="teacher_blur"):
        TrainConfig(styles=[StyleSource(name="a")], content_paths=[str(tmp_path)],
                    out_dir=str(tmp_path / "r"), teacher_blur=-1.0).validate()
