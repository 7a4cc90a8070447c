"""Loss terms built on the frozen style prior, and a colour-distribution term.

- :class:`ProjectedCritic`: a discriminator that judges the prior's features instead of
  pixels (Projected GAN, Sauer et al. 2021; vision-aided GAN, Kumari et al. 2022). A
  pretrained network already knows brushwork, line and texture, so a small trainable head
  on its features learns "is this that tradition?" from a few dozen artworks in minutes,
  where a pixel PatchGAN on a CPU budget mostly learns colour.
- :func:`feature_style_loss`: the mean and spread of each prior feature channel of the
  output, pulled to those of an artwork (Huang & Belongie 2017, the AdaIN style loss;
  Gatys et al.'s Gram loss is ``kind="gram"``).
- :func:`colour_swd`: the sliced Wasserstein distance between the output's pixel colours
  and an artwork's (a distribution, not a mean: a palette term that leaves every photo
  its own colours within the tradition's range).

Images come in as the generator works on them, in [-1, 1]; the prior wants [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .style_prior import StylePrior

CRITIC_TAPS = ("expanded_conv_2", "expanded_conv_5", "expanded_conv_12")
# From 64 to 16 px at a 256 px input: strokes, shapes and flat areas. The 128 px tap
# (paper grain, print dots) made the generator paint a fine dot mesh in early runs.
STYLE_TAPS = ("expanded_conv_2", "expanded_conv_5", "expanded_conv_12")
CONTENT_TAP = "expanded_conv_5"
JITTER = 8  # px: the prior sees a randomly shifted view, so its stride-2 grid leaves no mark


def to_prior_range(x: torch.Tensor) -> torch.Tensor:
    return (x.float() + 1.0) * 0.5


class ProjectedCritic(nn.Module):
    """Trainable heads on frozen prior features: one small conv stack per tap, each ending
    in one logit map per head (one head per tradition for multi-style models)."""

    def __init__(self, channels: Sequence[int], n_heads: int = 1, width: int = 64) -> None:
        super().__init__()
        self.channels = tuple(int(c) for c in channels)
        self.n_heads = n_heads
        self.heads = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(c, width, 1),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(width, width, 3, padding=1),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(width, n_heads, 1),
            )
            for c in self.channels
        )

    def forward(
        self, feats: Sequence[torch.Tensor], head: torch.Tensor | int | None = None
    ) -> list[torch.Tensor]:
        out = []
        for feat, net in zip(feats, self.heads, strict=True):
            logits = net(feat)
            if head is not None:
                logits = pick_head(logits, head)
            out.append(logits)
        return out


def pick_head(maps: torch.Tensor, head: torch.Tensor | int) -> torch.Tensor:
    """Per image, the logit map of its head: (N, 1, h, w) from (N, heads, h, w)."""
    if isinstance(head, int):
        return maps[:, head : head + 1]
    index = head.view(-1, 1, 1, 1).expand(-1, 1, maps.shape[2], maps.shape[3])
    return maps.gather(1, index)


def prior_features(
    prior: StylePrior, x: torch.Tensor, taps: Sequence[str]
) -> dict[str, torch.Tensor]:
    """The prior's features of ``x`` (in [-1, 1]) at ``taps``, by tap name."""
    ordered = [t for t in prior.block_names if t in set(taps)]
    return dict(zip(ordered, prior.features(to_prior_range(x), ordered), strict=True))


def jitter(x: torch.Tensor, dy: int, dx: int, pad: int = JITTER) -> torch.Tensor:
    """``x`` shifted by (dy, dx) pixels with reflected borders, same size.

    Gradients through a strided network favour patterns on its sampling grid (the
    checkerboard of feature-visualisation); judging a freshly shifted view each step takes
    away any fixed grid to exploit (Olah et al. 2017, "transformation robustness")."""
    if pad <= 0 or (dy == 0 and dx == 0):
        return x
    h, w = x.shape[2], x.shape[3]
    padded = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    return padded[:, :, pad + dy : pad + dy + h, pad + dx : pad + dx + w]


def _stats(feat: torch.Tensor, kind: str) -> list[torch.Tensor]:
    f = feat.float()
    if kind == "gram":
        n, c, h, w = f.shape
        flat = f.reshape(n, c, h * w)
        return [flat @ flat.transpose(1, 2) / (c * h * w)]
    var, mean = torch.var_mean(f, dim=(2, 3), unbiased=False)
    return [mean, torch.sqrt(var + 1e-5)]


def feature_style_loss(
    fake: dict[str, torch.Tensor],
    style: dict[str, torch.Tensor],
    taps: Sequence[str] = STYLE_TAPS,
    kind: str = "meanstd",
) -> torch.Tensor:
    """Mean over taps of the squared gap between feature statistics of output i and
    artwork i (batches of equal size, or an artwork batch of 1 for every output)."""
    total = torch.zeros((), device=next(iter(fake.values())).device)
    for tap in taps:
        for a, b in zip(_stats(fake[tap], kind), _stats(style[tap], kind), strict=True):
            if b.shape[0] == 1 and a.shape[0] > 1:
                b = b.expand_as(a)
            total = total + F.mse_loss(a, b.detach())
    return total / len(taps)


def feature_content_loss(
    fake: dict[str, torch.Tensor], content: dict[str, torch.Tensor], tap: str = CONTENT_TAP
) -> torch.Tensor:
    """Johnson et al.'s feature reconstruction loss: what the picture shows stays."""
    return F.mse_loss(fake[tap].float(), content[tap].float().detach())


def colour_swd(
    fake: torch.Tensor,
    style: torch.Tensor,
    generator: torch.Generator,
    n_directions: int = 32,
    n_pixels: int = 4096,
) -> torch.Tensor:
    """Sliced Wasserstein-1 distance between the colour distributions of each output and
    its artwork (RGB in [-1, 1]), averaged over the batch.

    Pixels are subsampled at the same count on both sides so sorted projections pair up.
    """
    n = fake.shape[0]
    if style.shape[0] == 1 and n > 1:
        style = style.expand(n, -1, -1, -1)
    a = fake.float().flatten(2)  # N x 3 x P
    b = style.float().flatten(2)
    count = min(n_pixels, a.shape[2], b.shape[2])
    dev = generator.device
    ia = torch.randint(0, a.shape[2], (count,), generator=generator, device=dev).to(a.device)
    ib = torch.randint(0, b.shape[2], (count,), generator=generator, device=dev).to(b.device)
    dirs = torch.randn(3, n_directions, generator=generator, device=dev).to(a.device)
    dirs = dirs / dirs.norm(dim=0, keepdim=True)
    pa = torch.sort(a[:, :, ia].transpose(1, 2) @ dirs, dim=1).values
    pb = torch.sort(b[:, :, ib].transpose(1, 2) @ dirs, dim=1).values
    return (pa - pb.detach()).abs().mean()


# -- brushwork: how a tradition's surfaces change from place to place ---------------------

# Quantile levels of the luminance-gradient distribution matched, and the scales (average
# pooling factors) it is read at: 1 sees contours and fine strokes, 2 and 4 broad strokes
# and flat areas.
BRUSHWORK_LEVELS = 32
BRUSHWORK_SCALES = (1, 2, 4)
_LUMA = (0.2126, 0.7152, 0.0722)


def luma(images: torch.Tensor) -> torch.Tensor:
    """Rec. 709 luma in [0, 1] of images in [-1, 1] (N x 3 x H x W -> N x H x W)."""
    rgb = (images.float() + 1.0) * 0.5
    return torch.tensordot(torch.tensor(_LUMA, device=rgb.device), rgb, dims=([0], [1]))


def gradient_magnitudes(images: torch.Tensor, scale: int = 1) -> torch.Tensor:
    """Sobel gradient magnitude of each image's Rec. 709 luma (images in [-1, 1], N x 3 x H
    x W; luma in [0, 1], so a black-to-white step gives 1, as metrics.sobel_edges), after
    ``scale`` x ``scale`` average pooling. Returns N x P."""
    grey = luma(images)[:, None]
    if scale > 1:
        grey = F.avg_pool2d(grey, scale)
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], device=grey.device)
    kernels = torch.stack([kx, kx.t()])[:, None] / 4.0
    g = F.conv2d(F.pad(grey, (1, 1, 1, 1), mode="replicate"), kernels)
    # The small floor keeps the gradient of sqrt finite on perfectly flat areas.
    return torch.sqrt(g.square().sum(1) + 1e-8).flatten(1)


def _levels(device: torch.device) -> torch.Tensor:
    # Mid-points of BRUSHWORK_LEVELS equal bins: the quantile function sampled evenly.
    return (torch.arange(BRUSHWORK_LEVELS, device=device, dtype=torch.float32) + 0.5) / (
        BRUSHWORK_LEVELS
    )


def brushwork_profile(images: torch.Tensor) -> torch.Tensor:
    """Each image's brushwork profile: the quantile function of its luminance-gradient
    magnitudes at every BRUSHWORK_SCALES (N x scales x levels). Differentiable."""
    levels = _levels(images.device)
    return torch.stack(
        [torch.quantile(gradient_magnitudes(images, s), levels, dim=1).t()
         for s in BRUSHWORK_SCALES],
        dim=1,
    )


def brushwork_loss(fake: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1-D Wasserstein-1 distance between each output's gradient-magnitude distribution and
    its tradition's (``target``: N x scales x levels, the mean quantile function of the
    tradition's artworks, i.e. their Wasserstein barycentre), per scale relative to the
    target's mean magnitude so every scale counts alike; mean over batch and scales.

    A flat-colour print wants many near-zero gradients and a tail of sharp contours; an
    Impressionist canvas wants mid-strength gradients everywhere: the palette and the
    critics do not see this, and a colour filter keeps the photo's profile.
    """
    profile = brushwork_profile(fake)
    target = target.to(profile.device, profile.dtype)
    per_scale = (profile - target).abs().mean(2) / (target.mean(2) + 1e-6)
    return per_scale.mean()


# -- blur -----------------------------------------------------------------------------------


def gaussian_blur(images: torch.Tensor, sigma: float, edges: str = "reflect") -> torch.Tensor:
    """Each channel of ``images`` (N x C x H x W) blurred by a Gaussian of ``sigma`` px
    (separable, truncated at 3 sigma). ``edges``: "reflect" (replicated where the image
    is narrower than the kernel's reach) or "replicate". Differentiable."""
    radius = max(1, int(3 * sigma + 0.5))
    t = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = g / g.sum()
    c = images.shape[1]
    mode = "reflect" if edges == "reflect" and radius < min(images.shape[-2:]) else "replicate"
    x = F.pad(images, (radius, radius, radius, radius), mode=mode)
    x = F.conv2d(x, g.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, g.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
