"""The bridge to training: library datasets as the engine's StyleSources, photos and
pipelines.

What a front end (the Training panel, a script) calls:

- :func:`style_datasets` / :func:`content_datasets`: the datasets of each kind (a style
  chooser offers only style datasets, a photo chooser only content datasets);
- :func:`training_source`: one dataset as (StyleSource, PipelineConfig);
- :func:`training_sources`: several style datasets (one tradition each, a multi-style
  model) and content datasets, optionally to add traditions to a trained multi-style
  model, as a :class:`TrainingSources` whose :meth:`~TrainingSources.apply` fills a
  TrainConfig.

Near duplicates (an image flagged as looking like another of its dataset) are left out
of training unless the person kept them: one print weighted twice teaches its quirks
twice. What was left out is listed, so a front end can say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ganstyle_desktop.engine.config import PipelineConfig, StyleSource, TrainConfig

from .catalog import Catalog, CatalogError
from .records import Dataset, ImageRecord


def dataset_slug(name: str) -> str:
    slug = re.sub(r"[^\w]+", "-", name.strip().lower(), flags=re.UNICODE).strip("-")
    return slug or "dataset"


def style_datasets(catalog: Catalog) -> list[Dataset]:
    """Live style datasets (artworks of one tradition each), by name."""
    return sorted(
        (d for d in catalog.list_datasets() if d.kind == "style"), key=lambda d: d.name.lower()
    )


def content_datasets(catalog: Catalog) -> list[Dataset]:
    """Live content datasets (photos to learn from), by name."""
    return sorted(
        (d for d in catalog.list_datasets() if d.kind == "content"), key=lambda d: d.name.lower()
    )


def trains_on(image: ImageRecord, live_ids: set[int] | None = None) -> bool:
    """Whether training uses ``image``: not a near duplicate, one the person kept, or
    one whose look-alike is gone (``live_ids``: the dataset's live images, when known)."""
    if image.near_duplicate_of is None or image.duplicate_kept:
        return True
    return live_ids is not None and image.near_duplicate_of not in live_ids


def trained_images(catalog: Catalog, dataset_id: int) -> list[ImageRecord]:
    """The dataset's live images that training uses."""
    images = catalog.list_images(dataset_id)
    live = {i.id for i in images}
    return [i for i in images if trains_on(i, live)]


def excluded_near_duplicates(catalog: Catalog, dataset_id: int) -> list[ImageRecord]:
    """The dataset's images that training leaves out (flagged, not kept, near duplicates
    of an image that is still there)."""
    images = catalog.list_images(dataset_id)
    live = {i.id for i in images}
    return [i for i in images if not trains_on(i, live)]


def training_source(catalog: Catalog, dataset_id: int) -> tuple[StyleSource, PipelineConfig]:
    """The dataset's stored files (live images, near duplicates left out unless kept)
    with provenance, and its pipeline.

    The paths point into the object store, so training reads the untouched originals
    (the engine's loader applies EXIF orientation and converts modes as it reads).
    """
    dataset = catalog.get_dataset(dataset_id)
    images = trained_images(catalog, dataset_id)
    if not images:
        raise CatalogError(f"dataset {dataset.name!r} has no images to train on")
    paths, provenance = [], []
    for image in images:
        path = catalog.image_path(image)
        paths.append(str(path))
        provenance.append(
            {
                "file": str(path),
                "sha256": image.sha256,
                "original_name": image.original_name,
                "title": image.title,
                "artist": image.artist,
                "year": image.year,
                "source": image.source,
                "license": image.license,
            }
        )
    tags = {
        key: value
        for key, value in (
            ("culture", dataset.tradition),
            ("region", dataset.region),
            ("era", dataset.era),
            ("kind", dataset.kind),
        )
        if value
    }
    source = StyleSource(
        name=dataset_slug(dataset.name),
        paths=paths,
        display_name=dataset.name,
        tags=tags,
        provenance=provenance,
    )
    return source, dataset.pipeline


@dataclass
class TrainingSources:
    """What several library datasets give a training run.

    ``styles``: one StyleSource per style dataset (its tradition); ``content_paths``: the
    photos of the content datasets; the pipelines of the first style and first content
    dataset (a run has one of each; ``notes`` says when others differ); ``method``
    "multistyle" when more than one tradition is learnt or a model is extended, else ""
    (the caller's choice stands); ``init_model`` the model extended ("" for none);
    ``excluded`` dataset name -> file names of near duplicates left out.
    """

    styles: list[StyleSource]
    content_paths: list[str]
    style_pipeline: PipelineConfig
    content_pipeline: PipelineConfig | None = None
    method: str = ""
    init_model: str = ""
    known_traditions: list[str] = field(default_factory=list)  # of the extended model
    excluded: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def apply(self, config: TrainConfig) -> TrainConfig:
        """Put these sources into ``config`` (styles, photos when given, pipelines, the
        method when it must be multistyle, the model to extend); returns it."""
        config.styles = list(self.styles)
        if self.content_paths:
            config.content_paths = list(self.content_paths)
        config.style_pipeline = self.style_pipeline
        if self.content_pipeline is not None:
            config.content_pipeline = self.content_pipeline
        if self.method:
            config.method = self.method
        config.init_model = self.init_model
        return config


def training_sources(
    catalog: Catalog,
    style_ids: list[int] | tuple[int, ...],
    content_ids: list[int] | tuple[int, ...] = (),
    *,
    extend_model: Path | str | None = None,
) -> TrainingSources:
    """Style datasets (one tradition each) and content datasets as training sources.

    Several style datasets train one multi-style model; ``extend_model`` (a trained
    multi-style model file) adds their traditions to it, keeping the ones it knows.
    Raises CatalogError naming the dataset when one is of the wrong kind, empty, the
    same tradition twice, or already known to the model being extended.
    """
    if not style_ids:
        raise CatalogError("choose at least one style dataset (the artworks to learn from)")
    styles: list[StyleSource] = []
    pipelines: list[tuple[str, PipelineConfig]] = []
    excluded: dict[str, list[str]] = {}
    seen: dict[str, str] = {}
    for dataset_id in dict.fromkeys(style_ids):
        dataset = catalog.get_dataset(dataset_id)
        if dataset.kind != "style":
            raise CatalogError(
                f"{dataset.name!r} is a dataset of photos (content), not of artworks: "
                "choose it as the photos to learn from"
            )
        source, pipeline = training_source(catalog, dataset_id)
        if source.name in seen:
            raise CatalogError(
                f"{dataset.name!r} and {seen[source.name]!r} would be the same tradition "
                f"({source.name}); rename one of them"
            )
        seen[source.name] = dataset.name
        styles.append(source)
        pipelines.append((dataset.name, pipeline))
        left_out = excluded_near_duplicates(catalog, dataset_id)
        if left_out:
            excluded[dataset.name] = [_file_name(i) for i in left_out]

    content_paths: list[str] = []
    content_pipeline: PipelineConfig | None = None
    for dataset_id in dict.fromkeys(content_ids):
        dataset = catalog.get_dataset(dataset_id)
        if dataset.kind != "content":
            raise CatalogError(
                f"{dataset.name!r} is a dataset of artworks (style), not of photos: "
                "choose it as a style"
            )
        source, pipeline = training_source(catalog, dataset_id)
        content_paths += source.paths
        content_pipeline = content_pipeline or pipeline
        left_out = excluded_near_duplicates(catalog, dataset_id)
        if left_out:
            excluded[dataset.name] = [_file_name(i) for i in left_out]

    notes = []
    first_name, style_pipeline = pipelines[0]
    others = [name for name, p in pipelines[1:] if p != style_pipeline]
    if others:
        notes.append(
            f"one preprocessing pipeline serves every style: {first_name!r}'s "
            f"(those of {', '.join(repr(n) for n in others)} differ and are not used)"
        )
    sources = TrainingSources(
        styles=styles,
        content_paths=content_paths,
        style_pipeline=style_pipeline,
        content_pipeline=content_pipeline,
        method="multistyle" if len(styles) > 1 else "",
        excluded=excluded,
        notes=notes,
    )
    if extend_model is not None:
        _extend(sources, Path(extend_model))
    return sources


def _extend(sources: TrainingSources, model_path: Path) -> None:
    from ganstyle_desktop.engine.modelfile import ModelFileError, read_card

    try:
        card = read_card(model_path)
    except (ModelFileError, OSError) as exc:
        raise CatalogError(f"{model_path.name}: cannot add traditions to it ({exc})") from exc
    if card.kind != "multistyle":
        raise CatalogError(
            f"{model_path.name} is a single-style model; only a multi-style model can "
            "learn another tradition (train one from several style datasets)"
        )
    known = [str(t.get("slug", "")) for t in card.traditions if t.get("slug")]
    clash = [s.display_name or s.name for s in sources.styles if s.name in known]
    if clash:
        raise CatalogError(
            f"{model_path.name} already knows {', '.join(clash)}; choose only traditions it "
            "does not know yet"
        )
    sources.method = "multistyle"
    sources.init_model = str(model_path.resolve())
    sources.known_traditions = known


def _file_name(image: ImageRecord) -> str:
    return image.original_name or image.title or image.sha256[:12]
