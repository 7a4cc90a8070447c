"""A dataset becomes the engine's StyleSource + PipelineConfig and trains through them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ganstyle_desktop.engine.config import PipelineConfig
from ganstyle_desktop.library import CatalogError, import_paths, training_source


def test_training_source_points_at_stored_originals_with_provenance(catalog, make_image) -> None:
    pipeline = PipelineConfig(resize=40, crop="center", hflip=False)
    did = catalog.create_dataset("Ukiyo-e prints", tradition="Japan", era="Edo", pipeline=pipeline)
    for i in range(3):
        make_image(f"{i}.jpg", i, size=(64, 48))
    report = import_paths(catalog, did, [Path(make_image("0.jpg", 0)).parent])
    catalog.update_image_fields(report.imported[0].image_id, {"license": "PD", "artist": "Hokusai"})
    catalog.delete_images([report.imported[2].image_id])

    source, got_pipeline = training_source(catalog, did)
    assert got_pipeline == pipeline
    assert source.name == "ukiyo-e-prints" and source.display_name == "Ukiyo-e prints"
    assert source.tags == {"culture": "Japan", "era": "Edo", "kind": "style"}
    assert len(source.paths) == 2 and all(Path(p).is_file() for p in source.paths)
    assert source.provenance[0]["license"] == "PD" and source.provenance[0]["artist"] == "Hokusai"

    from ganstyle_desktop.engine.data import TrainingImages

    images = TrainingImages([Path(p) for p in source.paths], 32, got_pipeline)
    batch = images.sample(2, torch.Generator().manual_seed(0))
    assert batch.shape == (2, 3, 32, 32) and images.skipped == []


def test_empty_dataset_cannot_train(catalog) -> None:
    did = catalog.create_dataset("empty")
    with pytest.raises(CatalogError, match="no images"):
        training_source(catalog, did)
