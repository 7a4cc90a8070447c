"""Plain records the catalog hands out: datasets, images, health reports."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from ganstyle_desktop.engine.config import PipelineConfig

DATASET_KINDS = ("style", "content")
DATASET_FIELDS = ("name", "kind", "tradition", "region", "era", "description")
IMAGE_FIELDS = ("title", "artist", "year", "source", "license", "tags")


def pipeline_to_json(pipeline: PipelineConfig) -> str:
    data = asdict(pipeline)
    data["rotations"] = list(pipeline.rotations)
    return json.dumps(data, sort_keys=True)


def pipeline_from_json(text: str | dict | None) -> PipelineConfig:
    data = json.loads(text) if isinstance(text, str) else dict(text or {})
    known = PipelineConfig.__dataclass_fields__
    data = {k: v for k, v in data.items() if k in known}
    if "rotations" in data:
        data["rotations"] = tuple(int(r) for r in data["rotations"])
    return PipelineConfig(**data)


@dataclass
class Dataset:
    id: int
    name: str
    kind: str = "style"
    tradition: str = ""
    region: str = ""
    era: str = ""
    description: str = ""
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    created: str = ""
    image_count: int = 0
    licenses: list[str] = field(default_factory=list)
    deleted: bool = False


@dataclass
class ImageRecord:
    id: int
    dataset_id: int
    sha256: str
    width: int
    height: int
    title: str = ""
    artist: str = ""
    year: str = ""
    source: str = ""
    license: str = ""
    tags: list[str] = field(default_factory=list)
    original_name: str = ""
    format: str = ""
    orientation: int = 1
    phash: str | None = None
    near_duplicate_of: int | None = None
    duplicate_kept: bool = False  # a near duplicate the person kept: it is trained on
    notes: str = ""
    imported: str = ""
    deleted: bool = False

    def fields(self) -> dict:
        """The user-editable fields, as ``update_image_fields`` takes them."""
        return {name: getattr(self, name) for name in IMAGE_FIELDS}


@dataclass
class CheckReport:
    """What ``Catalog.check`` found (and, with repair, what it fixed)."""

    orphans: list[str] = field(default_factory=list)  # objects no image row refers to
    missing: list[str] = field(default_factory=list)  # rows whose object is gone
    mismatched: list[str] = field(default_factory=list)  # objects whose bytes changed
    leftovers: list[str] = field(default_factory=list)  # temp files from an interrupted write
    repaired: bool = False
    removed_rows: int = 0

    @property
    def ok(self) -> bool:
        return not (self.orphans or self.missing or self.mismatched or self.leftovers)

    def summary(self) -> str:
        if self.ok:
            return "catalog is consistent"
        parts = [
            f"{len(self.orphans)} orphan object(s)",
            f"{len(self.missing)} missing object(s)",
            f"{len(self.mismatched)} object(s) whose bytes no longer match their hash",
            f"{len(self.leftovers)} leftover temp file(s)",
        ]
        verb = "repaired" if self.repaired else "found"
        return f"{verb}: " + ", ".join(parts)


@dataclass
class TidyReport:
    """What ``Catalog.tidy`` (the safe, automatic repair after a crash) did."""

    orphans_removed: list[str] = field(default_factory=list)  # objects no row referred to
    leftovers_removed: list[str] = field(default_factory=list)  # temp files of ended writes
    orphans_kept: int = 0  # left because another program was writing at the time

    @property
    def nothing_done(self) -> bool:
        return not (self.orphans_removed or self.leftovers_removed or self.orphans_kept)

    def summary(self) -> str:
        parts = []
        if self.orphans_removed:
            parts.append(f"removed {len(self.orphans_removed)} orphan object(s)")
        if self.leftovers_removed:
            parts.append(f"removed {len(self.leftovers_removed)} leftover temp file(s)")
        text = ", ".join(parts)
        if text:
            text += " left by an interrupted import or write"
        if self.orphans_kept:
            kept = (
                f"left {self.orphans_kept} unreferenced object(s) alone: another program "
                "is importing into this workspace"
            )
            text = f"{text}; {kept}" if text else kept
        return text or "nothing to repair"
