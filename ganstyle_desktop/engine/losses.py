"""Adversarial losses: least-squares GAN and hinge GAN, on PatchGAN logit maps."""

from __future__ import annotations

import torch
from torch.nn import functional as F

GAN_LOSS_KINDS = ("lsgan", "hinge")


def _check(kind: str) -> None:
    if kind not in GAN_LOSS_KINDS:
        raise ValueError(f"Unknown GAN loss {kind!r}; choose one of {', '.join(GAN_LOSS_KINDS)}.")


def discriminator_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, kind: str
) -> torch.Tensor:
    """Loss of the discriminator that should call ``real`` real and ``fake`` fake.

    LSGAN halves the sum as CycleGAN/CUT do, so D learns at half G's pace.
    """
    _check(kind)
    real_logits = real_logits.float()
    fake_logits = fake_logits.float()
    if kind == "lsgan":
        real = F.mse_loss(real_logits, torch.ones_like(real_logits))
        fake = F.mse_loss(fake_logits, torch.zeros_like(fake_logits))
        return 0.5 * (real + fake)
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def generator_adversarial_loss(fake_logits: torch.Tensor, kind: str) -> torch.Tensor:
    """Loss of the generator that wants its ``fake`` outputs called real."""
    _check(kind)
    fake_logits = fake_logits.float()
    if kind == "lsgan":
        return F.mse_loss(fake_logits, torch.ones_like(fake_logits))
    return -fake_logits.mean()
