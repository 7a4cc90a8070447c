"""``ganstyle-cli export MODEL --onnx``: write a model as one ONNX file other tools can run.

The file paints a whole image with the app's normalisation policy: inputs ``image`` and
``view`` (the whole image at the statistics view's size, or the image itself when it is
no larger), RGB in [0, 1], NCHW; multi-style models also take ``blend_weights``. Its card
is inside (metadata ``ganstyle_card``, ``ganstyle_usage``) and beside it as JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import CliError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export",
        help="write a model in another format (ONNX) for other tools",
        description="Export a model file. --onnx writes NAME.onnx (and its card NAME.json) "
        "that ONNX Runtime and other ONNX tools can run.",
    )
    p.add_argument("model", type=Path, help="a .safetensors model file")
    p.add_argument("--onnx", action="store_true", required=True, help="write ONNX")
    p.add_argument(
        "--out", type=Path, metavar="FILE", help="the .onnx file (default: beside the model)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace a file that exists")
    p.add_argument(
        "--check",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the exported file with ONNX Runtime on a photo and compare it with "
        "PyTorch (needs onnxruntime; on by default)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ganstyle_desktop.engine.atomic import WriteError
    from ganstyle_desktop.engine.modelfile import ModelFileError, load_model
    from ganstyle_desktop.engine.onnx_export import OnnxExportError, export_onnx_file

    dst = args.out or args.model.with_suffix(".onnx")
    if dst.suffix.lower() != ".onnx":
        raise CliError(f"--out must name a .onnx file, not {dst.name}.")
    if dst.exists() and not args.overwrite:
        raise CliError(f"{dst} already exists (--overwrite replaces it).")
    try:
        model = load_model(args.model, device="cpu")
    except ModelFileError as exc:
        raise CliError(str(exc)) from exc
    try:
        onnx_path, card_path = export_onnx_file(model, dst)
    except (OnnxExportError, WriteError, OSError) as exc:
        raise CliError(f"Cannot export {args.model.name}: {exc}") from exc
    print(f"Wrote {onnx_path} and its card {card_path}.")
    if args.check:
        parity = check_export(model, onnx_path)
        if parity is None:
            print("Not checked: onnxruntime is not installed (pip install onnxruntime).")
        else:
            print(
                "Checked with ONNX Runtime against PyTorch on a sample photo: "
                f"{parity['mean_levels']:.3f} levels mean, {parity['max_levels']} max."
            )
    return 0


def check_export(model, onnx_path: Path) -> dict | None:
    """Run the exported file on the app's sample photo and compare with the PyTorch
    stylizer (mean and largest difference in 8-bit levels); None without onnxruntime."""
    from ganstyle_desktop.engine import onnx_backend

    if not onnx_backend.available():
        return None
    import numpy as np

    from ganstyle_desktop.engine.stylize import stylize_array

    image = _sample_photo()
    reference = stylize_array(model, image, backend="torch", device="cpu")
    ours = run_onnx_file(onnx_path, image, training_size=int(model.card.training_size or 256))
    diff = np.abs(ours.astype(np.int16) - reference.astype(np.int16))
    return {"mean_levels": float(diff.mean()), "max_levels": int(diff.max())}


def run_onnx_file(
    onnx_path: Path, image, *, training_size: int, blend_weights=None, threads: int = 1
):
    """Paint ``image`` (HxWx3 uint8) with an exported file as another tool would: pad to
    the size multiple, make the view, run, crop. Returns HxWx3 uint8."""
    import numpy as np
    import onnxruntime as ort

    from ganstyle_desktop.engine.tiling import region, statistics_view, view_pixels

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    usage = json.loads(session.get_modelmeta().custom_metadata_map["ganstyle_usage"])
    m = int(usage["size_multiple"])
    h, w = image.shape[:2]
    view = statistics_view(h, w, m, training_size)
    padded = region(image, 0, -(-h // m) * m, 0, -(-w // m) * m)

    def batch(pixels):
        return np.ascontiguousarray(np.moveaxis(pixels, 2, 0)[None], dtype=np.float32) / 255.0

    feeds = {"image": batch(padded), "view": batch(view_pixels(image, view))}
    names = {i.name for i in session.get_inputs()}
    if "blend_weights" in names:
        n = len(usage["traditions"])
        weights = np.zeros(n, np.float32) if blend_weights is None else None
        if weights is not None:
            weights[0] = 1.0
        else:
            weights = np.asarray(blend_weights, np.float32)
        feeds["blend_weights"] = weights
    (y,) = session.run(None, feeds)
    out = np.clip(np.moveaxis(y[0], 0, 2)[:h, :w] * 255.0, 0, 255)
    return np.rint(out).astype(np.uint8)


def _sample_photo():
    import numpy as np

    from ganstyle_desktop.engine.imageio import load_rgb
    from ganstyle_desktop.paths import resources_dir

    samples = sorted((resources_dir() / "samples").glob("*.jpg"))
    if samples:
        im = load_rgb(samples[0])
        im.thumbnail((512, 512))
        return np.asarray(im).copy()
    rng = np.random.default_rng(0)
    return (rng.random((256, 256, 3)) * 255).astype(np.uint8)
