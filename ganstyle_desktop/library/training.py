"""The bridge to training: a library dataset as the engine's StyleSource and pipeline."""

from __future__ import annotations

import re

from ganstyle_desktop.engine.config import PipelineConfig, StyleSource

from .catalog import Catalog, CatalogError


def dataset_slug(name: str) -> str:
    slug = re.sub(r"[^\w]+", "-", name.strip().lower(), flags=re.UNICODE).strip("-")
    return slug or "dataset"


def training_source(catalog: Catalog, dataset_id: int) -> tuple[StyleSource, PipelineConfig]:
    """The dataset's stored files (live images only) with provenance, and its pipeline.

    The paths point into the object store, so training reads the untouched originals
    (the engine's loader applies EXIF orientation and converts modes as it reads).
    """
    dataset = catalog.get_dataset(dataset_id)
    images = catalog.list_images(dataset_id)
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
