"""Reference computations written from the papers' definitions, for the method tests.

Each function here is written from the paper (not from the engine's code) and kept as
plain as possible: loops over images and patches, explicit indices, one formula per line.
They draw random numbers from the same seeded ``torch.Generator`` in the order the paper's
algorithm needs them, so a test can compare the engine against them value for value:

- PatchNCE (Park et al. 2020, "Contrastive Learning for Unpaired Image-to-Image
  Translation", eq. 2-3 and sec. 3.2): per encoder tap, ``P`` locations drawn without
  replacement (one draw shared by the batch), the *same* locations for queries (features
  of the output) and keys (features of the input); the positive is the key at the
  query's location, the negatives are the keys at the other sampled locations of the
  same image; ``-log(exp(q.k+/tau) / (exp(q.k+/tau) + sum_n exp(q.k-_n/tau)))``, averaged
  over locations, images and taps. FastCUT's flip-equivariance: a translation made from
  the flipped input has its features flipped back before matching.
- DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
  Training"): brightness + U(-0.5, 0.5), saturation x U(0, 2), contrast x U(0.5, 1.5);
  translation by up to 1/8 of each side with zero fill; cutout of a half-side square
  (clipped at the border). Applied to every image D sees, real and fake, in both updates.
- EMA (Polyak averaging with an exponential window): ``avg <- d * avg + (1 - d) * theta``
  after each step, ``d = min(decay, (1 + n) / (10 + n))`` after ``n`` earlier updates.
- Least-squares GAN (Mao et al. 2017, as CycleGAN/CUT use it): D minimises
  ``0.5 * (mean((D(real) - 1)^2) + mean(D(fake)^2))``, G minimises ``mean((D(G(x)) - 1)^2)``.
- CycleGAN (Zhu et al. 2017, eq. 1-3 and sec. 5.2 identity loss): G: X->Y judged by D_Y,
  F: Y->X judged by D_X; cycle ``||F(G(x)) - x||_1 + ||G(F(y)) - y||_1`` weighted by
  lambda; identity ``||G(y) - y||_1 + ||F(x) - x||_1`` weighted by 0.5 lambda.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import torch
from torch import nn

# -- random numbers -------------------------------------------------------------------------


def clone_generator(generator: torch.Generator) -> torch.Generator:
    """An independent generator in the same state (so a reference can replay its draws)."""
    twin = torch.Generator(device=generator.device)
    twin.set_state(generator.get_state())
    return twin


# -- PatchNCE -------------------------------------------------------------------------------


def nce_of_one_image(q: torch.Tensor, k: torch.Tensor, tau: float) -> torch.Tensor:
    """Per-location loss for one image: P x C queries and keys, row p = location p.

    For query p the positive is key p; the negatives are the keys at every *other*
    sampled location of the same image: -log(e^(q.k+/tau) / (e^(q.k+/tau) + sum e^(q.k-/tau))).
    """
    p = q.shape[0]
    similarities = q @ k.T / tau  # [query, key]
    positives = similarities.diagonal()
    others = ~torch.eye(p, dtype=torch.bool)
    negatives = similarities[others].view(p, p - 1)  # row p without its own key
    every = torch.cat([positives[:, None], negatives], dim=1)
    return -(positives - torch.logsumexp(every, dim=1))


def nce_loss(feat_q: torch.Tensor, feat_k: torch.Tensor, tau: float) -> torch.Tensor:
    """Mean over images and locations. ``feat_q``/``feat_k``: B x P x C, already normalised."""
    per_image = [
        nce_of_one_image(feat_q[b], feat_k[b].detach(), tau) for b in range(feat_q.shape[0])
    ]
    return torch.cat(per_image).mean()


def sample_locations(
    h: int, w: int, num_patches: int, generator: torch.Generator
) -> list[tuple[int, int]]:
    """``num_patches`` distinct (y, x) locations of an h x w map (all if fewer)."""
    order = torch.randperm(h * w, generator=generator).tolist()
    return [(s // w, s % w) for s in order[: min(num_patches, h * w)]]


def gather_patches(feat: torch.Tensor, locations: Sequence[tuple[int, int]]) -> torch.Tensor:
    """B x P x C: the feature vector of every image at every location."""
    ys = torch.tensor([y for y, _ in locations])
    xs = torch.tensor([x for _, x in locations])
    return feat[:, :, ys, xs].permute(0, 2, 1)


def project(mlp: nn.Module, patches: torch.Tensor) -> torch.Tensor:
    """CUT's projection head then L2 normalisation (each vector to unit length)."""
    z = mlp(patches.float())
    return z / z.norm(dim=-1, keepdim=True).clamp_min(1e-7)


def patch_nce(
    encode: Callable[[torch.Tensor], list[torch.Tensor]],
    heads: Sequence[nn.Module],
    source: torch.Tensor,
    target: torch.Tensor,
    generator: torch.Generator,
    num_patches: int,
    tau: float,
    flipped: bool = False,
) -> torch.Tensor:
    """PatchNCE between ``source`` (input) and ``target`` (its translation), over taps.

    ``encode``: image -> the generator encoder's features at the NCE taps; ``heads``: one
    projection MLP per tap. Locations are drawn per tap on the keys' maps, in tap order.
    """
    keys_per_tap = encode(source)
    queries_per_tap = encode(target)
    if flipped:  # the target came from the mirrored input: mirror its features back
        queries_per_tap = [torch.flip(f, dims=[3]) for f in queries_per_tap]
    total = []
    for feat_k, feat_q, head in zip(keys_per_tap, queries_per_tap, heads, strict=True):
        locations = sample_locations(feat_k.shape[2], feat_k.shape[3], num_patches, generator)
        k = project(head, gather_patches(feat_k, locations)).detach()
        q = project(head, gather_patches(feat_q, locations))
        total.append(nce_loss(q, k, tau))
    return torch.stack(total).mean()


# -- DiffAugment ----------------------------------------------------------------------------


def _uniform(n: int, generator: torch.Generator) -> list[float]:
    return torch.rand((n, 1, 1, 1), generator=generator).flatten().tolist()


def _integers(low: int, high: int, n: int, generator: torch.Generator) -> list[int]:
    return torch.randint(low, high, (n, 1, 1), generator=generator).flatten().tolist()


def augment_color(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    brightness = _uniform(n, generator)
    saturation = _uniform(n, generator)
    contrast = _uniform(n, generator)
    out = []
    for i in range(n):
        img = x[i] + (brightness[i] - 0.5)
        grey = img.mean(dim=0, keepdim=True)  # per pixel, over channels
        img = (img - grey) * (2.0 * saturation[i]) + grey
        level = img.mean()  # over the whole image
        img = (img - level) * (contrast[i] + 0.5) + level
        out.append(img)
    return torch.stack(out)


def augment_translation(
    x: torch.Tensor, generator: torch.Generator, ratio: float = 0.125
) -> torch.Tensor:
    n, _, h, w = x.shape
    max_dy, max_dx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dys = _integers(-max_dy, max_dy + 1, n, generator)
    dxs = _integers(-max_dx, max_dx + 1, n, generator)
    out = torch.zeros_like(x)
    for i in range(n):
        dy, dx = dys[i], dxs[i]
        # Output pixel (y, x) shows input pixel (y + dy, x + dx); the rest stays 0.
        y0, y1 = max(0, -dy), min(h, h - dy)
        x0, x1 = max(0, -dx), min(w, w - dx)
        if y0 < y1 and x0 < x1:
            out[i, :, y0:y1, x0:x1] = x[i, :, y0 + dy : y1 + dy, x0 + dx : x1 + dx]
    return out


def augment_cutout(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    centres_y = _integers(0, h + (1 - ch % 2), n, generator)
    centres_x = _integers(0, w + (1 - cw % 2), n, generator)
    mask = torch.ones(n, 1, h, w, dtype=x.dtype)
    for i in range(n):
        y0, x0 = centres_y[i] - ch // 2, centres_x[i] - cw // 2
        mask[i, :, max(y0, 0) : max(y0 + ch, 0), max(x0, 0) : max(x0 + cw, 0)] = 0.0
    return x * mask


REFERENCE_AUGMENTS = {
    "color": augment_color,
    "translation": augment_translation,
    "cutout": augment_cutout,
}


def diff_augment(x: torch.Tensor, policy: str, generator: torch.Generator) -> torch.Tensor:
    for name in [p.strip() for p in policy.split(",") if p.strip()]:
        x = REFERENCE_AUGMENTS[name](x, generator)
    return x


# -- EMA --------------------------------------------------------------------------------------


def ema_decay(decay: float, updates_before: int) -> float:
    return min(decay, (1.0 + updates_before) / (10.0 + updates_before))


def ema_average(
    average: torch.Tensor, value: torch.Tensor, decay: float, updates_before: int
) -> torch.Tensor:
    d = ema_decay(decay, updates_before)
    return d * average + (1.0 - d) * value


# -- GAN losses ------------------------------------------------------------------------------


def lsgan_d(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return 0.5 * (((real_logits - 1.0) ** 2).mean() + (fake_logits**2).mean())


def lsgan_g(fake_logits: torch.Tensor) -> torch.Tensor:
    return ((fake_logits - 1.0) ** 2).mean()


def l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).abs().mean()


# -- helpers for the step tests -------------------------------------------------------------


def frozen_copy(module: nn.Module) -> nn.Module:
    """A copy with its own parameters that require grad (for reference gradients)."""
    twin = copy.deepcopy(module)
    for p in twin.parameters():
        p.requires_grad_(True)
    return twin


def gradients(loss: torch.Tensor, module: nn.Module) -> dict[str, torch.Tensor]:
    named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss, [p for _, p in named], retain_graph=True, allow_unused=True)
    return {
        n: (g if g is not None else torch.zeros_like(p))
        for (n, p), g in zip(named, grads, strict=True)
    }
