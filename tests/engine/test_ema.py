"""The EMA of a generator's weights against the Polyak / exponential-average definition."""

from __future__ import annotations

import pytest
import torch
from method_references import ema_average, ema_decay
from torch import nn

from ganstyle_desktop.engine.ema import ModelEMA


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))


def _set_weights(model: nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
        for b in model.buffers():
            if b.is_floating_point():
                b.copy_(torch.randn(b.shape, generator=g))


@pytest.mark.parametrize("decay", [0.9, 0.999])
def test_each_update_is_the_exponential_average(decay: float) -> None:
    model = _model()
    ema = ModelEMA(model, decay)
    expected = {n: p.detach().clone() for n, p in model.named_parameters()}
    for step in range(30):
        _set_weights(model, seed=step)
        ema.update(model)
        current = dict(model.named_parameters())
        expected = {
            n: ema_average(v, current[n].detach(), decay, step) for n, v in expected.items()
        }
        averaged = dict(ema.module.named_parameters())
        for name, value in expected.items():
            torch.testing.assert_close(averaged[name], value, rtol=1e-5, atol=1e-6)
    assert ema.updates == 30


def test_decay_ramps_up_to_its_setting() -> None:
    ema = ModelEMA(_model(), 0.9)
    seen = []
    for _ in range(120):
        seen.append(ema.current_decay())
        ema.update(_model())
    assert seen[0] == pytest.approx(0.1) and seen[1] == pytest.approx(2 / 11)
    assert seen == pytest.approx([ema_decay(0.9, n) for n in range(120)])
    assert seen[-1] == pytest.approx(0.9)


def test_average_lags_behind_and_converges() -> None:
    """A constant target: the average approaches it geometrically, never jumping to it."""
    model = _model()
    ema = ModelEMA(model, 0.5)
    start = [p.detach().clone() for p in ema.module.parameters()]
    _set_weights(model, seed=99)
    target = [p.detach().clone() for p in model.parameters()]
    gaps = []
    for _ in range(40):
        ema.update(model)
        gaps.append(
            max(
                (a - t).abs().max().item()
                for a, t in zip(ema.module.parameters(), target, strict=True)
            )
        )
    initial = max((s - t).abs().max().item() for s, t in zip(start, target, strict=True))
    # Each update keeps the fraction d of the remaining gap: d_0 = 0.1, then the ramp.
    assert gaps[0] == pytest.approx(0.1 * initial, rel=1e-4)
    for n in range(1, 8):  # (float32 precision limits how far this can be followed)
        assert gaps[n] == pytest.approx(ema_decay(0.5, n) * gaps[n - 1], rel=1e-2)
    assert gaps[-1] < 1e-5 * initial


def test_buffers_follow_the_model_and_the_copy_is_frozen() -> None:
    model = _model()
    ema = ModelEMA(model, 0.999)
    _set_weights(model, seed=5)
    ema.update(model)
    for (name, b), (_, mine) in zip(model.named_buffers(), ema.module.named_buffers(), strict=True):
        assert torch.equal(b, mine), name  # statistics are copied, not averaged
    assert not ema.module.training
    assert all(not p.requires_grad for p in ema.module.parameters())
    assert not torch.equal(ema.module[0].weight, model[0].weight)


def test_state_round_trip_continues_identically() -> None:
    model = _model()
    a = ModelEMA(model, 0.99)
    for step in range(5):
        _set_weights(model, seed=step)
        a.update(model)
    b = ModelEMA(_model(), 0.5)
    b.load_state_tensors(a.state_tensors())
    b.load_state_meta(a.state_meta())
    _set_weights(model, seed=50)
    a.update(model)
    b.update(model)
    for pa, pb in zip(a.module.parameters(), b.module.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_decay_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="decay"):
        ModelEMA(_model(), 1.0)
