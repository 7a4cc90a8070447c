"""The shared sample data as benchmarks see it: traditions, photos, splits, licences.

One place for what every benchmark needs to know about ``../shared/data``: which folders
are traditions, which may train a shipped model (persian-miniature and
indian-mughal-miniature are non-commercial; japanese-ukiyo-e-wikiart is for tests and
benchmarks only), the fixed held-out split of photos and artworks, and a feature cache so
the recogniser's features are computed once per file.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared" / "data"
STYLES = SHARED / "styles"
CONTENT = SHARED / "content"
CACHE = ROOT / "benchmarks" / "results" / "feature_cache"

NOT_SHIPPABLE = {
    "persian-miniature": "non-commercial licence",
    "indian-mughal-miniature": "non-commercial licence",
    "japanese-ukiyo-e-wikiart": "tests and benchmarks only",
}
# Folders that show one tradition twice: the recogniser judges them as one class.
ALIASES = {"japanese-ukiyo-e-wikiart": "japanese-ukiyo-e"}
MIN_CLASS = 5  # fewer artworks than this cannot be cross-validated: left out of the classes

HOLD_OUT_EVERY = 4  # every 4th photo (sorted) is never trained on


def style_files(slug: str) -> list[Path]:
    from ganstyle_desktop.engine.imageio import collect_image_files

    return collect_image_files([STYLES / slug])


def content_files() -> list[Path]:
    from ganstyle_desktop.engine.imageio import collect_image_files

    return collect_image_files([CONTENT])


def photo_split() -> tuple[list[Path], list[Path]]:
    """(train, held out): every HOLD_OUT_EVERY-th photo of the sorted list is held out."""
    files = content_files()
    held = files[HOLD_OUT_EVERY - 1 :: HOLD_OUT_EVERY]
    return [f for f in files if f not in held], held


def traditions() -> list[str]:
    return sorted(p.name for p in STYLES.iterdir() if p.is_dir())


def load_square(files: list[Path], size: int = 256) -> list[np.ndarray]:
    from ganstyle_desktop.engine.metrics import load_images

    images, skipped = load_images(files, size)
    if skipped:
        print(f"skipped: {skipped}", file=sys.stderr)
    return images


def _key(path: Path) -> str:
    st = path.stat()
    return hashlib.sha1(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()


def cached_views(files: list[Path], n_views: int = 1) -> np.ndarray:
    """(N, V, D) recogniser features of V views of each file (view 0: the centre crop;
    see ``recognizer.crops``), cached on disk by path, size, mtime and view count."""
    from ganstyle_desktop.engine.imageio import load_rgb
    from ganstyle_desktop.engine.recognizer import crops, image_features

    CACHE.mkdir(parents=True, exist_ok=True)
    out = []
    for f in files:
        p = CACHE / f"{_key(f)}-v{n_views}.npy"
        if p.is_file():
            out.append(np.load(p))
            continue
        image = np.asarray(load_rgb(f))
        seed = int(hashlib.sha1(f.name.encode()).hexdigest()[:8], 16)
        row = image_features(crops(image, n_views, seed))
        np.save(p, row)
        out.append(row)
    return np.stack(out)


def cached_features(files: list[Path]) -> np.ndarray:
    """(N, D) recogniser features of each file's centre crop, cached."""
    return cached_views(files, 1)[:, 0]


def recognizer_classes() -> dict[str, list[Path]]:
    """Artworks per recogniser class (aliases merged, tiny folders left out)."""
    classes: dict[str, list[Path]] = {}
    for slug in traditions():
        classes.setdefault(ALIASES.get(slug, slug), []).extend(style_files(slug))
    return {k: v for k, v in classes.items() if len(v) >= MIN_CLASS}
