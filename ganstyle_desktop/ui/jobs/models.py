"""Model files, their cards and thumbnails, blend previews and comparisons: the worker
functions and job kinds that call the engine for them.

Every model is loaded through the engine's one cache (:mod:`engine.model_cache`) and every
card is read by one reader (:func:`read_model_styles` / :func:`scan_models`), so the
Models list, the Blend panel and the comparison agree on what a model knows.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QImage

from ganstyle_desktop.engine.blend import Blend
from ganstyle_desktop.engine.control import JobControl
from ganstyle_desktop.ui.qimage import qimage_from_array

from .core import LatestRequestJob, Partial, Report, UserFacingError, limit_torch_threads
from .images import Photo

log = logging.getLogger(__name__)

__all__ = [
    "PrepareModelJob",
    "BlendPreview",
    "BlendPreviewJob",
    "BlendRequest",
    "CompareCell",
    "CompareJob",
    "CompareRequest",
    "ModelEntry",
    "ModelStyles",
    "ReferenceImagesJob",
    "export_model_file",
    "import_model_file",
    "read_model_styles",
    "render_model_thumbnail",
    "scan_models",
    "sidecar",
    "thumbnail_cache_key",
    "write_sheet",
]


# -- cards ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelStyles:
    """What a model paints: its name, whether it blends, its (slug, name) traditions."""

    path: Path
    name: str
    multistyle: bool
    traditions: tuple[tuple[str, str], ...]


@dataclass
class ModelEntry:
    path: Path
    card: dict | None  # ModelCard.to_dict(), None when unreadable
    name: str
    starter: bool = False
    error: str = ""
    style_files: list[Path] = field(default_factory=list)
    styles: ModelStyles | None = None
    # What the card says it learned from, for when those artworks are not on this computer
    # (a shipped model carries no artworks): "Trained on 120 artworks: Hokusai, ...".
    references_note: str = ""

    def summary(self) -> str:
        if self.card is None:
            return f"Unreadable: {self.error}"
        c = self.card
        names = [name for _, name in self.styles.traditions] if self.styles else []
        # A long list of traditions belongs in the tooltip, not in every row.
        traditions = ", ".join(names) if len(names) <= 2 else f"{len(names)} traditions"
        date = str(c.get("created", ""))[:10]
        bits = [
            traditions or "style not named",
            c.get("method") or "?",
            f"{c.get('steps', 0)} steps",
        ]
        if date:
            bits.append(date)
        return " · ".join(str(b) for b in bits)


def sidecar(path: Path) -> Path:
    return path.with_suffix(".json")


def _styles_of(path: Path, card: Any) -> ModelStyles:
    """The one reading of a card's traditions: slugs in the generator's order (a
    multi-style architecture lists them), names from the card's tradition records."""
    from ganstyle_desktop.engine.modelfile import model_display_name

    records = [t for t in card.traditions if isinstance(t, dict)]
    names = {str(t.get("slug")): str(t.get("name") or t.get("slug")) for t in records}
    multistyle = card.kind == "multistyle"
    slugs = list(card.architecture.get("traditions") or []) if multistyle else []
    slugs = [str(s.get("slug") if isinstance(s, dict) else s) for s in slugs]
    slugs = slugs or [str(t.get("slug")) for t in records]
    return ModelStyles(
        path, model_display_name(card), multistyle, tuple((s, names.get(s, s)) for s in slugs)
    )


def read_model_styles(path: Path | str) -> ModelStyles:
    """The traditions of the model at ``path`` (pickles and broken files refused)."""
    from ganstyle_desktop.engine.modelfile import read_card

    path = Path(path)
    return _styles_of(path, read_card(path))


def scan_models(folders: list[tuple[Path, bool]]) -> list[ModelEntry]:
    from ganstyle_desktop.engine.modelfile import ModelFileError, read_card

    entries: list[ModelEntry] = []
    run_files: dict[tuple[str, str], list[Path]] = {}
    for folder, starter in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.safetensors")):
            if any(part.startswith(".") for part in path.relative_to(folder).parts):
                continue
            try:
                card = read_card(path)
            except (ModelFileError, OSError) as exc:
                entries.append(ModelEntry(path, None, path.stem, starter, str(exc)))
                continue
            styles = []
            style_rows = [row for row in card.data_provenance
                          if isinstance(row, dict) and row.get("role", "style") == "style"]
            for row in style_rows:
                p = row.get("path") or row.get("file")
                if p and Path(p).is_file():
                    styles.append(Path(p))
            if not styles:  # trained here on folders: the run's settings name them
                run = card.training.get("run") or ""
                # A run's model and its checkpoints share the run's list: read it once.
                key = (run, str(path.parent.parent.parent if path.parent.parent.name
                                 == "checkpoints" else path.parent))
                if key not in run_files:
                    run_files[key] = run_style_files(path, run or None)
                styles = run_files[key]
            described = _styles_of(path, card)
            entries.append(
                ModelEntry(path, card.to_dict(), described.name, starter, "", styles[:4],
                           described, references_note(style_rows))
            )
    return entries


RUN_CONFIG = "config.json"


def run_style_files(model_path: Path, run: str | None = None, count: int = 4) -> list[Path]:
    """Artworks of the run a model file belongs to (the run's model or one of its kept
    checkpoints: ``RUN/model.safetensors``, ``RUN/checkpoints/step_N/model.safetensors``,
    or a copy in the models folder whose card names the ``run``), read from the run's saved
    settings, spread over its traditions; [] when the file is not from a run or the
    artworks are gone. A card lists no files for a run on plain folders."""
    import json

    from ganstyle_desktop.engine.imageio import collect_image_files

    candidates = ([Path(run)] if run else []) + list(model_path.parents)[:3]
    for folder in candidates:
        settings = folder / RUN_CONFIG
        if not settings.is_file():
            continue
        try:
            styles = json.loads(settings.read_text(encoding="utf-8")).get("styles") or []
            per_source = [
                collect_image_files([Path(p) for p in (s.get("paths") or []) if Path(p).exists()])
                for s in styles if isinstance(s, dict)
            ]
        except (OSError, ValueError, AttributeError, TypeError):
            return []
        picked: list[Path] = []
        for i in range(count):  # round robin over the traditions
            for files in per_source:
                if i < len(files) and len(picked) < count:
                    picked.append(files[i * max(1, len(files) // count)])
        return picked
    return []


def references_note(style_rows: list[dict], artists: int = 3) -> str:
    """A line saying what a model learned from, for a model whose artworks are elsewhere:
    how many artworks and the artists that recur most (their provenance rows)."""
    if not style_rows:
        return ""
    counts: dict[str, int] = {}
    for row in style_rows:
        artist = str(row.get("artist") or "").strip()
        if artist and artist.lower() not in {"unknown", "anonymous", "?"}:
            counts[artist] = counts.get(artist, 0) + 1
    top = sorted(counts, key=lambda a: (-counts[a], a))[:artists]
    noun = "artwork" if len(style_rows) == 1 else "artworks"
    line = f"Trained on {len(style_rows)} {noun}"
    if top:
        line += ", most by " + ", ".join(top) + (" and others" if len(counts) > artists else "")
    return line + ". They are not on this computer, so none are shown here."


def thumbnail_cache_key(path: Path) -> str:
    stat = path.stat()
    return hashlib.sha1(f"{path.resolve()}|{stat.st_mtime_ns}|{stat.st_size}".encode()).hexdigest()


def render_model_thumbnail(model_path: Path, sample: Path, cache_dir: Path, side: int) -> str:
    """The sample photo painted by ``model_path`` (cached as a PNG); returns its path."""
    from PIL import Image

    from ganstyle_desktop.engine.blend import load_photo
    from ganstyle_desktop.engine.model_cache import load_model_cached
    from ganstyle_desktop.engine.stylize import stylize_array

    target = cache_dir / f"{thumbnail_cache_key(model_path)}.png"
    if not target.exists():
        limit_torch_threads()
        cache_dir.mkdir(parents=True, exist_ok=True)
        pixels = load_photo(sample, side * 2)
        out = stylize_array(load_model_cached(model_path), pixels, device="cpu", tiling="whole")
        Image.fromarray(out).save(target)
    return str(target)


def import_model_file(src: Path, dest_dir: Path) -> str:
    from ganstyle_desktop.engine.atomic import atomic_path
    from ganstyle_desktop.engine.modelfile import verify_model_file

    verify_model_file(src)  # refuses pickles (UnsafeModelFile) and broken files with the reason
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / src.name
    n = 2
    while dest.exists():
        dest = dest_dir / f"{src.stem}-{n}{src.suffix}"
        n += 1
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)
    if sidecar(src).exists():
        shutil.copyfile(sidecar(src), sidecar(dest))
    return str(dest)


def export_model_file(src: Path, dest: Path) -> str:
    from ganstyle_desktop.engine.atomic import atomic_path

    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)
    if sidecar(src).exists():
        shutil.copyfile(sidecar(src), sidecar(dest))
    return str(dest)


# -- blend previews ------------------------------------------------------------------------


@dataclass(frozen=True)
class BlendRequest:
    model_path: Path
    photo: Photo | Path
    blend: Blend
    max_side: int


@dataclass(frozen=True)
class BlendPreview:
    request: BlendRequest
    image: QImage

    @property
    def blend(self) -> Blend:
        return self.request.blend


def _photo_pixels(photo: Photo | Path, max_side: int) -> Any:
    if isinstance(photo, Photo):
        return photo.downscaled(max_side)
    from ganstyle_desktop.engine.blend import load_photo

    return load_photo(photo, max_side)


def _render_blend(request: BlendRequest, control: JobControl, _report: Report) -> BlendPreview:
    limit_torch_threads()
    from ganstyle_desktop.engine.blend import render_blend
    from ganstyle_desktop.engine.model_cache import load_model_cached

    photo = _photo_pixels(request.photo, request.max_side)
    control.raise_if_cancelled()
    if request.blend.is_photo:  # the photo itself: no model needed
        return BlendPreview(request, qimage_from_array(photo))
    model = load_model_cached(request.model_path)
    control.raise_if_cancelled()
    out = render_blend(model, photo, request.blend, max_side=request.max_side, control=control)
    return BlendPreview(request, qimage_from_array(out))


class BlendPreviewJob(LatestRequestJob):
    """Screen-size previews of a blend; the newest slider position wins."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(_render_blend, parent, "blend-preview")


# -- getting a model ready -----------------------------------------------------------------


def _prepare_model(request: tuple[Path, str], control: JobControl, _report: Report) -> str:
    """Load ``(path, device)``'s model and make its fast path ready (see
    :func:`ganstyle_desktop.engine.stylize.prepare_model`); returns the backend."""
    limit_torch_threads()
    from ganstyle_desktop.engine.stylize import prepare_model

    path, device = request
    control.raise_if_cancelled()
    return prepare_model(path, device, control)


class PrepareModelJob(LatestRequestJob):
    """``request((model_path, device))`` when a model becomes active: the first Stylize
    then starts painting at once instead of importing torch and exporting the model
    (measured: benchmarks/bench_time_to_preview.py). ``finished`` carries the backend."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(_prepare_model, parent, "prepare-model")


# -- style references ----------------------------------------------------------------------


def _reference_images(
    paths: tuple[Path, ...], control: JobControl, _report: Report
) -> list[tuple[Path, QImage]]:
    """Small upright copies of the artworks at ``paths``; unreadable ones are skipped."""
    from ganstyle_desktop.engine.blend import load_photo
    from ganstyle_desktop.engine.imageio import ImageLoadError

    loaded = []
    for path in paths:
        control.raise_if_cancelled()
        try:
            loaded.append((path, qimage_from_array(load_photo(path, 360))))
        except (ImageLoadError, OSError) as exc:
            log.info("style reference skipped: %s", exc)
    return loaded


class ReferenceImagesJob(LatestRequestJob):
    """``request(paths)``; ``finished`` carries ``[(path, QImage)]``."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(_reference_images, parent, "style-references")


# -- comparisons -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CompareRequest:
    model_paths: tuple[Path, ...]
    photo: Photo | Path
    cell_side: int = 256


@dataclass(frozen=True)
class CompareCell:
    """A rendered cell as the GUI holds it: the label, a QImage and the engine's array."""

    label: str
    image: QImage
    array: Any  # HxWx3 uint8 numpy array (kept for the sheet export)
    model: str = ""  # the model's name ("" for the original photo)
    tradition: str = ""  # slug ("" for the photo, or a single-style model)
    model_path: str = ""  # the model file the cell was painted with


def _render_comparison(
    request: CompareRequest, control: JobControl, report: Report
) -> CompareRequest:
    """Every tradition of every model, model by model after the photo itself; each cell
    is reported (Partial) as it lands, with the model file it was painted with."""
    limit_torch_threads()
    from ganstyle_desktop.engine.contact_sheet import render_comparison

    photo = _photo_pixels(request.photo, request.cell_side * 2)
    for index, model_path in enumerate([None, *request.model_paths]):
        control.raise_if_cancelled()

        def landed(cell: Any, model_path: Path | None = model_path) -> None:
            report(
                Partial(
                    CompareCell(
                        cell.label,
                        qimage_from_array(cell.image),
                        cell.image,
                        cell.model,
                        cell.tradition,
                        str(model_path) if model_path is not None else "",
                    )
                )
            )

        render_comparison(
            [model_path] if model_path is not None else [],
            photo,
            max_side=request.cell_side,
            include_original=index == 0,
            control=control,
            progress=landed,
        )
    return request


class CompareJob(LatestRequestJob):
    """The photo in every tradition; cells arrive as ``partial``; newest request wins."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(_render_comparison, parent, "compare")


def write_sheet(cells: list[tuple[str, Any]], path: Path, cell_side: int, title: str) -> str:
    from ganstyle_desktop.engine.contact_sheet import Rendering, compose_sheet, save_sheet

    if not cells:
        raise UserFacingError("Nothing to put on the sheet: render the comparison first.")
    sheet = compose_sheet(
        [Rendering(label, array) for label, array in cells],
        columns=min(3, len(cells)),
        cell_side=cell_side,
        title=title,
    )
    return str(save_sheet(sheet, path))
