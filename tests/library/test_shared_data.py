"""The project's sample data imports as-is with its manifest."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from ganstyle_desktop.library import Catalog, import_manifest, training_source


def test_manifest_gives_one_dataset_per_style_with_tradition_and_licenses(
    shared_data: Path, tmp_path: Path
) -> None:
    rows = list(csv.DictReader((shared_data / "MANIFEST.csv").open(encoding="utf-8")))
    counts = Counter(r["style_or_content"] for r in rows)
    with Catalog.open(tmp_path / "ws") as catalog:
        report = import_manifest(catalog, shared_data / "MANIFEST.csv")
        assert report.skipped == []
        assert len(report.imported) == len(rows)
        datasets = {d.name: d for d in catalog.list_datasets()}
        assert set(datasets) == set(counts)
        for slug, n in counts.items():
            d = datasets[slug]
            first = next(r for r in rows if r["style_or_content"] == slug)
            assert d.image_count == n
            assert d.kind == ("content" if slug == "content" else "style")
            assert d.tradition == first["culture_or_region"]
            assert set(d.licenses) == {
                r["license_note"] for r in rows if r["style_or_content"] == slug
            }
        wave = catalog.list_images(datasets["japanese-ukiyo-e"].id, search="Great Wave")[0]
        assert wave.artist == "Katsushika Hokusai"
        assert wave.source == "harish-shivaram/shilly-jekyll:images/art/hokusai_1.jpg"
        # re-running the same manifest adds nothing
        again = import_manifest(catalog, shared_data / "MANIFEST.csv")
        assert again.imported == [] and again.datasets_created == []
        assert all("exact duplicate" in s.reason for s in again.skipped)
        source, pipeline = training_source(catalog, datasets["ottoman-miniature"].id)
        assert len(source.paths) == 3 and source.tags["culture"].startswith("Ottoman")
