"""Training methods by name. The registry is explicit so a typo fails with the list of
choices instead of importing something unexpected."""

from __future__ import annotations

from importlib import import_module

from .base import TrainingMethod

# name -> "module:Class" (imported lazily: CycleGAN users don't pay for CUT's MLPs)
_REGISTRY: dict[str, str] = {
    "fastcut": "cut:FastCUT",
    "cut": "cut:CUT",
    "cyclegan": "cyclegan:CycleGAN",
    "multistyle": "multistyle:MultiStyle",
}


def method_names() -> list[str]:
    return list(_REGISTRY)


def method_class(name: str) -> type[TrainingMethod]:
    try:
        target = _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"Unknown method {name!r}; choose one of {', '.join(_REGISTRY)}."
        ) from None
    module_name, cls_name = target.split(":")
    module = import_module(f"{__name__}.{module_name}")
    return getattr(module, cls_name)


__all__ = ["TrainingMethod", "method_class", "method_names"]
