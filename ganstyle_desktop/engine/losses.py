"""Adversarial losses: least-squares GAN and hinge GAN, on PatchGAN logit maps."""

from __future__ import annotations

import torch
from torch.nn import functional as F

GAN_LOSS_KINDS = ("lsgan", "hinge")


def _check(kind: str) -> None:
    if kind not in GAN_LOSS_KINDS:
        raise ValueError(f"Unknown GAN loss {kind!r}; choose one of {', '.join(GAN_LOSS_KINDS)}.")


Logits = torch.Tensor | list[torch.Tensor]


def discriminator_loss(real_logits: Logits, fake_logits: Logits, kind: str) -> torch.Tensor:
    """Loss of the discriminator that should call ``real`` real and ``fake`` fake.

    LSGAN halves the sum as CycleGAN/CUT do, so D learns at half G's pace. Lists (one map
    per scale of a multi-scale discriminator) give the mean over scales.
    """
    _check(kind)
    if isinstance(real_logits, (list, tuple)):
        pairs = list(zip(real_logits, fake_logits, strict=True))
        return sum(discriminator_loss(r, f, kind) for r, f in pairs) / len(pairs)
    real_logits = real_logits.float()
    fake_logits = fake_logits.float()
    if kind == "lsgan":
        real = F.mse_loss(real_logits, torch.ones_like(real_logits))
        fake = F.mse_loss(fake_logits, torch.zeros_like(fake_logits))
        return 0.5 * (real + fake)
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def generator_adversarial_loss(fake_logits: Logits, kind: str) -> torch.Tensor:
    """Loss of the generator that wants its ``fake`` outputs called real (mean over scales)."""
    _check(kind)
    if isinstance(fake_logits, (list, tuple)):
        return sum(generator_adversarial_loss(f, kind) for f in fake_logits) / len(fake_logits)
    fake_logits = fake_logits.float()
    if kind == "lsgan":
        return F.mse_loss(fake_logits, torch.ones_like(fake_logits))
    return -fake_logits.mean()


def fake_term(logits: Logits, kind: str) -> torch.Tensor:
    """The "call it fake" half of :func:`discriminator_loss`, at the same scale."""
    _check(kind)
    if isinstance(logits, (list, tuple)):
        return sum(fake_term(x, kind) for x in logits) / len(logits)
    logits = logits.float()
    if kind == "lsgan":
        return 0.5 * (logits**2).mean()
    return torch.relu(1.0 + logits).mean()
