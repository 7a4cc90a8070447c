"""Start a group of CPU processes with torchrun's environment contract, for the tests.

``start_group`` forks ``world`` processes of this test process (torch is already imported,
so they start in milliseconds), gives each RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and
MASTER_PORT as torchrun would, joins them in a gloo process group and runs each job in
turn: a list of strings is an argv for the CLI's ``main``, anything else a callable
returning an exit code. Each rank's stdout and stderr go to ``rank<N>.log`` and its
return codes to ``rank<N>.json`` in ``logs``. ``torchrun_command`` is the real launcher,
for the tests that must go through it.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import sys
from datetime import timedelta
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        GANSTYLE_DEVICE="cpu",
        PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    return env


def torchrun_command(nproc: int, *cli_args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        str(nproc),
        "-m",
        "ganstyle_desktop.cli",
        *cli_args,
    ]


def _rank_main(rank: int, world: int, port: int, jobs: list, logs: Path) -> None:
    log = os.open(logs / f"rank{rank}.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False, buffering=1)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False, buffering=1)  # noqa: SIM115
    os.environ.update(
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    torch.set_num_threads(1)
    import torch.distributed as dist

    from ganstyle_desktop.cli import main

    # One group for all the commands (the CLI leaves a group it did not start in place);
    # a short timeout turns a rank that died into a failure instead of a hang.
    dist.init_process_group("gloo", timeout=timedelta(seconds=60))
    codes = []
    for job in jobs:
        codes.append(main(job) if isinstance(job, list) else job())
        (logs / f"rank{rank}.json").write_text(json.dumps(codes))
    dist.destroy_process_group()


def start_group(jobs: list, logs: Path, world: int = 2) -> list:
    """Started processes (``multiprocessing.Process``) running ``jobs`` on each rank."""
    import torch._dynamo  # noqa: F401  (DDP imports it: once here, not in every child)

    logs.mkdir(parents=True, exist_ok=True)
    port = free_port()
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_rank_main, args=(rank, world, port, jobs, logs))
        for rank in range(world)
    ]
    for p in processes:
        p.start()
    return processes


def wait_group(processes: list, timeout: float = 180.0) -> list[int | None]:
    for p in processes:
        p.join(timeout)
    for p in processes:
        if p.is_alive():
            p.kill()
            p.join(10)
    return [p.exitcode for p in processes]


def rank_codes(logs: Path, rank: int) -> list[int]:
    path = logs / f"rank{rank}.json"
    return json.loads(path.read_text()) if path.is_file() else []


def rank_log(logs: Path, rank: int) -> str:
    path = logs / f"rank{rank}.log"
    return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
