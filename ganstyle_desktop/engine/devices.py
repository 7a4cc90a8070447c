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
            label=f"CPU ({torch.get_num_threads()} threads)",
        )
    raise DeviceUnavailable(f"Unknown device {preference!r}; choose one of {DEVICE_CHOICES}.")


def leave_cores_free(cores: int = 1) -> int:
    """Cap torch's CPU threads so ``cores`` stay free (for a GUI thread); returns the cap.

    Called by the desktop app's workers before training or stylizing, so the window keeps
    a core while a job runs. Never raises the thread count, only lowers it.
    """
    wanted = max(1, (os.cpu_count() or 2) - cores)
    if torch.get_num_threads() > wanted:
        torch.set_num_threads(wanted)
    return min(wanted, torch.get_num_threads())
