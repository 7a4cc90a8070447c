"""The fine-mesh measure and the mesh term: the excess energy at the frequencies a
2x-upsampling generator repeats at (every 2 and 4 pixels), against a reference written
from the definition with numpy's FFT."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganstyle_desktop.engine.config import StyleSource, TrainConfig, default_knob_values
from ganstyle_desktop.engine.devices import plan_for
from ganstyle_desktop.engine.methods import method_class
from ganstyle_desktop.engine.metrics import MetricsError, mesh_excess
from ganstyle_desktop.engine.prior_losses import lattice_energy, lattice_loss

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
    # A side that is not a multiple of 4 is measured on the part that is, not refused.
    assert mesh_excess([m[:63, :62] for m in meshed]) > 5.0
    with pytest.raises(MetricsError, match="too small"):
        mesh_excess([photos[0][:8, :8]])
    with pytest.raises(MetricsError):
        mesh_excess([])


def test_the_mesh_term_removes_the_mesh_and_keeps_the_picture() -> None:
    clean = torch.from_numpy(_smooth(5)).float()[None]
    meshed = torch.from_numpy(_meshed(_smooth(5))).float()[None]
    assert float(lattice_loss(clean)) == pytest.approx(0.0, abs=0.05)
    before = float(lattice_loss(meshed))
    assert before > 1.0
    x = meshed.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([x], lr=0.01)
    for _ in range(60):
        optimiser.zero_grad()
        lattice_loss(x).backward()
        optimiser.step()
    after = float(lattice_loss(x.detach()))
    assert after < 0.25 * before
    # The mesh went, not the picture: nearer the clean image than the meshed one was.
    assert float((x.detach() - clean).abs().mean()) < float((meshed - clean).abs().mean())


def test_the_mesh_term_is_a_recipe_knob_off_by_default(tmp_path) -> None:
    assert default_knob_values("multistyle", "painter")["lambda_lattice"] == 0.0
    assert default_knob_values("fastcut", "lite")["lambda_lattice"] == 0.0

    def method_with(weight: float | None):
        config = TrainConfig(
            styles=[StyleSource(name="a"), StyleSource(name="b")],
            content_paths=[str(tmp_path)], out_dir=str(tmp_path / "run"),
            method="multistyle", preset="lite", size=32, steps=2, batch_size=2,
            device="cpu", lambda_nce=0.0, lambda_palette=0.0, lambda_lattice=weight,
        )
        config.validate()
        return method_class("multistyle")(config, plan_for("cpu"))

    fake = torch.from_numpy(np.stack([_meshed(_smooth(7, 32)), _meshed(_smooth(8, 32))]))
    fake = fake.float()
    heads = torch.tensor([0, 1])
    assert "lattice" not in method_with(None).recipe.generator_terms(fake, fake, fake, heads)
    terms = method_with(2.0).recipe.generator_terms(fake, fake, fake, heads)
    assert float(terms["lattice"]) == pytest.approx(2.0 * float(lattice_loss(fake)), rel=1e-6)
    with pytest.raises(Exception, match="lambda_lattice"):
        TrainConfig(styles=[StyleSource(name="a")], content_paths=[str(tmp_path)],
                    out_dir=str(tmp_path / "r"), lambda_lattice=-1.0).validate()
