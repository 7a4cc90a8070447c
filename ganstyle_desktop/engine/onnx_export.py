"""Models as ONNX graphs: the runtime pair ONNX Runtime paints with, and the one-file
export other tools can run (``ganstyle-cli export MODEL --onnx``).

Both carry the one normalisation policy (:func:`.tiling.statistics_view`), with the
statistics as data rather than state:

- the runtime pair: ``stats.onnx`` paints the statistics view (its output is the
  preview) and returns every norm's mean and variance, flattened; ``tiles.onnx`` paints a
  tile with those statistics as inputs (frozen norms: batch norm's inference formula);
- the one-file export: inputs ``image`` and ``view`` (the whole image at the view size,
  or the image itself when it is no larger), RGB in [0, 1], NCHW, sides multiples of the
  size multiple; statistics from ``view``, applied to ``image``. A multi-style model also
  takes ``blend_weights``, one per tradition, summing to 1.

The graphs are traced from the fast equivalent of the generator
(:func:`.torch_backend.fast_equivalent`: sub-pixel upsamplers), so ONNX Runtime runs the
same reduced arithmetic as the eager backend.
"""

from __future__ import annotations

import io
import json
import logging
import warnings
from pathlib import Path

import torch
from torch import nn

from ganstyle_desktop import __version__

from .atomic import write_bytes_atomic, write_text_atomic
from .nets import norm_layers, norm_statistics, receptive_field
from .onnx_backend import RUNTIME_FORMAT, RUNTIME_VERSION
from .tiling import VIEW_FACTOR
from .torch_backend import (
    _lock_for,
    activation_bytes_per_pixel,
    fast_equivalent,
    fast_path_refusal,
    size_multiple,
)

log = logging.getLogger(__name__)

OPSET = 17
# Peak bytes per pixel of ONNX Runtime = the widest full-resolution activation (4 bytes
# per channel) x this factor, plus the float input and output of the pass (24 bytes).
# Measured with the mid preset at 1024 and 2048 px: about 130 bytes per pixel in the
# runtime's arena over its baseline, i.e. ~4.1 x (8 channel-equivalents x 4 bytes).
ORT_ACTIVATION_FACTOR = 4.5
ORT_IO_BYTES_PER_PIXEL = 24.0


class OnnxExportError(RuntimeError):
    """The model cannot be written as ONNX (an architecture the exporter does not know)."""


# -- graphs ---------------------------------------------------------------------------------


class _Painting(nn.Module):
    """The generator as a function of (x, [blend weights], [mean, var]) for tracing."""

    def __init__(self, generator: nn.Module, stats_in: bool, stats_out: bool) -> None:
        super().__init__()
        self.generator = generator
        self.layers = list(norm_layers(generator))
        self.channels = [layer.num_features for layer in self.layers]
        self.stats_in, self.stats_out = stats_in, stats_out
        self.multistyle = hasattr(generator, "forward_code")

    def _paint(self, x: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
        if not self.multistyle:
            return self.generator(x)
        table = self.generator.embedding_table()
        code = (weights[:, None] * table).sum(0, keepdim=True)
        return self.generator.forward_code(x, code)

    def forward(self, x: torch.Tensor, *rest: torch.Tensor):
        rest = list(rest)
        weights = rest.pop(0) if self.multistyle else None
        if self.stats_in:
            mean, var = rest
            offset = 0
            for layer, c in zip(self.layers, self.channels, strict=True):
                layer.frozen_mean = mean[offset : offset + c].view(1, c, 1, 1)
                layer.frozen_var = var[offset : offset + c].view(1, c, 1, 1)
                offset += c
            with norm_statistics(self.generator, "frozen"):
                return self._paint(x, weights)
        with norm_statistics(self.generator, "capture"):
            y = self._paint(x, weights)
        mean = torch.cat([layer.frozen_mean.reshape(-1) for layer in self.layers])
        var = torch.cat([layer.frozen_var.reshape(-1) for layer in self.layers])
        return y, mean, var


class _OneFile(nn.Module):
    """image, view in [0, 1] (+ blend weights) -> the painting in [0, 1]."""

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.capture = _Painting(generator, stats_in=False, stats_out=True)
        self.tiles = _Painting(generator, stats_in=True, stats_out=False)
        self.multistyle = self.capture.multistyle

    def forward(self, image: torch.Tensor, view: torch.Tensor, *weights: torch.Tensor):
        _, mean, var = self.capture(view * 2.0 - 1.0, *weights)
        y = self.tiles(image * 2.0 - 1.0, *weights, mean, var)
        return (y + 1.0) * 0.5


def _generator_of(model: object) -> nn.Module:
    generator = getattr(model, "generator", model)
    refusal = fast_path_refusal(generator)
    if refusal is not None:
        raise OnnxExportError(
            f"{refusal}, so it cannot be exported to ONNX yet "
            "(it needs the ResNet or multi-style generator of a model file)"
        )
    return generator


def _export(module: nn.Module, args: tuple, names: list[str], outputs: list[str]) -> bytes:
    # The painted image and the output share their sides; the view has its own.
    dynamic = {
        n: {2: f"{_IMAGE_NAMES[n]}height", 3: f"{_IMAGE_NAMES[n]}width"}
        for n in names + outputs
        if n in _IMAGE_NAMES
    }
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer notes about shape-dependent branches
        torch.onnx.export(
            module,
            args,
            buffer,
            dynamo=False,
            input_names=names,
            output_names=outputs,
            dynamic_axes=dynamic,
            opset_version=OPSET,
            do_constant_folding=True,
        )
    return buffer.getvalue()


_IMAGE_NAMES = {"x": "", "y": "", "image": "", "stylized": "", "view": "view_"}


def _probe_inputs(generator: nn.Module, side: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    x = torch.rand(1, 3, side, side) * 2 - 1
    extra = []
    if hasattr(generator, "forward_code"):
        n = len(generator.traditions)
        extra.append(torch.full((n,), 1.0 / n))
    return x, extra


def _with_metadata(data: bytes, doc: str, metadata: dict[str, str]) -> bytes:
    """ONNX bytes with a doc string and metadata entries appended: protobuf merges a
    repeated field written twice, and the last value of a singular one wins, so appending
    fields 6 (doc_string) and 14 (metadata_props) to a ModelProto is a valid ModelProto."""

    def varint(n: int) -> bytes:
        out = bytearray()
        while True:
            byte = n & 0x7F
            n >>= 7
            out.append(byte | (0x80 if n else 0))
            if not n:
                return bytes(out)

    def field(number: int, payload: bytes) -> bytes:
        return varint(number << 3 | 2) + varint(len(payload)) + payload

    extra = field(6, doc.encode())
    for key, value in metadata.items():
        entry = field(1, key.encode()) + field(2, value.encode())
        extra += field(14, entry)
    return data + extra


def runtime_facts(model: object) -> dict:
    """What a painter needs to lay out tiles, without the network."""
    generator = _generator_of(model)
    fast = fast_equivalent(generator)
    card = getattr(model, "card", None)
    multiple = size_multiple(generator)
    spec = getattr(generator, "spec", None)
    widest = 3.0
    if spec is not None:
        area = float(spec.unshuffle**2)
        widest = max(3.0, spec.width / area)
        for n in range(1, spec.n_down + 1):
            widest = max(widest, spec.width * 2**n / 4**n / area)
        if spec.flat_colours:  # the flat-colour head's per-pixel weights, at full size
            widest = max(widest, spec.flat_colours + 4.0)
        bpp = widest * 4.0 * ORT_ACTIVATION_FACTOR + ORT_IO_BYTES_PER_PIXEL
    else:  # pragma: no cover - every model file's generator has a spec
        bpp = activation_bytes_per_pixel(generator)
    return {
        "size_multiple": multiple,
        "receptive_field": receptive_field(generator),
        "bytes_per_pixel": bpp,
        "norm_channels": [layer.num_features for layer in norm_layers(fast)],
        "traditions": list(getattr(generator, "traditions", []) or []),
        "multistyle": hasattr(generator, "forward_code"),
        "training_size": int(getattr(card, "training_size", 0) or 0),
    }


def export_runtime(model: object, folder: Path | str, source_digest: str = "") -> Path:
    """Write the runtime pair and ``runtime.json`` for ``model`` (a StyleModel) into
    ``folder`` (atomically, file by file; ``runtime.json`` last, so a folder with it is
    complete). Returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    generator = _generator_of(model)
    fast = fast_equivalent(generator)
    facts = runtime_facts(model)
    side = 4 * facts["size_multiple"]
    x, extra = _probe_inputs(fast, side)
    weight_names = ["blend_weights"] if extra else []
    stats = _Painting(fast, stats_in=False, stats_out=True)
    # Tracing sets and clears statistics on the model's own norm layers: a stylize of the
    # same model in another thread (the window prepares a model while one paints) must not
    # run between, so both take the model's one lock.
    with _lock_for(fast):
        try:
            stats_bytes = _export(stats, (x, *extra), ["x", *weight_names], ["y", "mean", "var"])
            with torch.no_grad():
                _, mean, var = stats(x, *extra)
            tiles = _Painting(fast, stats_in=True, stats_out=False)
            tiles_bytes = _export(
                tiles, (x, *extra, mean, var), ["x", *weight_names, "mean", "var"], ["y"]
            )
        finally:
            for layer in norm_layers(fast):
                layer.frozen_mean = layer.frozen_var = None
    write_bytes_atomic(folder / "stats.onnx", stats_bytes)
    write_bytes_atomic(folder / "tiles.onnx", tiles_bytes)
    card = getattr(model, "card", None)
    meta = {
        "format": RUNTIME_FORMAT,
        "version": RUNTIME_VERSION,
        "engine_version": __version__,
        "source_sha256": source_digest,
        "source": str(getattr(model, "path", "") or ""),
        "card": card.to_dict() if card is not None else {},
        **facts,
    }
    write_text_atomic(folder / "runtime.json", json.dumps(meta, indent=2) + "\n")
    log.info("exported %s for ONNX Runtime into %s", getattr(model, "path", "a model"), folder)
    return folder


def export_onnx_file(model: object, dst: Path | str) -> tuple[Path, Path]:
    """Write ``model`` (a StyleModel) as one ONNX file other tools can run, with its card
    inside (metadata ``ganstyle_card``) and beside it (``dst`` with ``.json``). Returns
    (onnx path, card path)."""
    dst = Path(dst)
    generator = _generator_of(model)
    fast = fast_equivalent(generator)
    facts = runtime_facts(model)
    side = 4 * facts["size_multiple"]
    x, extra = _probe_inputs(fast, side)
    image = (x + 1) / 2
    names = ["image", "view"] + (["blend_weights"] if extra else [])
    with _lock_for(fast):  # as export_runtime: the model's own layers are traced
        try:
            data = _export(_OneFile(fast), (image, image, *extra), names, ["stylized"])
        finally:
            for layer in norm_layers(fast):
                layer.frozen_mean = layer.frozen_var = None
    card = getattr(model, "card", None)
    card_dict = card.to_dict() if card is not None else {}
    training = facts["training_size"] or 256
    usage = {
        "inputs": {
            "image": "float32 [1, 3, H, W], RGB in [0, 1]; H and W multiples of "
            f"{facts['size_multiple']} (reflect-pad, then crop the output)",
            "view": "float32 [1, 3, h, w]: the whole image scaled down (box filter) so its "
            f"short side is {round(VIEW_FACTOR * training)} px, sides multiples of "
            f"{facts['size_multiple']}; the image itself when it is no larger. Its "
            "instance-norm statistics are the ones every pass uses.",
            **(
                {
                    "blend_weights": f"float32 [{len(facts['traditions'])}], one weight per "
                    f"tradition ({', '.join(facts['traditions'])}), summing to 1"
                }
                if extra
                else {}
            ),
        },
        "outputs": {"stylized": "float32 [1, 3, H, W], RGB in [0, 1]"},
        "size_multiple": facts["size_multiple"],
        "receptive_field": facts["receptive_field"],
        "traditions": facts["traditions"],
    }
    doc = (
        f"GANStyle model {card_dict.get('name') or dst.stem} (engine {__version__}). "
        + json.dumps(usage)
    )
    data = _with_metadata(
        data,
        doc,
        {
            "ganstyle_card": json.dumps(card_dict, ensure_ascii=False, sort_keys=True),
            "ganstyle_usage": json.dumps(usage),
        },
    )
    write_bytes_atomic(dst, data)
    card_path = dst.with_suffix(".json")
    write_text_atomic(
        card_path,
        json.dumps({"card": card_dict, "onnx": usage}, ensure_ascii=False, indent=2) + "\n",
    )
    return dst, card_path
