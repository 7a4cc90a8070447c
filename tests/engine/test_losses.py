from __future__ import annotations

import pytest
import torch

from ganstyle_desktop.engine.losses import discriminator_loss, generator_adversarial_loss
from ganstyle_desktop.engine.optim import lr_factor


def test_lsgan_values() -> None:
    real = torch.full((2, 1, 3, 3), 1.0)
    fake = torch.zeros(2, 1, 3, 3)
    assert discriminator_loss(real, fake, "lsgan").item() == pytest.approx(0.0)
    # A fooled D: real scored 0, fake scored 1 -> 0.5 * (1 + 1)
    assert discriminator_loss(fake, real, "lsgan").item() == pytest.approx(1.0)
    assert generator_adversarial_loss(real, "lsgan").item() == pytest.approx(0.0)
    assert generator_adversarial_loss(
        torch.full((1, 1, 2, 2), 3.0), "lsgan"
    ).item() == pytest.approx(4.0)


def test_hinge_values() -> None:
    real = torch.tensor([2.0, 0.5])
    fake = torch.tensor([-2.0, 0.0])
    # relu(1 - real) = [0, .5] -> .25 ; relu(1 + fake) = [0, 1] -> .5
    assert discriminator_loss(real, fake, "hinge").item() == pytest.approx(0.75)
    assert generator_adversarial_loss(fake, "hinge").item() == pytest.approx(1.0)


def test_losses_have_gradients_and_reject_unknown_kind() -> None:
    logits = torch.randn(1, 1, 4, 4, requires_grad=True)
    for kind in ("lsgan", "hinge"):
        generator_adversarial_loss(logits, kind).backward()
        assert logits.grad is not None and torch.isfinite(logits.grad).all()
    with pytest.raises(ValueError, match="hinge"):
        discriminator_loss(logits, logits, "wgan")


def test_lr_schedule_constant_then_linear_to_zero() -> None:
    total = 10
    factors = [lr_factor(s, total, 0.5) for s in range(total)]
    assert factors[:5] == [1.0] * 5
    assert factors[5:] == pytest.approx([1.0, 0.8, 0.6, 0.4, 0.2])
    assert lr_factor(total, total, 0.5) == 0.0
    assert [lr_factor(s, 4, 0.0) for s in range(4)] == pytest.approx([1.0, 0.75, 0.5, 0.25])
    assert [lr_factor(s, 4, 1.0) for s in range(4)] == [1.0] * 4
