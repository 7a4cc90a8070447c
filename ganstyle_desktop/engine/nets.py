"""Generators and discriminators.

ResNet generator (CycleGAN / CUT family): reflection padding, instance norm, optional
depthwise-separable residual blocks, and resize-then-convolve upsampling (no transposed
convolutions, so no checkerboard artifacts).

Every normalisation layer is a :class:`FreezableInstanceNorm2d`: the tiled stylizer
records its statistics on a downscaled whole image and freezes them while tiles run, so
neighbouring tiles share one colour balance (thumbnail instance normalisation).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F


class FreezableInstanceNorm2d(nn.Module):
    """Instance norm whose per-channel statistics can be captured once and then reused.

    mode "normal": ordinary instance norm.
    mode "capture": ordinary instance norm that also stores the mean/var it computed.
    mode "frozen": normalise with the stored statistics (broadcast over any H, W).
    """

    def __init__(self, num_features: int, affine: bool = True, eps: float = 1e-5) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.mode = "normal"
        self.frozen_mean: torch.Tensor | None = None
        self.frozen_var: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "normal":
            # The fused kernel: several times faster on the CPU than the explicit
            # formula below, which matters at the lite preset's memory-bound widths.
            return F.instance_norm(x, weight=self.weight, bias=self.bias, eps=self.eps)
        if self.mode == "frozen":
            if self.frozen_mean is None or self.frozen_var is None:
                raise RuntimeError("frozen instance norm used before statistics were captured")
            mean, var = self.frozen_mean, self.frozen_var
            if mean.shape[0] == 1:
                # One set of statistics for every image: batch norm's inference kernel
                # computes exactly (x - mean) / sqrt(var + eps) * weight + bias, about 4x
                # faster on the CPU than the formula below (every large image runs here).
                return F.batch_norm(
                    x, mean.view(-1), var.view(-1), self.weight, self.bias, False, 0.0, self.eps
                )
        else:
            # Statistics in float32 even under autocast: float16 variance overflows.
            xf = x.float()
            var, mean = torch.var_mean(xf, dim=(2, 3), keepdim=True, unbiased=False)
            if self.mode == "capture":
                self.frozen_mean, self.frozen_var = mean.detach(), var.detach()
        out = (x.float() - mean) * torch.rsqrt(var + self.eps)
        if self.affine:
            out = out * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)
        return out.to(x.dtype)


def norm_layers(module: nn.Module) -> Iterator[FreezableInstanceNorm2d]:
    for m in module.modules():
        if isinstance(m, FreezableInstanceNorm2d):
            yield m


@contextlib.contextmanager
def norm_statistics(module: nn.Module, mode: str) -> Iterator[None]:
    """Temporarily switch every freezable norm in ``module`` to ``mode``."""
    layers = list(norm_layers(module))
    previous = [layer.mode for layer in layers]
    for layer in layers:
        layer.mode = mode
    try:
        yield
    finally:
        for layer, old in zip(layers, previous, strict=True):
            layer.mode = old


def clear_frozen_statistics(module: nn.Module) -> None:
    for layer in norm_layers(module):
        layer.frozen_mean = layer.frozen_var = None


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, separable: bool) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_conv3x3(channels, separable),
            FreezableInstanceNorm2d(channels),
            nn.ReLU(inplace=True),
            *_conv3x3(channels, separable),
            FreezableInstanceNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _conv3x3(channels: int, separable: bool) -> list[nn.Module]:
    if separable:
        # Depthwise then pointwise: ~1/8 of a full 3x3 conv's MACs at these widths.
        return [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, groups=channels, bias=False),
            nn.Conv2d(channels, channels, 1, bias=True),
        ]
    return [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=True)]


class Upsample(nn.Module):
    """Nearest resize then a 3x3 conv: avoids the checkerboard of transposed convs."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.pad = nn.ReflectionPad2d(1)
        self.conv = nn.Conv2d(in_ch, out_ch, 3, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return self.conv(self.pad(x))


@dataclass(frozen=True)
class GeneratorSpec:
    in_channels: int = 3
    out_channels: int = 3
    width: int = 64
    n_blocks: int = 9
    n_down: int = 2
    separable: bool = False
    # Space-to-depth factor at the input (PixelUnshuffle) and depth-to-space at the output
    # (PixelShuffle): the network then runs at 1/unshuffle of the resolution, where dense
    # convolutions are several times faster per MAC on a CPU than thin full-size layers.
    unshuffle: int = 1
    # Colours of the flat-colour head (0: none): see :class:`FlatColourHead`.
    flat_colours: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> GeneratorSpec:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def stem_and_downsampling(spec: GeneratorSpec) -> tuple[list[nn.Module], list[int], int]:
    """The encoder's 7x7 stem and strided convs, shared by every generator so their NCE
    taps mean the same: (layers, NCE tap ids so far, channels at the bottleneck)."""
    w = spec.width
    u = spec.unshuffle
    layers: list[nn.Module] = [nn.PixelUnshuffle(u)] if u > 1 else []
    layers += [
        nn.ReflectionPad2d(3),
        nn.Conv2d(spec.in_channels * u * u, w, 7, bias=True),
        FreezableInstanceNorm2d(w),
        nn.ReLU(inplace=True),
    ]
    nce_ids = [0]  # the (padded or unshuffled) input itself: pixel patches
    ch = w
    for _ in range(spec.n_down):
        layers += [
            nn.ReflectionPad2d(1),
            nn.Conv2d(ch, ch * 2, 3, stride=2, bias=True),
            FreezableInstanceNorm2d(ch * 2),
            nn.ReLU(inplace=True),
        ]
        ch *= 2
        nce_ids.append(len(layers) - 3)  # after the strided conv
    return layers, nce_ids, ch


class ResnetGenerator(nn.Module):
    """Photo -> painting generator. Inputs and outputs are in [-1, 1], NCHW.

    ``self.layers`` is a flat Sequential so that CUT's PatchNCE loss can tap the
    encoder at :attr:`nce_layer_ids` through :meth:`encode`.
    """

    def __init__(self, spec: GeneratorSpec | None = None) -> None:
        super().__init__()
        spec = spec or GeneratorSpec()
        self.spec = spec
        layers, nce_ids, ch = stem_and_downsampling(spec)
        first_block = len(layers)
        for _ in range(spec.n_blocks):
            layers.append(ResidualBlock(ch, spec.separable))
        if spec.n_blocks:
            nce_ids.append(first_block + spec.n_blocks // 2)
            nce_ids.append(first_block + spec.n_blocks - 1)
        self.bottleneck_channels = ch
        for _ in range(spec.n_down):
            layers += [
                Upsample(ch, ch // 2),
                FreezableInstanceNorm2d(ch // 2),
                nn.ReLU(inplace=True),
            ]
            ch //= 2
        self.n_body = len(layers)  # the layers before the output convolution
        layers += output_layers(spec, ch)
        self.layers = nn.Sequential(*layers)
        self.nce_layer_ids: tuple[int, ...] = tuple(nce_ids)
        self.flat = FlatColourHead(ch, spec) if spec.flat_colours else None
        if self.flat is not None:
            k = spec.flat_colours
            self.palette = nn.Parameter(torch.empty(k, 3))
            self.ink = nn.Parameter(torch.empty(3))
            self.flat_logit = nn.Parameter(torch.empty(1))
            reset_flat_colours(self.palette, self.ink, self.flat_logit)

    @property
    def size_multiple(self) -> int:
        """Input sides must be multiples of this (the strided convs halve them)."""
        return 2**self.spec.n_down * self.spec.unshuffle

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.flat is None:
            return self.layers(x)
        h = self.layers[: self.n_body](x)
        rgb = self.layers[self.n_body :](h)
        n = x.shape[0]
        return self.flat(
            h, rgb, self.palette.expand(n, -1, -1), self.ink.expand(n, -1),
            self.flat_logit.expand(n, -1),
        )

    def encode(
        self, x: torch.Tensor, layer_ids: tuple[int, ...] | None = None
    ) -> list[torch.Tensor]:
        """Features after each layer in ``layer_ids`` (default: the NCE taps)."""
        return encode_through(self.layers, x, layer_ids or self.nce_layer_ids)

    def nce_channels(self) -> list[int]:
        """Channel count of each NCE tap (for building CUT's projection MLPs)."""
        return probe_nce_channels(self)


FLAT_LOGIT_START = -2.0  # the flat head starts as an eighth of the output (sigmoid(-2))


def reset_flat_colours(palette: torch.Tensor, ink: torch.Tensor, logit: torch.Tensor) -> None:
    """A spread of starting colours (deterministic: the run's seed does the rest), dark ink,
    and a small share of flat colour, so the plain output leads until D asks for more."""
    with torch.no_grad():
        k = palette.shape[0]
        t = torch.linspace(0, 1, k)
        palette.copy_(torch.stack([torch.sin(6.283 * t), torch.cos(6.283 * t), 2 * t - 1], 1)
                      * 0.7)
        ink.fill_(-0.85)
        logit.fill_(FLAT_LOGIT_START)


class FlatColourHead(nn.Module):
    """Flat colour areas and drawn contours, mixed with the plain RGB output.

    Woodblock prints, icons and ink paintings are made of a few flat colours and drawn
    lines; a CNN's RGB output makes smooth gradients easily and flat regions only with great
    effort. This head lets the network choose, per pixel, among a small palette (a softmax
    over ``flat_colours`` colours) and draw lines (a sigmoid alpha toward an ink colour).
    The palette, the ink and how much of the output is flat (``sigmoid(flat_logit)``) are
    inputs: learned parameters of a single-style generator, or produced from the style code
    of a multi-style one, so each tradition takes as much of it as its paintings need.
    """

    def __init__(self, channels: int, spec: GeneratorSpec) -> None:
        super().__init__()
        u = spec.unshuffle
        self.n_colours = spec.flat_colours
        self.choose = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, self.n_colours * u * u, 3)
        )
        self.lines = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(channels, u * u, 3))
        self.shuffle = nn.PixelShuffle(u) if u > 1 else nn.Identity()

    def forward(
        self,
        h: torch.Tensor,
        rgb: torch.Tensor,
        palette: torch.Tensor,  # N x K x 3, tanh space
        ink: torch.Tensor,  # N x 3
        flat_logit: torch.Tensor,  # N x 1
    ) -> torch.Tensor:
        weights = torch.softmax(self.shuffle(self.choose(h)).float(), dim=1)
        colours = torch.tanh(palette.float())
        flat = torch.einsum("nkhw,nkc->nchw", weights, colours)
        alpha = torch.sigmoid(self.shuffle(self.lines(h)).float())
        flat = flat * (1 - alpha) + torch.tanh(ink.float())[:, :, None, None] * alpha
        share = torch.sigmoid(flat_logit.float())[:, :, None, None]
        return (share * flat + (1 - share) * rgb.float()).to(rgb.dtype)


def output_layers(spec: GeneratorSpec, channels: int) -> list[nn.Module]:
    """The last 7x7 conv to RGB (via depth-to-space when the input was unshuffled), tanh."""
    u = spec.unshuffle
    layers: list[nn.Module] = [
        nn.ReflectionPad2d(3),
        nn.Conv2d(channels, spec.out_channels * u * u, 7),
    ]
    if u > 1:
        layers.append(nn.PixelShuffle(u))
    return layers + [nn.Tanh()]


def encode_through(
    layers: nn.Sequential, x: torch.Tensor, layer_ids: tuple[int, ...]
) -> list[torch.Tensor]:
    """Run ``layers`` only as far as needed, keeping the output of each of ``layer_ids``."""
    wanted = set(layer_ids)
    last = max(wanted)
    feats: list[torch.Tensor] = []
    h = x
    for i, layer in enumerate(layers):
        h = layer(h)
        if i in wanted:
            feats.append(h)
        if i == last:
            break
    return feats


def probe_nce_channels(generator: nn.Module) -> list[int]:
    """Channels at each NCE tap of a generator with ``encode``, found with a tiny input."""
    side = 4 * generator.size_multiple
    with torch.no_grad():
        probe = torch.zeros(1, generator.spec.in_channels, side, side)
        was_training = generator.training
        generator.eval()
        feats = generator.encode(probe)
        generator.train(was_training)
    return [f.shape[1] for f in feats]


@dataclass(frozen=True)
class DiscriminatorSpec:
    in_channels: int = 3
    width: int = 64
    n_layers: int = 3  # 3 gives the 70x70 receptive field of pix2pix / CycleGAN

    def to_dict(self) -> dict:
        return asdict(self)


class PatchDiscriminator(nn.Module):
    """Fully convolutional PatchGAN: one real/fake logit per overlapping patch."""

    def __init__(self, spec: DiscriminatorSpec | None = None, n_heads: int = 1) -> None:
        super().__init__()
        spec = spec or DiscriminatorSpec()
        self.spec = spec
        w = spec.width
        layers: list[nn.Module] = [
            nn.Conv2d(spec.in_channels, w, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        mult = 1
        for n in range(1, spec.n_layers):
            prev, mult = mult, min(2**n, 8)
            layers += [
                nn.Conv2d(w * prev, w * mult, 4, stride=2, padding=1),
                FreezableInstanceNorm2d(w * mult),
                nn.LeakyReLU(0.2, inplace=True),
            ]
        prev, mult = mult, min(2**spec.n_layers, 8)
        layers += [
            nn.Conv2d(w * prev, w * mult, 4, stride=1, padding=1),
            FreezableInstanceNorm2d(w * mult),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        self.trunk = nn.Sequential(*layers)
        # One output map per head: multi-style models give each tradition its own head
        # (a StarGAN v2 style multi-task discriminator); single-style models have one.
        self.head = nn.Conv2d(w * mult, n_heads, 4, stride=1, padding=1)
        self.n_heads = n_heads

    def forward(self, x: torch.Tensor, head: torch.Tensor | int | None = None) -> torch.Tensor:
        out = self.head(self.trunk(x))
        if head is None:
            return out
        if isinstance(head, int):
            return out[:, head : head + 1]
        index = head.view(-1, 1, 1, 1).expand(-1, 1, out.shape[2], out.shape[3])
        return out.gather(1, index)


class MultiScaleDiscriminator(nn.Module):
    """pix2pixHD's multi-scale PatchGAN: the same discriminator design judging the image
    at full, half, quarter ... resolution, so both fine texture and the layout of large
    shapes (flat areas, contours) are judged. Returns one logit map per scale."""

    def __init__(
        self, spec: DiscriminatorSpec | None = None, n_scales: int = 2, n_heads: int = 1
    ) -> None:
        super().__init__()
        self.scales = nn.ModuleList(PatchDiscriminator(spec, n_heads) for _ in range(n_scales))
        self.n_heads = n_heads

    def forward(
        self, x: torch.Tensor, head: torch.Tensor | int | None = None
    ) -> list[torch.Tensor]:
        out = []
        for i, disc in enumerate(self.scales):
            if i:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            out.append(disc(x, head))
        return out


def make_discriminator(
    spec: DiscriminatorSpec, n_scales: int = 1, n_heads: int = 1
) -> nn.Module:
    """A PatchGAN (one scale: a tensor of logits) or a multi-scale one (a list)."""
    if n_scales <= 1:
        return PatchDiscriminator(spec, n_heads)
    return MultiScaleDiscriminator(spec, n_scales, n_heads)


def receptive_field(generator: ResnetGenerator) -> int:
    """Receptive field in input pixels of one output pixel (analytic, conv by conv)."""
    rf, jump = 1.0, 1.0
    for m in generator.modules():
        if isinstance(m, nn.PixelUnshuffle):
            rf += (m.downscale_factor - 1) * jump
            jump *= m.downscale_factor
        elif isinstance(m, nn.PixelShuffle):
            jump /= m.upscale_factor
        elif isinstance(m, Upsample):
            jump /= 2
        elif isinstance(m, nn.Conv2d):
            k = m.kernel_size[0]
            rf += (k - 1) * jump
            jump *= m.stride[0]
    return int(round(rf))
