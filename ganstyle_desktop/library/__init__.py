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
from .training import (
    TrainingSources,
    content_datasets,
    style_datasets,
    training_source,
    training_sources,
    trains_on,
)

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
    "TrainingSources",
    "content_datasets",
    "ensure_thumbnail",
    "export_dataset",
    "import_dataset_archive",
    "import_manifest",
    "import_paths",
    "read_manifest",
    "style_datasets",
    "thumbnail_path",
    "trains_on",
    "training_source",
    "training_sources",
]
