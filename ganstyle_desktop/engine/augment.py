"""DiffAugment (Zhao et al. 2020): differentiable colour, translation and cutout applied
to real and fake images before the discriminator, so D cannot memorise a small style set.

All randomness comes from the ``torch.Generator`` passed in (drawn on its device, then
moved), so a seeded run augments identically on every backend. ``shard`` (one process's
rows of a data-parallel batch) draws for the whole global batch and keeps the process's
rows, so each image gets the same draw as in a single process with the whole batch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch.nn import functional as F

from .config import DIFFAUGMENT_POLICIES as POLICIES  # noqa: F401 - public name
from .config import parse_diffaugment as parse_policy

if TYPE_CHECKING:
    from .distributed import Shard

TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def _global(shape: tuple[int, ...], shard: Shard | None) -> tuple[int, ...]:
    return shape if shard is None else (shard.total, *shape[1:])


def _rand(
    shape: tuple[int, ...], generator: torch.Generator, like: torch.Tensor, shard: Shard | None
) -> torch.Tensor:
    r = torch.rand(_global(shape, shard), generator=generator, device=generator.device)
    r = r if shard is None else shard.take(r)
    return r.to(device=like.device, dtype=like.dtype)


def _randint(
    low: int,
    high: int,
    shape: tuple[int, ...],
    generator: torch.Generator,
    device: torch.device,
    shard: Shard | None,
) -> torch.Tensor:
    r = torch.randint(
        low, high, _global(shape, shard), generator=generator, device=generator.device
    )
    r = r if shard is None else shard.take(r)
    return r.to(device)


def color(x: torch.Tensor, generator: torch.Generator, shard: Shard | None = None) -> torch.Tensor:
    n = x.shape[0]
    x = x + (_rand((n, 1, 1, 1), generator, x, shard) - 0.5)  # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand((n, 1, 1, 1), generator, x, shard) * 2) + mean  # saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * (_rand((n, 1, 1, 1), generator, x, shard) + 0.5) + mean  # contrast
    return x


def translation(
    x: torch.Tensor,
    generator: torch.Generator,
    ratio: float = TRANSLATION_RATIO,
    shard: Shard | None = None,
) -> torch.Tensor:
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = _randint(-sh, sh + 1, (n, 1, 1), generator, x.device, shard)
    dx = _randint(-sw, sw + 1, (n, 1, 1), generator, x.device, shard)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    # Index into a zero-padded copy: shifted-out pixels become 0 (mid-grey in [-1, 1]).
    gy = torch.clamp(ys + dy + 1, 0, h + 1)
    gx = torch.clamp(xs + dx + 1, 0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1])
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    out = padded.permute(0, 2, 3, 1)[batch, gy, gx]  # n, h, w, c
    return out.permute(0, 3, 1, 2).contiguous(memory_format=_format_of(x))


def cutout(
    x: torch.Tensor,
    generator: torch.Generator,
    ratio: float = CUTOUT_RATIO,
    shard: Shard | None = None,
) -> torch.Tensor:
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    oy = _randint(0, h + (1 - ch % 2), (n, 1, 1), generator, x.device, shard)
    ox = _randint(0, w + (1 - cw % 2), (n, 1, 1), generator, x.device, shard)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    inside_y = (ys >= oy - ch // 2) & (ys < oy - ch // 2 + ch)
    inside_x = (xs >= ox - cw // 2) & (xs < ox - cw // 2 + cw)
    mask = ~(inside_y & inside_x)
    return x * mask.unsqueeze(1).to(x.dtype)


def _format_of(x: torch.Tensor) -> torch.memory_format:
    if (
        x.dim() == 4
        and x.is_contiguous(memory_format=torch.channels_last)
        and not x.is_contiguous()
    ):
        return torch.channels_last
    return torch.contiguous_format


_OPS = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(
    x: torch.Tensor, policy: str, generator: torch.Generator, shard: Shard | None = None
) -> torch.Tensor:
    """Apply the comma-separated ``policy`` ("color,translation,cutout"; "" = identity).

    ``shard``: ``x`` is one process's rows of a larger batch (see the module doc).
    """
    for name in parse_policy(policy):
        x = _OPS[name](x, generator, shard=shard)
    return x
