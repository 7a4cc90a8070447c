"""Weight initialisation and grad switching shared by the methods."""

from __future__ import annotations

import torch
from torch import nn

from ganstyle_desktop.engine.nets import FreezableInstanceNorm2d


@torch.no_grad()
def init_weights(module: nn.Module, generator: torch.Generator, gain: float = 0.02) -> None:
    """CycleGAN/CUT's normal(0, 0.02) init, drawn from ``generator`` (not the global RNG)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            w = torch.randn(m.weight.shape, generator=generator) * gain
            m.weight.copy_(w.to(m.weight.device, m.weight.dtype))
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, FreezableInstanceNorm2d) and m.affine:
            m.weight.fill_(1.0)
            m.bias.zero_()


def set_requires_grad(modules: list[nn.Module] | nn.Module, flag: bool) -> None:
    if isinstance(modules, nn.Module):
        modules = [modules]
    for module in modules:
        for p in module.parameters():
            p.requires_grad_(flag)
