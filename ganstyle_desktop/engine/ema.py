"""Exponential moving average of a generator's weights: smoother previews and exports."""

from __future__ import annotations

import copy

import torch
from torch import nn


class ModelEMA:
    """Keeps ``.module``, an eval-mode copy whose weights trail the trained model's.

    The effective decay ramps up as ``min(decay, (1 + n) / (10 + n))`` after ``n`` updates
    so that short runs (and early previews) are not dominated by the random init.
    """

    def __init__(self, model: nn.Module, decay: float = 0.999) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1); got {decay}")
        self.decay = decay
        self.updates = 0
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)

    def current_decay(self) -> float:
        return min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        d = self.current_decay()
        self.updates += 1
        source = dict(model.named_parameters())
        for name, p in self.module.named_parameters():
            p.lerp_(source[name].detach().to(p.dtype), 1.0 - d)
        source_buffers = dict(model.named_buffers())
        for name, b in self.module.named_buffers():
            b.copy_(source_buffers[name])

    # -- resume ---------------------------------------------------------------------------
    def state_tensors(self, prefix: str = "ema.") -> dict[str, torch.Tensor]:
        return {prefix + k: v for k, v in self.module.state_dict().items()}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor], prefix: str = "ema.") -> None:
        state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        self.module.load_state_dict(state, strict=True)

    def state_meta(self) -> dict:
        return {"decay": self.decay, "updates": self.updates}

    def load_state_meta(self, meta: dict) -> None:
        self.decay = float(meta["decay"])
        self.updates = int(meta["updates"])
