from __future__ import annotations

import pytest
import torch

from ganstyle_desktop.engine.augment import diff_augment

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
