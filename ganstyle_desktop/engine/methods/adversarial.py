"""What CUT, FastCUT and CycleGAN share: networks by name, Adam optimisers, the LR
schedule, EMA copies, mixed precision, dedicated RNG streams, and exact resume state."""

from __future__ import annotations

import torch
from torch import nn

from ganstyle_desktop.engine.augment import diff_augment
from ganstyle_desktop.engine.config import TrainConfig
from ganstyle_desktop.engine.devices import DevicePlan
from ganstyle_desktop.engine.ema import ModelEMA
from ganstyle_desktop.engine.optim import (
    load_optimizer_state,
    load_rng_state,
    load_scaler_state,
    lr_factor,
    make_adam,
    make_grad_scaler,
    optimizer_state,
    rng_state_tensor,
    scaler_state,
    seeded_generator,
    set_lr,
)
from ganstyle_desktop.engine.presets import Preset, get_preset

from .base import TrainingMethod
from .weights import init_weights


class StateMismatch(ValueError):
    """A checkpoint does not belong to this method or these network sizes."""


class AdversarialMethod(TrainingMethod):
    """Base for the GAN methods. Subclasses add networks with :meth:`add_network`,
    optimisers with :meth:`add_optimizer`, and implement ``train_step`` using
    :meth:`begin_step` / :meth:`backward` / :meth:`optimizer_step` / :meth:`end_step`."""

    def __init__(self, config: TrainConfig, plan: DevicePlan) -> None:
        super().__init__(config, plan)
        self.preset: Preset = get_preset(config.preset)
        self.step = 0
        self.nets: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.emas: dict[str, ModelEMA] = {}
        self.rngs: dict[str, torch.Generator] = {}
        self.scaler = make_grad_scaler(plan.device, plan.uses_grad_scaler)
        self._salt = 100

    # -- construction ---------------------------------------------------------------------
    def add_rng(self, name: str) -> torch.Generator:
        self._salt += 1
        self.rngs[name] = seeded_generator(self.config.seed, self._salt)
        return self.rngs[name]

    def add_network(self, name: str, module: nn.Module, ema: bool = False) -> nn.Module:
        """Initialise, place and register ``module`` as ``nets[name]`` (what checkpoints
        hold). Under torchrun, :meth:`attach_data_parallel` later rebinds every attribute
        that holds it (``self.G``, ``self.D``) to its DDP replica."""
        self._salt += 1
        init_weights(module, seeded_generator(self.config.seed, self._salt))
        module = self.plan.prepare_module(module)
        module.train()
        self.nets[name] = module
        if ema:
            self.emas[name] = ModelEMA(module, self.config.ema_decay)
        return module

    def add_optimizer(self, name: str, modules: list[nn.Module]) -> torch.optim.Optimizer:
        params = [p for m in modules for p in m.parameters()]
        self.optimizers[name] = make_adam(params, self.config.lr)
        return self.optimizers[name]

    # -- one step -------------------------------------------------------------------------
    def learning_rate(self) -> float:
        return self.config.lr * lr_factor(self.step, self.config.steps, self.config.decay_start)

    def begin_step(self) -> None:
        lr = self.learning_rate()
        for opt in self.optimizers.values():
            set_lr(opt, lr)

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        if not self.config.diffaugment:
            return x
        shard = None if self.plan.parallel is None else self.plan.shard(x.shape[0])
        return diff_augment(x, self.config.diffaugment, self.rngs["augment"], shard=shard)

    # -- several processes (engine/distributed.py); identities in a single process --------
    def attach_data_parallel(self) -> None:
        """Route the training forwards through DDP replicas of every network."""
        replicas = {id(net): self.plan.replicate(net) for net in self.nets.values()}
        for attr, value in list(vars(self).items()):
            replica = replicas.get(id(value))
            if replica is not None:
                setattr(self, attr, replica)

    def global_batch(self, x: torch.Tensor) -> torch.Tensor:
        """Every process's rows of ``x`` in rank order (state that spans the batch)."""
        return x if self.plan.parallel is None else self.plan.parallel.all_gather(x)

    def local_rows(self, x: torch.Tensor) -> torch.Tensor:
        """This process's rows of ``x``, drawn or gathered for the global batch."""
        if self.plan.parallel is None:
            return x
        return self.plan.shard(x.shape[0] // self.plan.parallel.world_size).take(x)

    def global_rows(self, rows: int) -> int:
        """The global batch's size when this process holds ``rows`` of it."""
        return rows if self.plan.parallel is None else rows * self.plan.parallel.world_size

    def backward(self, loss: torch.Tensor) -> None:
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
        else:
            loss.backward()

    def optimizer_step(self, name: str) -> None:
        opt = self.optimizers[name]
        if self.scaler is not None:
            self.scaler.step(opt)
        else:
            opt.step()

    def end_step(self) -> None:
        if self.scaler is not None:
            self.scaler.update()
        for name, ema in self.emas.items():
            ema.update(self.nets[name])
        self.step += 1

    # -- resume ---------------------------------------------------------------------------
    def extra_state_tensors(self) -> dict[str, torch.Tensor]:
        return {}

    def load_extra_state(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        del tensors, meta

    def state_tensors(self) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for name, net in self.nets.items():
            for key, value in net.state_dict().items():
                out[f"net.{name}.{key}"] = value.detach().cpu().contiguous().clone()
        for name, ema in self.emas.items():
            for key, value in ema.module.state_dict().items():
                out[f"ema.{name}.{key}"] = value.detach().cpu().contiguous().clone()
        for name, opt in self.optimizers.items():
            tensors, _ = optimizer_state(opt, f"optim.{name}")
            out.update(tensors)
        for name, gen in self.rngs.items():
            out[f"rng.{name}"] = rng_state_tensor(gen)
        out.update(self.extra_state_tensors())
        return out

    def state_meta(self) -> dict:
        return {
            "method": self.name,
            "preset": self.config.preset,
            "step": self.step,
            "lr": self.config.lr,
            "optimizers": {
                n: optimizer_state(o, f"optim.{n}")[1] for n, o in self.optimizers.items()
            },
            "ema": {n: e.state_meta() for n, e in self.emas.items()},
            "scaler": scaler_state(self.scaler),
        }

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        if meta.get("method") != self.name:
            raise StateMismatch(
                f"checkpoint was made by method {meta.get('method')!r}, not {self.name!r}"
            )
        try:
            for name, net in self.nets.items():
                net.load_state_dict(_section(tensors, f"net.{name}."), strict=True)
            for name, ema in self.emas.items():
                ema.module.load_state_dict(_section(tensors, f"ema.{name}."), strict=True)
                ema.load_state_meta(meta["ema"][name])
        except RuntimeError as exc:  # shape/key mismatch: another preset
            raise StateMismatch(
                f"checkpoint networks do not match preset {self.config.preset!r}: {exc}"
            ) from exc
        for name, opt in self.optimizers.items():
            load_optimizer_state(opt, tensors, meta["optimizers"][name], f"optim.{name}")
        for name, gen in self.rngs.items():
            load_rng_state(gen, tensors[f"rng.{name}"])
        load_scaler_state(self.scaler, meta.get("scaler", {}))
        self.step = int(meta["step"])
        self.load_extra_state(tensors, meta)


def _section(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
