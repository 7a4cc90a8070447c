"""Multi-style training: one generator for several traditions (StarGAN v2 style).

- :class:`~..multistyle_nets.MultiStyleGenerator`: one learned embedding per tradition
  modulates the decoder's instance norms;
- a :class:`~..nets.PatchDiscriminator` with one PatchGAN head per tradition: each style
  image is judged by its own tradition's head, each translation by its target's head;
- FastCUT's PatchNCE content constraint (flip-equivariant, lambda 10) in the shared,
  unconditioned encoder, so content is kept the same way whatever the tradition;
- DiffAugment before D and an EMA generator for previews and export.

What makes the traditions differ on a CPU budget (without these, the GAN's mostly
tradition-independent "look painted" gradient gives every tradition one average look for
thousands of steps; measured on the starter data, see models/TRAINING.md):

- each head also learns that artworks of *other* traditions are not its tradition
  (StarGAN's discriminative signal, reusing the same logit maps: no extra pass);
- the style path (embeddings + mapping MLP) learns ``style_lr_mult`` times faster;
- a palette term that matches colour *distributions*: the sliced Wasserstein distance
  between each output's pixel colours and those of an artwork of its tradition (an earlier
  version pulled every output's mean colour toward one running mean per tradition, which
  gave every photo the same cast whatever its own colours);
- the style recipe's prior terms when the configuration switches them on (a projected
  critic with one head per tradition, the prior's style loss; :mod:`.recipe`).

Extending a trained model (``config.init_model``): the model's generator is loaded, one
embedding row is appended per new tradition, and only those rows train (with a fresh
discriminator and projection heads, which the model file does not carry). Every other
generator weight is frozen, so the traditions the model already knew render exactly as
before.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from ganstyle_desktop.engine.config import ConfigError, TrainConfig, default_knob_values
from ganstyle_desktop.engine.devices import DevicePlan
from ganstyle_desktop.engine.ema import ModelEMA
from ganstyle_desktop.engine.losses import (
    discriminator_loss,
    fake_term,
    generator_adversarial_loss,
)
from ganstyle_desktop.engine.multistyle_nets import MultiStyleGenerator
from ganstyle_desktop.engine.nce import PatchNCE
from ganstyle_desktop.engine.nets import make_discriminator
from ganstyle_desktop.engine.optim import make_adam, seeded_generator
from ganstyle_desktop.engine.painter_nets import PainterGenerator

from .adversarial import AdversarialMethod
from .recipe import RecipeTerms
from .weights import set_requires_grad

log = logging.getLogger(__name__)

STYLE_INIT_SALT = 9001


def tradition_entry(source) -> dict:  # source: config.StyleSource
    """A card's tradition record from a training style source."""
    entry = {"slug": source.name, "name": source.display_name or source.name}
    entry.update({str(k): str(v) for k, v in (source.tags or {}).items()})
    return entry


class MultiStyle(AdversarialMethod):
    name: ClassVar[str] = "multistyle"
    num_patches: ClassVar[int] = 256
    style_lr_mult: ClassVar[float] = 10.0

    def __init__(self, config: TrainConfig, plan: DevicePlan) -> None:
        super().__init__(config, plan)
        # The painter's encoder is pretrained and its teacher term keeps the content.
        default_nce = default_knob_values(self.name, config.preset)["lambda_nce"]
        self.lambda_nce = config.lambda_nce if config.lambda_nce is not None else default_nce
        self.add_rng("augment")
        self.add_rng("nce")
        self.add_rng("flip")
        self.add_rng("heads")
        slugs = [s.name for s in config.styles]
        if len(set(slugs)) != len(slugs):
            raise ConfigError(f"Each tradition needs its own name; got {slugs}.")

        base = _load_base(config.init_model) if config.init_model else None
        self.finetune = base is not None
        if base is None:
            if self.preset.is_painter:
                generator = PainterGenerator.pretrained(slugs)
            else:
                generator = MultiStyleGenerator(self.preset.generator, slugs)
            self.base_traditions: list[dict] = []
            self.base_provenance: list[dict] = []
            self.style_offset = 0
        else:
            generator, self.base_traditions, self.base_provenance = base
            known = [s for s in slugs if s in generator.traditions]
            if known:
                raise ConfigError(
                    f"{config.init_model} already knows {', '.join(known)}; "
                    "give only new traditions to add."
                )
            self.style_offset = generator.n_styles
            for slug in slugs:
                generator.add_tradition(slug)

        self.painter = isinstance(generator, PainterGenerator)
        keep = base is not None or self.painter
        base_state = {k: v.clone() for k, v in generator.state_dict().items()} if keep else None
        self.G: MultiStyleGenerator = self.add_network("G", generator, ema=False)
        if base_state is not None:
            # add_network re-initialised every layer: put the trained (or pretrained)
            # weights back.
            self.G.load_state_dict(base_state)
        else:
            _init_style_path(self.G, config.seed)
        self.new_rows = [self.G.embeddings[self.style_offset + i] for i in range(len(slugs))]
        if self.finetune:
            set_requires_grad(self.G, False)
            for row in self.new_rows:
                row.requires_grad_(True)
        self.emas["G"] = ModelEMA(self.G, config.ema_decay)

        self.D = self.add_network(
            "D", make_discriminator(self.preset.discriminator, config.d_scales, len(slugs))
        )
        self.nce = self.add_network("F", PatchNCE(self.G, num_patches=self.num_patches))
        if self.finetune:
            self.optimizers["G"] = make_adam(self.new_rows, config.lr)
        else:
            style_path = {id(p) for p in [*self.G.embeddings, *self.G.mapping.parameters()]}
            self.optimizers["G"] = make_adam(
                [p for p in self.G.parameters() if id(p) not in style_path], config.lr
            )
            # The style path learns faster (see begin_step): with one shared lr the
            # traditions stay one average look for thousands of steps.
            self.optimizers["G"].add_param_group(
                {"params": [p for p in self.G.parameters() if id(p) in style_path]}
            )
        self.add_optimizer("D", [self.D])
        self.add_optimizer("F", [self.nce])
        self.recipe = RecipeTerms(
            self,
            n_heads=len(slugs),
            needs_embeddings=self.painter or config.wrong_head_nearest > 0,
        )
        if config.wrong_head_nearest > 0:  # only then: older checkpoints have no such stream
            self.add_rng("nearest")
        self._nearest: torch.Tensor | None = None  # per tradition, its closest other one

    # -- card information -------------------------------------------------------------------
    def traditions(self) -> list[dict]:
        """Card records of every tradition the exported generator knows, in index order."""
        return list(self.base_traditions) + [tradition_entry(s) for s in self.config.styles]

    def card_fields(self) -> dict:
        """What a model card of this method's export needs beyond the common fields."""
        fields = {
            "kind": "multistyle",
            "architecture": self.G.architecture(),
            "traditions": self.traditions(),
        }
        if self.finetune:  # the extended model still owes its old traditions to their data
            new = [dict(row) for s in self.config.styles for row in s.provenance]
            fields["data_provenance"] = list(self.base_provenance) + new
        if self.painter and not any(
            row.get("role") == PRETRAINED_ROLE for row in self.base_provenance
        ):
            own = fields.get("data_provenance") or [
                dict(row) for s in self.config.styles for row in s.provenance
            ]
            fields["data_provenance"] = [pretrained_provenance(), *own]
        return fields

    # -- training ---------------------------------------------------------------------------
    def begin_step(self) -> None:
        super().begin_step()
        groups = self.optimizers["G"].param_groups
        # The painter's style path is pretrained: it learns at the common rate.
        mult = 1.0 if self.painter else self.style_lr_mult
        for group in groups[1:]:
            group["lr"] = self.learning_rate() * mult
        if self.finetune:  # only new rows train: they are the style path
            groups[0]["lr"] = self.learning_rate() * mult

    def train_step(
        self, content: torch.Tensor, style: torch.Tensor, style_ids: torch.Tensor | None = None
    ) -> dict[str, float]:
        self.begin_step()
        if style_ids is None:
            style_ids = torch.zeros(style.shape[0], dtype=torch.long)
        real_ids = style_ids.to(style.device).long()
        n = content.shape[0]
        heads = real_ids
        paired_style = style
        if heads.shape[0] != n:
            # Each translation targets one sampled style image's tradition.
            reps = (n + heads.shape[0] - 1) // heads.shape[0]
            heads = heads.repeat(reps)[:n]
            paired_style = style.repeat(reps, 1, 1, 1)[:n]
        targets = heads + self.style_offset
        flipped = bool(torch.rand(1, generator=self.rngs["flip"]).item() < 0.5)
        real = torch.flip(content, dims=[3]) if flipped else content
        kind = self.config.gan_loss
        n_heads = len(self.config.styles)

        with self.plan.autocast():
            fake = self.G(real, targets)

        # An artwork of tradition u is also "not this tradition" for another head t
        # (StarGAN-style): heads learn what sets traditions apart, so G must give each
        # tradition its own look instead of one average style.
        wrong_ids = None
        if n_heads > 1:
            # Drawn for the whole step's batch; each process keeps its own rows.
            shift = torch.randint(
                1, n_heads, (self.global_rows(real_ids.shape[0]),), generator=self.rngs["heads"]
            )
            shift = self.local_rows(shift).to(real_ids.device)
            wrong_ids = (real_ids + shift) % n_heads
            wrong_ids = self._towards_nearest(real_ids, wrong_ids)

        set_requires_grad(self.D, True)
        self.optimizers["D"].zero_grad(set_to_none=True)
        if self.recipe.critic is not None:
            self.optimizers["P"].zero_grad(set_to_none=True)
        losses: dict[str, torch.Tensor] = {}
        with self.plan.autocast():
            loss_d = torch.zeros((), device=fake.device)
            if self.config.lambda_gan > 0:
                all_heads = self.D(self.augment(style))  # every head's map: one trunk pass
                real_logits = _pick(all_heads, real_ids)
                fake_logits = self.D(self.augment(fake.detach()), heads)
                loss_d = discriminator_loss(real_logits, fake_logits, kind)
                if wrong_ids is not None:
                    wrong = _pick(all_heads, wrong_ids)
                    loss_d = loss_d + self.config.lambda_wrong_head * fake_term(wrong, kind)
                losses["d"] = loss_d
            loss_p = self.recipe.critic_loss(
                style, fake, real_ids, heads, wrong_ids, self.config.lambda_wrong_head
            )
            if loss_p is not None:
                losses["critic_d"] = loss_p
                loss_d = loss_d + loss_p
        if loss_d.requires_grad:
            self.backward(loss_d)
            self.optimizer_step("D")
            if self.recipe.critic is not None:
                self.optimizer_step("P")

        set_requires_grad(self.D, False)
        self.optimizers["G"].zero_grad(set_to_none=True)
        self.optimizers["F"].zero_grad(set_to_none=True)
        with self.plan.autocast():
            loss_g = torch.zeros((), device=fake.device)
            if self.config.lambda_gan > 0:
                loss_gan = generator_adversarial_loss(self.D(self.augment(fake), heads), kind)
                losses["g_gan"] = loss_gan * self.config.lambda_gan
                loss_g = loss_g + losses["g_gan"]
            if self.lambda_nce > 0:
                loss_nce = self.nce(self.G, content, fake, self.rngs["nce"], flip_target=flipped)
                losses["nce"] = loss_nce * self.lambda_nce
                loss_g = loss_g + losses["nce"]
            fake_upright = torch.flip(fake, dims=[3]) if flipped else fake
            for name, term in self.recipe.generator_terms(
                fake_upright, content, paired_style, heads
            ).items():
                losses[name] = term
                loss_g = loss_g + term
        self.backward(loss_g)
        self.optimizer_step("G")
        self.optimizer_step("F")
        set_requires_grad(self.D, True)
        self.end_step()
        losses["g_total"] = loss_g
        return {k: float(v.detach()) for k, v in losses.items()}

    def _towards_nearest(self, real_ids: torch.Tensor, wrong_ids: torch.Tensor) -> torch.Tensor:
        """Redraws ``wrong_head_nearest`` of the wrong heads as each artwork's closest other
        tradition: the pair that looks most alike is the one the heads must learn to tell
        apart, and a uniform draw gives it only 1 / (traditions - 1) of the examples."""
        share = self.config.wrong_head_nearest
        if share <= 0 or self._nearest is None:
            return wrong_ids
        draw = torch.rand(self.global_rows(real_ids.shape[0]), generator=self.rngs["nearest"])
        take = self.local_rows(draw).to(real_ids.device) < share
        nearest = self._nearest.to(real_ids.device)[real_ids]
        return torch.where(take, nearest, wrong_ids)

    def observe_styles(self, sources) -> None:
        """The trainer hands over the loaded style sets before the first step (a resumed
        run then loads its checkpoint over what is set here)."""
        self.recipe.observe_styles(sources)
        rows = self.recipe.tradition_embeddings
        if rows is not None and rows.shape[0] > 1:
            self._nearest = nearest_other(rows)
        if self.painter:
            # Each new tradition starts at its artworks' code (evened, then contrasted).
            self.G.set_embeddings(rows, self.style_offset)
            self.emas["G"].module.set_embeddings(rows, self.style_offset)

    def export_generator(self) -> nn.Module:
        return self.emas["G"].module.eval()


def nearest_other(rows: torch.Tensor) -> torch.Tensor:
    """For each row (a tradition's style code), the index of the closest other row
    (Euclidean; ties to the lower index)."""
    dist = torch.cdist(rows.double(), rows.double())
    dist.fill_diagonal_(float("inf"))
    return dist.argmin(1)


PRETRAINED_ROLE = "pretrained weights"


def pretrained_provenance() -> dict:
    """The card row for the weights a painter starts from (their own card, abridged)."""
    import json

    from ganstyle_desktop.engine.style_teacher import default_teacher_path

    info = json.loads(default_teacher_path().with_suffix(".json").read_text(encoding="utf-8"))
    prov = info.get("provenance", {})
    return {
        "role": PRETRAINED_ROLE,
        "file": default_teacher_path().name,
        "title": prov.get("origin", info.get("name", "")),
        "source": prov.get("shipped_in", ""),
        "paper": prov.get("paper", ""),
        "license": info.get("license", ""),
        "notice": info.get("notice", ""),
    }


def _pick(maps, heads: torch.Tensor):
    """Per image, the logit map of its head (N x 1 x h x w) from all heads' maps (one map
    per scale for a multi-scale discriminator)."""
    if isinstance(maps, (list, tuple)):
        return [_pick(m, heads) for m in maps]
    index = heads.view(-1, 1, 1, 1).expand(-1, 1, maps.shape[2], maps.shape[3])
    return maps.gather(1, index)


def _init_style_path(generator: MultiStyleGenerator, seed: int) -> None:
    """Style rows and mapping MLP from the run's seed (runs are reproducible).

    The CycleGAN init (normal 0.02) that :meth:`add_network` gives every Linear would make
    the style path a product of two tiny matrices: gamma/beta then barely depend on the
    tradition and all traditions learn one average look. He init for the hidden layer
    keeps each tradition's code distinct; the output layer starts at zero (plain instance
    norm) and grows as the discriminator heads ask for differences.
    """
    rng = seeded_generator(seed, STYLE_INIT_SALT)
    hidden, out = generator.mapping[0], generator.mapping[2]
    with torch.no_grad():
        for row in generator.embeddings:
            row.copy_(torch.randn(row.shape, generator=rng).to(row.device, row.dtype))
        std = (2.0 / hidden.in_features) ** 0.5
        w = torch.randn(hidden.weight.shape, generator=rng) * std
        hidden.weight.copy_(w.to(hidden.weight.device, hidden.weight.dtype))
        hidden.bias.zero_()
        out.weight.zero_()
        out.bias.zero_()


def _load_base(path: str) -> tuple[MultiStyleGenerator, list[dict], list[dict]]:
    from ganstyle_desktop.engine.modelfile import ModelFileError, load_model

    try:
        model = load_model(Path(path), device="cpu")
    except ModelFileError as exc:
        raise ConfigError(f"Cannot extend {path}: {exc}") from exc
    if not isinstance(model.generator, MultiStyleGenerator):
        raise ConfigError(
            f"{Path(path).name} is a single-style model; only multi-style models can "
            "learn more traditions."
        )
    traditions = list(model.card.traditions) or [
        {"slug": t, "name": t} for t in model.generator.traditions
    ]
    generator = model.generator.train()
    for p in generator.parameters():
        p.requires_grad_(True)
    return generator, traditions, list(model.card.data_provenance)
