"""Export a dataset as a zip, import it into another workspace: the same dataset."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from ganstyle_desktop.engine.config import PipelineConfig
from ganstyle_desktop.library import (
    Catalog,
    CatalogError,
    export_dataset,
    import_dataset_archive,
    import_paths,
)


def _comparable(catalog: Catalog, dataset_id: int) -> list[tuple]:
    return sorted(
        (i.sha256, i.original_name, i.width, i.height, i.orientation, tuple(i.fields().items()))
        for i in catalog.list_images(dataset_id)
    )


def test_export_then_import_reproduces_the_dataset(tmp_path: Path, make_image) -> None:
    pipeline = PipelineConfig(resize=72, crop="center", rotations=(180,), color_jitter=0.1)
    with Catalog.open(tmp_path / "a") as src:
        did = src.create_dataset(
            "Ink wash",
            tradition="China",
            region="Jiangnan",
            era="Song",
            description="mountains",
            pipeline=pipeline,
        )
        for i, name in enumerate(["山.jpg", "river.png", "mist.jpg"]):
            make_image(name, i)
        report = import_paths(src, did, [tmp_path / "in"])
        ids = [f.image_id for f in report.imported]
        src.update_image_fields(
            ids[0], {"artist": "Fan Kuan", "year": "1000", "license": "PD", "tags": ["peak", "ink"]}
        )
        src.update_image_fields(ids[1], {"title": 'Long, "quoted" title', "source": "a:b"})
        src.delete_images([ids[2]])  # trashed images stay behind
        out = export_dataset(src, did, tmp_path / "ink.zip")
        expected = _comparable(src, did)
    with zipfile.ZipFile(out) as zf:
        assert {"dataset.json", "manifest.csv"} <= set(zf.namelist())
        assert len([n for n in zf.namelist() if n.startswith("images/")]) == 2

    with Catalog.open(tmp_path / "b") as dst:
        report = import_dataset_archive(dst, out)
        assert report.summary() == "2 imported, 0 skipped"
        (new_id,) = report.datasets_created
        d = dst.get_dataset(new_id)
        assert (d.name, d.kind, d.tradition, d.region, d.era, d.description, d.pipeline) == (
            "Ink wash",
            "style",
            "China",
            "Jiangnan",
            "Song",
            "mountains",
            pipeline,
        )
        assert _comparable(dst, new_id) == expected
        for image in dst.list_images(new_id):
            assert dst.store.verify(image.sha256)
        # importing it again makes a second copy with a fresh name
        again = import_dataset_archive(dst, out)
        assert dst.get_dataset(again.datasets_created[0]).name == "Ink wash (2)"


def test_damaged_archive_bytes_are_refused(tmp_path: Path, make_image) -> None:
    with Catalog.open(tmp_path / "a") as src:
        did = src.create_dataset("d")
        import_paths(src, did, [make_image("x.png", 1)])
        out = export_dataset(src, did, tmp_path / "d.zip")
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(out) as zin, zipfile.ZipFile(tampered, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.startswith("images/"):
                data = data[:-8] + b"\0" * 8
            zout.writestr(info, data)
    with Catalog.open(tmp_path / "b") as dst:
        report = import_dataset_archive(dst, tampered)
        assert "checksum" in report.skipped[0].reason


def test_a_plain_zip_is_not_a_dataset_archive(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "plain.zip", "w") as zf:
        zf.writestr("a.txt", "x")
    with Catalog.open(tmp_path / "b") as dst, pytest.raises(CatalogError, match="dataset.json"):
        import_dataset_archive(dst, tmp_path / "plain.zip")
