"""The painter: a multi-style generator that starts out already able to paint.

Why: a generator trained from noise on two CPU cores needs far longer than an artist will
wait before it paints rather than filters (the starter models of earlier versions were one
colour cast for every tradition). Magenta's arbitrary-style transfer network (Ghiasi et al.
2017, the partner of :mod:`.style_prior`; weights in ``resources/priors``, Apache-2.0)
learned brushwork, flat fills and contours from tens of thousands of paintings. The
painter has exactly its layout and starts from its weights; each tradition's embedding row
starts at the mean style embedding of its artworks. Adversarial training (per-tradition
PatchGAN heads and the prior's critic) then moves each tradition from "Magenta's guess of
the mean painting" towards what sets the tradition apart, anchored to the starting painting
by the teacher term so that the photo's content stays.

Layout (as the pretrained graph): reflection-padded convs 9x9/8, 3x3/16 stride 2, 3x3/32
stride 2 with ReLU (the unconditioned content encoder: PatchNCE taps live here); five
residual blocks at 1/4 resolution and two nearest-upsample stages whose instance norms are
modulated by the style code; a 9x9 conv to RGB, modulated norm, sigmoid.

It is a :class:`~.multistyle_nets.MultiStyleGenerator` (same traditions, blend, strength and
tiling interface; the blend of traditions is the convex mix of embedding rows, which is how
Magenta interpolates styles), with one linear map from the 100-d code to every norm's
gamma/beta instead of the MLP. Pixels in and out are [-1, 1] like every generator here.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from .multistyle_nets import (
    ModulatedNorm,
    ModulatedResidualBlock,
    ModulatedUpsample,
    MultiStyleGenerator,
)
from .style_prior import EMBEDDING_DIM

GENERATOR_KIND = "painter"
N_BLOCKS = 5
WIDTHS = (8, 16, 32)


def _reflect_conv(cin: int, cout: int, kernel: int, stride: int = 1) -> list[nn.Module]:
    return [nn.ReflectionPad2d(kernel // 2), nn.Conv2d(cin, cout, kernel, stride=stride)]


class _ToRGB(nn.Module):
    """9x9 conv, modulated norm, sigmoid: [0, 1] like the pretrained graph."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(*_reflect_conv(channels, 3, 9))
        self.norm = ModulatedNorm(3)

    def forward(self, x: torch.Tensor, affine) -> torch.Tensor:
        return torch.sigmoid(self.norm(self.conv(x), *affine[0]))


class PainterGenerator(MultiStyleGenerator):
    """Photo -> painting in one of several traditions (or a blend). NCHW, [-1, 1]."""

    def __init__(self, traditions: list[str] | None = None) -> None:
        # The MultiStyleGenerator interface without its ResNet layers (see module doc).
        nn.Module.__init__(self)
        traditions = list(traditions or ["style"])
        if len(set(traditions)) != len(traditions):
            raise ValueError(f"Tradition names must be unique: {traditions}")
        self.spec = None  # not a GeneratorSpec network: tiling measures it by a probe
        self.traditions = traditions
        self.style_dim = EMBEDDING_DIM
        self.mlp_hidden = 0
        self.flat = None
        self._n_flat = 0
        c1, c2, c3 = WIDTHS
        self.encoder = nn.Sequential(
            *_reflect_conv(3, c1, 9), nn.ReLU(),
            *_reflect_conv(c1, c2, 3, 2), nn.ReLU(),
            *_reflect_conv(c2, c3, 3, 2), nn.ReLU(),
        )
        # After each ReLU of the encoder: full, 1/2 and 1/4 resolution.
        self.nce_layer_ids = (2, 5, 8)
        self.bottleneck_channels = c3
        self.blocks = nn.ModuleList(ModulatedResidualBlock(c3, False) for _ in range(N_BLOCKS))
        self.up = nn.ModuleList([ModulatedUpsample(c3, c2), ModulatedUpsample(c2, c1)])
        self.to_rgb = _ToRGB(c1)
        self._norm_channels = [m.channels for m in self.modules() if isinstance(m, ModulatedNorm)]
        n_affine = sum(2 * c for c in self._norm_channels)
        # One linear map (as the pretrained graph's 1x1 convs of the embedding); a
        # Sequential so the style path is found as ``mapping`` like the MLP's.
        self.mapping = nn.Sequential(nn.Linear(EMBEDDING_DIM, n_affine))
        self.embeddings = nn.ParameterList(
            nn.Parameter(torch.zeros(EMBEDDING_DIM)) for _ in traditions
        )

    @property
    def size_multiple(self) -> int:
        return 4

    def architecture(self) -> dict:
        return {
            "generator": GENERATOR_KIND,
            "traditions": list(self.traditions),
            "style_dim": self.style_dim,
        }

    def forward_code(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        if code.shape[0] == 1 and x.shape[0] > 1:
            code = code.expand(x.shape[0], -1)
        affine, _ = self._modulation(code.to(x.device, torch.float32))
        h = self.encoder((x + 1.0) * 0.5)
        i = 0
        for block in self.blocks:
            h = block(h, affine[i : i + 2])
            i += 2
        for stage in self.up:
            h = stage(h, affine[i : i + 1])
            i += 1
        return self.to_rgb(h, affine[i : i + 1]) * 2.0 - 1.0

    def encode(
        self, x: torch.Tensor, layer_ids: tuple[int, ...] | None = None
    ) -> list[torch.Tensor]:
        return super().encode((x + 1.0) * 0.5, layer_ids)

    def nce_channels(self) -> list[int]:
        return list(WIDTHS)

    # -- starting point -------------------------------------------------------------------
    @classmethod
    def pretrained(
        cls, traditions: list[str], embeddings: torch.Tensor | None = None
    ) -> PainterGenerator:
        """The painter with the pretrained transfer network's weights; ``embeddings``
        (one 100-d row per tradition) start the traditions, else zeros."""
        from .style_teacher import shared_teacher

        painter = cls(traditions)
        load_teacher_weights(painter, shared_teacher("cpu"))
        if embeddings is not None:
            painter.set_embeddings(embeddings)
        return painter

    @torch.no_grad()
    def set_embeddings(self, rows: torch.Tensor, offset: int = 0) -> None:
        for i, row in enumerate(rows):
            self.embeddings[offset + i].copy_(row.to(self.embeddings[offset + i]))


@torch.no_grad()
def load_teacher_weights(painter: PainterGenerator, teacher: nn.Module) -> None:
    """Copy the pretrained transfer network (:class:`~.style_teacher.StyleTransferTeacher`)
    into ``painter``; the two then paint identically (tested)."""
    convs = [m for m in painter.encoder if isinstance(m, nn.Conv2d)]
    for mine, theirs in zip(convs, teacher.contract, strict=True):
        _copy_conv(mine, theirs.conv)
    norms: list[tuple[nn.Module, ModulatedNorm]] = []  # (teacher StyleNorm, painter norm)
    for block, (conv1, norm1, conv2, norm2) in zip(painter.blocks, teacher.residual, strict=True):
        _copy_conv(block.conv1[1], conv1.conv)
        _copy_conv(block.conv2[1], conv2.conv)
        norms += [(norm1, block.norm1), (norm2, block.norm2)]
    for stage, (conv, norm) in zip(painter.up, teacher.expand[:2], strict=True):
        _copy_conv(stage.upsample.conv, conv.conv)
        norms.append((norm, stage.norm))
    conv, norm = teacher.expand[2]
    _copy_conv(painter.to_rgb.conv[1], conv.conv)
    norms.append((norm, painter.to_rgb.norm))
    # The painter's norms apply (1 + gamma): store the teacher's gamma minus one.
    linear = painter.mapping[0]
    offset = 0
    for theirs, mine in zip([t for t, _ in norms], [m for _, m in norms], strict=True):
        c = mine.channels
        gamma_w = theirs.gamma.conv.weight.flatten(1)
        beta_w = theirs.beta.conv.weight.flatten(1)
        linear.weight[offset : offset + c] = gamma_w
        linear.bias[offset : offset + c] = theirs.gamma.conv.bias - 1.0
        linear.weight[offset + c : offset + 2 * c] = beta_w
        linear.bias[offset + c : offset + 2 * c] = theirs.beta.conv.bias
        offset += 2 * c
    if offset != linear.out_features:
        raise RuntimeError("the painter's norms do not match the pretrained network")


def _copy_conv(mine: nn.Conv2d, theirs: nn.Conv2d) -> None:
    if mine.weight.shape != theirs.weight.shape:
        raise RuntimeError(
            f"pretrained conv {tuple(theirs.weight.shape)} != {tuple(mine.weight.shape)}"
        )
    mine.weight.copy_(theirs.weight)
    mine.bias.copy_(theirs.bias)


def build_from_architecture(architecture: Mapping) -> PainterGenerator:
    traditions = architecture.get("traditions")
    if not traditions:
        raise ValueError("A painter architecture must list its traditions.")
    dim = int(architecture.get("style_dim", EMBEDDING_DIM))
    if dim != EMBEDDING_DIM:
        raise ValueError(f"A painter's style code has {EMBEDDING_DIM} numbers, not {dim}.")
    return PainterGenerator(
        [str(t.get("slug") if isinstance(t, Mapping) else t) for t in traditions]
    )


def _register() -> None:
    from .modelfile import register_generator_builder

    register_generator_builder(GENERATOR_KIND, build_from_architecture)


_register()
