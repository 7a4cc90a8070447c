"""One place that decides where tensors live and how they are computed.

CUDA gets mixed precision (bfloat16 where supported, else float16 with a grad scaler) and
channels_last; Apple MPS runs float32; the CPU runs float32. Everything else in the engine
asks this module instead of testing backends itself, so every GPU path is exercised by the
same code that the CPU tests run.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from .distributed import DataParallel, Shard

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class DeviceUnavailable(RuntimeError):
    """The requested compute device does not exist on this machine."""


@dataclass(frozen=True)
class DevicePlan:
    device: torch.device
    amp_dtype: torch.dtype | None  # None: full float32
    channels_last: bool
    label: str  # for people: "CPU (2 threads)", "CUDA: NVIDIA H100"
    # Under torchrun: the process group this process trains in (see engine/distributed.py)
    parallel: DataParallel | None = None

    @property
    def type(self) -> str:
        return self.device.type

    # -- several processes (None: this process is the whole job) -----------------------
    @property
    def is_main(self) -> bool:
        """True where files are written: the only process, or rank 0."""
        return self.parallel is None or self.parallel.is_main

    def with_parallel(self, parallel: DataParallel | None) -> DevicePlan:
        if parallel is None:
            return self
        label = f"{self.label} x {parallel.world_size} processes ({parallel.backend})"
        return replace(self, parallel=parallel, label=label)

    def shard(self, rows: int) -> Shard:
        """This process's rows of a step's global batch, given ``rows`` per process."""
        from .distributed import whole_batch

        return whole_batch(rows) if self.parallel is None else self.parallel.shard(rows)

    def replicate(self, module: torch.nn.Module) -> torch.nn.Module:
        """A DDP replica of ``module`` under torchrun; the module itself otherwise."""
        return module if self.parallel is None else self.parallel.replicate(module)

    def with_precision(self, precision: str) -> DevicePlan:
        """The plan computing in ``precision``: fp32, bf16 or fp16 (autocast)."""
        if precision not in PRECISIONS:
            raise ValueError(
                f"Unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}."
            )
        return replace(self, amp_dtype=PRECISIONS[precision])

    @property
    def uses_grad_scaler(self) -> bool:
        return self.amp_dtype == torch.float16

    def autocast(self) -> contextlib.AbstractContextManager:
        """Autocast context for forward passes (a no-op on float32 plans)."""
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def prepare_module(self, module: torch.nn.Module) -> torch.nn.Module:
        module = module.to(self.device)
        if self.channels_last:
            module = module.to(memory_format=torch.channels_last)
        return module

    def prepare_batch(self, batch: torch.Tensor) -> torch.Tensor:
        batch = batch.to(self.device, non_blocking=self.device.type == "cuda")
        if self.channels_last and batch.dim() == 4:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def available_devices() -> list[str]:
    found = ["cpu"]
    if torch.cuda.is_available():
        found.append("cuda")
    if mps_available():
        found.append("mps")
    return found


def plan_for(
    preference: str | None = "auto",
    *,
    mixed_precision: bool | None = None,
    local_rank: int | None = None,
) -> DevicePlan:
    """Pick a device. ``preference`` is auto, cpu, cuda, cuda:N or mps.

    ``GANSTYLE_DEVICE`` in the environment overrides ``auto``. ``mixed_precision=None``
    means "on where it pays" (CUDA only). ``local_rank`` (one of several processes on
    this machine) turns a plain "cuda" into that process's own GPU.
    """
    pref = (preference or "auto").lower()
    if pref == "auto":
        pref = os.environ.get("GANSTYLE_DEVICE", "auto").lower()
    if pref == "auto":
        if torch.cuda.is_available():
            pref = "cuda"
        elif mps_available():
            pref = "mps"
        else:
            pref = "cpu"

    if pref.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceUnavailable(
                "CUDA was requested but no CUDA GPU is usable here "
                "(is this the CPU build of PyTorch?). Choose 'cpu' or 'auto'."
            )
        device = torch.device(pref)
        if device.index is None and local_rank is not None:
            device = torch.device("cuda", local_rank % torch.cuda.device_count())
        use_amp = True if mixed_precision is None else mixed_precision
        amp_dtype = None
        if use_amp:
            amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        name = torch.cuda.get_device_name(device)
        return DevicePlan(device, amp_dtype, channels_last=True, label=f"CUDA: {name}")
    if pref == "mps":
        if not mps_available():
            raise DeviceUnavailable("Apple MPS was requested but is not available here.")
        return DevicePlan(torch.device("mps"), None, channels_last=False, label="Apple GPU (MPS)")
    if pref == "cpu":
        amp_dtype = torch.bfloat16 if mixed_precision else None
        return DevicePlan(
            torch.device("cpu"),
            amp_dtype,
            channels_last=False,
            label=cpu_label(),
        )
    raise DeviceUnavailable(f"Unknown device {preference!r}; choose one of {DEVICE_CHOICES}.")


def cpu_label() -> str:
    """What the CPU plan computes with, for people: the thread count torch really uses."""
    n = torch.get_num_threads()
    return f"CPU ({n} thread{'s' if n != 1 else ''})"


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def default_cpu_threads() -> int:
    """Threads a CPU job uses unless told otherwise: every usable core but one, shared
    among the processes of one machine under torchrun; an ``OMP_NUM_THREADS`` set in the
    environment (torchrun sets 1 per process) is taken as the person's choice.

    Why not every core: on a 2-core machine that another process keeps busy, two torch
    threads spend most of their time waiting for each other (about 11 s per step against
    about 1 s with one, benchmarks/bench_threads.py), so a job never takes the last core.
    The desktop app's workers follow the same rule (:func:`leave_cores_free`).
    """
    chosen = os.environ.get("OMP_NUM_THREADS", "").strip()
    if chosen.isdigit() and int(chosen) > 0:
        return int(chosen)
    try:
        local_processes = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        local_processes = 1
    return max(1, (usable_cores() - 1) // local_processes)


def set_cpu_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads to ``threads`` (None: :func:`default_cpu_threads`);
    returns the count in use. Call before the first tensor work of a job."""
    n = default_cpu_threads() if threads is None else int(threads)
    if n < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    torch.set_num_threads(n)
    return torch.get_num_threads()


def leave_cores_free(cores: int = 1) -> int:
    """Cap torch's CPU threads so ``cores`` stay free (for a GUI thread); returns the cap.

    Called by the desktop app's workers before training or stylizing, so the window keeps
    a core while a job runs. Never raises the thread count, only lowers it.
    """
    wanted = max(1, usable_cores() - cores)
    if torch.get_num_threads() > wanted:
        torch.set_num_threads(wanted)
    return min(wanted, torch.get_num_threads())
