"""PatchNCE (Park et al. 2020, "Contrastive Learning for Unpaired Image-to-Image
Translation"): a patch of the output should match the input patch at the same place
more than any other input patch, in the generator encoder's own feature spaces.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .nets import ResnetGenerator


class PatchSampleMLP(nn.Module):
    """CUT's projection heads: one 2-layer MLP per encoder tap, applied to sampled patches.

    Built from the taps' channel counts (``ResnetGenerator.nce_channels()``), so its
    parameters exist before the optimizer is made and before any checkpoint is loaded.
    """

    def __init__(self, channels: Sequence[int], nc: int = 256) -> None:
        super().__init__()
        self.channels = tuple(int(c) for c in channels)
        self.nc = nc
        self.mlps = nn.ModuleList(
            nn.Sequential(nn.Linear(c, nc), nn.ReLU(inplace=True), nn.Linear(nc, nc))
            for c in self.channels
        )

    def forward(
        self,
        feats: Sequence[torch.Tensor],
        num_patches: int,
        patch_ids: Sequence[torch.Tensor] | None = None,
        generator: torch.Generator | None = None,
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Sample ``num_patches`` locations per tap (the same for every image in the batch)
        and project them. Returns (B x P x nc L2-normalised features, the ids used)."""
        out: list[torch.Tensor] = []
        ids_out: list[torch.Tensor] = []
        for i, (feat, mlp) in enumerate(zip(feats, self.mlps, strict=True)):
            b, c, h, w = feat.shape
            flat = feat.permute(0, 2, 3, 1).reshape(b, h * w, c)
            if patch_ids is not None:
                ids = patch_ids[i]
            else:
                gen_device = generator.device if generator is not None else torch.device("cpu")
                ids = torch.randperm(h * w, generator=generator, device=gen_device)
                ids = ids[: min(num_patches, h * w)]
            ids = ids.to(feat.device)
            sampled = flat[:, ids, :]
            projected = mlp(sampled.float())
            out.append(F.normalize(projected, dim=-1, eps=1e-7))
            ids_out.append(ids)
        return out, ids_out


def patch_nce_loss(feat_q: torch.Tensor, feat_k: torch.Tensor, tau: float = 0.07) -> torch.Tensor:
    """InfoNCE over patches. ``feat_q``/``feat_k``: B x P x C (or P x C), L2-normalised.

    Positives are the same location in the other image; negatives are the other
    locations of the same image (CUT's default: no negatives across the batch).
    """
    if feat_q.dim() == 2:
        feat_q, feat_k = feat_q.unsqueeze(0), feat_k.unsqueeze(0)
    feat_q = feat_q.float()
    feat_k = feat_k.detach().float()
    b, p, _ = feat_q.shape
    l_pos = (feat_q * feat_k).sum(dim=-1, keepdim=True)  # B x P x 1
    l_neg = torch.bmm(feat_q, feat_k.transpose(1, 2))  # B x P x P
    diagonal = torch.eye(p, device=feat_q.device, dtype=torch.bool).unsqueeze(0)
    l_neg = l_neg.masked_fill(diagonal, -10.0)  # the positive is not its own negative
    logits = torch.cat([l_pos, l_neg], dim=2).view(b * p, p + 1) / tau
    target = torch.zeros(b * p, dtype=torch.long, device=feat_q.device)
    return F.cross_entropy(logits, target)


class PatchNCE(nn.Module):
    """The generator taps, the projection heads and the loss, averaged over taps."""

    def __init__(
        self, generator: ResnetGenerator, num_patches: int = 256, nc: int = 256, tau: float = 0.07
    ) -> None:
        super().__init__()
        # One entry per tap: a generator with one residual block names that block twice
        # (as its middle and its last), but it is one tap, with one head, counted once.
        self.layer_ids = tuple(dict.fromkeys(generator.nce_layer_ids))
        self.mlp = PatchSampleMLP(generator.nce_channels(), nc=nc)
        self.num_patches = num_patches
        self.tau = tau

    def loss(
        self,
        generator: ResnetGenerator,
        source: torch.Tensor,
        target: torch.Tensor,
        rng: torch.Generator,
        flip_target: bool = False,
    ) -> torch.Tensor:
        """PatchNCE between ``source`` (the input) and ``target`` (its translation).

        ``flip_target``: the target was made from a horizontally flipped source (FastCUT's
        flip-equivariance), so its features are flipped back before matching.
        """
        feat_q = generator.encode(target, self.layer_ids)
        if flip_target:
            feat_q = [torch.flip(f, dims=[3]) for f in feat_q]
        # The keys are detached in the loss (as in CUT), so their graph would be dead
        # weight: building it under no_grad gives the same numbers for less time and memory.
        with torch.no_grad():
            feat_k = generator.encode(source, self.layer_ids)
            pooled_k, ids = self.mlp(feat_k, self.num_patches, generator=rng)
        pooled_q, _ = self.mlp(feat_q, self.num_patches, patch_ids=ids)
        total = sum(patch_nce_loss(q, k, self.tau) for q, k in zip(pooled_q, pooled_k, strict=True))
        return total / len(pooled_q)  # the mean over taps

    def forward(
        self,
        generator: ResnetGenerator,
        source: torch.Tensor,
        target: torch.Tensor,
        rng: torch.Generator,
        flip_target: bool = False,
    ) -> torch.Tensor:
        """:meth:`loss` as the module's forward: a data-parallel (DDP) replica of the
        heads averages their gradients over processes only for work done in a forward."""
        return self.loss(generator, source, target, rng, flip_target=flip_target)
