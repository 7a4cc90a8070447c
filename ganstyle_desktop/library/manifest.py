"""Metadata manifests (CSV or JSON) that travel with imported images.

Column names are matched loosely so the project's sample ``MANIFEST.csv`` (path,
style_or_content, culture_or_region, title_if_known, artist_if_known, source_repo,
source_path, license_note) imports as-is, as do the manifests this library exports.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from ganstyle_desktop.engine.fileguard import UnreadableFile, printable, read_regular_file

MANIFEST_COLUMNS = (
    "path",
    "dataset",
    "kind",
    "tradition",
    "region",
    "era",
    "title",
    "artist",
    "year",
    "source",
    "license",
    "tags",
    "sha256",
    "original_name",
)

_ALIASES = {
    "path": ("path", "file", "filename", "file_name"),
    "dataset": ("dataset", "style_or_content", "style", "collection"),
    "kind": ("kind",),
    "tradition": ("tradition", "culture_or_region", "culture"),
    "region": ("region",),
    "era": ("era", "period"),
    "title": ("title", "title_if_known"),
    "artist": ("artist", "artist_if_known", "author"),
    "year": ("year", "date"),
    "source": ("source", "url"),
    "license": ("license", "license_note", "licence", "rights"),
    "tags": ("tags", "keywords"),
    "sha256": ("sha256",),
    "original_name": ("original_name",),
}


class ManifestError(Exception):
    """A manifest cannot be read; the message names the file and the problem."""


@dataclass
class ManifestRow:
    path: str
    dataset: str = ""
    kind: str = ""
    tradition: str = ""
    region: str = ""
    era: str = ""
    title: str = ""
    artist: str = ""
    year: str = ""
    source: str = ""
    license: str = ""
    tags: list[str] = field(default_factory=list)
    sha256: str = ""
    original_name: str = ""

    def image_fields(self) -> dict:
        return {
            "title": self.title,
            "artist": self.artist,
            "year": self.year,
            "source": self.source,
            "license": self.license,
            "tags": list(self.tags),
        }


def normalise_key(path: str) -> str:
    """A manifest path as a lookup key: forward slashes, NFC, no leading './'."""
    text = unicodedata.normalize("NFC", str(path).replace("\\", "/")).strip()
    return str(PurePosixPath(text)).lstrip("/") if text else ""


def _row_from_mapping(raw: dict, where: str) -> ManifestRow:
    lowered = {str(k).strip().lower(): ("" if v is None else v) for k, v in raw.items()}
    values: dict = {}
    for name, aliases in _ALIASES.items():
        for alias in aliases:
            if alias in lowered and lowered[alias] not in ("", []):
                values[name] = lowered[alias]
                break
    if "source" not in values and lowered.get("source_repo"):
        repo, sub = str(lowered["source_repo"]), str(lowered.get("source_path", ""))
        values["source"] = f"{repo}:{sub}" if sub else repo
    if not values.get("path"):
        raise ManifestError(f"{where}: no path column (expected one of: path, file, filename)")
    tags = values.get("tags", [])
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.replace(";", ",").split(",") if t.strip()]
    values["tags"] = [str(t) for t in tags]
    for key in values:
        if key != "tags":
            values[key] = str(values[key]).strip()
    values["path"] = normalise_key(values["path"])
    return ManifestRow(**values)


def read_manifest(path: Path | str) -> list[ManifestRow]:
    """Rows of a CSV or JSON manifest (a list of objects, or {"images": [...]})."""
    path = Path(path)
    try:
        # A regular file only (a FIFO would block), at most 256 MiB.
        text = read_regular_file(path, limit=256 << 20).decode("utf-8-sig")
    except UnreadableFile as exc:
        raise ManifestError(f"{printable(path.name)}: {exc.reason}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{printable(path.name)}: cannot be read ({exc})") from exc
    return parse_manifest(text, path.name)


def parse_manifest(text: str, name: str) -> list[ManifestRow]:
    if name.lower().endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ManifestError(f"{name}: not valid JSON ({exc})") from exc
        except RecursionError as exc:
            raise ManifestError(f"{name}: not a manifest (JSON nested too deeply)") from exc
        if isinstance(data, dict):
            data = data.get("images", [])
        if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
            raise ManifestError(f"{name}: expected a list of objects (or {{'images': [...]}})")
        return [_row_from_mapping(item, f"{name} item {i + 1}") for i, item in enumerate(data)]
    try:
        reader = csv.DictReader(io.StringIO(text))
        return [_row_from_mapping(item, f"{name} line {i + 2}") for i, item in enumerate(reader)]
    except csv.Error as exc:
        raise ManifestError(f"{name}: not a valid CSV file ({exc})") from exc


def write_manifest_csv(rows: list[ManifestRow], fh: IO[str]) -> None:
    writer = csv.DictWriter(fh, fieldnames=list(MANIFEST_COLUMNS))
    writer.writeheader()
    for row in rows:
        data = asdict(row)
        data["tags"] = ", ".join(row.tags)
        writer.writerow({k: data[k] for k in MANIFEST_COLUMNS})
