"""CycleGAN (Zhu et al. 2017): photo->style G_A and style->photo G_B trained together
with cycle-consistency and identity losses; D_A judges paintings, D_B photos. Costs
about twice CUT per step, and yields the reverse (painting -> photo) model as well.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from ganstyle_desktop.engine.config import TrainConfig
from ganstyle_desktop.engine.devices import DevicePlan
from ganstyle_desktop.engine.losses import discriminator_loss, generator_adversarial_loss
from ganstyle_desktop.engine.nets import PatchDiscriminator, ResnetGenerator

from .adversarial import AdversarialMethod
from .weights import set_requires_grad


class ImagePool:
    """Shrivastava et al.'s history buffer: D sees past fakes half the time, which damps
    oscillation. Its randomness comes from its own generator so runs are reproducible."""

    def __init__(self, size: int, generator: torch.Generator) -> None:
        self.size = size
        self.generator = generator
        self.images: list[torch.Tensor] = []

    def query(self, batch: torch.Tensor) -> torch.Tensor:
        """Fakes for D's update, always detached: D's loss must not reach G's graph."""
        if self.size == 0:
            return batch.detach()
        out = []
        for image in batch.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
                continue
            if torch.rand(1, generator=self.generator).item() > 0.5:
                index = int(torch.randint(0, self.size, (1,), generator=self.generator).item())
                old = self.images[index]
                self.images[index] = image.clone()
                out.append(old.to(image.dtype))
            else:
                out.append(image)
        return torch.cat(out, dim=0)

    def state_tensor(self) -> torch.Tensor | None:
        if not self.images:
            return None
        return torch.cat(self.images, dim=0).detach().cpu().float().contiguous()

    def load_state_tensor(
        self, tensor: torch.Tensor | None, device: torch.device, dtype: torch.dtype
    ) -> None:
        self.images = [] if tensor is None else [t.unsqueeze(0).to(device, dtype) for t in tensor]


class CycleGAN(AdversarialMethod):
    name: ClassVar[str] = "cyclegan"

    def __init__(self, config: TrainConfig, plan: DevicePlan) -> None:
        super().__init__(config, plan)
        self.add_rng("augment")
        pool_rng = self.add_rng("pool")
        spec_g, spec_d = self.preset.generator, self.preset.discriminator
        self.G_A = self.add_network("G_A", ResnetGenerator(spec_g), ema=True)  # photo -> style
        self.G_B = self.add_network("G_B", ResnetGenerator(spec_g), ema=True)  # style -> photo
        self.D_A = self.add_network("D_A", PatchDiscriminator(spec_d))  # judges paintings
        self.D_B = self.add_network("D_B", PatchDiscriminator(spec_d))  # judges photos
        self.add_optimizer("G", [self.G_A, self.G_B])
        self.add_optimizer("D", [self.D_A, self.D_B])
        # One RNG stream for both pools: they are queried in a fixed order.
        self.pool_fake_style = ImagePool(config.pool_size, pool_rng)
        self.pool_fake_photo = ImagePool(config.pool_size, pool_rng)
        self._pool_dtype = torch.float32

    def train_step(
        self, content: torch.Tensor, style: torch.Tensor, style_ids: torch.Tensor | None = None
    ) -> dict[str, float]:
        del style_ids
        self.begin_step()
        cfg = self.config
        kind = cfg.gan_loss
        real_a, real_b = content, style

        # Generators (D frozen), as in the reference implementation.
        set_requires_grad([self.D_A, self.D_B], False)
        self.optimizers["G"].zero_grad(set_to_none=True)
        with self.plan.autocast():
            fake_b = self.G_A(real_a)
            rec_a = self.G_B(fake_b)
            fake_a = self.G_B(real_b)
            rec_b = self.G_A(fake_a)
            losses: dict[str, torch.Tensor] = {}
            if cfg.lambda_identity > 0:
                weight = cfg.lambda_cycle * cfg.lambda_identity
                losses["idt_a"] = F.l1_loss(self.G_A(real_b).float(), real_b.float()) * weight
                losses["idt_b"] = F.l1_loss(self.G_B(real_a).float(), real_a.float()) * weight
            losses["g_a"] = (
                generator_adversarial_loss(self.D_A(self.augment(fake_b)), kind) * cfg.lambda_gan
            )
            losses["g_b"] = (
                generator_adversarial_loss(self.D_B(self.augment(fake_a)), kind) * cfg.lambda_gan
            )
            losses["cycle_a"] = F.l1_loss(rec_a.float(), real_a.float()) * cfg.lambda_cycle
            losses["cycle_b"] = F.l1_loss(rec_b.float(), real_b.float()) * cfg.lambda_cycle
            loss_g = sum(losses.values())
        self.backward(loss_g)
        self.optimizer_step("G")

        # Discriminators on pooled past fakes.
        set_requires_grad([self.D_A, self.D_B], True)
        self.optimizers["D"].zero_grad(set_to_none=True)
        self._pool_dtype = fake_b.dtype
        # The pools hold the global batch's fakes (identical on every process).
        pooled_b = self.local_rows(self.pool_fake_style.query(self.global_batch(fake_b)))
        pooled_a = self.local_rows(self.pool_fake_photo.query(self.global_batch(fake_a)))
        with self.plan.autocast():
            loss_d_a = discriminator_loss(
                self.D_A(self.augment(real_b)), self.D_A(self.augment(pooled_b)), kind
            )
            loss_d_b = discriminator_loss(
                self.D_B(self.augment(real_a)), self.D_B(self.augment(pooled_a)), kind
            )
        self.backward(loss_d_a + loss_d_b)
        self.optimizer_step("D")
        self.end_step()
        losses["g_total"] = loss_g
        losses["d_a"] = loss_d_a
        losses["d_b"] = loss_d_b
        return {k: float(v.detach()) for k, v in losses.items()}

    def export_generator(self) -> nn.Module:
        return self.emas["G_A"].module.eval()

    def reverse_generator(self) -> nn.Module | None:
        return self.emas["G_B"].module.eval()

    # -- pools in the checkpoint ------------------------------------------------------------
    def extra_state_tensors(self) -> dict[str, torch.Tensor]:
        out = {}
        for key, pool in (
            ("pool.fake_style", self.pool_fake_style),
            ("pool.fake_photo", self.pool_fake_photo),
        ):
            tensor = pool.state_tensor()
            if tensor is not None:
                out[key] = tensor
        return out

    def load_extra_state(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        del meta
        device = self.plan.device
        self.pool_fake_style.load_state_tensor(
            tensors.get("pool.fake_style"), device, self._pool_dtype
        )
        self.pool_fake_photo.load_state_tensor(
            tensors.get("pool.fake_photo"), device, self._pool_dtype
        )
