"""benchmarks/gpu_check.py: JSON out whatever happens; CUDA parts skipped without CUDA."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _check(*args: str) -> tuple[int, dict]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--cpu", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, json.loads(done.stdout)


@pytest.mark.slow
def test_every_section_but_ddp_runs_on_the_cpu_at_toy_sizes() -> None:
    code, report = _check(
        "--only", "environment,train_amp,stylize_large,train_speed",
        "--methods", "fastcut", "--presets", "tiny", "--rehearse", "--budget", "200",
    )  # fmt: skip
    assert code == 0, report
    sections = report["sections"]
    assert sections["environment"]["cuda_used"] is False
    amp = sections["train_amp"]
    assert amp["status"] == "ok" and amp["all_finite"] is True
    assert {(r["method"], r["precision"]) for r in amp["runs"]} == {
        ("fastcut", "bf16"),
        ("fastcut", "fp16"),
    }
    assert all(r["grad_scaler"] == (r["precision"] == "fp16") for r in amp["runs"])
    assert [r["size"] for r in sections["stylize_large"]["runs"]] == [96] * 3 + [160] * 3
    speeds = sections["train_speed"]["runs"]
    assert [r["batch"] for r in speeds] == [1, 4, 8]
    assert all(r["steps_per_second"] > 0 for r in speeds)


def test_without_cuda_the_gpu_figures_say_why_they_are_skipped() -> None:
    code, report = _check("--only", "stylize_large,train_speed")
    assert code == 0
    for section in report["sections"].values():
        assert section["status"] == "skipped" and "no CUDA GPU" in section["reason"]


def test_a_spent_budget_still_gives_json() -> None:
    code, report = _check("--only", "train_amp,inference_parity", "--budget", "4")
    assert code == 0
    assert {s["status"] for s in report["sections"].values()} == {"skipped"}
    assert "time budget" in report["sections"]["train_amp"]["reason"]
