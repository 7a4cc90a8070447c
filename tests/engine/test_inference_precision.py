"""Inference precision: fp32 by default where the output keeps 16 bits per channel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from ganstyle_desktop.engine.devices import DevicePlan, plan_for
from ganstyle_desktop.engine.stylize import StylizeError, inference_plan, stylize_file
from ganstyle_desktop.engine.tiff16 import read_tiff16, write_tiff16


def identity_network() -> nn.Module:
    """A 1x1 convolution that copies its input: any change is the arithmetic's."""
    conv = nn.Conv2d(3, 3, 1)
    with torch.no_grad():
        conv.weight.copy_(torch.eye(3).view(3, 3, 1, 1))
        conv.bias.zero_()
    return conv.eval()


def deep_gradient(side: int = 128) -> np.ndarray:
    """16-bit RGB with ``side * side`` distinct levels per channel, spread over 0..65535."""
    levels = (np.arange(side * side, dtype=np.int64) * 65535 // (side * side - 1)).reshape(
        side, side
    )
    return np.stack([levels, levels.T, levels[::-1]], axis=2).astype(np.uint16)


def _stylize_tiff(tmp_path: Path, precision: str) -> tuple[np.ndarray, np.ndarray]:
    pixels = deep_gradient()
    src, dst = tmp_path / "deep.tif", tmp_path / f"out-{precision}.tif"
    write_tiff16(src, pixels)
    stylize_file(identity_network(), src, dst, device="cpu", precision=precision)
    found = read_tiff16(dst)
    assert found is not None, "the output is no longer a 16-bit TIFF"
    return pixels, found[0]


def _distinct_levels(image: np.ndarray) -> int:
    return min(len(np.unique(image[:, :, c])) for c in range(3))


def test_a_16_bit_tiff_keeps_its_precision_through_the_cpu_path(tmp_path: Path) -> None:
    pixels, out = _stylize_tiff(tmp_path, "auto")
    assert out.dtype == np.uint16
    assert np.abs(out.astype(np.int64) - pixels).max() <= 1
    assert _distinct_levels(out) == _distinct_levels(pixels) == 128 * 128


def test_bf16_inference_would_round_it_to_a_few_thousand_levels(tmp_path: Path) -> None:
    pixels, out = _stylize_tiff(tmp_path, "bf16")
    assert np.abs(out.astype(np.int64) - pixels).max() > 50
    assert _distinct_levels(out) < _distinct_levels(pixels) // 4


def test_auto_precision_is_fp32_only_where_the_output_keeps_more_than_8_bits() -> None:
    cpu = plan_for("cpu")
    mixed = DevicePlan(cpu.device, torch.bfloat16, False, "CPU, bf16")
    assert inference_plan(mixed, "auto", high_bit_output=True).amp_dtype is None
    assert inference_plan(mixed, "auto", high_bit_output=False).amp_dtype == torch.bfloat16
    assert inference_plan(cpu, "fp16", high_bit_output=True).amp_dtype == torch.float16
    assert inference_plan(mixed, "fp32", high_bit_output=False).amp_dtype is None
    with pytest.raises(StylizeError, match="precision"):
        inference_plan(cpu, "int8", high_bit_output=False)
