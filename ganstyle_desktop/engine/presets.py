"""Named network sizes. Parameter and MAC counts are measured, not typed in: see
:func:`describe_preset` (``ganstyle-cli info --presets`` prints them).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .nets import DiscriminatorSpec, GeneratorSpec, PatchDiscriminator, ResnetGenerator

DEFAULT_PRESET = "painter"


@dataclass(frozen=True)
class Preset:
    name: str
    # None: the pretrained painter (engine/painter_nets.py), whose layout is fixed.
    generator: GeneratorSpec | None
    discriminator: DiscriminatorSpec
    summary: str

    @property
    def is_painter(self) -> bool:
        return self.generator is None


PRESETS: dict[str, Preset] = {
    "painter": Preset(
        "painter",
        None,
        DiscriminatorSpec(width=32, n_layers=3),
        "Starts from a pretrained painter (Magenta's style-transfer network), so each "
        "tradition paints from the first step; multi-style method only",
    ),
    "classic": Preset(
        "classic",
        GeneratorSpec(width=64, n_blocks=9, n_down=2, separable=False),
        DiscriminatorSpec(width=64, n_layers=3),
        "CycleGAN reference sizes: ResNet-9 generator, 70x70 PatchGAN, width 64",
    ),
    "mid": Preset(
        "mid",
        GeneratorSpec(width=32, n_blocks=6, n_down=2, separable=False, unshuffle=2),
        DiscriminatorSpec(width=32, n_layers=3),
        "Painting-capable CPU generator: space-to-depth input, width 32, 6 dense residual "
        "blocks at 1/8 resolution (receptive field 242 px)",
    ),
    "lite": Preset(
        "lite",
        GeneratorSpec(width=16, n_blocks=6, n_down=2, separable=True),
        DiscriminatorSpec(width=32, n_layers=3),
        "Laptop-CPU generator: width 16, 6 depthwise-separable residual blocks",
    ),
    "tiny": Preset(
        "tiny",
        GeneratorSpec(width=4, n_blocks=1, n_down=2, separable=True),
        DiscriminatorSpec(width=4, n_layers=2),
        "For tests and smoke runs only: trains in milliseconds, learns little",
    ),
}


class UnknownPreset(ValueError):
    pass


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise UnknownPreset(
            f"Unknown preset {name!r}; choose one of {', '.join(sorted(PRESETS))}."
        ) from None


def count_macs(module: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of one forward pass (convolutions and linear layers)."""
    total = 0

    def conv_hook(m: nn.Conv2d, _inp, out: torch.Tensor) -> None:
        nonlocal total
        kh, kw = m.kernel_size
        total += out.numel() * (m.in_channels // m.groups) * kh * kw

    def linear_hook(m: nn.Linear, _inp, out: torch.Tensor) -> None:
        nonlocal total
        total += out.numel() * m.in_features

    handles = []
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            module(torch.zeros(*input_shape))
    finally:
        module.train(was_training)
        for h in handles:
            h.remove()
    return total


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def describe_preset(name: str, size: int = 256) -> dict:
    preset = get_preset(name)
    if preset.is_painter:
        from .painter_nets import PainterGenerator

        gen: nn.Module = PainterGenerator(["style"])
    else:
        gen = ResnetGenerator(preset.generator)
    disc = PatchDiscriminator(preset.discriminator)
    shape = (1, 3, size, size)
    return {
        "preset": name,
        "summary": preset.summary,
        "size": size,
        "generator_parameters": count_parameters(gen),
        "generator_gmacs": round(count_macs(gen, shape) / 1e9, 3),
        "discriminator_parameters": count_parameters(disc),
        "discriminator_gmacs": round(count_macs(disc, shape) / 1e9, 3),
        "generator": preset.generator.to_dict() if preset.generator else {"kind": "painter"},
        "discriminator": preset.discriminator.to_dict(),
    }
