"""Painting with ONNX Runtime, without importing torch.

A model file is exported once (:mod:`.onnx_export`, which needs torch) into a cache
folder named by the file's sha256; from then on a stylize of that file needs only
onnxruntime, numpy and Pillow, so ``ganstyle-cli stylize`` starts painting in a fraction
of a second. The folder holds ``stats.onnx`` (the statistics view's pass: its output and
every norm's mean and variance), ``tiles.onnx`` (a tile with those statistics as inputs)
and ``runtime.json`` (the card and the layout facts).

onnxruntime is optional: :func:`available` says whether it can be imported, and the
stylizer falls back to PyTorch when it cannot.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ganstyle_desktop import __version__

from .control import JobCancelled, JobControl

log = logging.getLogger(__name__)

RUNTIME_FORMAT = "ganstyle-onnx-runtime"
RUNTIME_VERSION = 5  # 5: one-convolution upsamplers, the phase stem, pads taken in


def available() -> bool:
    """onnxruntime can be imported here."""
    return importlib.util.find_spec("onnxruntime") is not None


def can_export() -> bool:
    """A model can be exported here: torch's ONNX exporter needs the ``onnx`` package."""
    return importlib.util.find_spec("onnx") is not None


def cpu_only_machine() -> bool:
    """True when "auto" can only mean the CPU here, told without importing torch: a CPU
    build of torch, or no NVIDIA device node (Linux). ``GANSTYLE_DEVICE`` is respected."""
    import sys
    from importlib.metadata import PackageNotFoundError, version

    wanted = os.environ.get("GANSTYLE_DEVICE", "auto").lower()
    if wanted != "auto":
        return wanted == "cpu"
    if sys.platform == "darwin":
        return False  # Apple's GPU (MPS) may be there
    try:
        build = version("torch")
    except PackageNotFoundError:
        return True
    if "+cpu" in build:
        return True
    if sys.platform.startswith("linux"):
        return not any(Path("/dev").glob("nvidia[0-9]*")) and not Path("/dev/kfd").exists()
    return False


def cache_root() -> Path:
    """Where runtime exports live: ``GANSTYLE_CACHE_DIR``, else beside the user's data
    when ``GANSTYLE_DATA_DIR`` is set (tests, portable installs), else the platform's
    cache folder."""
    override = os.environ.get("GANSTYLE_CACHE_DIR")
    if override:
        return Path(override) / "onnx"
    data = os.environ.get("GANSTYLE_DATA_DIR")
    if data:
        return Path(data) / "cache" / "onnx"
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
        return base / "GANStyle" / "cache" / "onnx"
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "GANStyle" / "onnx"


def _digest(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def runtime_folder(digest: str) -> Path:
    return cache_root() / f"{digest[:40]}-v{RUNTIME_VERSION}-{__version__}"


# The digest of a model file by (path, mtime, size): hashing a large file each stylize of
# a batch would cost more than the network's first layer.
_DIGESTS: dict[tuple[str, int, int], str] = {}


def model_digest(path: Path | str) -> str:
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    digest = _DIGESTS.get(key)
    if digest is None:
        digest = _DIGESTS[key] = _digest(path)
    return digest


@dataclass(frozen=True)
class RuntimeModel:
    """A model file as ONNX Runtime paints it: the card and layout facts of its export.

    It stands in for a StyleModel wherever the stylizer takes a model (``card``,
    ``is_multistyle``, ``traditions``), without torch."""

    folder: Path
    meta: dict
    path: Path | None = None  # the model file it was exported from

    @property
    def card(self) -> Any:
        return _Card(self.meta.get("card") or {})

    @property
    def is_multistyle(self) -> bool:
        return bool(self.meta.get("multistyle"))

    @property
    def traditions(self) -> list[str]:
        return list(self.meta.get("traditions") or [])

    @property
    def size_multiple(self) -> int:
        return int(self.meta["size_multiple"])

    @property
    def receptive_field(self) -> int:
        return int(self.meta["receptive_field"])

    @property
    def bytes_per_pixel(self) -> float:
        return float(self.meta["bytes_per_pixel"])

    @property
    def norm_channels(self) -> list[int]:
        return [int(c) for c in self.meta["norm_channels"]]

    def weights_for(self, blend: dict[str, float] | None) -> np.ndarray | None:
        """Blend weights for the graphs: one per tradition summing to 1 (None: a
        single-style model). ``blend`` None is the first tradition."""
        if not self.is_multistyle:
            return None
        names = self.traditions
        weights = np.zeros(len(names), np.float32)
        if not blend:
            weights[0] = 1.0
            return weights
        from .blend import BlendError

        for name, value in blend.items():
            if name not in names:
                raise BlendError(
                    f"Unknown tradition {name!r}; this model knows {', '.join(names)}."
                )
            weights[names.index(name)] += float(value)
        total = float(weights.sum())
        if total <= 0:
            raise BlendError("A blend needs at least one positive weight.")
        if np.count_nonzero(weights) == 1:  # one tradition: its code exactly
            return (weights > 0).astype(np.float32)
        return weights / np.float32(total)


class _Card:
    """The card's fields as attributes (what the stylizer reads: training_size)."""

    def __init__(self, data: dict) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(name) from None

    def to_dict(self) -> dict:
        return dict(self._data)


def _read_meta(folder: Path) -> dict | None:
    try:
        meta = json.loads((folder / "runtime.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (
        not isinstance(meta, dict)
        or meta.get("format") != RUNTIME_FORMAT
        or meta.get("version") != RUNTIME_VERSION
        or not (folder / "stats.onnx").is_file()
        or not (folder / "tiles.onnx").is_file()
    ):
        return None
    return meta


def cached_runtime(model_path: Path | str) -> RuntimeModel | None:
    """The runtime export of the model file at ``model_path`` if one is cached."""
    model_path = Path(model_path)
    try:
        folder = runtime_folder(model_digest(model_path))
    except OSError:
        return None
    meta = _read_meta(folder)
    return RuntimeModel(folder, meta, model_path) if meta is not None else None


_EXPORT_LOCK = threading.Lock()


def ensure_runtime(model: object) -> RuntimeModel:
    """The runtime export of ``model`` (a StyleModel loaded from a file, or a
    RuntimeModel), exporting it on first use (this imports torch)."""
    if isinstance(model, RuntimeModel):
        return model
    path = getattr(model, "path", None)
    if path is None:
        raise ValueError("only models loaded from a file are exported for ONNX Runtime")
    with _EXPORT_LOCK:
        found = cached_runtime(path)
        if found is not None:
            return found
        from .onnx_export import export_runtime

        digest = model_digest(path)
        folder = export_runtime(model, runtime_folder(digest), digest)
        meta = _read_meta(folder)
        if meta is None:  # pragma: no cover - the export just wrote it
            raise RuntimeError(f"the ONNX export in {folder} is incomplete")
        return RuntimeModel(folder, meta, Path(path))


# -- sessions -------------------------------------------------------------------------------


_THREAD_LIMIT: int | None = None


def set_thread_limit(threads: int | None) -> None:
    """At most ``threads`` per session from now on (None: no limit); the desktop app
    leaves a core to its window, as it does for torch."""
    global _THREAD_LIMIT
    _THREAD_LIMIT = None if threads is None else max(1, int(threads))


def default_threads() -> int:
    """Threads for a session: ``OMP_NUM_THREADS`` when set (as for torch), else every core;
    never more than :func:`set_thread_limit` allows."""
    value = os.environ.get("OMP_NUM_THREADS", "")
    try:
        threads = max(1, int(value))
    except ValueError:
        threads = max(1, os.cpu_count() or 1)
    return threads if _THREAD_LIMIT is None else min(threads, _THREAD_LIMIT)


_SESSIONS: dict[tuple[str, int], Any] = {}
_SESSIONS_GUARD = threading.Lock()


@functools.cache
def machine_fingerprint() -> str:
    """What an optimized graph depends on besides the model: ONNX Runtime's version and
    the CPU it was optimized for (its blocked layouts follow the vector width: 8 floats
    with AVX2, 16 with AVX-512), so a cache folder carried to another machine is redone."""
    import hashlib
    import platform

    import onnxruntime as ort

    try:  # Linux: the CPU's model and flags, read in a fraction of a millisecond
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            cpu = "".join([line for line in f if line.startswith(("model name", "flags"))][:2])
    except OSError:
        cpu = ""
    if not cpu:  # elsewhere: what the platform says (on Linux it spawns `uname -p`, 11 ms)
        cpu = platform.processor()
    text = f"{ort.__version__}|{platform.machine()}|{platform.system()}|{cpu}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# One arena for every session of the process, its first region this large (virtual: a
# page costs only when touched). With an arena per session, the tiles pass could not
# reuse the memory the statistics pass had touched, and each region doubling left gaps:
# measured at 1024 px, 80 k page faults (0.24-0.30 s of system time on this VM) against
# 56 k, and a peak of 343 MB against 250 MB.
SHARED_ARENA_FIRST_REGION = 128 << 20


_ARENA_GUARD = threading.Lock()


def _shared_arena() -> bool:
    """Registers the process-wide CPU arena once (sessions may start in several threads);
    False where this ONNX Runtime cannot (then each session keeps its own, as before)."""
    with _ARENA_GUARD:
        return _register_arena()


@functools.cache
def _register_arena() -> bool:
    import onnxruntime as ort

    try:
        arena = ort.OrtArenaCfg(
            {"arena_extend_strategy": 0, "initial_chunk_size_bytes": SHARED_ARENA_FIRST_REGION}
        )
        memory = ort.OrtMemoryInfo(
            "Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT
        )
        ort.create_and_register_allocator(memory, arena)
    except Exception as exc:  # noqa: BLE001 - an older or different build: per-session arenas
        log.info("ONNX Runtime: no shared arena (%s)", exc)
        return False
    return True


def _options(threads: int, level: Any) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = level
    options.log_severity_level = 3
    # The memory pattern (one block per run planned from the first) doubles the peak for
    # large tiles, measured: 1.3 GB instead of 0.7 GB on a 4096 x 1560 tile, same speed.
    options.enable_mem_pattern = False
    # Idle worker threads sleep instead of spinning: CPU time is the user's, and the
    # machine may be shared (spinning shows as busy cores doing nothing).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if _shared_arena():
        options.add_session_config_entry("session.use_env_allocators", "1")
    return options


def optimized_path(path: Path) -> Path:
    """Where the optimized form of the graph file ``path`` is kept for this machine."""
    return path.with_name(f"{path.stem}.optimized-{machine_fingerprint()}.onnx")


def _open_session(path: Path, threads: int) -> Any:
    """A session for the graph file ``path``. Optimizing a graph (fusions, blocked
    layouts) takes most of a session's start, 60-80 ms per graph measured here, so the
    optimized graph is written beside it once per machine and later sessions load that
    as it is (15 ms). A kept graph that will not load is removed and made again."""
    import onnxruntime as ort

    providers = ["CPUExecutionProvider"]
    level = ort.GraphOptimizationLevel
    kept = optimized_path(path)
    if kept.is_file():
        try:
            return ort.InferenceSession(
                str(kept), _options(threads, level.ORT_DISABLE_ALL), providers=providers
            )
        except Exception as exc:  # noqa: BLE001 - a damaged cache file: make it again
            log.warning("Optimized graph %s did not load (%s); optimizing again", kept, exc)
            kept.unlink(missing_ok=True)
    options = _options(threads, level.ORT_ENABLE_ALL)
    partial = kept.with_name(f"{kept.name}.{os.getpid()}.{threading.get_ident()}.partial")
    options.optimized_model_filepath = str(partial)
    try:
        session = ort.InferenceSession(str(path), options, providers=providers)
    except Exception as exc:  # noqa: BLE001 - e.g. a read-only cache: paint without keeping
        log.info("Optimized graph not kept beside %s (%s)", path, exc)
        partial.unlink(missing_ok=True)
        options = _options(threads, level.ORT_ENABLE_ALL)
        return ort.InferenceSession(str(path), options, providers=providers)
    try:  # written while the session was made: publish it whole, or not at all
        if partial.is_file():
            os.replace(partial, kept)
    except OSError as exc:
        log.info("Optimized graph not kept (%s): %s", kept, exc)
        partial.unlink(missing_ok=True)
    return session


def session_for(path: Path, threads: int) -> Any:
    """One InferenceSession per graph file and thread count, shared (run() is thread-safe)."""
    key = (str(path), threads)
    with _SESSIONS_GUARD:
        session = _SESSIONS.get(key)
    if session is not None:
        return session
    session = _open_session(Path(path), threads)
    with _SESSIONS_GUARD:
        return _SESSIONS.setdefault(key, session)


def forget_sessions() -> None:
    with _SESSIONS_GUARD:
        _SESSIONS.clear()


def _run(session: Any, feeds: dict, control: JobControl | None) -> list[np.ndarray]:
    """``session.run`` that a cancel stops mid-pass (ONNX Runtime's terminate flag)."""
    import onnxruntime as ort

    if control is None:
        return session.run(None, feeds)
    control.raise_if_cancelled()
    options = ort.RunOptions()
    finished = threading.Event()

    def watch() -> None:
        while not finished.is_set():
            if control.wait_for_cancel(0.05):
                options.terminate = True
                return

    watcher = threading.Thread(target=watch, name="ganstyle-ort-cancel", daemon=True)
    watcher.start()
    try:
        return session.run(None, feeds, options)
    except Exception:
        if control.cancelled:
            raise JobCancelled() from None
        raise
    finally:
        finished.set()
        watcher.join()


def to_input(pixels: np.ndarray) -> np.ndarray:
    """HxWx3 uint8/uint16 pixels as a 1x3xHxW float32 batch in [-1, 1]."""
    scale = 65535.0 if pixels.dtype == np.uint16 else 255.0
    # Planes first in the pixels' own type: the float pass then reads contiguous memory
    # (2.5x faster at 1024 px than converting through the strided view).
    planes = np.ascontiguousarray(np.moveaxis(pixels, 2, 0))
    x = np.empty((1, 3, *pixels.shape[:2]), np.float32)
    np.multiply(planes, np.float32(2.0 / scale), out=x[0], dtype=np.float32)
    x -= 1.0
    return x


def from_output(y: np.ndarray) -> np.ndarray:
    """A 1x3xHxW output as HxWx3 float32 in [-1, 1] (a view of ``y``, clipped in place)."""
    np.clip(y, -1.0, 1.0, out=y)
    return np.moveaxis(y[0], 0, 2)


class OrtPainter:
    """Paints blocks of pixels with the runtime pair (see :class:`.torch_backend.TorchPainter`
    for the protocol: ``capture`` then ``paint``, or ``paint`` alone for plain statistics)."""

    name = "onnx"
    precision = "fp32"

    def __init__(
        self,
        runtime: RuntimeModel,
        blend: dict[str, float] | None,
        *,
        control: JobControl | None = None,
        threads: int | None = None,
    ) -> None:
        self.runtime = runtime
        self.threads = threads or default_threads()
        self.stats = session_for(runtime.folder / "stats.onnx", self.threads)
        self._tiles: Any = None  # made on first use: a photo no larger than its view needs none
        self.control = control
        self.size_multiple = runtime.size_multiple
        self.receptive_field = runtime.receptive_field
        self.bytes_per_pixel = runtime.bytes_per_pixel
        self.label = f"CPU, ONNX Runtime ({self.threads} thread{'s' if self.threads > 1 else ''})"
        weights = runtime.weights_for(blend)
        self._extra = {} if weights is None else {"blend_weights": weights}
        self._statistics: dict[str, np.ndarray] | None = None

    def __enter__(self) -> OrtPainter:
        self._statistics = None
        return self

    def __exit__(self, *exc: object) -> None:
        self._statistics = None

    def capture(self, pixels: np.ndarray) -> np.ndarray:
        y, mean, var = _run(self.stats, {"x": to_input(pixels), **self._extra}, self.control)
        self._statistics = {"mean": mean, "var": var}
        return from_output(y)

    def paint(self, pixels: np.ndarray) -> np.ndarray:
        x = to_input(pixels)
        if self._statistics is None:  # plain instance norm: the statistics pass is the pass
            return from_output(_run(self.stats, {"x": x, **self._extra}, self.control)[0])
        if self._tiles is None:
            self._tiles = session_for(self.runtime.folder / "tiles.onnx", self.threads)
        feeds = {"x": x, **self._extra, **self._statistics}
        return from_output(_run(self._tiles, feeds, self.control)[0])
