"""Model files: generator weights in safetensors with a JSON card, never a pickle.

A model file is ``name.safetensors``. Its safetensors metadata holds the card (JSON under
the key ``ganstyle_card``), so the one file is complete; ``name.json`` beside it is a copy
of the card for people to read and is never trusted when loading. Cards are read from
the safetensors header alone, so listing a folder of models never touches weights.

PyTorch ``.pt``/``.pth``/``.ckpt`` files and anything else that is a pickle are refused
without being opened by ``pickle``: unpickling a file can run arbitrary code.
"""

from __future__ import annotations

import json
import logging
import math
import os
import struct
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timezone
from importlib import import_module
from pathlib import Path

import torch
from torch import nn

from ganstyle_desktop import __version__

from .atomic import write_text_atomic, write_with_atomic
from .fileguard import UnreadableFile, describe_os_error, open_regular_file, printable
from .nets import GeneratorSpec, ResnetGenerator

log = logging.getLogger(__name__)

MODEL_SUFFIX = ".safetensors"
CARD_FORMAT = "ganstyle-model"
CARD_SCHEMA_VERSION = 1
CARD_METADATA_KEY = "ganstyle_card"
# Suffixes that mean "pickle inside" (torch.save, joblib, HF pytorch_model.bin).
UNSAFE_SUFFIXES = frozenset({".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".bin", ".tar"})
# A card is a few KB (provenance of a big dataset: a few MB); more is corruption or an
# attack, refused before parsing. Nesting deeper than MAX_JSON_DEPTH is never a card.
MAX_HEADER_BYTES = 64 * 1024 * 1024
MAX_CARD_BYTES = 32 * 1024 * 1024
MAX_JSON_DEPTH = 32
MAX_TENSORS = 100_000
MAX_TRADITIONS = 1024
# Sane bounds on the architecture a card may ask for (inclusive), checked before any
# network is built: the presets use widths 4 to 64, 1 to 9 blocks and 2 downsamplings.
SPEC_BOUNDS: dict[str, tuple[int, int]] = {
    "in_channels": (3, 3),
    "out_channels": (3, 3),
    "width": (1, 1024),
    "n_blocks": (0, 64),
    "n_down": (0, 5),
    "unshuffle": (1, 8),
    "flat_colours": (0, 64),
}
MAX_BOTTLENECK_CHANNELS = 8192  # width * 2**n_down
STYLE_BOUNDS: dict[str, tuple[int, int]] = {"style_dim": (1, 4096), "mlp_hidden": (1, 16384)}
_SAFETENSORS_DTYPE_BYTES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4,
    "I64": 8, "U64": 8, "F64": 8,
}  # fmt: skip


class ModelFileError(Exception):
    """Base of the model-file errors; ``str()`` names the file and the reason."""

    def __init__(self, path: Path | str, message: str) -> None:
        self.path = Path(path)
        super().__init__(message)


class UnsafeModelFile(ModelFileError):
    """The file is a pickle (or a torch.save archive): refused, never executed."""


class InvalidModelFile(ModelFileError):
    """The file is not a usable GANStyle model (corrupt, truncated, no card, wrong weights)."""


# -- the card -------------------------------------------------------------------------------


@dataclass
class ModelCard:
    """What a model is, how it was made and from what. Saved inside every model file."""

    name: str = ""
    kind: str = "single"  # "single" | "multistyle"
    method: str = ""  # fastcut | cut | cyclegan | multistyle
    preset: str = ""
    # {"generator": "resnet", "spec": GeneratorSpec.to_dict(), ...}: enough to rebuild it
    architecture: dict = field(default_factory=dict)
    direction: str = "photo_to_style"  # or "style_to_photo" (CycleGAN's reverse model)
    training_size: int = 0
    # [{"slug", "name", "culture", "region", "era", ...}], one per tradition learned
    traditions: list[dict] = field(default_factory=list)
    steps: int = 0
    data_provenance: list[dict] = field(default_factory=list)
    engine_version: str = ""
    created: str = ""  # ISO 8601, UTC
    metrics: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)  # command, wall_seconds, hardware
    schema_version: int = CARD_SCHEMA_VERSION
    format: str = CARD_FORMAT

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelCard:
        """Build a card from JSON data; ``ValueError`` says what is wrong with it."""
        if not isinstance(data, dict):
            raise ValueError("the card is not a JSON object")
        if data.get("format") != CARD_FORMAT:
            raise ValueError(f"the card is not a {CARD_FORMAT!r} card")
        version = data.get("schema_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValueError(f"the card has an invalid schema_version {version!r}")
        if version > CARD_SCHEMA_VERSION:
            raise ValueError(
                f"the card has schema version {version} and was made by a newer GANStyle "
                f"(this one reads up to {CARD_SCHEMA_VERSION}); update GANStyle to open it"
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            log.debug("ignoring unknown card fields %s", unknown)
        card = cls(**{k: v for k, v in data.items() if k in known})
        if not isinstance(card.architecture, dict) or not isinstance(
            card.architecture.get("generator"), str
        ):
            raise ValueError("the card does not say which generator architecture it holds")
        if not isinstance(card.traditions, list) or not all(
            isinstance(t, dict) for t in card.traditions
        ):
            raise ValueError("the card's traditions are not a list of objects")
        _check_card_types(card)
        return card


_CARD_TEXT_FIELDS = ("name", "kind", "method", "preset", "direction", "engine_version", "created")
_CARD_CHOICES = {
    "kind": ("single", "multistyle"),
    "direction": ("photo_to_style", "style_to_photo"),
}


def _check_card_types(card: ModelCard) -> None:
    """Every field a reader shows or uses has the type it promises (ValueError if not)."""
    for name in _CARD_TEXT_FIELDS:
        if not isinstance(getattr(card, name), str):
            raise ValueError(f"the card's {name} is not text")
    for name, choices in _CARD_CHOICES.items():
        if getattr(card, name) not in choices:
            raise ValueError(
                f"the card's {name} {getattr(card, name)!r} is not one of {', '.join(choices)}"
            )
    for name in ("training_size", "steps"):
        value = getattr(card, name)
        if not _is_int(value) or value < 0:
            raise ValueError(f"the card's {name} {value!r} is not a whole number >= 0")
    for name in ("metrics", "training"):
        if not isinstance(getattr(card, name), dict):
            raise ValueError(f"the card's {name} is not an object")
    if not isinstance(card.data_provenance, list) or not all(
        isinstance(row, dict) for row in card.data_provenance
    ):
        raise ValueError("the card's data_provenance is not a list of objects")
    if len(card.traditions) > MAX_TRADITIONS:
        raise ValueError(
            f"the card lists {len(card.traditions):,} traditions (at most {MAX_TRADITIONS:,})"
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# -- generator builders ---------------------------------------------------------------------

GeneratorBuilder = Callable[[dict], nn.Module]
_BUILDERS: dict[str, GeneratorBuilder] = {}
# Generator kinds whose builder registers itself when this module is imported, so a
# model can be opened without the caller importing the training method first.
_PLUGIN_MODULES: dict[str, str] = {
    "multistyle": "ganstyle_desktop.engine.multistyle_nets",
    "painter": "ganstyle_desktop.engine.painter_nets",
}


def register_generator_builder(kind: str, builder: GeneratorBuilder) -> None:
    """Teach :func:`load_model` to build generators whose card says ``generator: kind``.

    ``builder`` receives the card's whole ``architecture`` dict and returns an untrained
    module whose ``state_dict`` keys and shapes match the saved weights.
    """
    _BUILDERS[kind] = builder


def _build_resnet(architecture: dict) -> nn.Module:
    return ResnetGenerator(GeneratorSpec.from_dict(architecture.get("spec", {})))


register_generator_builder("resnet", _build_resnet)


def _builder_for(kind: str) -> GeneratorBuilder | None:
    if kind not in _BUILDERS and kind in _PLUGIN_MODULES:
        try:
            import_module(_PLUGIN_MODULES[kind])
        except ModuleNotFoundError as exc:
            log.debug("no plugin module for generator %r: %s", kind, exc)
    return _BUILDERS.get(kind)


# -- the loaded model -----------------------------------------------------------------------


class StyleModel:
    """A loaded model: its card and its generator (eval mode)."""

    def __init__(self, card: ModelCard, generator: nn.Module, path: Path | None = None) -> None:
        self.card = card
        self.generator = generator
        self.path = path

    @property
    def traditions(self) -> list[dict]:
        return self.card.traditions

    @property
    def is_multistyle(self) -> bool:
        return self.card.kind == "multistyle"

    def module_for(self, blend: dict[str, float] | None = None) -> nn.Module:
        """The module mapping [-1, 1] NCHW photos to paintings.

        Single-style models ignore ``blend``. Multi-style generators provide
        ``with_blend(blend)`` (tradition slug -> weight; None: their default).
        """
        if self.is_multistyle and hasattr(self.generator, "with_blend"):
            return self.generator.with_blend(blend)
        return self.generator

    def __repr__(self) -> str:
        return f"StyleModel({model_display_name(self.card)!r}, path={self.path})"


# -- saving ---------------------------------------------------------------------------------


def _completed_card(card: ModelCard, generator: nn.Module) -> ModelCard:
    """Fill what the writer knows (architecture of a plain ResNet, version, date)."""
    updates: dict = {}
    if not card.architecture.get("generator"):
        if not isinstance(generator, ResnetGenerator):
            raise ValueError(
                "card.architecture must name the generator type for "
                f"{type(generator).__name__}; only ResnetGenerator is filled in automatically"
            )
        updates["architecture"] = {"generator": "resnet", "spec": generator.spec.to_dict()}
    if not card.engine_version:
        updates["engine_version"] = __version__
    if not card.created:
        updates["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    updates["schema_version"] = CARD_SCHEMA_VERSION
    updates["format"] = CARD_FORMAT
    return replace(card, **updates)


def _portable_state(generator: nn.Module) -> dict[str, torch.Tensor]:
    """CPU, contiguous, unshared copies; floating tensors as float32 (safetensors needs
    contiguous unshared storage, and float32 loads the same on every device)."""
    state: dict[str, torch.Tensor] = {}
    for key, value in generator.state_dict().items():
        t = value.detach().to("cpu")
        if t.is_floating_point():
            t = t.float()
        state[key] = t.contiguous().clone()
    return state


def sidecar_path(path: Path | str) -> Path:
    return Path(path).with_suffix(".json")


def save_model(path: Path | str, generator: nn.Module, card: ModelCard) -> Path:
    """Write ``generator``'s weights and ``card`` to ``path`` (``.safetensors``) atomically,
    plus the human-readable card ``path.with_suffix('.json')``. Returns ``path``."""
    from safetensors.torch import save_file

    path = Path(path)
    if path.suffix != MODEL_SUFFIX:
        raise ValueError(f"{path.name}: model files must end in {MODEL_SUFFIX}")
    card = _completed_card(card, generator)
    card_json = json.dumps(card.to_dict(), ensure_ascii=False, sort_keys=True)
    state = _portable_state(generator)
    metadata = {CARD_METADATA_KEY: card_json, "format": "pt"}
    write_with_atomic(path, lambda tmp: save_file(state, str(tmp), metadata=metadata))
    write_text_atomic(
        sidecar_path(path), json.dumps(card.to_dict(), ensure_ascii=False, indent=2) + "\n"
    )
    log.debug("saved model %s (%d tensors)", path, len(state))
    return path


def rewrite_card(path: Path | str, card: ModelCard) -> Path:
    """Replace the card of an existing model file (rename, add provenance), keeping its
    weights bit for bit. Atomic, like :func:`save_model`."""
    from safetensors.torch import load_file, save_file

    path = Path(path)
    read_card(path)  # refuse pickles and damaged files before touching anything
    state = load_file(str(path), device="cpu")
    card = replace(card, schema_version=CARD_SCHEMA_VERSION, format=CARD_FORMAT)
    if not card.architecture.get("generator"):
        raise ValueError("card.architecture must name the generator type")
    metadata = {
        CARD_METADATA_KEY: json.dumps(card.to_dict(), ensure_ascii=False, sort_keys=True),
        "format": "pt",
    }
    write_with_atomic(path, lambda tmp: save_file(state, str(tmp), metadata=metadata))
    write_text_atomic(
        sidecar_path(path), json.dumps(card.to_dict(), ensure_ascii=False, indent=2) + "\n"
    )
    return path


# -- reading --------------------------------------------------------------------------------


def _looks_like_pickle(head: bytes, tail: bytes) -> bool:
    if head.startswith(b"PK\x03\x04"):
        return True  # zip archive: torch.save's format since PyTorch 1.6
    if len(head) >= 2 and head[0] == 0x80 and 1 <= head[1] <= 5:
        return True  # PROTO opcode: pickle protocol 2 to 5 (and legacy torch.save)
    # Protocol 0/1 pickles start with an opcode such as MARK "(" or GLOBAL "c" and always
    # end with STOP ".".
    return bool(head) and head[0] in b"(c]}lNIFSVXT" and tail.rstrip(b"\n").endswith(b".")


def _refuse_unsafe(path: Path, head: bytes, tail: bytes) -> None:
    kind = None
    if path.suffix.lower() in {".pt", ".pth", ".ckpt", ".bin", ".tar"}:
        kind = "a PyTorch pickle"
    elif path.suffix.lower() in UNSAFE_SUFFIXES:
        kind = "a Python pickle"
    elif head.startswith(b"PK\x03\x04"):
        kind = "a PyTorch pickle (a torch.save archive)"
    elif _looks_like_pickle(head, tail):
        kind = "a Python pickle"
    if kind:
        raise UnsafeModelFile(
            path,
            f"{path.name} is {kind}; pickles can run code when opened, so GANStyle never "
            "loads them. Convert it to safetensors with a trusted script first.",
        )


def _read_header(path: Path) -> tuple[dict, int]:
    """Parse and check the safetensors header; returns (header, data start offset).

    Refuses pickles first and anything that is not a regular file (a FIFO would block
    ``open()`` forever). Checks sizes, nesting and that every tensor's bytes lie inside
    the file, so a truncated file is caught here without reading any weights.
    """
    path = Path(path)
    try:
        with open_regular_file(path) as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(16)
            fh.seek(max(0, size - 16))
            tail = fh.read(16)
            if path.suffix.lower() in UNSAFE_SUFFIXES or not _plausible_safetensors(head, size):
                _refuse_unsafe(path, head, tail)
            if size < 8:
                raise InvalidModelFile(path, f"{path.name}: too short to be a model file")
            (header_len,) = struct.unpack("<Q", head[:8])
            if header_len > MAX_HEADER_BYTES:
                raise InvalidModelFile(
                    path,
                    f"{path.name}: the safetensors header is too large ({header_len:,} bytes, "
                    f"at most {MAX_HEADER_BYTES:,}); not a GANStyle model",
                )
            if header_len > size - 8:
                raise InvalidModelFile(
                    path,
                    f"{path.name}: not a safetensors model file, or it is truncated "
                    f"(header of {header_len} bytes in a {size}-byte file)",
                )
            fh.seek(8)
            raw = fh.read(header_len)
    except UnreadableFile as exc:
        raise InvalidModelFile(path, f"{printable(path.name)}: {exc.reason}") from exc
    except OSError as exc:
        raise InvalidModelFile(path, f"{printable(path.name)}: {describe_os_error(exc)}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidModelFile(path, f"{path.name}: damaged safetensors header ({exc})") from exc
    header = _bounded_json(path, text, "safetensors header")
    if not isinstance(header, dict):
        raise InvalidModelFile(path, f"{path.name}: damaged safetensors header (not an object)")
    if len(header) > MAX_TENSORS + 1:
        raise InvalidModelFile(
            path, f"{path.name}: {len(header):,} tensors in the header (at most {MAX_TENSORS:,})"
        )
    metadata = header.get("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise InvalidModelFile(
            path, f"{path.name}: damaged safetensors header (metadata must map text to text)"
        )
    data_start = 8 + header_len
    _check_tensor_extents(path, header, size - data_start)
    return header, data_start


def _bounded_json(path: Path, text: str, what: str) -> object:
    """``json.loads(text)`` refusing nesting deeper than MAX_JSON_DEPTH (never a
    RecursionError, whichever reader asks)."""
    try:
        value = json.loads(text)
    except RecursionError:
        value = None
        deep = True
    except json.JSONDecodeError as exc:
        raise InvalidModelFile(path, f"{path.name}: the {what} is damaged ({exc})") from exc
    else:
        deep = _nesting_depth(value) > MAX_JSON_DEPTH
    if deep:
        raise InvalidModelFile(
            path,
            f"{path.name}: the {what} is nested too deeply (more than {MAX_JSON_DEPTH} levels); "
            "not a GANStyle model",
        )
    return value


def _nesting_depth(value: object) -> int:
    """Depth of nested lists and objects, without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            return depth
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _plausible_safetensors(head: bytes, size: int) -> bool:
    if len(head) < 9:
        return False
    (header_len,) = struct.unpack("<Q", head[:8])
    return 0 < header_len <= size - 8 and head[8:9] == b"{"


def _check_tensor_extents(path: Path, header: dict, data_bytes: int) -> None:
    end = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            offsets, shape = info["data_offsets"], info["shape"]
            if not (
                isinstance(offsets, list)
                and len(offsets) == 2
                and all(_is_int(v) for v in offsets)
                and isinstance(shape, list)
                and all(_is_int(d) and d >= 0 for d in shape)
            ):
                raise TypeError("malformed offsets or shape")
            start, stop = offsets
            n_bytes = _SAFETENSORS_DTYPE_BYTES[info["dtype"]]
            count = math.prod(shape)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidModelFile(
                path, f"{path.name}: damaged entry for tensor {name!r} in the header"
            ) from exc
        if stop - start != count * n_bytes or start < 0:
            raise InvalidModelFile(path, f"{path.name}: tensor {name!r} has inconsistent size")
        end = max(end, stop)
    if end > data_bytes:
        raise InvalidModelFile(
            path,
            f"{path.name}: truncated ({data_bytes} bytes of tensor data, the header "
            f"promises {end}); copy or download it again",
        )


def _card_from_header(path: Path, header: dict) -> ModelCard:
    metadata = header.get("__metadata__") or {}
    text = metadata.get(CARD_METADATA_KEY) if isinstance(metadata, dict) else None
    if text is None:
        raise InvalidModelFile(
            path,
            f"{path.name}: no GANStyle model card inside (plain safetensors weights or a "
            "training checkpoint, not a GANStyle model)",
        )
    if len(text) > MAX_CARD_BYTES:
        raise InvalidModelFile(
            path,
            f"{path.name}: the model card is too large ({len(text):,} characters, at most "
            f"{MAX_CARD_BYTES:,})",
        )
    data = _bounded_json(path, text, "model card")
    try:
        return ModelCard.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise InvalidModelFile(path, f"{path.name}: {exc}") from exc


# -- the architecture: bounds, then the tensors it implies -----------------------------------


def _check_architecture(path: Path, card: ModelCard) -> None:
    """Refuse architecture fields outside sane bounds, before anything is built."""
    arch = card.architecture

    def bad(message: str) -> InvalidModelFile:
        return InvalidModelFile(path, f"{path.name}: the card's architecture {message}")

    spec = arch.get("spec", {})
    if not isinstance(spec, dict):
        raise bad("has a spec that is not an object")
    for name, (lo, hi) in SPEC_BOUNDS.items():
        if name not in spec:
            continue
        value = spec[name]
        if not _is_int(value) or not lo <= value <= hi:
            raise bad(f"asks for {name} {value!r} (allowed: a whole number {lo} to {hi})")
    if "separable" in spec and not isinstance(spec["separable"], bool):
        raise bad(f"has separable {spec['separable']!r} (allowed: true or false)")
    width, n_down = spec.get("width", 64), spec.get("n_down", 2)
    if width * 2**n_down > MAX_BOTTLENECK_CHANNELS:
        raise bad(
            f"asks for {width * 2**n_down:,} bottleneck channels (width {width} x 2^{n_down}; "
            f"at most {MAX_BOTTLENECK_CHANNELS:,})"
        )
    for name, (lo, hi) in STYLE_BOUNDS.items():
        for where in (arch, spec):
            if name in where and (not _is_int(where[name]) or not lo <= where[name] <= hi):
                raise bad(f"asks for {name} {where[name]!r} (allowed: a whole number {lo} to {hi})")
    for where in (arch, spec):
        traditions = where.get("traditions")
        if traditions is None:
            continue
        if not isinstance(traditions, list) or not 1 <= len(traditions) <= MAX_TRADITIONS:
            count = len(traditions) if isinstance(traditions, list) else traditions
            raise bad(f"lists {count!r} traditions (allowed: 1 to {MAX_TRADITIONS})")
        if not all(isinstance(t, str | dict) for t in traditions):
            raise bad("lists traditions that are neither names nor objects")


def _expected_state(path: Path, card: ModelCard) -> dict[str, tuple[tuple[int, ...], bool]] | None:
    """Names -> (shape, is floating) of the tensors the card's architecture needs, from a
    skeleton on the meta device (no memory, no arithmetic); None for an unknown kind."""
    _check_architecture(path, card)
    builder = _builder_for(card.architecture["generator"])
    if builder is None:
        return None
    try:
        with torch.device("meta"):
            skeleton = builder(card.architecture)
    except Exception as exc:  # a builder rejecting its own fields: the card is wrong
        raise InvalidModelFile(
            path, f"{path.name}: its architecture cannot be built ({exc})"
        ) from exc
    return {
        name: (tuple(t.shape), t.is_floating_point()) for name, t in skeleton.state_dict().items()
    }


_FLOAT_DTYPES = frozenset({"F16", "BF16", "F32", "F64"})


def _check_header_against(path: Path, header: dict, expected: dict) -> None:
    """The tensors in the header are exactly those the architecture needs."""
    present = {
        name: (tuple(info["shape"]), info["dtype"])
        for name, info in header.items()
        if name != "__metadata__"
    }
    missing = sorted(set(expected) - set(present))
    unexpected = sorted(set(present) - set(expected))
    wrong = [
        f"{k} {present[k][0]} instead of {shape}"
        for k, (shape, _) in expected.items()
        if k in present and present[k][0] != shape
    ]
    wrong_type = [
        f"{k} is {present[k][1]}"
        for k, (_, floating) in expected.items()
        if k in present and floating and present[k][1] not in _FLOAT_DTYPES
    ]
    problems = []
    if missing:
        problems.append(f"missing {len(missing)} tensors (e.g. {', '.join(missing[:3])})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected tensors (e.g. {', '.join(unexpected[:3])})")
    if wrong:
        problems.append(f"wrong shapes: {'; '.join(wrong[:3])}")
    if wrong_type:
        problems.append(f"not floating point: {'; '.join(wrong_type[:3])}")
    if problems:
        raise InvalidModelFile(
            path,
            f"{path.name}: the weights do not match the architecture on its card: "
            + ", ".join(problems),
        )


def _check_finite(path: Path, name: str, tensor: torch.Tensor) -> None:
    if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
        raise InvalidModelFile(
            path,
            f"{path.name}: the weights are damaged: values in {name} are not finite "
            "(NaN or infinity); the model would paint black",
        )


def _validated_header(path: Path) -> tuple[dict, ModelCard, dict | None]:
    header, _ = _read_header(path)
    card = _card_from_header(path, header)
    expected = _expected_state(path, card)
    if expected is not None:
        _check_header_against(path, header, expected)
    return header, card, expected


def read_card(path: Path | str) -> ModelCard:
    """The card of the model at ``path``, read from the header only (no weights): the card,
    its architecture's bounds and the tensors the header lists are all checked."""
    path = Path(path)
    return _validated_header(path)[1]


def read_tensor_shapes(path: Path | str) -> dict[str, tuple[int, ...]]:
    """Tensor names and shapes from the header alone (for parameter counts in lists)."""
    path = Path(path)
    header, _, _ = _validated_header(path)
    return {
        name: tuple(int(d) for d in info["shape"])
        for name, info in header.items()
        if name != "__metadata__"
    }


@dataclass
class VerifiedModel:
    """What :func:`verify_model_file` checked: the card and the tensors' shapes."""

    path: Path
    card: ModelCard
    shapes: dict[str, tuple[int, ...]]

    @property
    def parameters(self) -> int:
        return sum(math.prod(shape) for shape in self.shapes.values())


def verify_model_file(path: Path | str) -> VerifiedModel:
    """Everything :func:`load_model` checks, without building the network: the header, the
    card, the architecture against its bounds and the tensors, and every weight finite
    (read one tensor at a time). For ``info`` and importing a model into the app."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    header, card, _ = _validated_header(path)
    shapes = {
        name: tuple(int(d) for d in info["shape"])
        for name, info in header.items()
        if name != "__metadata__"
    }
    try:
        with safe_open(str(path), framework="pt", device="cpu") as weights:
            for name in shapes:
                _check_finite(path, name, weights.get_tensor(name))
    except (SafetensorError, OSError, ValueError) as exc:
        raise InvalidModelFile(path, f"{path.name}: weights cannot be read ({exc})") from exc
    return VerifiedModel(path, card, shapes)


def load_model(path: Path | str, device: str | torch.device = "cpu") -> StyleModel:
    """Open a model file; the generator is on ``device`` and in eval mode.

    Raises UnsafeModelFile for pickles, InvalidModelFile for anything else wrong with
    the file (checked before the network is built), and devices.DeviceUnavailable for a
    device this machine lacks.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    _, card, expected = _validated_header(path)
    kind = card.architecture["generator"]
    builder = _builder_for(kind)
    if builder is None or expected is None:
        raise InvalidModelFile(
            path,
            f"{path.name}: needs a {kind!r} generator, which this GANStyle does not know; "
            "update GANStyle to open it",
        )
    try:
        generator = builder(card.architecture)
    except (TypeError, ValueError, KeyError, RuntimeError) as exc:
        raise InvalidModelFile(
            path, f"{path.name}: its architecture cannot be built ({exc})"
        ) from exc
    try:
        state = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise InvalidModelFile(path, f"{path.name}: weights cannot be read ({exc})") from exc
    _check_state(path, generator, state)
    for name, tensor in state.items():
        _check_finite(path, name, tensor)
    generator.load_state_dict(state, strict=True)
    if isinstance(device, str):
        from .devices import plan_for

        # One place names devices: "auto", "cuda" on a CPU build etc. get its messages.
        device = plan_for(device).device
    generator.to(device)
    generator.eval()
    return StyleModel(card, generator, path)


def _check_state(path: Path, generator: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Strict key and shape check with a message a person can act on."""
    expected = generator.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [
        f"{k} {tuple(state[k].shape)} instead of {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    problems = []
    if missing:
        problems.append(f"missing {len(missing)} tensors (e.g. {', '.join(missing[:3])})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected tensors (e.g. {', '.join(unexpected[:3])})")
    if wrong:
        problems.append(f"wrong shapes: {'; '.join(wrong[:3])}")
    if problems:
        raise InvalidModelFile(
            path,
            f"{path.name}: the weights do not match the architecture on its card: "
            + ", ".join(problems),
        )


# -- helpers for model lists ----------------------------------------------------------------


def list_model_files(folders: Iterable[Path | str], recursive: bool = True) -> list[Path]:
    """Model files in ``folders`` whose cards can be read, sorted; bad ones are skipped
    with their reason in the log. Hidden files (half-written temp files) are ignored."""
    found: list[Path] = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            log.debug("model folder %s does not exist", folder)
            continue
        candidates = (
            folder.rglob(f"*{MODEL_SUFFIX}") if recursive else folder.glob(f"*{MODEL_SUFFIX}")
        )
        for path in sorted(candidates):
            if any(part.startswith(".") for part in path.relative_to(folder).parts):
                continue
            try:
                read_card(path)
            except ModelFileError as exc:
                log.warning("skipping model %s: %s", path, exc)
                continue
            found.append(path)
    return found


def model_display_name(card: ModelCard) -> str:
    """A name for people: the card's name, else its traditions; reverse models say so."""
    name = card.name.strip()
    if not name:
        names = [str(t.get("name") or t.get("slug") or "").strip() for t in card.traditions]
        name = " + ".join(n for n in names if n) or "Unnamed model"
    if card.direction == "style_to_photo":
        name += " (painting to photo)"
    return name
