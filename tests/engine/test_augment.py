from __future__ import annotations

import pytest
import torch
from method_references import clone_generator
from method_references import diff_augment as reference_diff_augment

from ganstyle_desktop.engine.augment import POLICIES, diff_augment

POLICY = "color,translation,cutout"


def _batch() -> torch.Tensor:
    return torch.rand(3, 3, 16, 20, generator=torch.Generator().manual_seed(0)) * 2 - 1


def test_deterministic_under_seeded_generator_and_shape_preserving() -> None:
    x = _batch()
    a = diff_augment(x, POLICY, torch.Generator().manual_seed(5))
    b = diff_augment(x, POLICY, torch.Generator().manual_seed(5))
    c = diff_augment(x, POLICY, torch.Generator().manual_seed(6))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert not torch.equal(a, x)


def test_does_not_touch_global_rng() -> None:
    torch.manual_seed(123)
    expected = torch.rand(4)
    torch.manual_seed(123)
    diff_augment(_batch(), POLICY, torch.Generator().manual_seed(1))
    assert torch.equal(torch.rand(4), expected)


@pytest.mark.parametrize("policy", ["color", "translation", "cutout"])
def test_each_policy_changes_images_and_passes_gradients(policy: str) -> None:
    x = _batch().requires_grad_(True)
    y = diff_augment(x, policy, torch.Generator().manual_seed(2))
    assert y.shape == x.shape
    assert not torch.equal(y.detach(), x.detach())
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_cutout_zeroes_a_region_and_translation_keeps_values() -> None:
    x = torch.ones(2, 3, 16, 16)
    cut = diff_augment(x, "cutout", torch.Generator().manual_seed(0))
    zero_fraction = (cut == 0).float().mean().item()
    assert 0.05 < zero_fraction <= 0.25 + 1e-6  # a half-side square, possibly clipped
    moved = diff_augment(x, "translation", torch.Generator().manual_seed(0))
    assert set(moved.unique().tolist()) <= {0.0, 1.0}


def test_empty_policy_is_identity_and_unknown_is_refused() -> None:
    x = _batch()
    assert torch.equal(diff_augment(x, "", torch.Generator()), x)
    with pytest.raises(ValueError, match="blur"):
        diff_augment(x, "color,blur", torch.Generator())


# -- against the reference written from Zhao et al. 2020 (method_references.py) ---------------


@pytest.mark.parametrize("policy", [*POLICIES, "color,translation,cutout", "translation,cutout"])
@pytest.mark.parametrize("shape", [(3, 3, 16, 20), (2, 3, 15, 9)])
def test_matches_the_reference_draw_for_draw(policy: str, shape: tuple[int, ...]) -> None:
    x = torch.rand(*shape, generator=torch.Generator().manual_seed(1)) * 2 - 1
    for seed in range(4):
        rng = torch.Generator().manual_seed(seed)
        twin = clone_generator(rng)
        got = diff_augment(x, policy, rng)
        expected = reference_diff_augment(x, policy, twin)
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
        # The same random numbers were consumed: the next draw agrees.
        assert torch.equal(torch.rand(3, generator=rng), torch.rand(3, generator=twin))


def test_translation_moves_by_at_most_an_eighth_and_fills_with_zero() -> None:
    x = torch.arange(1, 1 + 16 * 24, dtype=torch.float32).view(1, 1, 16, 24).repeat(8, 3, 1, 1)
    out = diff_augment(x, "translation", torch.Generator().manual_seed(3))
    for img in out:
        values = img[0]
        inside = values[values > 0]
        # The surviving pixels are one shifted block of the input: find the shift.
        first = int(inside[0]) - 1
        dy, dx = first // 24, first % 24
        ys, xs = (values > 0).nonzero(as_tuple=True)
        dy -= int(ys.min())
        dx -= int(xs.min())
        assert abs(dy) <= 2 and abs(dx) <= 3  # 16/8 and 24/8
        assert torch.equal(values[ys, xs], x[0, 0, ys + dy, xs + dx])
        assert (values == 0).sum() == 16 * 24 - (16 - abs(dy)) * (24 - abs(dx))


def test_cutout_zeroes_one_half_side_rectangle() -> None:
    x = torch.ones(16, 1, 12, 16)
    out = diff_augment(x, "cutout", torch.Generator().manual_seed(4))
    for img in out[:, 0]:
        ys, xs = (img == 0).nonzero(as_tuple=True)
        assert ys.numel() > 0
        h, w = int(ys.max() - ys.min()) + 1, int(xs.max() - xs.min()) + 1
        assert ys.numel() == h * w  # one rectangle
        assert h <= 6 and w <= 8  # half of each side, clipped at the border
        assert (h == 6 or ys.min() == 0 or ys.max() == 11) and (
            w == 8 or xs.min() == 0 or xs.max() == 15
        )
