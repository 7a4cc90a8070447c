"""Several processes, one job: data-parallel training and batch stylizing under torchrun.

The launch contract is torchrun's: ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``
and ``MASTER_PORT`` in the environment (``torchrun --nproc-per-node N``, or several nodes
with its rendezvous). Without them, or with ``WORLD_SIZE=1``, a job is one process and
nothing here touches ``torch.distributed``; this module imports torch only when a process
group is actually started, so reading the launch is free.

Training equivalence: N processes x batch b compute what one process with batch N*b
computes, to float rounding. The rules that make it so:

- Every random stream of a run is shared by all ranks (same seed, same draws). A draw made
  per image (a crop, a DiffAugment shift, a wrong-head label) is drawn for the step's whole
  global batch and each rank keeps its rows, rank r rows ``r*b .. r*b+b-1`` (see
  :class:`Shard`); a draw made per batch (FastCUT's flip, PatchNCE's patch locations) is
  simply the same on every rank.
- Every loss is a mean over the images of the batch, and every layer works per image
  (instance norm, no batch norm), so DistributedDataParallel's average of the ranks'
  gradients is the gradient of the global batch's mean loss.
- State that spans the batch (CycleGAN's image pools, the multi-style palette statistics)
  is updated on every rank from the all-gathered global batch.

So every rank holds the same state at every step: rank 0 alone writes checkpoints, and any
rank's copy resumes the whole group exactly. A method that adds a per-image random draw
keeps the rule with ``AdversarialMethod.global_rows`` / ``local_rows`` (a loss summed over
the batch, or batch norm, would break it); tests/engine/test_distributed.py compares every
method against one process with the doubled batch and fails on a draw that does not.
Floating-point rounding still differs (DDP adds two half-batch gradients), so models agree
to float precision after one step and drift apart slowly, by hundredths to tenths of a
level of 255 after a few steps (benchmarks/bench_ddp_equivalence.py).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch stays unimported until a process group starts
    import torch
    from torch import nn

LAUNCH_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


class LaunchError(RuntimeError):
    """The environment looks like torchrun's but is incomplete or inconsistent."""


@dataclass(frozen=True)
class Launch:
    """Where this process stands in a multi-process job."""

    rank: int
    world_size: int
    local_rank: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launch_from_env(environ: Mapping[str, str] | None = None) -> Launch | None:
    """The torchrun launch this process is part of; None for a single process."""
    env = os.environ if environ is None else environ
    if int(env.get("WORLD_SIZE", "1") or "1") <= 1:
        return None
    missing = [k for k in LAUNCH_VARIABLES if not env.get(k)]
    if missing:
        raise LaunchError(
            f"WORLD_SIZE is {env['WORLD_SIZE']} but {', '.join(missing)} "
            "is not set; start the job with torchrun."
        )
    launch = Launch(int(env["RANK"]), int(env["WORLD_SIZE"]), int(env["LOCAL_RANK"]))
    if not 0 <= launch.rank < launch.world_size:
        raise LaunchError(f"RANK {launch.rank} is outside WORLD_SIZE {launch.world_size}.")
    return launch


@dataclass(frozen=True)
class Shard:
    """This rank's rows ``start .. start+size-1`` of a step's global batch of ``total``."""

    start: int
    size: int
    total: int

    @property
    def rows(self) -> range:
        return range(self.start, self.start + self.size)

    @property
    def whole(self) -> bool:
        return self.size == self.total

    def take(self, batch: torch.Tensor) -> torch.Tensor:
        """This rank's rows of a tensor drawn for the global batch."""
        return batch if self.whole else batch[self.start : self.start + self.size]


def whole_batch(rows: int) -> Shard:
    """The shard of a single process: all of it."""
    return Shard(0, rows, rows)


class DataParallel:
    """A started process group, and the few collective operations the engine needs.

    Made by :func:`start`; handed to :class:`~.trainer.Trainer` and carried by the
    :class:`~.devices.DevicePlan`, so methods ask the plan, not this module.
    """

    def __init__(self, launch: Launch, backend: str, device: torch.device) -> None:
        self.launch = launch
        self.backend = backend
        self.device = device  # where collective tensors live (NCCL: the rank's GPU)

    @property
    def rank(self) -> int:
        return self.launch.rank

    @property
    def world_size(self) -> int:
        return self.launch.world_size

    @property
    def local_rank(self) -> int:
        return self.launch.local_rank

    @property
    def is_main(self) -> bool:
        return self.launch.is_main

    def __repr__(self) -> str:
        return f"DataParallel(rank {self.rank} of {self.world_size}, {self.backend})"

    # -- batches ----------------------------------------------------------------------------
    def shard(self, rows: int) -> Shard:
        """Rank r's rows of a global batch of ``world_size * rows``."""
        return Shard(self.rank * rows, rows, self.world_size * rows)

    def share(self, items: list) -> list:
        """This rank's items of a job list, round-robin (sizes interleave, so shares even
        out); every item goes to exactly one rank."""
        return items[self.rank :: self.world_size]

    def replicate(self, module: nn.Module) -> nn.Module:
        """``module`` as a DistributedDataParallel replica (itself if nothing trains).

        The replica answers attribute lookups for the module (``replica.encode``,
        ``replica.n_heads``), so a method's code reads the same either way; its forward
        runs through DDP, which averages the gradients over the ranks during backward.
        """
        if not any(p.requires_grad for p in module.parameters()):
            return module
        return _replica_class()(module, device_ids=None)

    # -- collectives ------------------------------------------------------------------------
    def all_gather(self, tensor: torch.Tensor) -> torch.Tensor:
        """Every rank's ``tensor`` (same shape on each), concatenated along dim 0 in rank
        order: the global batch. Low-precision floats travel as float32 (gloo has no
        bfloat16) and come back in their own dtype."""
        import torch
        import torch.distributed as dist

        local = tensor.detach()
        wire = local.float() if local.dtype in (torch.float16, torch.bfloat16) else local
        wire = wire.to(self.device).contiguous()
        parts = [torch.empty_like(wire) for _ in range(self.world_size)]
        dist.all_gather(parts, wire)
        return torch.cat(parts, dim=0).to(device=tensor.device, dtype=tensor.dtype)

    def mean(self, values: Mapping[str, float]) -> dict[str, float]:
        """The mean over ranks of each value (losses: the global batch's mean)."""
        import torch
        import torch.distributed as dist

        keys = list(values)
        t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return {k: float(v) / self.world_size for k, v in zip(keys, t.tolist(), strict=True)}

    def any(self, flag: bool) -> bool:
        """True on every rank when it is true on any (e.g. "stop after this step")."""
        import torch
        import torch.distributed as dist

        t = torch.tensor([1 if flag else 0], dtype=torch.int64, device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())

    def broadcast_int(self, value: int) -> int:
        """Rank 0's ``value`` on every rank."""
        import torch
        import torch.distributed as dist

        t = torch.tensor([int(value)], dtype=torch.int64, device=self.device)
        dist.broadcast(t, src=0)
        return int(t.item())

    def gather_json(self, obj: Any) -> list[Any]:
        """Every rank's JSON-able ``obj``, in rank order, on every rank (no pickles)."""
        import torch
        import torch.distributed as dist

        data = torch.frombuffer(bytearray(json.dumps(obj).encode("utf-8")), dtype=torch.uint8)
        size = torch.tensor([data.numel()], dtype=torch.int64, device=self.device)
        sizes = [torch.empty_like(size) for _ in range(self.world_size)]
        dist.all_gather(sizes, size)
        longest = max(int(s.item()) for s in sizes)
        padded = torch.zeros(longest, dtype=torch.uint8, device=self.device)
        padded[: data.numel()] = data.to(self.device)
        parts = [torch.empty_like(padded) for _ in range(self.world_size)]
        dist.all_gather(parts, padded)
        return [
            json.loads(bytes(p[: int(n.item())].cpu().tolist()).decode("utf-8"))
            for p, n in zip(parts, sizes, strict=True)
        ]

    def barrier(self) -> None:
        import torch.distributed as dist

        dist.barrier()


BACKEND_VARIABLE = "GANSTYLE_DIST_BACKEND"


def backend_for(device_type: str) -> str:
    """NCCL between GPUs, gloo on the CPU (and for anything else).

    ``GANSTYLE_DIST_BACKEND=gloo`` overrides it: gloo lets two processes share one GPU,
    which NCCL refuses (the GPU check runs DDP that way on a one-GPU machine).
    """
    chosen = os.environ.get(BACKEND_VARIABLE, "").strip().lower()
    if chosen:
        return chosen
    return "nccl" if device_type == "cuda" else "gloo"


def start(launch: Launch, device: torch.device, backend: str | None = None) -> DataParallel:
    """Join the process group of ``launch`` (env:// rendezvous) for work on ``device``."""
    import torch
    import torch.distributed as dist

    backend = backend or backend_for(device.type)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(
            backend=backend, init_method="env://", rank=launch.rank, world_size=launch.world_size
        )
    collective_device = device if backend == "nccl" else torch.device("cpu")
    return DataParallel(launch, backend, collective_device)


@contextlib.contextmanager
def data_parallel_from_env(
    device_preference: str | None = "auto", *, backend: str | None = None
) -> Iterator[DataParallel | None]:
    """The job's :class:`DataParallel` for the duration of the block (None when this is a
    single process). Picks this rank's device like :func:`~.devices.plan_for` with its
    local rank; leaves the process group when the block ends (unless it was already
    started by someone else, e.g. a test harness)."""
    launch = launch_from_env()
    if launch is None:
        yield None
        return
    import torch.distributed as dist

    from .devices import plan_for

    device = plan_for(device_preference, local_rank=launch.local_rank).device
    owned = not dist.is_initialized()
    parallel = start(launch, device, backend)
    try:
        yield parallel
    finally:
        if owned and dist.is_initialized():
            dist.destroy_process_group()


_REPLICA_CLASS: type | None = None


def _replica_class() -> type:
    """DistributedDataParallel that falls back to the wrapped module's attributes."""
    global _REPLICA_CLASS
    if _REPLICA_CLASS is None:
        from torch.nn.parallel import DistributedDataParallel

        class Replica(DistributedDataParallel):
            def __getattr__(self, name: str) -> Any:
                try:
                    return super().__getattr__(name)
                except AttributeError:
                    inner = self.__dict__.get("_modules", {}).get("module")
                    if inner is None:
                        raise
                    return getattr(inner, name)

        _REPLICA_CLASS = Replica
    return _REPLICA_CLASS
