"""Painting with PyTorch: the generator as it is (training's quality checks, any module),
or, for a model loaded from a file, its fast equivalent (eager ``torch`` backend) or a
``torch.compile`` of that (``torch-compile``).

The fast equivalent is the same function computed with less work (exact up to float
rounding; ``tests/engine/test_fast_backends.py`` holds it to the original):

- every nearest-x2-then-3x3 upsampler (:class:`.nets.Upsample`) becomes a sub-pixel
  convolution: four 2x2 convolutions on the low-resolution input, one per output phase,
  interleaved by a pixel shuffle. Nearest upsampling repeats each input pixel, so each
  phase of the 3x3 kernel touches only 2x2 distinct inputs: 4/9 of the multiply-adds, and
  the widest tensor of the network (the upsampled input) is never made. The reflection
  padding of the upsampled image is the edge padding of the low-resolution one;
- a large-kernel convolution with few outputs (the painter's 9x9 to RGB) runs as one
  stride-2 convolution per output phase (:class:`StridedPhaseConv`): 3 output channels
  waste most of a vector unit, 12 do not; measured 2.5x faster for that layer at 1024 px,
  in eager PyTorch and in ONNX Runtime alike;
- channels_last tensors on the CPU (oneDNN's fast layout);
- frozen statistics run batch norm's inference kernel (see :mod:`.nets`).
"""

from __future__ import annotations

import contextlib
import copy
import logging
import threading
import weakref
from collections.abc import Iterator
from dataclasses import fields, replace

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .control import JobControl
from .devices import PRECISIONS, DevicePlan, plan_for
from .nets import (
    GeneratorSpec,
    Upsample,
    clear_frozen_statistics,
    norm_layers,
    norm_statistics,
    receptive_field,
)
from .tiling import DEFAULT_MEMORY_BUDGET_MB, StylizeError, TilePlan, plan_tile_layout

log = logging.getLogger(__name__)

# Peak bytes of live activations per pixel = widest full-resolution activation (channels x
# 4 bytes) x this factor. In a ResNet generator the widest full-resolution tensor is the
# last upsampler's nearest-resized input (2 x width channels); while that layer runs its
# input, the resized copy, the reflection-padded copy and the conv output (plus oneDNN
# workspace) are alive together. Measured on the CPU: lite at 1024 px adds ~550 MB over
# the runtime's baseline, i.e. ~4.3 x (32 channels x 4 bytes) per pixel; 4.5 leaves margin.
ACTIVATION_FACTOR = 4.5


# -- the module to run ----------------------------------------------------------------------


def resolve_module(model: object, blend: dict[str, float] | None = None) -> nn.Module:
    """The [-1, 1] -> [-1, 1] module of a StyleModel (or a bare module, for tests/benchmarks)."""
    if isinstance(model, nn.Module):
        return model
    module_for = getattr(model, "module_for", None)
    if module_for is None:
        raise TypeError(f"expected a StyleModel or nn.Module, got {type(model).__name__}")
    return module_for(blend)


def _find_attr(module: nn.Module, name: str):
    """``name`` on the module or on the first submodule that has it (wrappers)."""
    for m in module.modules():
        value = getattr(m, name, None)
        if value is not None:
            return value
    return None


def size_multiple(module: nn.Module) -> int:
    value = _find_attr(module, "size_multiple")
    return int(value) if value else 4


def activation_bytes_per_pixel(module: nn.Module) -> float:
    """Estimated peak activation bytes per input pixel of one forward pass (see module doc).

    From the generator spec when there is one; otherwise measured by a probe pass that
    records the widest output of any layer relative to its input's pixel count.
    """
    spec = _find_attr(module, "spec")
    if isinstance(spec, GeneratorSpec):
        # Channels per *input* pixel: a layer at 1/k of the resolution counts 1/k**2.
        area = float(spec.unshuffle**2)
        widest = max(spec.in_channels, spec.out_channels, spec.width / area)
        if spec.n_down > 0:
            widest = max(widest, 2 * spec.width / area)  # the last upsampler's resized input
        # Bottleneck layers: (width * 2**n) channels on (1/4)**n of the pixels.
        for n in range(1, spec.n_down + 1):
            widest = max(widest, spec.width * 2**n / 4**n / area)
        if spec.flat_colours:  # the flat-colour head's per-pixel weights, at full size
            widest = max(widest, spec.flat_colours + 4.0)
        return widest * 4.0 * ACTIVATION_FACTOR
    return _probe_bytes_per_pixel(module)


def _probe_bytes_per_pixel(module: nn.Module) -> float:
    side = 8 * size_multiple(module)
    widest = 3.0
    handles = []

    def hook(_m, _inp, out) -> None:
        nonlocal widest
        if isinstance(out, torch.Tensor) and out.dim() == 4:
            widest = max(widest, out.numel() / (side * side))

    for m in module.modules():
        if not list(m.children()):
            handles.append(m.register_forward_hook(hook))
    param = next(module.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    try:
        with torch.inference_mode():
            module(torch.zeros(1, 3, side, side, device=device))
    finally:
        for h in handles:
            h.remove()
    return widest * 4.0 * ACTIVATION_FACTOR


def plan_tiles(
    height: int,
    width: int,
    module: nn.Module,
    *,
    memory_budget_mb: float = DEFAULT_MEMORY_BUDGET_MB,
    tile_size: int | None = None,
    context: int | None = None,
    tiling: str = "auto",
) -> TilePlan:
    """Decide whole-image vs tiles and lay the tiles out for ``module``.

    ``tiling``: "auto" (whole if the estimate fits the budget and no ``tile_size`` is
    given), "whole" or "tiles". ``context``: pixels computed but not used at each interior
    tile edge; the default, half the receptive field, makes tiles exact.
    """
    return plan_tile_layout(
        height,
        width,
        multiple=size_multiple(module),
        bytes_per_pixel=activation_bytes_per_pixel(module),
        receptive_field=receptive_field(module),
        memory_budget_mb=memory_budget_mb,
        tile_size=tile_size,
        context=context,
        tiling=tiling,
    )


# One stylize job per module at a time: frozen statistics live on the module's layers.
_LOCKS: weakref.WeakKeyDictionary[nn.Module, threading.Lock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def _lock_for(module: nn.Module) -> threading.Lock:
    # Keyed on the first norm layer, not the module: a multi-style model hands out a new
    # blend wrapper per call, but they all share (and freeze statistics in) its layers.
    key = next(norm_layers(module), module)
    with _LOCKS_GUARD:
        lock = _LOCKS.get(key)
        if lock is None:
            lock = _LOCKS[key] = threading.Lock()
        return lock


@contextlib.contextmanager
def cancellable_layers(module: nn.Module, control: JobControl | None) -> Iterator[None]:
    """Let ``control`` stop a forward pass of ``module`` between two layers.

    One tile (or a whole-image pass) of a large photo takes seconds; a cancel checked only
    between tiles would make Cancel feel ignored. A pre-hook on every leaf layer raises
    :class:`JobCancelled` at the next layer instead (a Python call per layer: nothing next
    to a convolution). Only the thread that registered the hooks is stopped by them: the
    layers belong to a cached model other threads may run too.
    """
    if control is None:
        yield
        return
    owner = threading.get_ident()

    def check(_layer: nn.Module, _inputs: object) -> None:
        if threading.get_ident() == owner:
            control.raise_if_cancelled()

    handles = [
        layer.register_forward_pre_hook(check)
        for layer in module.modules()
        if next(layer.children(), None) is None
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


# -- precision ------------------------------------------------------------------------------


def inference_plan(plan: DevicePlan, precision: str, high_bit_output: bool) -> DevicePlan:
    """``plan`` computing in ``precision``: "fp32", "bf16", "fp16", or "auto" (the device's
    own choice, mixed precision on CUDA, except fp32 where the output keeps more than 8 bits
    per channel: bfloat16's 8-bit and float16's 11-bit mantissas would round a 16-bit
    TIFF's 65,536 levels to a few thousand)."""
    if precision not in ("auto", *PRECISIONS):
        raise StylizeError(f"precision must be auto, {', '.join(PRECISIONS)}; not {precision!r}")
    if precision == "auto":
        return plan.with_precision("fp32") if high_bit_output else plan
    return plan.with_precision(precision)


def precision_name(plan: DevicePlan) -> str:
    return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}.get(
        plan.amp_dtype, str(plan.amp_dtype)
    )


# -- the fast equivalent --------------------------------------------------------------------


def _shuffle_kernel(channels: int) -> torch.Tensor:
    """The 0/1 kernel of a stride-2 transposed convolution that is ``pixel_shuffle(x, 2)``
    on ``4 * channels`` inputs: input channel c * 4 + 2a + b lands on output c, phase (a, b)."""
    kernel = torch.zeros(4 * channels, channels, 2, 2)
    for c in range(channels):
        for a in (0, 1):
            for b in (0, 1):
                kernel[c * 4 + 2 * a + b, c, a, b] = 1.0
    return kernel


def _pixel_shuffle(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """``pixel_shuffle(x, 2)``. Exported to ONNX as the transposed convolution with the
    0/1 ``kernel`` (exact: each output is one input times 1): ONNX Runtime's DepthToSpace
    is a generic transpose, measured on one core at 8 x 1024 x 1024 out: 39 ms against
    20 ms (3 channels: 11 against 3). In eager PyTorch the shuffle itself is the faster.
    Under ``torch.compile`` the convolution too: Inductor (torch 2.13) fails on a shuffle
    followed by an instance norm with dynamic sizes ("vr must not be None")."""
    if torch.onnx.is_in_onnx_export() or torch.compiler.is_compiling():
        return F.conv_transpose2d(x, kernel.to(x.dtype), stride=2)
    return F.pixel_shuffle(x, 2)


class SubpixelUpsample(nn.Module):
    """``conv3x3(reflect_pad(nearest_x2(x)))`` computed at the input's resolution.

    Output phase (a, b) of pixel (i, j) is a 2x2 convolution of the edge-padded input at
    rows i - 1 + a .. i + a and columns j - 1 + b .. j + b, with the 3x3 kernel's taps
    summed where the upsampling repeated a pixel. The four phases are computed by one 3x3
    convolution (each phase's 2x2 kernel placed at its offset, zeros elsewhere) and
    interleaved by a pixel shuffle. Measured on one core, 16 to 8 channels, 512 to 1024 px,
    ONNX Runtime: 60 ms, against 96 ms for four 2x2 convolutions and 83 ms for the
    definition; a transposed convolution (50 ms) needs a 135 MB column buffer there.
    """

    def __init__(self, upsample: Upsample) -> None:
        super().__init__()
        conv = upsample.conv
        w = conv.weight.detach()  # (out, in, 3, 3)
        # Rows (and columns) of the 3x3 kernel that land on low-resolution offset 0 / 1 of
        # the phase's 2-tap window: phase 0 sees [k0], [k1 + k2]; phase 1 [k0 + k1], [k2].
        merge = torch.tensor(
            [[[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]], [[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]],
            dtype=w.dtype,
        )
        out_c, in_c = w.shape[:2]
        kernel = torch.zeros(out_c, 2, 2, in_c, 3, 3, dtype=w.dtype)
        for a in (0, 1):
            for b in (0, 1):
                phase = torch.einsum("ry,sx,oiyx->oirs", merge[a], merge[b], w)
                kernel[:, a, b, :, a : a + 2, b : b + 2] = phase
        # pixel_shuffle's channel order: channel * 4 + row phase * 2 + column phase.
        self.weight = nn.Parameter(kernel.reshape(4 * out_c, in_c, 3, 3), requires_grad=False)
        bias = conv.bias.detach() if conv.bias is not None else torch.zeros(out_c)
        self.bias = nn.Parameter(bias.repeat_interleave(4).contiguous(), requires_grad=False)
        self.register_buffer("shuffle", _shuffle_kernel(out_c), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xp = F.pad(x, (1, 1, 1, 1), mode="replicate")
        return _pixel_shuffle(F.conv2d(xp, self.weight, self.bias), self.shuffle)


class PhaseStem(nn.Module):
    """``conv_s2(reflect_pad1(relu(conv_k(reflect_pad(x)))))``, the first two layers
    of an encoder, without ever holding the full-resolution feature map.

    The stride-1 k x k convolution (few channels out, at full resolution) is computed as
    one stride-2 (k + 1)-tap convolution with four times the outputs: its four phases,
    side by side as channels (the space-to-depth of the feature map). The 3x3 stride-2
    convolution that follows reads full-resolution rows 2o - 1, 2o, 2o + 1: phase 1 of
    half-resolution row o - 1, phases 0 and 1 of row o, so it is a 2x2 convolution of the
    phases; the reflected row -1 is row 1, phase 1 of row 0, which an edge pad supplies.
    Measured on one core at 1024 px (ONNX Runtime): 101 ms against 143 ms.
    """

    def __init__(self, first: nn.Conv2d, second: nn.Conv2d) -> None:
        super().__init__()
        w1 = first.weight.detach()  # (c1, in, k, k)
        c1, cin, k, _ = w1.shape
        big = torch.zeros(2, 2, c1, cin, k + 1, k + 1, dtype=w1.dtype)
        for a in (0, 1):
            for b in (0, 1):
                big[a, b, :, :, a : a + k, b : b + k] = w1
        # Channel (2a + b) * c1 + c: phase (a, b) of feature c.
        self.weight1 = nn.Parameter(big.reshape(4 * c1, cin, k + 1, k + 1), requires_grad=False)
        b1 = first.bias.detach() if first.bias is not None else torch.zeros(c1)
        self.bias1 = nn.Parameter(b1.repeat(4).contiguous(), requires_grad=False)
        w2 = second.weight.detach()  # (c2, c1, 3, 3)
        c2 = w2.shape[0]
        small = torch.zeros(c2, 2, 2, c1, 2, 2, dtype=w2.dtype)
        # (tap, phase) of the padded phase map -> row of the 3x3 kernel.
        taps = {(0, 1): 0, (1, 0): 1, (1, 1): 2}
        for (tr, pa), kr in taps.items():
            for (tc, pb), kc in taps.items():
                small[:, pa, pb, :, tr, tc] = w2[:, :, kr, kc]
        self.weight2 = nn.Parameter(small.reshape(c2, 4 * c1, 2, 2), requires_grad=False)
        b2 = second.bias.detach() if second.bias is not None else torch.zeros(c2)
        self.bias2 = nn.Parameter(b2.clone(), requires_grad=False)
        self.pad = k // 2

    @staticmethod
    def suits(layers: list[nn.Module]) -> bool:
        """The five layers are reflect pad, an odd stride-1 convolution it pads exactly,
        ReLU, reflect pad 1 and a plain 3x3 stride-2 convolution."""
        if len(layers) < 5:
            return False
        pad1, first, relu, pad2, second = layers[:5]

        def plain(conv: nn.Module) -> bool:
            return (
                type(conv) is nn.Conv2d
                and conv.padding == (0, 0)
                and conv.dilation == (1, 1)
                and conv.groups == 1
                and conv.padding_mode == "zeros"
                and conv.kernel_size[0] == conv.kernel_size[1]
            )

        return (
            type(pad1) is nn.ReflectionPad2d
            and plain(first)
            and first.stride == (1, 1)
            and first.kernel_size[0] % 2 == 1
            and tuple(pad1.padding) == (first.kernel_size[0] // 2,) * 4
            and type(relu) is nn.ReLU
            and type(pad2) is nn.ReflectionPad2d
            and tuple(pad2.padding) == (1, 1, 1, 1)
            and plain(second)
            and second.stride == (2, 2)
            and second.kernel_size == (3, 3)
            and second.in_channels == first.out_channels
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # An even size: the stride-2 layer's generator has a size multiple of 2 or more.
        p = self.pad
        # No extra row for the (k + 1)-tap kernel (as StridedPhaseConv has): at an even
        # size the stride-2 convolution's last output already ends on the last row.
        xp = F.pad(x, (p, p, p, p), mode="reflect")
        h = F.relu(F.conv2d(xp, self.weight1, self.bias1, stride=2))
        h = F.pad(h, (1, 0, 1, 0), mode="replicate")
        return F.conv2d(h, self.weight2, self.bias2)  # the encoder's own ReLU follows


class StridedPhaseConv(nn.Module):
    """A stride-1, unpadded ``conv`` with a large odd kernel and few outputs, computed as
    one stride-2 convolution with four times the outputs.

    Output pixel (2i + a, 2j + b) is sum_u w[u] x[2i + a + u] (per axis): a stride-2
    convolution whose (K + 1)-tap kernel is ``w`` shifted by the output phase (a, b). The
    four phases are interleaved back by a pixel shuffle; an odd size's extra output row or
    column is cut off.
    """

    def __init__(self, conv: nn.Conv2d, reflect: int = 0) -> None:
        super().__init__()
        w = conv.weight.detach()  # (out, in, k, k)
        out_c, in_c, k, _ = w.shape
        # A reflection pad that came before the convolution, taken in (one Pad op fewer).
        self.reflect = int(reflect)
        big = torch.zeros(out_c, 2, 2, in_c, k + 1, k + 1, dtype=w.dtype)
        for a in (0, 1):
            for b in (0, 1):
                big[:, a, b, :, a : a + k, b : b + k] = w
        # pixel_shuffle's channel order: channel * 4 + row phase * 2 + column phase.
        self.weight = nn.Parameter(
            big.reshape(out_c * 4, in_c, k + 1, k + 1).contiguous(), requires_grad=False
        )
        bias = conv.bias.detach() if conv.bias is not None else torch.zeros(out_c)
        self.bias = nn.Parameter(bias.repeat_interleave(4).contiguous(), requires_grad=False)
        self.register_buffer("shuffle", _shuffle_kernel(out_c), persistent=False)
        self.kernel = k

    @staticmethod
    def suits(module: nn.Module) -> bool:
        """A plain convolution this computes exactly and faster: stride 1, no padding or
        dilation or groups, a square odd kernel of 7 or more, at most 4 outputs (with
        more, measured, the direct convolution is as fast)."""
        return (
            type(module) is nn.Conv2d
            and module.stride == (1, 1)
            and module.padding == (0, 0)
            and module.dilation == (1, 1)
            and module.groups == 1
            and module.kernel_size[0] == module.kernel_size[1] >= 7
            and module.kernel_size[0] % 2 == 1
            and module.out_channels <= 4
            and module.padding_mode == "zeros"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.reflect
        height = x.shape[-2] + 2 * r - self.kernel + 1
        width = x.shape[-1] + 2 * r - self.kernel + 1
        # The (K + 1)-tap kernel reads one row/column past the input, which only zero taps
        # and the cut-off outputs of an odd size touch: any finite value will do there, so
        # a pad before the convolution is taken in as one reflection one row longer.
        if r:
            x = F.pad(x, (r, r + 1, r, r + 1), mode="reflect")
        else:
            x = F.pad(x, (0, 1, 0, 1))
        y = _pixel_shuffle(F.conv2d(x, self.weight, self.bias, stride=2), self.shuffle)
        return y[..., :height, :width]


# The generator classes the fast equivalent (and the ONNX export traced from it) is made
# for, and the GeneratorSpec options it computes exactly: tests/engine/test_fast_backends.py
# holds each of them to plain PyTorch. Anything else (a generator kind added later, an option
# these paths have not been checked on) runs as it is, on eager PyTorch: slower, never wrong.
FAST_SPEC_OPTIONS = frozenset(
    {
        "in_channels",
        "out_channels",
        "width",
        "n_blocks",
        "n_down",
        "separable",
        "unshuffle",
        "flat_colours",
    }
)


def _fast_classes() -> tuple[type, ...]:
    from .multistyle_nets import MultiStyleGenerator
    from .nets import ResnetGenerator
    from .painter_nets import PainterGenerator

    return (ResnetGenerator, MultiStyleGenerator, PainterGenerator)


def fast_path_refusal(generator: object) -> str | None:
    """Why the fast paths (the fast equivalent, ONNX Runtime) cannot take ``generator``;
    None when they can. Exact classes: a subclass or wrapper may change the forward pass."""
    if type(generator) not in _fast_classes():
        return f"{type(generator).__name__} is not a generator the fast paths know"
    if getattr(generator, "architecture", lambda: {})().get("generator") == "painter":
        return None  # a fixed layout, no spec options (tested like the others)
    spec = getattr(generator, "spec", None)
    if not isinstance(spec, GeneratorSpec):
        return f"{type(generator).__name__} has no generator spec"
    # An option at its default changes nothing: only the ones in use must be known.
    unknown = sorted(
        f.name
        for f in fields(spec)
        if f.name not in FAST_SPEC_OPTIONS and getattr(spec, f.name) != f.default
    )
    if unknown:
        return f"the generator option(s) {', '.join(unknown)} are new to the fast paths"
    return None


def is_fast_capable(generator: object) -> bool:
    """The fast paths compute exactly what ``generator`` computes (see :func:`fast_path_refusal`)."""
    return fast_path_refusal(generator) is None


_FAST: weakref.WeakKeyDictionary[nn.Module, nn.Module] = weakref.WeakKeyDictionary()
_FAST_GUARD = threading.Lock()


def fast_equivalent(generator: nn.Module) -> nn.Module:
    """``generator`` (a model file's, never trained further) with every upsampler made
    sub-pixel and every large few-output convolution phase-strided; cached per generator.

    Only the containers on the way to a replaced layer are copied (shallowly): every other
    layer, the norms included, is the generator's own. So frozen statistics live where
    they always did (one lock per model, :func:`_lock_for`), hooks on its layers see the
    fast passes too, and no weight is duplicated but the replaced layers'.
    """
    with _FAST_GUARD:
        fast = _FAST.get(generator)
    if fast is not None:
        return fast
    fast = _with_subpixel(generator)
    with _FAST_GUARD:
        return _FAST.setdefault(generator, fast)


def _padded_phase_conv(layers: list[nn.Module]) -> bool:
    """A uniform reflection pad followed by a convolution :class:`StridedPhaseConv` takes."""
    return (
        len(layers) >= 2
        and type(layers[0]) is nn.ReflectionPad2d
        and len(set(layers[0].padding)) == 1
        and StridedPhaseConv.suits(layers[1])
    )


def _with_subpixel(module: nn.Module) -> nn.Module:
    if isinstance(module, Upsample):
        return SubpixelUpsample(module)
    if StridedPhaseConv.suits(module):
        return StridedPhaseConv(module)
    if type(module) is nn.Sequential and PhaseStem.suits(list(module)):
        layers = list(module)
        rest = [_with_subpixel(layer) for layer in layers[5:]]
        return nn.Sequential(PhaseStem(layers[1], layers[4]), *rest)
    if type(module) is nn.Sequential and _padded_phase_conv(list(module)):
        pad, conv, *rest = list(module)
        return nn.Sequential(
            StridedPhaseConv(conv, reflect=pad.padding[0]), *[_with_subpixel(m) for m in rest]
        )
    replaced = {name: _with_subpixel(child) for name, child in module.named_children()}
    if all(replaced[name] is child for name, child in module.named_children()):
        return module
    clone = copy.copy(module)  # shares parameters, buffers and hooks
    clone._modules = dict(module._modules)
    for name, child in replaced.items():
        clone._modules[name] = child
    return clone


def fast_module_for(model: object, blend: dict[str, float] | None) -> nn.Module | None:
    """The fast equivalent of a StyleModel's module for ``blend`` (None: not possible)."""
    generator = getattr(model, "generator", None)
    if isinstance(model, nn.Module) or generator is None or not is_fast_capable(generator):
        return None
    fast = fast_equivalent(generator)
    if getattr(model, "is_multistyle", False) and hasattr(fast, "with_blend"):
        return fast.with_blend(blend)
    return fast


# -- the painter ----------------------------------------------------------------------------


def _to_tensor(pixels: np.ndarray, scale: float, plan: DevicePlan) -> torch.Tensor:
    t = torch.from_numpy(np.array(pixels, dtype=np.float32))  # a writable float copy
    t = t.permute(2, 0, 1).unsqueeze(0).mul_(2.0 / scale).sub_(1.0)
    return plan.prepare_batch(t)


def _run(module: nn.Module, x: torch.Tensor, plan: DevicePlan) -> np.ndarray:
    """One forward pass; returns HxWx3 float32 numpy in [-1, 1]."""
    with torch.inference_mode():
        with plan.autocast():
            y = module(x)
        return y[0].float().clamp_(-1.0, 1.0).permute(1, 2, 0).cpu().numpy()


class TorchPainter:
    """Paints blocks of pixels with a PyTorch module, one normalisation mode at a time.

    ``variant``: "plain" (the module as it is), "eager" (the fast equivalent where the
    model allows it) or "compile" (``torch.compile`` of the fast equivalent). Use as a
    context manager: it holds the module's lock and the cancel hooks while it paints.
    """

    def __init__(
        self,
        model: object,
        blend: dict[str, float] | None,
        *,
        device: str = "auto",
        precision: str = "auto",
        high_bit_output: bool = False,
        control: JobControl | None = None,
        variant: str = "eager",
    ) -> None:
        plan = inference_plan(plan_for(device), precision, high_bit_output)
        module = fast_module_for(model, blend) if variant != "plain" else None
        self.fast = module is not None
        if module is None:
            module = resolve_module(model, blend)
        elif plan.type == "cpu":
            plan = replace(plan, channels_last=True)  # oneDNN's fast layout
        self.plan = plan
        self.module = plan.prepare_module(module).eval()
        self.control = control
        self.size_multiple = size_multiple(self.module)
        self.bytes_per_pixel = activation_bytes_per_pixel(self.module)
        # Of the original layers: the sub-pixel ones see as far, but are not Conv2d layers.
        self.receptive_field = receptive_field(resolve_module(model, blend))
        self.label = plan.label
        self.precision = precision_name(plan)
        self.name = "torch"
        self._forward = self.module
        if variant == "compile" and self.fast:
            # dynamic=True: one compile serves tiles of every size.
            self._forward = torch.compile(self.module, dynamic=True)
            self.name = "torch-compile"
        self._mode = "normal"
        self._stack: contextlib.ExitStack | None = None

    def __enter__(self) -> TorchPainter:
        stack = contextlib.ExitStack()
        stack.enter_context(_lock_for(self.module))
        stack.enter_context(cancellable_layers(self.module, self.control))
        stack.callback(clear_frozen_statistics, self.module)
        self._stack = stack
        self._mode = "normal"
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stack is not None:
            self._stack.close()
            self._stack = None

    def _pass(self, pixels: np.ndarray, mode: str) -> np.ndarray:
        scale = 65535.0 if pixels.dtype == np.uint16 else 255.0
        with norm_statistics(self.module, mode):
            return _run(self._forward, _to_tensor(pixels, scale, self.plan), self.plan)

    def capture(self, pixels: np.ndarray) -> np.ndarray:
        """A pass that records every norm's statistics; later passes use them."""
        out = self._pass(pixels, "capture")
        self._mode = "frozen"
        return out

    def paint(self, pixels: np.ndarray) -> np.ndarray:
        return self._pass(pixels, self._mode)
