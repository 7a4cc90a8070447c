"""The contract every training method fulfils; the trainer only talks to this."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import torch
from torch import nn

from ganstyle_desktop.engine.config import TrainConfig
from ganstyle_desktop.engine.devices import DevicePlan


class TrainingMethod(ABC):
    """Owns the networks, optimizers and LR schedulers of one unpaired GAN method.

    Batches arrive as float tensors in [-1, 1], NCHW, already on ``plan.device``.
    ``style_ids`` (LongTensor, one per style image) is only meaningful for multi-style.
    """

    name: ClassVar[str]

    def __init__(self, config: TrainConfig, plan: DevicePlan) -> None:
        self.config = config
        self.plan = plan

    @abstractmethod
    def train_step(
        self, content: torch.Tensor, style: torch.Tensor, style_ids: torch.Tensor | None = None
    ) -> dict[str, float]:
        """One optimisation step of every network; returns scalar losses by name."""

    @abstractmethod
    def export_generator(self) -> nn.Module:
        """The generator to preview and ship (the EMA copy), in eval mode."""

    def reverse_generator(self) -> nn.Module | None:
        """Painting -> photo generator, for methods that learn one (CycleGAN)."""
        return None

    @abstractmethod
    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Every tensor needed to resume exactly: weights, EMA, optimizer moments."""

    @abstractmethod
    def state_meta(self) -> dict:
        """JSON-able non-tensor state (scheduler counters, optimizer hyper-params, pools)."""

    @abstractmethod
    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        """Inverse of :meth:`state_tensors` + :meth:`state_meta`."""

    @abstractmethod
    def learning_rate(self) -> float:
        """The current generator learning rate (for display)."""

    def attach_data_parallel(self) -> None:
        """Train from here on as one of several processes (``plan.parallel``): called by
        the trainer once the networks are built and any checkpoint is loaded."""
        raise NotImplementedError(f"{self.name} cannot train in several processes yet")
