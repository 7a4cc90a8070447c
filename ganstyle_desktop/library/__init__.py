"""The dataset library: a workspace catalog (SQLite), a content-addressed image store, the
importer, thumbnails, export and the bridge to training. No Qt here."""

from .catalog import CATALOG_FILENAME, Catalog, CatalogBusy, CatalogError
from .exchange import export_dataset
from .importer import (
    ImportedFile,
    Importer,
    ImportOptions,
    ImportReport,
    SkippedFile,
    import_dataset_archive,
    import_manifest,
    import_paths,
)
from .manifest import ManifestError, read_manifest
from .records import CheckReport, Dataset, ImageRecord, TidyReport
from .thumbnails import ensure_thumbnail, thumbnail_path
from .training import training_source

__all__ = [
    "CATALOG_FILENAME",
    "Catalog",
    "CatalogBusy",
    "CatalogError",
    "CheckReport",
    "Dataset",
    "ImageRecord",
    "ImportOptions",
    "ImportReport",
    "ImportedFile",
    "Importer",
    "ManifestError",
    "SkippedFile",
    "TidyReport",
    "ensure_thumbnail",
    "export_dataset",
    "import_dataset_archive",
    "import_manifest",
    "import_paths",
    "read_manifest",
    "thumbnail_path",
    "training_source",
]
