"""What the engine offers on this machine (presets, devices), read in a worker at start-up,
and the style recipe's knobs (read at once: their descriptions need no torch).

The engine's preset and device modules import torch, so the window asks once, in the
background, and fills its choices from the answer: the lists are never copied into the UI.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EngineFacts", "read_engine_facts", "recipe_knob_specs"]


@dataclass(frozen=True)
class EngineFacts:
    device_label: str  # the device training and stylizing would use, for people
    presets: tuple[tuple[str, str], ...]  # (name, summary), in the engine's order
    default_preset: str
    devices: tuple[str, ...]  # every device choice the engine understands
    available_devices: tuple[str, ...]  # those usable on this machine

    def preset_names(self) -> list[str]:
        return [name for name, _ in self.presets]


def read_engine_facts(device_preference: str = "auto") -> EngineFacts:
    from ganstyle_desktop.engine.devices import (
        DEVICE_CHOICES,
        DeviceUnavailable,
        available_devices,
        leave_cores_free,
        plan_for,
    )
    from ganstyle_desktop.engine.presets import DEFAULT_PRESET, PRESETS

    leave_cores_free(1)  # what every job does, so the label tells the truth
    try:
        label = plan_for(device_preference).label
    except DeviceUnavailable as exc:
        label = f"{plan_for('cpu').label} ({exc})"
    return EngineFacts(
        device_label=label,
        presets=tuple((name, preset.summary) for name, preset in PRESETS.items()),
        default_preset=DEFAULT_PRESET,
        devices=tuple(DEVICE_CHOICES),
        available_devices=tuple(available_devices()),
    )


def recipe_knob_defaults(method: str, preset: str) -> dict[str, float]:
    """What each optional recipe knob left at "default" trains with, for ``method`` and
    ``preset`` (the engine's one table; light, no torch)."""
    from ganstyle_desktop.engine.config import default_knob_values

    return default_knob_values(method, preset)


def recipe_knob_specs() -> tuple:
    """The style recipe's knobs (engine.config.KnobSpec: kind, range, choices, default,
    help), which the Training panel's Advanced section is built from. engine.config is
    light (no torch): safe to read in the GUI thread."""
    from ganstyle_desktop.engine.config import describe_knobs

    return describe_knobs()
