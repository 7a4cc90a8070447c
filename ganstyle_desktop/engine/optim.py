"""Optimisers, the learning-rate schedule and their exact save/restore as tensors + JSON.

The schedule is a pure function of the step, so resuming needs nothing but the step.
Optimiser moments, grad-scaler and RNG states travel as tensors (safetensors) and
small JSON, never as pickles.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

ADAM_BETAS = (0.5, 0.999)


def lr_factor(step: int, total_steps: int, decay_start: float) -> float:
    """Multiplier of the base LR for 0-based step ``step`` of ``total_steps``.

    Constant for the first ``decay_start * total_steps`` steps, then linear to 0 at
    ``total_steps`` (the last step still learns a little).
    """
    if total_steps <= 0:
        return 1.0
    start = min(max(decay_start, 0.0), 1.0) * total_steps
    if step < start:
        return 1.0
    span = total_steps - start
    if span <= 0:
        return 0.0
    return max(0.0, min(1.0, (total_steps - step) / span))


def make_adam(params: Iterable[nn.Parameter], lr: float) -> torch.optim.Adam:
    # foreach=False: the same arithmetic on every backend, and bit-exact across resumes.
    return torch.optim.Adam(list(params), lr=lr, betas=ADAM_BETAS, foreach=False)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def optimizer_state(
    optimizer: torch.optim.Optimizer, prefix: str
) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors, JSON meta) capturing ``optimizer.state_dict()`` exactly."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict] = {}
    for index, state in sd["state"].items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.{index}.{key}"] = value.detach().cpu().contiguous().clone()
            else:
                scalars.setdefault(str(index), {})[key] = value
    groups = []
    for group in sd["param_groups"]:
        g = {k: (list(v) if isinstance(v, tuple) else v) for k, v in group.items()}
        groups.append(g)
    return tensors, {"param_groups": groups, "scalars": scalars}


def load_optimizer_state(
    optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict, prefix: str
) -> None:
    state: dict[int, dict] = {}
    start = prefix + "."
    for name, value in tensors.items():
        if not name.startswith(start):
            continue
        index, key = name[len(start) :].split(".", 1)
        state.setdefault(int(index), {})[key] = value
    for index, values in meta.get("scalars", {}).items():
        state.setdefault(int(index), {}).update(values)
    groups = []
    for group in meta["param_groups"]:
        g = dict(group)
        if "betas" in g:
            g["betas"] = tuple(g["betas"])
        groups.append(g)
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def make_grad_scaler(device: torch.device, enabled: bool) -> torch.amp.GradScaler | None:
    return torch.amp.GradScaler(device.type) if enabled else None


def scaler_state(scaler: torch.amp.GradScaler | None) -> dict:
    if scaler is None:
        return {}
    return {k: (float(v) if isinstance(v, float) else v) for k, v in scaler.state_dict().items()}


def load_scaler_state(scaler: torch.amp.GradScaler | None, meta: dict) -> None:
    if scaler is not None and meta:
        scaler.load_state_dict(meta)


def rng_state_tensor(generator: torch.Generator) -> torch.Tensor:
    """A generator's state as a uint8 tensor (what ``get_state`` returns, on the CPU)."""
    return generator.get_state().cpu().clone()


def load_rng_state(generator: torch.Generator, state: torch.Tensor) -> None:
    generator.set_state(state.to(torch.uint8).cpu())


def seeded_generator(seed: int, salt: int) -> torch.Generator:
    """A CPU generator for one purpose; ``salt`` separates the streams of one run."""
    g = torch.Generator(device="cpu")
    g.manual_seed((int(seed) * 1_000_003 + salt) % (2**63))
    return g
