"""The style-recipe terms a configuration switches on, shared by CUT/FastCUT and the
multi-style method (so the two cannot drift):

- the projected critic on the frozen style prior (``lambda_critic``) with its own
  optimiser, judged on the same DiffAugment policy as the pixel discriminator;
- the prior's feature-statistics style loss (``lambda_style``, ``style_loss``);
- the prior's feature content loss (``lambda_content``);
- the colour-distribution palette term (``lambda_palette``);
- the brushwork term (``lambda_brushwork``): the distribution of the output's luminance
  gradients, at three scales, against its tradition's artworks (flat areas and contours,
  or strokes everywhere: what a colour filter never changes);
- the teacher term (``lambda_teacher``): L1 to what Magenta's pretrained transfer network
  (:mod:`..style_teacher`) paints from the same photo with the mean style embedding of the
  tradition's artworks, a painted target from the first step.

The prior itself is frozen and shared (:func:`..style_prior.shared_prior`); it is not part
of a checkpoint. Its features of a batch are computed once per step and reused by every
term that needs them.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from ganstyle_desktop.engine.config import default_knob_values
from ganstyle_desktop.engine.losses import (
    discriminator_loss,
    fake_term,
    generator_adversarial_loss,
)
from ganstyle_desktop.engine.prior_losses import (
    CONTENT_TAP,
    CRITIC_TAPS,
    JITTER,
    STYLE_TAPS,
    ProjectedCritic,
    brushwork_loss,
    brushwork_profile,
    colour_swd,
    feature_content_loss,
    feature_style_loss,
    gaussian_blur,
    jitter,
    pick_head,
    prior_features,
    to_prior_range,
)

from .weights import set_requires_grad


class RecipeTerms:
    """Owns the critic (registered with the method, so it is checkpointed and resumed)."""

    def __init__(
        self,
        method,
        n_heads: int = 1,
        needs_embeddings: bool = False,
    ) -> None:
        cfg = method.config
        self.method = method
        self.kind = cfg.gan_loss
        defaults = default_knob_values(cfg.method, cfg.preset)
        self.lambda_critic = _chosen(cfg.lambda_critic, defaults["lambda_critic"])
        self.lambda_style = float(cfg.lambda_style)
        self.lambda_content = float(cfg.lambda_content)
        self.lambda_palette = _chosen(cfg.lambda_palette, defaults["lambda_palette"])
        self.style_kind = cfg.style_loss
        self.lambda_brushwork = _chosen(cfg.lambda_brushwork, defaults["lambda_brushwork"])
        self.style_contrast = _chosen(cfg.style_contrast, defaults["style_contrast"])
        self.style_evenness = _chosen(cfg.style_evenness, defaults["style_evenness"])
        self.brushwork_targets: torch.Tensor | None = None  # one profile per tradition
        self.n_heads = n_heads
        self.lambda_teacher = _chosen(cfg.lambda_teacher, defaults["lambda_teacher"])
        self.teacher_blur = float(cfg.teacher_blur)
        # The tradition mean embeddings: for the teacher, or to start a painter's rows.
        self.needs_embeddings = needs_embeddings or self.lambda_teacher > 0
        self.uses_prior = (
            self.needs_embeddings
            or self.lambda_critic > 0
            or self.lambda_style > 0
            or self.lambda_content > 0
            or self.lambda_teacher > 0
        )
        self.teacher = None
        self.tradition_embeddings: torch.Tensor | None = None  # one row per tradition
        self.prior = None
        self.has_critic = self.lambda_critic > 0
        if self.uses_prior:
            from ganstyle_desktop.engine.style_prior import shared_prior

            self.prior = shared_prior(method.plan.device)
        if self.has_critic:
            # An attribute of the method, like its other networks, so that data-parallel
            # training swaps in its DDP replica (methods/adversarial.attach_data_parallel).
            channels = self.prior.tap_channels(CRITIC_TAPS)
            method.P = method.add_network("P", ProjectedCritic(channels, n_heads))
            method.add_optimizer("P", [method.P])
        if self.lambda_palette > 0:
            method.add_rng("palette")
        if self.lambda_style > 0 or self.lambda_content > 0 or self.lambda_teacher > 0:
            method.add_rng("jitter")
        if self.lambda_teacher > 0:
            from ganstyle_desktop.engine.style_teacher import shared_teacher

            self.teacher = shared_teacher(method.plan.device)

    # -- what the recipe needs to know about the style sets ---------------------------------
    @torch.no_grad()
    def observe_styles(self, sources) -> None:
        """What the terms need to know of each tradition, from up to EMBED_IMAGES of its
        artworks (evenly spaced through the set): its mean style embedding (centre crops)
        and its brushwork profile (whole artworks at the training resolution, the scale
        the step's crops have). Deterministic, so a resumed or data-parallel run computes
        exactly the same."""
        if not (self.needs_embeddings or self.lambda_brushwork > 0):
            return
        device = self.method.plan.device
        rows, profiles = [], []
        for source in sources:
            images = source.images
            step = max(1, len(images) // EMBED_IMAGES)
            embs, profs = [], []
            for image in images[::step][:EMBED_IMAGES]:
                pixels = image.float() / 255.0  # stored as uint8, C x H x W
                if self.needs_embeddings:
                    crop = _centre_square(pixels, 256).to(device)[None]
                    embs.append(self.prior.embedding(crop))
                if self.lambda_brushwork > 0:
                    profs.append(brushwork_profile(pixels.to(device)[None] * 2.0 - 1.0))
            if embs:
                rows.append(torch.cat(embs).mean(0))
            if profs:
                profiles.append(torch.cat(profs).mean(0))  # the Wasserstein barycentre
        if rows:
            codes = evened(torch.stack(rows), self.style_evenness)
            self.tradition_embeddings = contrasted(codes, self.style_contrast)
        if profiles:
            self.brushwork_targets = torch.stack(profiles)

    @property
    def critic(self):
        """The projected critic (or its DDP replica), None when the recipe has none."""
        return getattr(self.method, "P", None) if self.has_critic else None

    # -- the critic's own step --------------------------------------------------------------
    def critic_loss(
        self,
        style: torch.Tensor,
        fake: torch.Tensor,
        style_heads: torch.Tensor | None = None,
        fake_heads: torch.Tensor | None = None,
        wrong_heads: torch.Tensor | None = None,
        lambda_wrong: float = 0.0,
    ) -> torch.Tensor | None:
        """The critic's loss on real artworks vs (detached) outputs; None when off.

        ``wrong_heads`` (multi-style): each artwork is also "not this tradition" for another
        tradition's head, as for the pixel discriminator.
        """
        critic = self.critic
        if critic is None:
            return None
        m = self.method
        with torch.no_grad():
            real_f = prior_features(self.prior, m.augment(style), CRITIC_TAPS)
            fake_f = prior_features(self.prior, m.augment(fake.detach()), CRITIC_TAPS)
        # One pass for both (the heads work per image): fewer, larger convolutions.
        n_real = style.shape[0]
        both = critic([torch.cat([real_f[t], fake_f[t]]) for t in CRITIC_TAPS])
        real_maps = [b[:n_real] for b in both]
        fake_maps = [b[n_real:] for b in both]
        real_logits = [_select(r, style_heads) for r in real_maps]
        fake_logits = [_select(f, fake_heads) for f in fake_maps]
        loss = discriminator_loss(real_logits, fake_logits, self.kind)
        if wrong_heads is not None and lambda_wrong > 0:
            wrong = [pick_head(r, wrong_heads) for r in real_maps]
            loss = loss + lambda_wrong * fake_term(wrong, self.kind)
        return loss

    # -- the generator's terms ------------------------------------------------------------
    def generator_terms(
        self,
        fake: torch.Tensor,
        content: torch.Tensor,
        style: torch.Tensor,
        fake_heads: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """The recipe's generator losses (weighted), by name; {} when all are off.

        ``content`` is the photo ``fake`` was made from (same orientation), ``style`` the
        artwork(s) of the step: one per output, or one for all.
        """
        terms: dict[str, torch.Tensor] = {}
        m = self.method
        critic = self.critic
        if critic is not None:
            set_requires_grad(critic, False)
            feats = prior_features(self.prior, m.augment(fake), CRITIC_TAPS)
            maps = critic([feats[t] for t in CRITIC_TAPS])
            logits = [_select(x, fake_heads) for x in maps]
            terms["critic"] = self.lambda_critic * generator_adversarial_loss(logits, self.kind)
            set_requires_grad(critic, True)
        target = None
        if self.teacher is not None:
            if self.tradition_embeddings is None:
                raise RuntimeError("the teacher term needs observe_styles() before training")
            index = fake_heads if fake_heads is not None else torch.zeros(
                fake.shape[0], dtype=torch.long, device=fake.device
            )
            with torch.no_grad():
                emb = self.tradition_embeddings.to(fake.device)[index]
                target = self.teacher(to_prior_range(content), emb) * 2.0 - 1.0
        taps: set[str] = set()
        if self.lambda_style > 0:
            taps |= set(STYLE_TAPS)
        if self.lambda_content > 0:
            taps.add(CONTENT_TAP)
        if target is not None and self.teacher_blur == 0:
            taps |= set(TEACHER_TAPS)
        fake_f: dict[str, torch.Tensor] = {}
        shifts = [0, 0, 0, 0]
        if taps:
            # One shift for the output and what it is compared with place by place (the
            # photo, the teacher's painting), another for the artwork; drawn per step, the
            # same on every process. One pass of the prior serves every term.
            shifts = torch.randint(
                -JITTER, JITTER + 1, (4,), generator=m.rngs["jitter"]
            ).tolist()
            fake_f = prior_features(self.prior, jitter(fake, *shifts[:2]), tuple(taps))
        if self.lambda_style > 0:
            with torch.no_grad():
                style_f = prior_features(self.prior, jitter(style, *shifts[2:]), STYLE_TAPS)
            terms["style"] = self.lambda_style * feature_style_loss(
                fake_f, style_f, STYLE_TAPS, self.style_kind
            )
        if self.lambda_content > 0:
            with torch.no_grad():
                content_f = prior_features(
                    self.prior, jitter(content, *shifts[:2]), (CONTENT_TAP,)
                )
            terms["content"] = self.lambda_content * feature_content_loss(fake_f, content_f)
        if target is not None and self.teacher_blur > 0:
            # Only the layout and colours of the teacher's painting: L1 of both blurred,
            # the surfaces left to the critics and the brushwork term.
            terms["teacher"] = self.lambda_teacher * (
                gaussian_blur(fake.float(), self.teacher_blur)
                - gaussian_blur(target, self.teacher_blur)
            ).abs().mean()
        elif target is not None:
            # Pixels (L1) for colour and layout, the prior's features at the same places
            # for brushwork: L1 alone learns the blurred mean of a texture first.
            with torch.no_grad():
                target_f = prior_features(self.prior, jitter(target, *shifts[:2]), TEACHER_TAPS)
            pixels = (fake.float() - target).abs().mean()
            # Relative squared error per tap: each tap counts the same whatever its scale.
            features = sum(
                F.mse_loss(fake_f[t].float(), target_f[t].float())
                / (target_f[t].float().square().mean() + 1e-6)
                for t in TEACHER_TAPS
            ) / len(TEACHER_TAPS)
            terms["teacher"] = self.lambda_teacher * (pixels + TEACHER_FEATURE_WEIGHT * features)
        if self.lambda_palette > 0:
            terms["palette"] = self.lambda_palette * colour_swd(
                fake, style, m.rngs["palette"]
            )
        if self.lambda_brushwork > 0:
            if self.brushwork_targets is None:
                raise RuntimeError("the brushwork term needs observe_styles() before training")
            index = fake_heads if fake_heads is not None else torch.zeros(
                fake.shape[0], dtype=torch.long, device=fake.device
            )
            targets = self.brushwork_targets.to(fake.device)[index]
            terms["brushwork"] = self.lambda_brushwork * brushwork_loss(fake, targets)
        return terms


EMBED_IMAGES = 64

def contrasted(rows: torch.Tensor, contrast: float) -> torch.Tensor:
    """Style codes (one row per tradition) pushed ``contrast`` times their offset away from
    their mean: ``e + contrast * (e - mean(e))``. A mean embedding averages away what sets
    a tradition apart (every set holds some landscapes, some portraits, some pale scans), so
    the mean codes of five traditions paint five near copies of one look; extrapolating
    along what differs restores it (measured on the pretrained network: models/TRAINING.md).
    One tradition is its own mean and stays as it is."""
    if contrast == 0 or rows.shape[0] < 2:
        return rows
    return rows + contrast * (rows - rows.mean(0, keepdim=True))


def evened(rows: torch.Tensor, evenness: float) -> torch.Tensor:
    """Style codes (one row per tradition) spread as evenly in every direction in which
    they differ, with the same mean and the same total spread (Frobenius norm of their
    offsets from the mean). The offsets' singular values ``s`` become ``s ** (1 -
    evenness)``, rescaled: 0 keeps the codes, 1 makes them a regular simplex (every pair
    equally far apart). The contrast pushes along the directions in which the traditions
    already differ most, so two traditions that differ only in a minor direction (two warm
    painted manners) stay close; evening lifts that direction (models/TRAINING.md)."""
    n = rows.shape[0]
    if evenness == 0 or n < 3:  # two points differ in one direction only: nothing to even
        return rows
    work = rows.double()
    mean = work.mean(0, keepdim=True)
    u, sv, vh = torch.linalg.svd(work - mean, full_matrices=False)
    keep = sv > sv[0] * 1e-6  # the directions in which they differ (at most n - 1)
    new = torch.where(keep, sv.clamp_min(1e-300) ** (1.0 - evenness), torch.zeros_like(sv))
    new = new * (sv.square().sum() / new.square().sum()).sqrt()
    return (mean + (u * new) @ vh).to(rows.dtype)


def _chosen(value: float | None, default: float) -> float:
    return float(default if value is None else value)
TEACHER_TAPS = ("expanded_conv_2", "expanded_conv_5")
TEACHER_FEATURE_WEIGHT = 0.5


def _centre_square(image: torch.Tensor, side: int) -> torch.Tensor:
    """An image ([0, 1] float, C x H x W) as a side x side centre crop."""
    h, w = image.shape[1:]
    scale = side / min(h, w)
    if scale != 1.0:
        size = (max(side, round(h * scale)), max(side, round(w * scale)))
        image = F.interpolate(image[None], size=size, mode="area" if scale < 1 else "bilinear",
                              **({} if scale < 1 else {"align_corners": False}))[0]
    h, w = image.shape[1:]
    top, left = (h - side) // 2, (w - side) // 2
    return image[:, top : top + side, left : left + side]


def _select(maps: torch.Tensor, heads: torch.Tensor | None) -> torch.Tensor:
    return maps if heads is None else pick_head(maps, heads)
