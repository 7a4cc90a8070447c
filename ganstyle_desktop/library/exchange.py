"""Exporting a dataset as a self-describing zip: ``dataset.json``, ``manifest.csv``, images.

``Importer.import_dataset_archive`` reads it back into any workspace and reproduces the
dataset: its fields and pipeline, every image's metadata, and the original bytes (checked
against the SHA-256 in the manifest).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

from ganstyle_desktop.engine.atomic import write_with_atomic
from ganstyle_desktop.engine.control import JobControl

from .catalog import Catalog
from .importer import ProgressCallback
from .manifest import ManifestRow, write_manifest_csv
from .probe import FORMAT_SUFFIX
from .records import pipeline_to_json

ARCHIVE_FORMAT = "ganstyle-dataset"
ARCHIVE_VERSION = 1


def _safe_stem(name: str) -> str:
    stem = Path(name).stem or "image"
    stem = re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", stem).strip(" .")
    return stem[:60] or "image"


def export_dataset(
    catalog: Catalog,
    dataset_id: int,
    out_path: Path | str,
    *,
    progress: ProgressCallback | None = None,
    control: JobControl | None = None,
) -> Path:
    """Write the dataset (live images only) to ``out_path`` atomically; returns the path."""
    dataset = catalog.get_dataset(dataset_id)
    images = catalog.list_images(dataset_id)
    out_path = Path(out_path)
    meta = {
        "format": ARCHIVE_FORMAT,
        "schema_version": ARCHIVE_VERSION,
        "dataset": {
            "name": dataset.name,
            "kind": dataset.kind,
            "tradition": dataset.tradition,
            "region": dataset.region,
            "era": dataset.era,
            "description": dataset.description,
            "pipeline": json.loads(pipeline_to_json(dataset.pipeline)),
        },
    }

    def write(tmp: Path) -> None:
        rows: list[ManifestRow] = []
        with zipfile.ZipFile(tmp, "w") as zf:
            for done, image in enumerate(images, start=1):
                if control is not None:
                    control.raise_if_cancelled()
                suffix = FORMAT_SUFFIX.get(image.format, Path(image.original_name).suffix or ".img")
                arcname = f"images/{image.sha256[:12]}_{_safe_stem(image.original_name)}{suffix}"
                # Images are already compressed: store them as they are.
                zf.write(catalog.image_path(image), arcname, compress_type=zipfile.ZIP_STORED)
                rows.append(
                    ManifestRow(
                        path=arcname,
                        dataset=dataset.name,
                        kind=dataset.kind,
                        tradition=dataset.tradition,
                        region=dataset.region,
                        era=dataset.era,
                        title=image.title,
                        artist=image.artist,
                        year=image.year,
                        source=image.source,
                        license=image.license,
                        tags=image.tags,
                        sha256=image.sha256,
                        original_name=image.original_name,
                    )
                )
                if progress is not None:
                    progress(done, len(images), image.original_name)
            text = io.StringIO()
            write_manifest_csv(rows, text)
            zf.writestr("manifest.csv", text.getvalue(), compress_type=zipfile.ZIP_DEFLATED)
            zf.writestr(
                "dataset.json", json.dumps(meta, indent=2), compress_type=zipfile.ZIP_DEFLATED
            )

    write_with_atomic(out_path, write, suffix=".zip")
    return out_path
