"""A generator that knows several traditions at once, and blends between them.

The ResNet generator of :mod:`.nets`, split the MUNIT / StarGAN v2 way:

- a shared, unconditioned *content encoder* (stem, strided convs, the first half of the
  residual blocks): PatchNCE taps live here, so the content constraint is one for all
  traditions;
- a *decoder* (the other residual blocks and the upsampling stages) whose instance norms
  are modulated by a style code: ``norm(x) * (1 + gamma) + beta`` (conditional instance
  norm / AdaIN), with gamma and beta produced from the code by a small shared MLP.

Each tradition owns one learned embedding row (a :class:`~torch.nn.ParameterList` entry),
so a tradition is added by appending a row, and fine-tuning it cannot touch the others.
A blend is a convex mix of rows; weights summing to ``s < 1`` leave the photo as the
remainder: ``s * G(x, mix) + (1 - s) * x`` (the "style strength").

Every norm is a :class:`~.nets.FreezableInstanceNorm2d`, so the tiled stylizer's frozen
(thumbnail) statistics work unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn
from torch.nn import functional as F

# BlendError: one error type for every blend mistake, from the Blend value to here.
from .blend import BlendError
from .nets import (
    FlatColourHead,
    FreezableInstanceNorm2d,
    GeneratorSpec,
    ResidualBlock,
    Upsample,
    _conv3x3,
    encode_through,
    output_layers,
    probe_nce_channels,
    reset_flat_colours,
    stem_and_downsampling,
)

GENERATOR_KIND = "multistyle"
DEFAULT_STYLE_DIM = 32
DEFAULT_MLP_HIDDEN = 64


class ModulatedNorm(nn.Module):
    """Instance norm without its own affine; scale and shift come from the style code."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.norm = FreezableInstanceNorm2d(channels, affine=False)

    def forward(self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        norm = self.norm
        mean, var = norm.frozen_mean, norm.frozen_var
        if (
            norm.mode == "frozen"
            and mean is not None
            and var is not None
            and mean.shape[0] == 1
            and gamma.shape[0] == 1
            and norm.weight is None
        ):
            # Frozen statistics and one style for the batch (every stylize): the norm and
            # the modulation are one per-channel affine, batch norm's inference formula
            # with the style as its weight and bias. One pass over the tile instead of
            # three (the ONNX graph's BatchNormalization, Mul, Add).
            return F.batch_norm(
                x,
                mean.view(-1),
                var.view(-1),
                (1 + gamma.to(mean.dtype)).view(-1),
                beta.to(mean.dtype).view(-1),
                False,
                0.0,
                norm.eps,
            )
        out = norm(x)
        return (
            out * (1 + gamma.to(out.dtype)[:, :, None, None]) + beta.to(out.dtype)[:, :, None, None]
        )


# Gamma/beta are passed down explicitly (never stored on modules) so that two threads
# may run one generator with different blends at the same time (preview + compare grid).
Affine = list[tuple[torch.Tensor, torch.Tensor]]


class ModulatedResidualBlock(nn.Module):
    def __init__(self, channels: int, separable: bool) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(*_conv3x3(channels, separable))
        self.norm1 = ModulatedNorm(channels)
        self.conv2 = nn.Sequential(*_conv3x3(channels, separable))
        self.norm2 = ModulatedNorm(channels)

    def forward(self, x: torch.Tensor, affine: Affine) -> torch.Tensor:
        h = F.relu(self.norm1(self.conv1(x), *affine[0]))
        return x + self.norm2(self.conv2(h), *affine[1])


class ModulatedUpsample(nn.Module):
    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.upsample = Upsample(in_ch, out_ch)
        self.norm = ModulatedNorm(out_ch)

    def forward(self, x: torch.Tensor, affine: Affine) -> torch.Tensor:
        return F.relu(self.norm(self.upsample(x), *affine[0]))


class MultiStyleGenerator(nn.Module):
    """Photo -> painting in one of several traditions (or a blend). NCHW, [-1, 1].

    ``forward(x, style_ids)`` takes one tradition index per image (LongTensor, an int, or
    None for the first tradition); :meth:`forward_code` takes style codes directly.
    """

    def __init__(
        self,
        spec: GeneratorSpec | None = None,
        traditions: list[str] | None = None,
        style_dim: int = DEFAULT_STYLE_DIM,
        mlp_hidden: int = DEFAULT_MLP_HIDDEN,
    ) -> None:
        super().__init__()
        spec = spec or GeneratorSpec()
        traditions = list(traditions or ["style"])
        if len(set(traditions)) != len(traditions):
            raise ValueError(f"Tradition names must be unique: {traditions}")
        self.spec = spec
        self.traditions: list[str] = traditions
        self.style_dim = style_dim
        self.mlp_hidden = mlp_hidden

        # Content encoder: the same stem as ResnetGenerator so NCE taps mean the same.
        layers, nce_ids, ch = stem_and_downsampling(spec)
        n_shared = spec.n_blocks // 2
        first_block = len(layers)
        for _ in range(n_shared):
            layers.append(ResidualBlock(ch, spec.separable))
        if n_shared:
            nce_ids += sorted({first_block + n_shared // 2, first_block + n_shared - 1})
        self.encoder = nn.Sequential(*layers)
        self.nce_layer_ids: tuple[int, ...] = tuple(nce_ids)
        self.bottleneck_channels = ch

        # Style-modulated decoder.
        self.blocks = nn.ModuleList(
            ModulatedResidualBlock(ch, spec.separable) for _ in range(spec.n_blocks - n_shared)
        )
        ups: list[nn.Module] = []
        for _ in range(spec.n_down):
            ups.append(ModulatedUpsample(ch, ch // 2))
            ch //= 2
        self.up = nn.ModuleList(ups)
        self.to_rgb = nn.Sequential(*output_layers(spec, ch))

        self._norm_channels = [m.channels for m in self.modules() if isinstance(m, ModulatedNorm)]
        n_affine = sum(2 * c for c in self._norm_channels)
        # The flat-colour head's palette, ink and share come from the style code too (an
        # offset to shared starting values), so each tradition takes what it needs.
        self.flat = FlatColourHead(ch, spec) if spec.flat_colours else None
        self._n_flat = 0
        if self.flat is not None:
            k = spec.flat_colours
            self.palette = nn.Parameter(torch.empty(k, 3))
            self.ink = nn.Parameter(torch.empty(3))
            self.flat_logit = nn.Parameter(torch.empty(1))
            reset_flat_colours(self.palette, self.ink, self.flat_logit)
            self._n_flat = k * 3 + 3 + 1
            n_affine += self._n_flat
        self.mapping = nn.Sequential(
            nn.Linear(style_dim, mlp_hidden), nn.ReLU(inplace=True), nn.Linear(mlp_hidden, n_affine)
        )
        # Start as plain instance norm (gamma = beta = 0): early training is stable and a
        # freshly added tradition does not start from noise.
        nn.init.zeros_(self.mapping[2].weight)
        nn.init.zeros_(self.mapping[2].bias)
        self.embeddings = nn.ParameterList(nn.Parameter(torch.randn(style_dim)) for _ in traditions)

    # -- metadata ----------------------------------------------------------------------
    @property
    def size_multiple(self) -> int:
        return 2**self.spec.n_down * self.spec.unshuffle

    @property
    def n_styles(self) -> int:
        return len(self.traditions)

    def architecture(self) -> dict:
        """What a model card stores so :func:`build_from_architecture` can rebuild this."""
        return {
            "generator": GENERATOR_KIND,
            "spec": self.spec.to_dict(),
            "traditions": list(self.traditions),
            "style_dim": self.style_dim,
            "mlp_hidden": self.mlp_hidden,
        }

    def index_of(self, tradition: str) -> int:
        try:
            return self.traditions.index(tradition)
        except ValueError:
            raise BlendError(
                f"Unknown tradition {tradition!r}; this model knows {', '.join(self.traditions)}."
            ) from None

    # -- traditions --------------------------------------------------------------------
    def add_tradition(self, name: str) -> int:
        """Append an embedding row for ``name`` (the mean of the existing rows); its index."""
        if name in self.traditions:
            raise ValueError(f"The model already knows a tradition named {name!r}.")
        with torch.no_grad():
            mean = torch.stack([p.detach() for p in self.embeddings]).mean(0)
        self.embeddings.append(nn.Parameter(mean.clone()))
        self.traditions.append(name)
        return len(self.traditions) - 1

    def remove_tradition(self, name: str) -> None:
        """Forget ``name``: drop its embedding row. The other traditions render exactly as
        before (the shared weights are untouched), so a tradition that misses the quality
        bar can be withheld from a shipped model without retraining."""
        index = self.index_of(name)
        if self.n_styles == 1:
            raise ValueError("A multi-style model needs at least one tradition.")
        kept = [p for i, p in enumerate(self.embeddings) if i != index]
        self.embeddings = nn.ParameterList(kept)
        del self.traditions[index]

    def embedding_table(self) -> torch.Tensor:
        return torch.stack(list(self.embeddings))

    def codes_for_ids(self, style_ids: torch.Tensor) -> torch.Tensor:
        return self.embedding_table()[style_ids]

    def blend_weights(self, blend: Mapping[str, float] | None) -> torch.Tensor:
        """A weight per tradition (float64, CPU), validated; None = the first tradition."""
        weights = torch.zeros(self.n_styles, dtype=torch.float64)
        if blend is None:
            weights[0] = 1.0
            return weights
        for name, value in blend.items():
            value = float(value)
            if not math.isfinite(value) or value < 0:
                raise BlendError(f"Blend weight for {name!r} must be >= 0, got {value}.")
            weights[self.index_of(name)] += value
        if weights.sum() <= 0:
            raise BlendError("A blend needs at least one positive weight.")
        return weights

    def code_for_weights(self, weights: torch.Tensor) -> tuple[torch.Tensor, float]:
        """(style code (1, D), strength s): the convex mix and the styled share."""
        total = float(weights.sum())
        if total <= 0:
            raise BlendError("A blend needs at least one positive weight.")
        strength = min(total, 1.0)
        nonzero = torch.nonzero(weights).flatten().tolist()
        table = self.embedding_table()
        if len(nonzero) == 1:
            # One tradition: its row exactly (no rounding from the mix).
            code = table[nonzero[0]]
        else:
            w = (weights / total).to(table.dtype).to(table.device)
            code = (w[:, None] * table).sum(0)
        return code[None], strength

    # -- forward -----------------------------------------------------------------------
    def _affine(self, code: torch.Tensor) -> Affine:
        """(gamma, beta) per modulated norm, in module order."""
        return self._modulation(code)[0]

    def _modulation(self, code: torch.Tensor) -> tuple[Affine, torch.Tensor]:
        """(gamma, beta) per modulated norm, and the flat-colour head's offsets."""
        flat = self.mapping(code)
        out: Affine = []
        offset = 0
        for c in self._norm_channels:
            out.append((flat[:, offset : offset + c], flat[:, offset + c : offset + 2 * c]))
            offset += 2 * c
        return out, flat[:, offset:]

    def forward_code(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """Generate with style codes ``code`` (N or 1, style_dim)."""
        if code.shape[0] == 1 and x.shape[0] > 1:
            code = code.expand(x.shape[0], -1)
        affine, flat_offsets = self._modulation(code.to(x.device))
        h = self.encoder(x)
        i = 0
        for block in self.blocks:
            h = block(h, affine[i : i + 2])
            i += 2
        for stage in self.up:
            h = stage(h, affine[i : i + 1])
            i += 1
        rgb = self.to_rgb(h)
        if self.flat is None:
            return rgb
        n, k = x.shape[0], self.spec.flat_colours
        palette = self.palette[None] + flat_offsets[:, : k * 3].reshape(n, k, 3)
        ink = self.ink[None] + flat_offsets[:, k * 3 : k * 3 + 3]
        logit = self.flat_logit[None] + flat_offsets[:, k * 3 + 3 :]
        return self.flat(h, rgb, palette, ink, logit)

    def forward(self, x: torch.Tensor, style_ids: torch.Tensor | int | None = None) -> torch.Tensor:
        if style_ids is None:
            style_ids = 0
        if isinstance(style_ids, int):
            style_ids = torch.full((x.shape[0],), style_ids, dtype=torch.long, device=x.device)
        return self.forward_code(x, self.codes_for_ids(style_ids.to(x.device)))

    def forward_blend(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """``s * G(x, mix) + (1 - s) * x`` for a weight per tradition (see :meth:`with_blend`)."""
        code, strength = self.code_for_weights(weights)
        out = self.forward_code(x, code.to(x.device))
        if strength >= 1.0:
            return out
        return strength * out + (1.0 - strength) * x

    def encode(
        self, x: torch.Tensor, layer_ids: tuple[int, ...] | None = None
    ) -> list[torch.Tensor]:
        """Features of the (unconditioned) content encoder at ``layer_ids`` (default: NCE taps)."""
        wanted = set(layer_ids if layer_ids is not None else self.nce_layer_ids)
        if max(wanted) >= len(self.encoder):
            raise ValueError(
                f"Layer {max(wanted)} is beyond the content encoder ({len(self.encoder)} layers)."
            )
        return encode_through(self.encoder, x, tuple(wanted))

    def nce_channels(self) -> list[int]:
        return probe_nce_channels(self)

    def with_blend(self, blend: Mapping[str, float] | None = None) -> BlendedGenerator:
        """A module mapping x -> stylized x with this blend fixed (None: first tradition)."""
        return BlendedGenerator(self, self.blend_weights(blend))


class BlendedGenerator(nn.Module):
    """A :class:`MultiStyleGenerator` with a fixed blend: what the stylizer runs.

    It shares the generator's weights (not a copy), so it is cheap to make per preview.
    """

    def __init__(self, generator: MultiStyleGenerator, weights: torch.Tensor) -> None:
        super().__init__()
        self.generator = generator
        # A plain tensor, not a buffer: module.to(dtype) must not round the blend weights.
        self.weights = weights.detach().to(torch.float64).cpu().clone()

    @property
    def spec(self) -> GeneratorSpec:
        return self.generator.spec

    @property
    def size_multiple(self) -> int:
        return self.generator.size_multiple

    @property
    def traditions(self) -> list[str]:
        return self.generator.traditions

    def blend(self) -> dict[str, float]:
        return {
            name: float(w)
            for name, w in zip(self.generator.traditions, self.weights, strict=True)
            if w > 0
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.generator.forward_blend(x, self.weights)


def build_from_architecture(architecture: Mapping) -> MultiStyleGenerator:
    """Rebuild an (untrained) generator from :meth:`MultiStyleGenerator.architecture`.

    Accepts the card's whole ``architecture`` dict or one whose ``spec`` carries the
    traditions (both appear in the wild).
    """
    spec_dict = dict(architecture.get("spec", architecture))
    traditions = architecture.get("traditions") or spec_dict.get("traditions")
    if not traditions:
        raise ValueError("A multistyle architecture must list its traditions.")
    return MultiStyleGenerator(
        GeneratorSpec.from_dict(spec_dict),
        traditions=[str(t.get("slug") if isinstance(t, Mapping) else t) for t in traditions],
        style_dim=int(architecture.get("style_dim", spec_dict.get("style_dim", DEFAULT_STYLE_DIM))),
        mlp_hidden=int(
            architecture.get("mlp_hidden", spec_dict.get("mlp_hidden", DEFAULT_MLP_HIDDEN))
        ),
    )


def parse_blend(text: str) -> dict[str, float]:
    """``"ukiyo-e=0.6,ink-wash=0.4"`` -> ``{"ukiyo-e": 0.6, "ink-wash": 0.4}`` (CLI/app)."""
    blend: dict[str, float] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise BlendError(f"Blend entry {part!r} must look like name=weight.")
        try:
            blend[name.strip()] = float(value)
        except ValueError:
            raise BlendError(
                f"Blend weight {value!r} for {name.strip()!r} is not a number."
            ) from None
    if not blend:
        raise BlendError("Empty blend; give name=weight pairs separated by commas.")
    return blend


def _register() -> None:
    try:
        from .modelfile import register_generator_builder
    except ImportError:  # model files not built yet in this tree
        return
    register_generator_builder(GENERATOR_KIND, build_from_architecture)


_register()
