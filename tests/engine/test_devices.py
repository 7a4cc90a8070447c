"""Device planning on this CPU build: the pick, overrides and clear refusals."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganstyle_desktop.engine.devices import (
    DEVICE_CHOICES,
    DeviceUnavailable,
    available_devices,
    plan_for,
)


def test_cpu_plan_is_float32_without_channels_last() -> None:
    plan = plan_for("cpu")
    assert plan.device == torch.device("cpu")
    assert plan.type == "cpu"
    assert plan.amp_dtype is None
    assert not plan.channels_last
    assert not plan.uses_grad_scaler
    assert plan.label.startswith("CPU (") and " thread" in plan.label
    assert plan.memory_format() == torch.contiguous_format


def test_cpu_mixed_precision_is_opt_in_bfloat16() -> None:
    plan = plan_for("cpu", mixed_precision=True)
    assert plan.amp_dtype == torch.bfloat16
    assert not plan.uses_grad_scaler  # bfloat16 needs no loss scaling


def test_auto_on_this_machine_picks_an_available_device(monkeypatch) -> None:
    monkeypatch.delenv("GANSTYLE_DEVICE", raising=False)
    plan = plan_for("auto")
    assert plan.type in available_devices()
    if not torch.cuda.is_available():
        assert plan.type != "cuda"
    assert plan_for(None).type == plan.type


def test_environment_overrides_auto_only(monkeypatch) -> None:
    monkeypatch.setenv("GANSTYLE_DEVICE", "cpu")
    assert plan_for("auto").type == "cpu"
    monkeypatch.setenv("GANSTYLE_DEVICE", "warp-drive")
    with pytest.raises(DeviceUnavailable, match="Unknown device"):
        plan_for("auto")
    # An explicit choice wins over the environment.
    assert plan_for("cpu").type == "cpu"


def test_unknown_device_lists_the_choices() -> None:
    with pytest.raises(DeviceUnavailable) as info:
        plan_for("tpu")
    message = str(info.value)
    assert "'tpu'" in message
    for choice in DEVICE_CHOICES:
        assert choice in message


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("name", ["cuda", "cuda:0", "CUDA"])
def test_cuda_on_a_cpu_build_is_refused_clearly(name: str) -> None:
    with pytest.raises(DeviceUnavailable, match="CUDA was requested.*Choose 'cpu' or 'auto'"):
        plan_for(name)


def test_cuda_via_environment_is_refused_clearly(monkeypatch) -> None:
    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    monkeypatch.setenv("GANSTYLE_DEVICE", "cuda")
    with pytest.raises(DeviceUnavailable, match="CUDA"):
        plan_for("auto")


def test_mps_unavailable_is_refused(monkeypatch) -> None:
    from ganstyle_desktop.engine import devices

    monkeypatch.setattr(devices, "mps_available", lambda: False)
    with pytest.raises(DeviceUnavailable, match="MPS"):
        plan_for("mps")
    assert "mps" not in devices.available_devices()


def test_autocast_is_a_no_op_on_float32_plans() -> None:
    plan = plan_for("cpu")
    layer = nn.Linear(4, 4)
    x = torch.randn(2, 4)
    with plan.autocast():
        y = layer(x)
        assert not torch.is_autocast_enabled("cpu")
    assert y.dtype == torch.float32
    assert torch.equal(y, layer(x))


def test_autocast_on_a_bfloat16_cpu_plan_computes_in_bfloat16() -> None:
    plan = plan_for("cpu", mixed_precision=True)
    layer = nn.Linear(4, 4)
    with plan.autocast():
        y = layer(torch.randn(2, 4))
    assert y.dtype == torch.bfloat16


def test_prepare_module_and_batch_on_cpu() -> None:
    plan = plan_for("cpu")
    conv = nn.Conv2d(3, 4, 3)
    prepared = plan.prepare_module(conv)
    assert next(prepared.parameters()).device.type == "cpu"
    batch = torch.randn(2, 3, 8, 8)
    out = plan.prepare_batch(batch)
    assert out.device.type == "cpu"
    assert out.is_contiguous()
    assert torch.equal(out, batch)


def test_channels_last_plan_reformats_4d_batches_only() -> None:
    # The CUDA path's layout handling, exercised on the CPU with a hand-built plan.
    from ganstyle_desktop.engine.devices import DevicePlan

    plan = DevicePlan(torch.device("cpu"), None, channels_last=True, label="test")
    batch = plan.prepare_batch(torch.randn(2, 3, 8, 8))
    assert batch.is_contiguous(memory_format=torch.channels_last)
    flat = plan.prepare_batch(torch.randn(2, 3))
    assert flat.shape == (2, 3)
    conv = plan.prepare_module(nn.Conv2d(3, 4, 3))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert plan.memory_format() == torch.channels_last
