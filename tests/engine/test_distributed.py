"""Training in several processes (DDP): N x batch b is one process with batch N*b.

The group tests fork two CPU processes with torchrun's environment contract (see
process_group.py) or start torchrun itself, and train the tiny preset at 32 px.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from process_group import (
    rank_codes,
    rank_log,
    start_group,
    subprocess_env,
    torchrun_command,
    wait_group,
)
from safetensors.torch import load_file
from training_setup import tiny_config, write_images

from ganstyle_desktop.cli import main
from ganstyle_desktop.engine.augment import diff_augment
from ganstyle_desktop.engine.checkpoints import find_checkpoints
from ganstyle_desktop.engine.data import StyleSampler, TrainingImages
from ganstyle_desktop.engine.distributed import (
    LaunchError,
    Shard,
    data_parallel_from_env,
    launch_from_env,
)
from ganstyle_desktop.engine.imageio import collect_image_files
from ganstyle_desktop.engine.modelfile import load_model, read_card
from ganstyle_desktop.engine.trainer import Trainer

REPO = Path(__file__).resolve().parents[2]
METHODS = ("fastcut", "cut", "cyclegan", "multistyle")
# Two processes and one with the doubled batch do the same arithmetic in a different order
# (DDP sums two half-batch gradients). After one step their models agree to float precision
# (measured: under 0.001 levels of 255; a process that drew another's DiffAugment shifts
# differs by 0.09 levels on average, 0.7 at most). Later steps drift apart a little more:
# Adam divides each gradient element by its own running size, so elements near zero (the
# biases that instance norm cancels, above all) turn rounding noise into steps of the
# learning rate (measured after 3 steps: at most 0.13 levels on average).
STEP_1_MAX_LEVELS = 0.01
LAST_STEP_MEAN_LEVELS = 0.5


# -- the launch contract -----------------------------------------------------------------------


def test_a_single_process_is_not_a_launch() -> None:
    assert launch_from_env({}) is None
    assert launch_from_env({"WORLD_SIZE": "1", "RANK": "0"}) is None
    env = {
        "RANK": "1",
        "WORLD_SIZE": "2",
        "LOCAL_RANK": "1",
        "MASTER_ADDR": "h",
        "MASTER_PORT": "1",
    }
    launch = launch_from_env(env)
    assert (launch.rank, launch.world_size, launch.local_rank, launch.is_main) == (1, 2, 1, False)
    with pytest.raises(LaunchError, match="MASTER_PORT"):
        launch_from_env({k: v for k, v in env.items() if k != "MASTER_PORT"})


def test_reading_the_launch_does_not_import_torch() -> None:
    script = (
        "import sys\n"
        "from ganstyle_desktop.engine import distributed\n"
        "distributed.launch_from_env()\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=subprocess_env(), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


# -- shares of the seeded streams ---------------------------------------------------------------


def _generator(seed: int = 3) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_diffaugment_of_each_share_is_that_part_of_the_whole_batch() -> None:
    x = torch.rand(6, 3, 16, 16) * 2 - 1
    policy = "color,translation,cutout"
    whole = diff_augment(x, policy, _generator())
    parts = [
        diff_augment(x[r * 3 : r * 3 + 3], policy, _generator(), Shard(r * 3, 3, 6)) for r in (0, 1)
    ]
    assert torch.equal(torch.cat(parts), whole)
    # Without the shard each process would draw the first images' augmentations.
    assert not torch.equal(diff_augment(x[3:], policy, _generator()), whole[3:])


def test_each_share_of_a_sampled_batch_is_that_part_of_the_whole(tmp_path: Path) -> None:
    images = TrainingImages(write_images(tmp_path / "a", 3, seed=1), 16)
    other = TrainingImages(write_images(tmp_path / "b", 2, seed=2), 16)
    g_whole, g_part = _generator(), _generator()
    whole = images.sample(6, g_whole)
    part = images.sample(6, g_part, rows=range(2, 4))
    assert torch.equal(part, whole[2:4])
    assert torch.equal(g_whole.get_state(), g_part.get_state())  # the stream advanced alike

    styles = StyleSampler([images, other])
    g_whole, g_part = _generator(5), _generator(5)
    crops, ids = styles.sample(6, g_whole)
    part, part_ids = styles.sample(6, g_part, rows=range(3, 6))
    assert torch.equal(part, crops[3:]) and torch.equal(part_ids, ids[3:])
    assert torch.equal(g_whole.get_state(), g_part.get_state())


# -- two processes against one -----------------------------------------------------------------


def _folders(root: Path) -> dict[str, Path]:
    folders = {"style": root / "style", "style2": root / "ink", "content": root / "content"}
    if not folders["style"].exists():
        write_images(folders["style"], 2, seed=1)
        write_images(folders["style2"], 2, seed=3)
        write_images(folders["content"], 3, seed=2, size=(40, 48))
    return folders


def _train_args(root: Path, method: str, out: Path, batch: int, *extra: str) -> list[str]:
    f = _folders(root)
    styles = ["--style", str(f["style"])]
    if method == "multistyle":
        styles += ["--style", str(f["style2"])]
    return [
        "train",
        *styles,
        "--content",
        str(f["content"]),
        "--out",
        str(out),
        "--method",
        method,
        "--preset",
        "tiny",
        "--size",
        "32",
        "--batch-size",
        str(batch),
        "--device",
        "cpu",
        "--seed",
        "7",
        *extra,
    ]


def _files(run: Path) -> list[str]:
    return sorted(p.relative_to(run).as_posix() for p in run.rglob("*") if p.is_file())


def _train_in_group(config) -> int:
    """A job for start_group: the engine's Trainer in the group's process."""
    with data_parallel_from_env("cpu") as parallel:
        assert parallel is not None
        list(Trainer(config, parallel=parallel).run())
    return 0


def _levels_apart(a: Path, b: Path, photos: Path) -> torch.Tensor:
    """|difference| of two models' outputs on the content photos, in levels of 255."""
    x = torch.cat([TrainingImages(collect_image_files([photos]), 32).sample(3, _generator())])
    with torch.no_grad():
        ya = load_model(a, device="cpu").module_for(None)(x)
        yb = load_model(b, device="cpu").module_for(None)(x)
    return (ya - yb).abs() * 127.5


def _assert_same_state(a: Path, b: Path, step: int) -> None:
    """Every random stream (data, augment, NCE, flips, pools' draws) is in the same state,
    and what spans the batch (image pools, palette statistics) holds the same values."""
    name = f"checkpoints/step_{step:07d}/state.safetensors"
    ta, tb = load_file(str(a / name)), load_file(str(b / name))
    assert ta.keys() == tb.keys()
    streams = [k for k in ta if "rng" in k]
    assert streams and all(torch.equal(ta[k], tb[k]) for k in streams)
    for key in (k for k in ta if k.startswith(("pool.", "palette."))):
        assert torch.allclose(ta[key].double(), tb[key].double(), atol=1e-3), key


def test_two_processes_train_what_one_process_trains_with_the_doubled_batch(
    tmp_path: Path,
) -> None:
    steps = ["--steps", "3", "--checkpoint-every", "1", "--preview-every", "2"]
    logs = tmp_path / "logs"
    jobs: list = [_train_args(tmp_path, m, tmp_path / "two" / m, 2, *steps) for m in METHODS]
    # CycleGAN with a pool of 2 (the CLI's is 50): past fakes are swapped in from step 1.
    pooled = tiny_config(tmp_path / "two-pool", "cyclegan", steps=3, batch_size=2, pool_size=2)
    jobs.append(functools.partial(_train_in_group, pooled))
    codes = wait_group(start_group(jobs, logs))
    assert codes == [0, 0], rank_log(logs, 0)[-3000:] + rank_log(logs, 1)[-3000:]
    assert rank_codes(logs, 0) == rank_codes(logs, 1) == [0] * len(jobs)

    photos = _folders(tmp_path)["content"]
    for method in METHODS:
        one, two = tmp_path / "one" / method, tmp_path / "two" / method
        assert main(_train_args(tmp_path, method, one, 4, *steps)) == 0
        # One model file and one series of checkpoints: the very files of one process.
        assert _files(two) == _files(one)
        assert [p.name for p in find_checkpoints(two)] == [f"step_{s:07d}" for s in (1, 2, 3)]
        first = "checkpoints/step_0000001/model.safetensors"
        assert _levels_apart(two / first, one / first, photos).max() < STEP_1_MAX_LEVELS, method
        names = ["model.safetensors"] + (["model_reverse.safetensors"] * (method == "cyclegan"))
        for name in names:
            apart = _levels_apart(two / name, one / name, photos)
            assert apart.mean() < LAST_STEP_MEAN_LEVELS, (method, name, apart.mean())
        _assert_same_state(one, two, 3)
        training = read_card(two / "model.safetensors").training
        assert training["processes"] == 2 and training["effective_batch_size"] == 4

    alone = tiny_config(tmp_path / "one-pool", "cyclegan", steps=3, batch_size=4, pool_size=2)
    list(Trainer(alone).run())
    one, two = Path(alone.out_dir), Path(pooled.out_dir)
    assert _levels_apart(two / "model.safetensors", one / "model.safetensors", photos).mean() < (
        LAST_STEP_MEAN_LEVELS
    )
    _assert_same_state(one, two, 3)

    assert not torch.distributed.is_initialized()  # the one-process runs never start a group
    rank0, rank1 = rank_log(logs, 0), rank_log(logs, 1)
    assert "2 processes (gloo) x batch 2 = effective batch 4" in rank0
    assert "Learning rate rule" in rank0 and "Finished 3 steps" in rank0
    assert rank1.strip() == ""  # rank 1 trains silently


@pytest.mark.slow
def test_a_killed_group_resumes_under_torchrun_exactly(tmp_path: Path) -> None:
    settings = ["--steps", "12", "--checkpoint-every", "2", "--preview-every", "6"]
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    logs = tmp_path / "logs"
    group = start_group(
        [
            _train_args(tmp_path, "fastcut", reference, 1, *settings),
            _train_args(tmp_path, "fastcut", killed, 1, *settings),
        ],
        logs,
    )
    deadline = time.monotonic() + 120
    try:
        while not any(p.name == "step_0000004" for p in find_checkpoints(killed)):
            assert time.monotonic() < deadline, rank_log(logs, 0)[-3000:]
            assert all(p.is_alive() for p in group), rank_log(logs, 0)[-3000:]
            time.sleep(0.01)
        for p in group:
            os.kill(p.pid, signal.SIGKILL)
    finally:
        codes = wait_group(group, timeout=30)
    assert codes == [-signal.SIGKILL] * 2
    assert not (killed / "model.safetensors").exists()  # killed before it could finish
    start = find_checkpoints(killed)[-1].name
    assert start != "step_0000012"

    out = subprocess.run(
        torchrun_command(2, "train", "--out", str(killed), "--resume", "--device", "cpu"),
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    assert f"Resumed from {start}" in out.stderr
    assert out.stdout.count("model: ") == 1  # rank 0 alone reports (and writes) the model
    assert [p.name for p in find_checkpoints(killed)][-1] == "step_0000012"
    assert _files(killed) == _files(reference)
    for name in ("model.safetensors", "checkpoints/step_0000012/state.safetensors"):
        ta, tb = load_file(str(reference / name)), load_file(str(killed / name))
        assert ta.keys() == tb.keys()
        assert [k for k in ta if not torch.equal(ta[k], tb[k])] == []
