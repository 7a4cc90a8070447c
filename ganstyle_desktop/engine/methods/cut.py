"""CUT and FastCUT (Park et al. 2020): one generator trained with a GAN loss plus
PatchNCE, which keeps each output patch tied to the input patch it came from.

CUT adds an identity PatchNCE term on style images (G(style) should keep the style
image's patches), which regularises colour shifts; FastCUT drops it, weights NCE by 10
and trains on randomly flipped inputs whose features are flipped back
(flip-equivariance), which is about 1.5x faster per step.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from ganstyle_desktop.engine.config import TrainConfig, default_knob_values
from ganstyle_desktop.engine.devices import DevicePlan
from ganstyle_desktop.engine.losses import discriminator_loss, generator_adversarial_loss
from ganstyle_desktop.engine.nce import PatchNCE
from ganstyle_desktop.engine.nets import ResnetGenerator, make_discriminator

from .adversarial import AdversarialMethod
from .recipe import RecipeTerms
from .weights import set_requires_grad


class CUT(AdversarialMethod):
    name: ClassVar[str] = "cut"
    nce_idt: ClassVar[bool] = True
    flip_equivariance: ClassVar[bool] = False
    num_patches: ClassVar[int] = 256

    def __init__(self, config: TrainConfig, plan: DevicePlan) -> None:
        super().__init__(config, plan)
        self.lambda_nce = (
            config.lambda_nce
            if config.lambda_nce is not None
            else default_knob_values(self.name, config.preset)["lambda_nce"]
        )
        self.add_rng("augment")
        self.add_rng("nce")
        self.add_rng("flip")
        self.G: ResnetGenerator = self.add_network(
            "G", ResnetGenerator(self.preset.generator), ema=True
        )
        self.D = self.add_network(
            "D", make_discriminator(self.preset.discriminator, config.d_scales)
        )
        self.nce = self.add_network("F", PatchNCE(self.G, num_patches=self.num_patches))
        self.add_optimizer("G", [self.G])
        self.add_optimizer("D", [self.D])
        self.add_optimizer("F", [self.nce])
        self.recipe = RecipeTerms(self)

    def train_step(
        self, content: torch.Tensor, style: torch.Tensor, style_ids: torch.Tensor | None = None
    ) -> dict[str, float]:
        del style_ids
        self.begin_step()
        n = content.shape[0]
        flipped = False
        if self.flip_equivariance:
            flipped = bool(torch.rand(1, generator=self.rngs["flip"]).item() < 0.5)
        real = torch.cat([content, style], dim=0) if self.nce_idt else content
        if flipped:
            real = torch.flip(real, dims=[3])
        kind = self.config.gan_loss

        with self.plan.autocast():
            fake_all = self.G(real)
        fake = fake_all[:n]
        idt = fake_all[n:] if self.nce_idt else None

        # Discriminators: real style vs. (detached) translations, both augmented.
        set_requires_grad(self.D, True)
        self.optimizers["D"].zero_grad(set_to_none=True)
        if self.recipe.critic is not None:
            self.optimizers["P"].zero_grad(set_to_none=True)
        losses: dict[str, torch.Tensor] = {}
        with self.plan.autocast():
            loss_d = torch.zeros((), device=fake.device)
            if self.config.lambda_gan > 0:
                loss_d = discriminator_loss(
                    self.D(self.augment(style)), self.D(self.augment(fake.detach())), kind
                )
                losses["d"] = loss_d
            loss_p = self.recipe.critic_loss(style, fake)
            if loss_p is not None:
                losses["critic_d"] = loss_p
                loss_d = loss_d + loss_p
        if loss_d.requires_grad:
            self.backward(loss_d)
            self.optimizer_step("D")
            if self.recipe.critic is not None:
                self.optimizer_step("P")

        # Generator and projection heads.
        set_requires_grad(self.D, False)
        self.optimizers["G"].zero_grad(set_to_none=True)
        self.optimizers["F"].zero_grad(set_to_none=True)
        nce_rng = self.rngs["nce"]
        with self.plan.autocast():
            loss_g = torch.zeros((), device=fake.device)
            if self.config.lambda_gan > 0:
                loss_gan = generator_adversarial_loss(self.D(self.augment(fake)), kind)
                losses["g_gan"] = loss_gan * self.config.lambda_gan
                loss_g = loss_g + losses["g_gan"]
            loss_nce = self.nce(self.G, content, fake, nce_rng, flip_target=flipped)
            loss_nce = loss_nce * self.lambda_nce
            losses["nce"] = loss_nce
            if idt is not None:
                loss_idt = self.nce(self.G, style, idt, nce_rng, flip_target=flipped)
                loss_idt = loss_idt * self.lambda_nce
                losses["nce_idt"] = loss_idt
                nce_total = 0.5 * (loss_nce + loss_idt)
            else:
                nce_total = loss_nce
            loss_g = loss_g + nce_total
            # The recipe's terms compare the output with the photo in its own orientation.
            fake_upright = torch.flip(fake, dims=[3]) if flipped else fake
            for name, term in self.recipe.generator_terms(fake_upright, content, style).items():
                losses[name] = term
                loss_g = loss_g + term
        self.backward(loss_g)
        self.optimizer_step("G")
        self.optimizer_step("F")
        set_requires_grad(self.D, True)
        self.end_step()
        losses["g_total"] = loss_g
        return {k: float(v.detach()) for k, v in losses.items()}

    def observe_styles(self, sources) -> None:
        """The trainer hands over the loaded style sets before the first step."""
        self.recipe.observe_styles(sources)

    def export_generator(self) -> nn.Module:
        return self.emas["G"].module.eval()


class FastCUT(CUT):
    name: ClassVar[str] = "fastcut"
    nce_idt: ClassVar[bool] = False
    flip_equivariance: ClassVar[bool] = True
