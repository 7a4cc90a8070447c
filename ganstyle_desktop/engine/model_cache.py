"""The one cache of loaded models, shared by every caller in the process.

The app stylizes, previews blends, renders comparisons and thumbnails with the same few
models again and again; loading one costs a file read and a network build. Models are
kept by file version (resolved path, modification time and size), so a file replaced on
disk is loaded afresh, and only the most recently used few are kept.

Models are kept per device: the stylizer moves a module to its device in place, so a
model shared between a GPU stylize and a CPU preview would be pulled back and forth under
a running pass. Asking for the device a job will run on gives each device its own copy
(and makes the stylizer's move a no-op).

Thread safety: lookups are guarded by a lock; a model is loaded outside the lock (slow),
and when two threads load the same file at once the first one stored wins. Models are
used read-only by inference; the stylizer serialises work that freezes normalisation
statistics on a model's layers (``stylize._lock_for``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

DEFAULT_CAPACITY = 3

_Key = tuple[str, int, int, str]


def _key(path: Path, device: str) -> _Key:
    stat = path.stat()
    return (str(path.resolve()), stat.st_mtime_ns, stat.st_size, device)


class ModelCache:
    """Loaded StyleModels by file version, least recently used dropped first."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = max(1, int(capacity))
        self._lock = threading.Lock()
        self._models: OrderedDict[_Key, object] = OrderedDict()
        self.loads = 0  # how many times a file was actually read (tests look)

    def get(self, path: Path | str, device: str = "cpu") -> object:
        """The model at ``path`` on ``device`` (a torch device name: "cpu", "cuda:0"; see
        :func:`device_for`); ModelFileError / OSError as load_model raises them."""
        from .modelfile import load_model

        path = Path(path)
        key = _key(path, str(device))
        with self._lock:
            model = self._models.get(key)
            if model is not None:
                self._models.move_to_end(key)
                return model
        model = load_model(path, device=str(device))
        with self._lock:
            self.loads += 1
            stored = self._models.setdefault(key, model)
            self._models.move_to_end(key)
            while len(self._models) > self.capacity:
                self._models.popitem(last=False)
            return stored

    def forget(self, path: Path | str | None = None) -> None:
        """Drop ``path`` (every version of it), or everything."""
        with self._lock:
            if path is None:
                self._models.clear()
                return
            resolved = str(Path(path).resolve())
            for key in [k for k in self._models if k[0] == resolved]:
                del self._models[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._models)


shared_cache = ModelCache()


def device_for(preference: str = "auto") -> str:
    """The torch device name a job with this device preference runs on."""
    from .devices import plan_for

    return str(plan_for(preference).device)


def load_model_cached(path: Path | str, device: str = "cpu") -> object:
    """The StyleModel at ``path`` on ``device`` from the process-wide cache."""
    return shared_cache.get(path, device)
