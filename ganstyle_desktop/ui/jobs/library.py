"""The dataset library's background work: imports, thumbnails, augmentation previews, and
the datasets offered as training sources.

Workers open their own catalog connection (SQLite connections stay in their thread) and
never touch widgets. The panels keep a catalog for quick, synchronous reads and undoable
edits in the GUI thread; everything that decodes images or walks folders runs here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QImage

from ganstyle_desktop.engine.config import PipelineConfig
from ganstyle_desktop.engine.control import JobControl

from .core import LatestRequestJob, Progress, Report, UserFacingError

log = logging.getLogger(__name__)

__all__ = [
    "AugmentPreviewJob",
    "AugmentRequest",
    "DatasetChoice",
    "build_training_sources",
    "dataset_choices",
    "dataset_references",
    "dataset_thumbnail",
    "dataset_training_sources",
    "folder_manifest",
    "import_into_dataset",
    "import_manifest_datasets",
    "plan_folder_manifest",
    "list_style_files",
    "StyleFilesJob",
]


def import_into_dataset(
    workspace: Path,
    dataset_id: int | None,
    paths: list[Path],
    options: Any,
    control: JobControl,
    report: Report,
) -> Any:
    """Import ``paths`` into a dataset; with no dataset, ``paths[0]`` is a dataset archive
    (recreated as a new dataset) or a CSV/JSON manifest (one dataset per dataset column).
    Reports a :class:`Progress` per file (only on a visible change) and returns the
    library's ImportReport."""
    from ganstyle_desktop.library.catalog import Catalog
    from ganstyle_desktop.library.importer import Importer

    last = [-1]

    def progress(done: int, total: int, name: str) -> None:
        percent = int(100 * done / total) if total else 100
        if percent != last[0] or done == total:
            last[0] = percent
            report(Progress(done, total, Path(name).name if name else ""))

    with Catalog.open(workspace, create=False) as catalog:
        importer = Importer(catalog, options, progress, control)
        if dataset_id is None and paths[0].suffix.lower() in (".csv", ".json"):
            return importer.import_manifest(paths[0])
        if dataset_id is None:
            return importer.import_dataset_archive(paths[0])
        return importer.import_paths(dataset_id, paths)


def folder_manifest(folder: Path) -> Path | None:
    """The MANIFEST.csv (or manifest.json) at the top of ``folder``, if any (a quick look)."""
    from ganstyle_desktop.library.importer import find_folder_manifest

    try:
        return find_folder_manifest(folder)
    except OSError:
        return None


def plan_folder_manifest(workspace: Path, manifest: Path) -> list[Any]:
    """The datasets ``manifest`` would make or add to (the library's PlannedDataset)."""
    from ganstyle_desktop.library.catalog import Catalog
    from ganstyle_desktop.library.importer import plan_manifest

    with Catalog.open(workspace, create=False) as catalog:
        return plan_manifest(catalog, manifest)


def import_manifest_datasets(
    workspace: Path,
    manifest: Path,
    only: tuple[str, ...],
    names: dict[str, str],
    kinds: dict[str, str],
    options: Any,
    control: JobControl,
    report: Report,
) -> Any:
    """Import the chosen datasets of a manifest (``only``), each under its chosen name
    and kind; returns the library's ImportReport."""
    from ganstyle_desktop.library.catalog import Catalog
    from ganstyle_desktop.library.importer import Importer

    last = [-1]

    def progress(done: int, total: int, name: str) -> None:
        percent = int(100 * done / total) if total else 100
        if percent != last[0] or done == total:
            last[0] = percent
            report(Progress(done, total, Path(name).name if name else ""))

    with Catalog.open(workspace, create=False) as catalog:
        importer = Importer(catalog, options, progress, control)
        return importer.import_manifest(manifest, only=set(only), names=names, kinds=kinds)


def dataset_thumbnail(workspace: Path, sha: str, size: int) -> QImage:
    """The cached thumbnail of a stored image, made from the original when missing."""
    from ganstyle_desktop.library.thumbnails import ensure_thumbnail

    path = ensure_thumbnail(workspace, sha, size)
    image = QImage(str(path))
    if image.isNull():
        raise UserFacingError(f"{path.name}: the cached thumbnail cannot be read")
    return image


@dataclass(frozen=True)
class AugmentRequest:
    image_path: Path
    pipeline: PipelineConfig
    n: int = 8
    size: int = 96
    seed: int = 0


def _augment(request: AugmentRequest, _control: JobControl, _report: Report) -> tuple:
    from ganstyle_desktop.engine.data import augment_preview
    from ganstyle_desktop.engine.imageio import load_rgb

    image = load_rgb(request.image_path)
    arrays = augment_preview(image, request.pipeline, request.n, request.size, request.seed)
    return request, arrays


class AugmentPreviewJob(LatestRequestJob):
    """``finished`` carries ``(AugmentRequest, [HxWx3 uint8 arrays])``."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(_augment, parent, "dataset-augment-preview")


# -- training sources and style references ---------------------------------------------------

SourceBuilder = Callable[[], Any]


def dataset_training_sources(workspace: Path, kind: str | None = None) -> dict[str, SourceBuilder]:
    """``"Dataset: <name>" -> () -> (StyleSource, PipelineConfig)`` for the datasets of
    the workspace (only those of ``kind``, "style" or "content", when given: a style
    chooser offers only style datasets). A quick catalog read; the builders read it
    again when a run starts. Near duplicates are left out unless kept."""
    from ganstyle_desktop.library.catalog import Catalog
    from ganstyle_desktop.library.training import (
        content_datasets,
        style_datasets,
        training_source,
    )

    with Catalog.open(workspace, create=False) as catalog:
        # The library says what a style and a content dataset are (dataset_choices too).
        if kind == "style":
            datasets = style_datasets(catalog)
        elif kind == "content":
            datasets = content_datasets(catalog)
        else:
            datasets = catalog.list_datasets()

    def builder(dataset_id: int) -> SourceBuilder:
        def build() -> Any:
            with Catalog.open(workspace, create=False) as catalog:
                return training_source(catalog, dataset_id)

        return build

    return {f"Dataset: {d.name}": builder(d.id) for d in datasets}


@dataclass(frozen=True)
class DatasetChoice:
    """A dataset as a training chooser lists it."""

    id: int
    name: str
    kind: str  # "style" | "content"
    tradition: str
    image_count: int  # live images
    trained_count: int  # of those, what training uses (near duplicates left out)
    licenses: tuple[str, ...]
    restriction: str  # "non-commercial", "tests and benchmarks only" or ""

    @property
    def label(self) -> str:
        return f"Dataset: {self.name}"


def dataset_choices(workspace: Path, kind: str | None = None) -> list[DatasetChoice]:
    """The workspace's datasets (of ``kind`` when given), by name, with what a chooser
    shows: the image count training will use and any licence restriction."""
    from ganstyle_desktop.library.catalog import Catalog
    from ganstyle_desktop.library.licenses import restriction_of
    from ganstyle_desktop.library.training import content_datasets, style_datasets, trains_on

    with Catalog.open(workspace, create=False) as catalog:
        if kind == "style":
            datasets = style_datasets(catalog)
        elif kind == "content":
            datasets = content_datasets(catalog)
        else:
            datasets = style_datasets(catalog) + content_datasets(catalog)
        choices = []
        for d in datasets:
            images = catalog.list_images(d.id)
            live = {i.id for i in images}
            choices.append(
                DatasetChoice(
                    d.id,
                    d.name,
                    d.kind,
                    d.tradition,
                    len(images),
                    sum(1 for i in images if trains_on(i, live)),
                    tuple(d.licenses),
                    restriction_of(d.licenses),
                )
            )
    return choices


def build_training_sources(
    workspace: Path,
    style_ids: list[int] | tuple[int, ...],
    content_ids: list[int] | tuple[int, ...] = (),
    extend_model: Path | str | None = None,
) -> Any:
    """Several datasets as one run's sources: the library's TrainingSources (styles,
    photos, pipelines, "multistyle" when needed, the model to extend). Raises
    CatalogError with a message for people (wrong kind, empty, a tradition the model
    already knows)."""
    from ganstyle_desktop.library.catalog import Catalog
    from ganstyle_desktop.library.training import training_sources

    with Catalog.open(workspace, create=False) as catalog:
        return training_sources(catalog, style_ids, content_ids, extend_model=extend_model)


def dataset_references(workspace: Path, dataset_id: int, count: int = 4) -> tuple[str, list[Path]]:
    """A dataset's name and the files of its first ``count`` images."""
    from ganstyle_desktop.library.catalog import Catalog

    with Catalog.open(workspace, create=False) as catalog:
        name = catalog.get_dataset(dataset_id).name
        images = catalog.list_images(dataset_id)[:count]
        return name, [catalog.image_path(i) for i in images]


def list_style_files(folder: Path, count: int = 4) -> list[Path]:
    """The first ``count`` image files of a folder (searched like a training source)."""
    from ganstyle_desktop.engine.imageio import collect_image_files

    if not folder.is_dir():
        return []
    try:
        return collect_image_files([folder])[:count]
    except OSError:
        return []


class StyleFilesJob(LatestRequestJob):
    """The first images of a style folder, for the canvas' reference strip."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(
            lambda folder, _control, _report: list_style_files(Path(folder)),
            parent,
            "style-files",
        )
