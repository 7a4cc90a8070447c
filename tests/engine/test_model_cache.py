"""The one model cache: a model is loaded once per file version and device, the least
recently used is dropped first, and a file replaced on disk is loaded afresh."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ganstyle_desktop.engine.model_cache import ModelCache
from ganstyle_desktop.engine.modelfile import ModelCard, save_model
from ganstyle_desktop.engine.nets import GeneratorSpec, ResnetGenerator


def _model(path: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    card = ModelCard(name=path.stem, method="fastcut", preset="tiny", training_size=32)
    return save_model(path, ResnetGenerator(GeneratorSpec(width=4, n_blocks=1)), card)


def test_one_load_per_file_version_and_least_recently_used_dropped(tmp_path: Path) -> None:
    cache = ModelCache(capacity=2)
    a, b, c = (_model(tmp_path / f"{n}.safetensors", i) for i, n in enumerate("abc"))
    first = cache.get(a)
    assert cache.get(a) is first and cache.get(str(a)) is first and cache.loads == 1
    cache.get(b)
    cache.get(a)  # a is now the most recently used
    cache.get(c)  # drops b
    assert len(cache) == 2 and cache.get(a) is first and cache.loads == 3
    cache.get(b)
    assert cache.loads == 4  # b was dropped, so it is read again


def test_a_replaced_file_is_loaded_afresh_and_devices_get_their_own_copy(tmp_path) -> None:
    cache = ModelCache()
    path = _model(tmp_path / "m.safetensors", 0)
    old = cache.get(path)
    _model(path, 1)  # replaced in place (new weights, new time)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    new = cache.get(path)
    assert new is not old
    assert not torch.equal(next(old.generator.parameters()), next(new.generator.parameters()))
    assert cache.get(path, "cpu") is new  # "cpu" is the default device
    cache.forget(path)
    assert len(cache) == 0
