"""Do the structure measures agree with the eye? Edge SSIM and the contour F-score on
renderings of the held-out photos whose structure anyone can judge, and on a model's
outputs.

- a sepia colour filter: the photo's structure, all of it (and no painting at all);
- flat colour (median-filtered, 12 or 6 colours) with and without dark contours: what a
  flat-colour tradition does to a photo; the structure is intact to the eye;
- Gaussian blurs (radius 1.5 and 3 px): structure softened;
- another photo in place of the output: no structure kept (the chance level);
- ``--model FILE``: the model's outputs, each tradition alone.

    python benchmarks/bench_structure.py [--model models/ganstyle-traditions.safetensors]

Prints one JSON object per rendering: the mean edge SSIM and contour F-score over the
held-out photos (256 px).
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from data_sets import load_square, photo_split
from PIL import Image, ImageFilter

from ganstyle_desktop.engine.metrics import contour_fscore, edge_ssim, luminance, sobel_edges


def flat_colour(photo: np.ndarray, colours: int, contours: bool) -> np.ndarray:
    image = Image.fromarray(photo).filter(ImageFilter.MedianFilter(5))
    image = image.filter(ImageFilter.MedianFilter(5))
    flat = np.asarray(image.quantize(colours, method=Image.Quantize.MEDIANCUT).convert("RGB"))
    flat = flat.copy()
    if contours:
        soft = np.asarray(Image.fromarray(photo).filter(ImageFilter.GaussianBlur(1)))
        flat[sobel_edges(luminance(soft)) > 0.12] = (30, 30, 40)
    return flat


def sepia(photo: np.ndarray) -> np.ndarray:
    grey = luminance(photo)[..., None]
    return np.clip(grey * np.array([1.07, 0.74, 0.43]) * 255, 0, 255).astype(np.uint8)


def blur(photo: np.ndarray, radius: float) -> np.ndarray:
    return np.asarray(Image.fromarray(photo).filter(ImageFilter.GaussianBlur(radius)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="also measure this model's outputs")
    args = parser.parse_args()
    _, held = photo_split()
    photos = load_square(held, 256)
    renderings = {
        "sepia colour filter": [sepia(p) for p in photos],
        "flat 12 colours + dark contours": [flat_colour(p, 12, True) for p in photos],
        "flat 12 colours": [flat_colour(p, 12, False) for p in photos],
        "flat 6 colours + dark contours": [flat_colour(p, 6, True) for p in photos],
        "gaussian blur 1.5 px": [blur(p, 1.5) for p in photos],
        "gaussian blur 3 px": [blur(p, 3.0) for p in photos],
        "another photo (nothing kept)": photos[1:] + photos[:1],
    }
    if args.model:
        from ganstyle_desktop.engine.modelfile import load_model
        from ganstyle_desktop.engine.stylize import stylize_array

        model = load_model(args.model, device="cpu")
        slugs = list(getattr(model.generator, "traditions", None) or [None])
        for slug in slugs:
            blend = {slug: 1.0} if slug else None
            renderings[f"model: {slug or 'output'}"] = [
                stylize_array(model, p, blend=blend, device="cpu") for p in photos
            ]
    for name, outputs in renderings.items():
        print(json.dumps({
            "benchmark": "bench_structure", "rendering": name, "photos": len(photos),
            "edge_ssim": round(edge_ssim(photos, outputs), 4),
            "contour_fscore": round(contour_fscore(photos, outputs), 4),
        }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
