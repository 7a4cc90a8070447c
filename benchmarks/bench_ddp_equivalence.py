"""How close N processes x batch b come to one process with batch N*b (same seed).

Trains every method with the ``tiny`` preset at 32 px on synthetic images, once in
``--processes`` CPU processes (gloo, torchrun's environment contract, forked) and once in
one process with the whole batch, and prints one JSON object: per method and step, the mean
and max difference between the two exported generators' outputs on the content images, in
0..255 levels.

    python benchmarks/bench_ddp_equivalence.py --steps 4
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
METHODS = ("fastcut", "cut", "cyclegan", "multistyle")


def _images(folder: Path, n: int, seed: int) -> None:
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        yy, xx = np.mgrid[0:48, 0:40]
        base = np.stack([xx / 40 * 255, yy / 48 * 255, (xx + yy) / 88 * 255], axis=-1)
        pixels = np.clip(base * rng.uniform(0.3, 1.0, 3) + rng.normal(0, 20, base.shape), 0, 255)
        Image.fromarray(pixels.astype(np.uint8)).save(folder / f"img_{i}.png")


def _config(root: Path, method: str, out: Path, batch: int, steps: int):
    from ganstyle_desktop.engine.config import StyleSource, TrainConfig

    styles = [StyleSource("style", [str(root / "style")])]
    if method == "multistyle":
        styles.append(StyleSource("ink", [str(root / "ink")]))
    return TrainConfig(
        styles=styles,
        content_paths=[str(root / "content")],
        out_dir=str(out),
        method=method,
        preset="tiny",
        size=32,
        steps=steps,
        batch_size=batch,
        device="cpu",
        seed=7,
        checkpoint_every=1,
        keep_last=steps,
        preview_every=0,
    )


def _rank(rank: int, world: int, port: int, configs: list) -> None:
    import torch

    os.environ.update(
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    torch.set_num_threads(1)
    from ganstyle_desktop.engine.distributed import data_parallel_from_env
    from ganstyle_desktop.engine.trainer import Trainer

    with data_parallel_from_env("cpu") as parallel:
        for config in configs:
            for _ in Trainer(config, parallel=parallel).run():
                pass


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--batch", type=int, default=2, help="per process")
    p.add_argument("--methods", nargs="+", default=list(METHODS))
    args = p.parse_args()

    import torch
    import torch._dynamo  # noqa: F401  (DDP imports it: once, before forking)

    from ganstyle_desktop.engine.checkpoints import checkpoint_dir
    from ganstyle_desktop.engine.data import TrainingImages
    from ganstyle_desktop.engine.imageio import collect_image_files
    from ganstyle_desktop.engine.modelfile import load_model
    from ganstyle_desktop.engine.trainer import Trainer

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    result: dict = {"processes": args.processes, "batch_per_process": args.batch, "methods": {}}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _images(root / "style", 2, 1)
        _images(root / "ink", 2, 3)
        _images(root / "content", 3, 2)
        many = [_config(root, m, root / "many" / m, args.batch, args.steps) for m in args.methods]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        context = multiprocessing.get_context("fork")
        ranks = [
            context.Process(target=_rank, args=(r, args.processes, port, many))
            for r in range(args.processes)
        ]
        for r in ranks:
            r.start()
        for r in ranks:
            r.join()
        if any(r.exitcode for r in ranks):
            raise SystemExit(f"a process failed: exit codes {[r.exitcode for r in ranks]}")
        photos = TrainingImages(collect_image_files([root / "content"]), 32)
        x = photos.sample(3, torch.Generator().manual_seed(3))
        for method in args.methods:
            one = root / "one" / method
            config = _config(root, method, one, args.batch * args.processes, args.steps)
            for _ in Trainer(config).run():
                pass
            per_step = []
            for step in range(1, args.steps + 1):
                name = "model.safetensors"
                a = load_model(checkpoint_dir(root / "many" / method, step) / name, device="cpu")
                b = load_model(checkpoint_dir(one, step) / name, device="cpu")
                with torch.no_grad():
                    d = (a.module_for(None)(x) - b.module_for(None)(x)).abs() * 127.5
                per_step.append(
                    {
                        "step": step,
                        "mean": round(float(d.mean()), 4),
                        "max": round(float(d.max()), 4),
                    }
                )
            result["methods"][method] = per_step
    result["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
