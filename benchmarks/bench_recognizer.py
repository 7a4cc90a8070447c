"""How well the tradition recogniser recognises artworks it never trained on.

Stratified k-fold over every artwork of ``../shared/data`` (japanese-ukiyo-e-wikiart
counted as ukiyo-e; folders of fewer than 5 artworks left out) plus the content photos and
colour-filtered copies of them (which must be called "photo"). Prints JSON: held-out
accuracy per tradition and overall, and the share of filtered photos called photos.

    python benchmarks/bench_recognizer.py [--folds 5] [--l2 3e-3]
"""

from __future__ import annotations

import argparse
import json
import time

from data_sets import cached_views, content_files, load_square, recognizer_classes

from ganstyle_desktop.engine.recognizer import (
    DEFAULT_L2,
    FILTERED_PER_PHOTO,
    PHOTO,
    cross_validate,
    filtered_photos,
    image_features,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--l2", type=float, nargs="+", default=[DEFAULT_L2])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--views", type=int, default=4, help="views per artwork and photo")
    args = parser.parse_args()
    t0 = time.perf_counter()
    import torch

    torch.set_num_threads(1)
    classes = recognizer_classes()
    feats = {name: cached_views(files, args.views) for name, files in classes.items()}
    photos = content_files()
    feats[PHOTO] = cached_views(photos, args.views)
    # Filtered copies borrow palettes from the artworks; computed fresh (cheap, seeded).
    photo_images = load_square(photos)
    some_art = load_square([f for files in classes.values() for f in files[::7]])
    filtered = filtered_photos(photo_images, some_art, seed=args.seed)
    filtered_feats = image_features(filtered).reshape(len(photos), FILTERED_PER_PHOTO, -1)
    results = []
    for l2 in args.l2:
        r = cross_validate(feats, args.folds, args.seed, l2, filtered_feats)
        r.pop("confusion")
        r["l2"] = l2
        results.append(r)
    print(json.dumps({"benchmark": "recognizer", "seconds": round(time.perf_counter() - t0, 1),
                      "results": results}, indent=1))


if __name__ == "__main__":
    main()
