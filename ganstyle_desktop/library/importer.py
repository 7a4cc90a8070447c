"""Importing images into the catalog: files, folders, zip archives, manifests.

Every candidate is read, hashed, checked (``probe.inspect_image``) and only then stored and
catalogued, one at a time, so a bad file costs one line in the report and the rest goes on.
Exact duplicates (same SHA-256 in the same dataset) are skipped; near duplicates (a close
perceptual hash) are imported and flagged for review.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ganstyle_desktop.engine.config import PipelineConfig
from ganstyle_desktop.engine.control import JobCancelled, JobControl
from ganstyle_desktop.engine.fileguard import UnreadableFile, printable
from ganstyle_desktop.engine.imageio import (
    DEFAULT_MAX_PIXELS,  # noqa: F401 - re-exported
    pixel_limit,
)

from .catalog import Catalog, CatalogBusy, CatalogError
from .manifest import ManifestError, ManifestRow, normalise_key, parse_manifest, read_manifest
from .phash import NEAR_DUPLICATE_BITS, SignatureIndex
from .probe import ImageRejected, inspect_image
from .records import pipeline_from_json
from .sources import MANIFEST_NAMES, ArchiveLimits, Candidate, SourceCollector
from .store import sha256_bytes

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, str], None]


@dataclass
class ImportOptions:
    # Larger images are refused before decoding. None: the engine's one limit
    # (imageio.pixel_limit(), which training and stylizing apply too); a number only
    # lowers it for this import, so everything imported stays readable by training.
    max_pixels: int | None = None
    near_duplicate_bits: int = NEAR_DUPLICATE_BITS
    archive_limits: ArchiveLimits = field(default_factory=ArchiveLimits)


@dataclass
class ImportedFile:
    source: str
    image_id: int
    dataset_id: int
    notes: list[str] = field(default_factory=list)
    near_duplicate_of: int | None = None
    near_duplicate_name: str = ""  # the file it looks like, as people know it


@dataclass
class SkippedFile:
    source: str
    reason: str
    kind: str = "failed"  # or "duplicate": already in the dataset, which is no failure


@dataclass
class ImportReport:
    imported: list[ImportedFile] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    datasets_created: list[int] = field(default_factory=list)
    cancelled: bool = False
    total: int = 0
    tidied: list[str] = field(default_factory=list)  # what was repaired before starting

    @property
    def near_duplicates(self) -> list[ImportedFile]:
        return [f for f in self.imported if f.near_duplicate_of is not None]

    @property
    def duplicates(self) -> list[SkippedFile]:
        """Files the dataset already held (not failures)."""
        return [s for s in self.skipped if s.kind == "duplicate"]

    @property
    def failures(self) -> list[SkippedFile]:
        """Files that could not be imported: a batch succeeds when this is empty."""
        return [s for s in self.skipped if s.kind != "duplicate"]

    def counts(self) -> str:
        """ "3 imported, 2 already in the dataset, 1 failed"."""
        return (
            f"{len(self.imported)} imported, {len(self.duplicates)} already in the dataset, "
            f"{len(self.failures)} failed"
        )

    def skipped_reason(self, name: str) -> str | None:
        """The reason a file whose display path ends with ``name`` was skipped."""
        for s in self.skipped:
            if s.source.endswith(name):
                return s.reason
        return None

    def summary(self) -> str:
        text = f"{len(self.imported)} imported, {len(self.skipped)} skipped"
        if self.near_duplicates:
            text += (
                f", {len(self.near_duplicates)} flagged as near duplicates (left out of "
                "training unless you keep them)"
            )
        if self.cancelled:
            text += " (cancelled before the end)"
        return text

    def to_text(self) -> str:
        lines = [f"repaired first: {line}" for line in self.tidied]
        lines.append(self.summary())
        if self.skipped:
            lines.append("")
            lines.append("Skipped:")
            lines += [f"  {s.source}: {s.reason}" for s in self.skipped]
        flagged = self.near_duplicates
        if flagged:
            lines.append("")
            lines.append("Near duplicates (imported, flagged for review):")
            lines += [
                f"  {f.source}: looks like {f.near_duplicate_name or 'an image already there'}"
                for f in flagged
            ]
        noted = [f for f in self.imported if f.notes]
        if noted:
            lines.append("")
            lines.append("Imported with notes:")
            lines += [f"  {f.source}: {'; '.join(f.notes)}" for f in noted]
        lines.append("")
        lines.append(f"Summary: {self.counts()}" + (" (cancelled)" if self.cancelled else ""))
        return "\n".join(lines)


@dataclass
class _Job:
    candidate: Candidate
    dataset_id: int
    row: ManifestRow | None = None


class Importer:
    """Runs one import against a catalog, reporting progress and honouring cancellation."""

    def __init__(
        self,
        catalog: Catalog,
        options: ImportOptions | None = None,
        progress: ProgressCallback | None = None,
        control: JobControl | None = None,
    ) -> None:
        self.catalog = catalog
        self.options = options or ImportOptions()
        self.progress = progress
        self.control = control
        self._hashes: dict[int, SignatureIndex] = {}  # dataset -> perceptual hashes
        self._seen: dict[int, dict[str, int]] = defaultdict(dict)  # dataset -> sha -> image id
        self._batch: list[_Pending] = []
        self._batch_started = 0.0
        self._names: dict[int, str] = {}  # image id -> original file name

    # -- entry points ----------------------------------------------------
    def import_paths(
        self,
        dataset_id: int,
        sources: Iterable[Path | str],
        manifest: Path | str | None = None,
    ) -> ImportReport:
        """Import files, folders and zips into one dataset; ``manifest`` supplies metadata."""
        self.catalog.get_dataset(dataset_id)  # fail early on a bad id
        report = ImportReport()
        rows: list[ManifestRow] = []
        manifest_dir: Path | None = None
        if manifest is not None:
            rows = read_manifest(manifest)
            manifest_dir = Path(manifest).resolve().parent
        with SourceCollector(self.options.archive_limits) as collector:
            candidates = collector.collect(sources, exclude=[manifest] if manifest else [])
            for m in collector.archive_manifests:
                try:
                    rows += parse_manifest(m.text, m.name)
                except ManifestError as exc:
                    report.skipped.append(SkippedFile(f"{m.archive.name}:{m.name}", str(exc)))
            lookup = _ManifestLookup(rows, manifest_dir)
            jobs = [_Job(c, dataset_id, lookup.find(c)) for c in candidates]
            self._run(jobs, report)
        return report

    def import_manifest(
        self,
        manifest: Path | str,
        default_kind: str = "style",
        *,
        only: Collection[str] | None = None,
        names: Mapping[str, str] | None = None,
        kinds: Mapping[str, str] | None = None,
    ) -> ImportReport:
        """Import the files a manifest lists, one dataset per value of its dataset column.

        The project's ``MANIFEST.csv`` gives one dataset per style slug (and a content
        dataset for its photos), each with its tradition; every image keeps its title,
        artist, source and license. Datasets that already exist by that name are added
        to. ``only``: the dataset values to import (the others are left out);
        ``names``: dataset value -> the name of the dataset it goes to; ``kinds``: dataset
        value -> "style" or "content" for a dataset created (else :func:`manifest_kind`).
        """
        manifest = Path(manifest)
        rows = read_manifest(manifest)
        base = manifest.resolve().parent
        report = ImportReport()
        jobs: list[_Job] = []
        datasets: dict[str, int] = {}
        for row in rows:
            slug = row.dataset or manifest.stem
            if only is not None and slug not in only:
                continue
            if slug not in datasets:
                name = (names or {}).get(slug, "").strip() or slug
                kind = (kinds or {}).get(slug) or manifest_kind(slug, row, default_kind)
                datasets[slug] = self._dataset_for(name, row, kind, report, slug)
            path = base / row.path
            with SourceCollector(self.options.archive_limits) as collector:
                found = collector.collect([path]) if path.is_file() else []
            if not found:
                cand = Candidate(
                    str(path), row.path, None, reason="listed in the manifest but not found"
                )
            else:
                cand = found[0]
                cand.key = row.path
            jobs.append(_Job(cand, datasets[slug], row))
        self._run(jobs, report)
        return report

    def import_dataset_archive(self, archive: Path | str, name: str | None = None) -> ImportReport:
        """Recreate a dataset from a zip made by ``export_dataset`` (metadata and bytes)."""
        archive = Path(archive)
        report = ImportReport()
        with SourceCollector(self.options.archive_limits) as collector:
            candidates = collector.collect([archive])
            if not collector.archive_info:
                raise CatalogError(
                    f"{archive.name}: not a dataset archive (no dataset.json); import it into a "
                    "dataset instead"
                )
            try:
                info = json.loads(collector.archive_info[0].text)
                meta = dict(info["dataset"])
            except (ValueError, KeyError, TypeError, RecursionError) as exc:
                raise CatalogError(f"{archive.name}: dataset.json is damaged ({exc})") from exc
            rows: list[ManifestRow] = []
            for m in collector.archive_manifests:
                rows += parse_manifest(m.text, m.name)
            dataset_id = self.catalog.create_dataset(
                _unique_name(self.catalog, name or str(meta.get("name") or archive.stem)),
                kind=meta.get("kind", "style")
                if meta.get("kind") in ("style", "content")
                else "style",
                tradition=str(meta.get("tradition", "")),
                region=str(meta.get("region", "")),
                era=str(meta.get("era", "")),
                description=str(meta.get("description", "")),
                pipeline=_safe_pipeline(meta.get("pipeline"), archive.name),
            )
            report.datasets_created.append(dataset_id)
            lookup = _ManifestLookup(rows, None)
            jobs = [_Job(c, dataset_id, lookup.find(c)) for c in candidates]
            self._run(jobs, report)
        return report

    # -- the loop --------------------------------------------------------
    def _dataset_for(
        self,
        name: str,
        row: ManifestRow,
        default_kind: str,
        report: ImportReport,
        slug: str | None = None,
    ) -> int:
        kind = default_kind if slug is not None else manifest_kind(name, row, default_kind)
        # Safe with another process importing the same manifest: both get one dataset.
        dataset_id, created = self.catalog.ensure_dataset(
            name, kind=kind, tradition=row.tradition, region=row.region, era=row.era
        )
        if created:
            report.datasets_created.append(dataset_id)
        return dataset_id

    def _run(self, jobs: list[_Job], report: ImportReport) -> None:
        report.total = len(jobs)
        self._report_progress(0, len(jobs), "")
        catalog = self.catalog
        previous_on_busy = catalog.on_busy
        catalog.on_busy = self._waiting
        self._done, self._total = 0, len(jobs)
        try:
            with catalog.writing():
                tidied = catalog.tidy()  # what a crashed import left: the next one cleans up
                if not tidied.nothing_done:
                    report.tidied.append(tidied.summary())
                self._run_jobs(jobs, report)
        except JobCancelled:
            report.cancelled = True
            log.info("import cancelled: %s", report.summary())
        finally:
            catalog.on_busy = previous_on_busy

    def _run_jobs(self, jobs: list[_Job], report: ImportReport) -> None:
        try:
            for done, job in enumerate(jobs, start=1):
                if self.control is not None:
                    self.control.wait_while_paused()
                    self.control.raise_if_cancelled()
                self._one(job, report)
                if len(self._batch) >= BATCH_FILES or (
                    self._batch and time.monotonic() - self._batch_started > BATCH_SECONDS
                ):
                    self._flush(report)
                self._done = done
                self._report_progress(done, len(jobs), job.candidate.display)
        finally:
            self._flush(report)

    def _waiting(self, seconds: float) -> None:
        """The catalog is locked by another program: say so, and let a cancel through."""
        self._report_progress(
            self._done,
            self._total,
            f"waiting for another program to finish writing to the catalog ({seconds:.0f} s)",
        )
        if self.control is not None:
            self.control.raise_if_cancelled()

    def _report_progress(self, done: int, total: int, name: str) -> None:
        if self.progress is not None:
            self.progress(done, total, name)

    def _one(self, job: _Job, report: ImportReport) -> None:
        cand = job.candidate
        try:
            reason = self._import_candidate(job, report)
        except _Duplicate as dup:
            report.skipped.append(SkippedFile(cand.display, dup.reason, "duplicate"))
            return
        except (CatalogError, OSError) as exc:
            reason = f"could not be stored ({exc})"
        except Exception as exc:  # one odd file must never end the whole import
            log.exception("unexpected error importing %s", cand.display)
            reason = f"unexpected error ({type(exc).__name__}: {exc})"
        if reason:
            report.skipped.append(SkippedFile(cand.display, reason))
            log.debug("skipped %s: %s", cand.display, reason)

    def _import_candidate(self, job: _Job, report: ImportReport) -> str:
        cand = job.candidate
        if cand.read is None:
            return cand.reason
        if cand.size == 0:
            return "the file is empty (0 bytes)"
        try:
            data = cand.read()
        except MemoryError:
            return "too large to read in the memory available"
        except UnreadableFile as exc:  # a special file, no permission, a link loop, too big
            return exc.reason
        except Exception as exc:  # OSError, zip CRC errors, encrypted entries, ...
            return f"cannot be read ({getattr(exc, 'strerror', None) or exc})"
        sha = sha256_bytes(data)
        if job.row is not None and job.row.sha256 and job.row.sha256 != sha:
            return "the bytes do not match the checksum in the manifest (damaged in transit)"
        dataset_id = job.dataset_id
        seen = self._seen[dataset_id].get(sha)
        if seen == _PENDING:
            raise _Duplicate("already in this import (exact duplicate of an earlier file)")
        existing = seen or self.catalog.image_with_sha(dataset_id, sha)
        if existing is not None:
            raise _Duplicate(f"exact duplicate of image #{existing} already in the dataset")
        try:
            facts = inspect_image(data, self._pixel_limit())
        except ImageRejected as exc:
            return exc.reason
        index = self._hash_index(dataset_id)
        near_id = index.near(facts.phash, self.options.near_duplicate_bits)
        if near_id == _PENDING:  # it looks like a file in this batch: give that one its id
            self._flush(report)
            near_id = index.near(facts.phash, self.options.near_duplicate_bits)
        row = job.row
        fields = row.image_fields() if row is not None else {}
        if not fields.get("title"):
            fields["title"] = _capped(PurePosixPath(cand.key.replace("\\", "/")).stem)
        # Crash safety: the object is in the store (flushed by _flush) before its row commits.
        self.catalog.store.put_bytes(data, sha, durable=False)
        values = dict(
            dataset_id=dataset_id,
            sha256=sha,
            width=facts.width,
            height=facts.height,
            original_name=_capped(
                (row.original_name if row is not None and row.original_name else "")
                or PurePosixPath(cand.key.replace("\\", "/")).name
            ),
            format=facts.format,
            orientation=facts.orientation,
            phash=facts.phash,
            near_duplicate_of=near_id,
            notes="; ".join(facts.notes),
            **fields,
        )
        if not self._batch:
            self._batch_started = time.monotonic()
        position = index.add(_PENDING, facts.phash)
        self._seen[dataset_id][sha] = _PENDING
        imported = ImportedFile(cand.display, _PENDING, dataset_id, facts.notes, near_id)
        self._batch.append(_Pending(values, imported, position))
        return ""

    def _flush(self, report: ImportReport) -> None:
        """Make the batch's objects durable, then commit its rows in one transaction; a row
        the catalog refuses costs that file only (the others go in one by one)."""
        batch, self._batch = self._batch, []
        if not batch:
            return
        try:
            self.catalog.store.make_durable([p.values["sha256"] for p in batch])
        except OSError as exc:
            self._failed(batch, f"could not be stored ({exc})", report)
            return
        try:
            outcomes = self.catalog.insert_images([p.values for p in batch])
        except JobCancelled:
            self._failed(batch, "not catalogued: the import was cancelled", report)
            raise
        except CatalogBusy as exc:
            self._failed(batch, f"could not be catalogued ({exc})", report)
            return
        except Exception as exc:  # noqa: BLE001 - find the row, keep the rest
            log.info("a batch of %d rows was refused (%s); adding them one by one", len(batch), exc)
            outcomes = []
            for p in batch:
                try:
                    outcomes += self.catalog.insert_images([p.values])
                except JobCancelled:
                    raise
                except Exception as row_exc:  # noqa: BLE001 - one file, one line
                    log.warning("could not catalogue %s: %s", p.imported.source, row_exc)
                    self._failed([p], f"could not be catalogued ({row_exc})", report)
                    outcomes.append(None)
        for p, outcome in zip(batch, outcomes, strict=True):
            if outcome is None:
                continue
            image_id, what = outcome
            dataset_id = p.values["dataset_id"]
            self._seen[dataset_id][p.values["sha256"]] = image_id
            self._hash_index(dataset_id).ids[p.position] = image_id
            if what == "present":  # another import added it a moment ago
                report.skipped.append(
                    SkippedFile(
                        p.imported.source,
                        f"exact duplicate of image #{image_id} already in the dataset "
                        "(added by another import at the same time)",
                        "duplicate",
                    )
                )
                continue
            p.imported.image_id = image_id
            self._names[image_id] = p.values.get("original_name", "")
            if p.imported.near_duplicate_of is not None:
                p.imported.near_duplicate_name = self._name_of(p.imported.near_duplicate_of)
            report.imported.append(p.imported)

    def _failed(self, batch: list[_Pending], reason: str, report: ImportReport) -> None:
        for p in batch:
            dataset_id = p.values["dataset_id"]
            self._seen[dataset_id].pop(p.values["sha256"], None)
            self._hash_index(dataset_id).ids[p.position] = None
            report.skipped.append(SkippedFile(p.imported.source, reason))
        # Their objects would be orphans; removed now unless another import is at work.
        with contextlib.suppress(Exception):
            self.catalog.discard_objects(p.values["sha256"] for p in batch)

    def _pixel_limit(self) -> int:
        limit = pixel_limit()
        asked = self.options.max_pixels
        return limit if asked is None else min(asked, limit)

    def _name_of(self, image_id: int) -> str:
        """The file name of an image (this import's, or one catalogued before)."""
        if image_id not in self._names:
            try:
                record = self.catalog.get_image(image_id)
                self._names[image_id] = record.original_name or record.title
            except CatalogError:
                self._names[image_id] = ""
        return self._names[image_id]

    def _hash_index(self, dataset_id: int) -> SignatureIndex:
        if dataset_id not in self._hashes:
            index = SignatureIndex()
            for image_id, phash in self.catalog.phashes(dataset_id):
                index.add(image_id, phash)
            self._hashes[dataset_id] = index
        return self._hashes[dataset_id]


def manifest_kind(slug: str, row: ManifestRow, default_kind: str = "style") -> str:
    """A manifest dataset's kind: its ``kind`` column, else "content" for photos (a
    dataset value such as ``content`` or ``photos``, or a tradition column that says
    "photo"), else ``default_kind``."""
    if row.kind in ("style", "content"):
        return row.kind
    if slug.lower() in ("content", "contents", "photos", "photo"):
        return "content"
    if row.tradition.lower().startswith("photo"):
        return "content"
    return default_kind


@dataclass
class PlannedDataset:
    """One dataset a manifest would make (or add to), before anything is imported."""

    slug: str  # the manifest's dataset value
    name: str  # the dataset it goes to
    kind: str  # "style" | "content"
    tradition: str
    files: int  # listed files that are there
    missing: int  # listed files that are not
    licenses: list[str] = field(default_factory=list)
    restriction: str = ""  # "non-commercial", "tests and benchmarks only" or ""
    exists: bool = False  # a dataset by that name exists: the images are added to it


def find_folder_manifest(folder: Path | str) -> Path | None:
    """A MANIFEST.csv (or manifest.json) at the top of ``folder``, if there is one."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    by_name = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    for name in MANIFEST_NAMES:
        if name in by_name:
            return by_name[name]
    return None


def plan_manifest(catalog: Catalog, manifest: Path | str) -> list[PlannedDataset]:
    """The datasets ``manifest`` would import, one per value of its dataset column, in
    the manifest's order; raises ManifestError when it cannot be read."""
    from .licenses import restriction_of

    manifest = Path(manifest)
    base = manifest.resolve().parent
    existing = {d.name for d in catalog.list_datasets()}
    plans: dict[str, PlannedDataset] = {}
    licenses: dict[str, dict[str, None]] = defaultdict(dict)
    for row in read_manifest(manifest):
        slug = row.dataset or manifest.stem
        plan = plans.get(slug)
        if plan is None:
            plan = plans[slug] = PlannedDataset(
                slug, slug, manifest_kind(slug, row), row.tradition, 0, 0, exists=slug in existing
            )
        if (base / row.path).is_file():
            plan.files += 1
        else:
            plan.missing += 1
        if row.license:
            licenses[slug].setdefault(row.license, None)
    for slug, plan in plans.items():
        plan.licenses = list(licenses[slug])
        plan.restriction = restriction_of(plan.licenses)
    return list(plans.values())


_PENDING = -1  # id of an image whose row is waiting in the current batch
MAX_NAME_CHARS = 255  # stored titles and original names; longer ones are cut


class _Duplicate(Exception):
    """The file is already in the dataset (or earlier in this import): not a failure."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _capped(name: str) -> str:
    """A name fit to store: printable, and at most MAX_NAME_CHARS (the suffix kept)."""
    name = printable(name)
    if len(name) <= MAX_NAME_CHARS:
        return name
    suffix = PurePosixPath(name).suffix[:16]
    return name[: MAX_NAME_CHARS - len(suffix) - 1] + "…" + suffix


BATCH_FILES = 64
BATCH_SECONDS = 0.5


@dataclass
class _Pending:
    values: dict
    imported: ImportedFile
    position: int  # in the dataset's hash index


class _ManifestLookup:
    """Finds a candidate's manifest row by relative path, then by unique file name."""

    def __init__(self, rows: list[ManifestRow], base: Path | None) -> None:
        self.base = base
        self.by_path = {normalise_key(r.path): r for r in rows}
        names: dict[str, list[ManifestRow]] = defaultdict(list)
        for r in rows:
            names[PurePosixPath(r.path).name].append(r)
        self.by_name = {n: rs[0] for n, rs in names.items() if len(rs) == 1}

    def find(self, cand: Candidate) -> ManifestRow | None:
        if not self.by_path:
            return None
        if self.base is not None and cand.origin is not None:
            try:
                rel = os.path.relpath(cand.origin.resolve(), self.base)
                row = self.by_path.get(normalise_key(rel))
                if row is not None:
                    return row
            except (OSError, ValueError):
                pass
        key = normalise_key(cand.key)
        return self.by_path.get(key) or self.by_name.get(PurePosixPath(key).name)


def _safe_pipeline(data: object, where: str) -> PipelineConfig:
    try:
        return pipeline_from_json(data if isinstance(data, dict) else {})
    except (TypeError, ValueError) as exc:
        log.warning("%s: ignoring a damaged pipeline (%s); using the default", where, exc)
        return PipelineConfig()


def _unique_name(catalog: Catalog, name: str) -> str:
    taken = {d.name for d in catalog.list_datasets(include_deleted=True)}
    if name not in taken:
        return name
    n = 2
    while f"{name} ({n})" in taken:
        n += 1
    return f"{name} ({n})"


# Function forms, for callers that run one import and are done.
def import_paths(
    catalog: Catalog,
    dataset_id: int,
    sources: Iterable[Path | str],
    *,
    manifest: Path | str | None = None,
    options: ImportOptions | None = None,
    progress: ProgressCallback | None = None,
    control: JobControl | None = None,
) -> ImportReport:
    return Importer(catalog, options, progress, control).import_paths(dataset_id, sources, manifest)


def import_manifest(
    catalog: Catalog,
    manifest: Path | str,
    *,
    options: ImportOptions | None = None,
    progress: ProgressCallback | None = None,
    control: JobControl | None = None,
    only: Collection[str] | None = None,
    names: Mapping[str, str] | None = None,
    kinds: Mapping[str, str] | None = None,
) -> ImportReport:
    return Importer(catalog, options, progress, control).import_manifest(
        manifest, only=only, names=names, kinds=kinds
    )


def import_dataset_archive(
    catalog: Catalog,
    archive: Path | str,
    *,
    name: str | None = None,
    options: ImportOptions | None = None,
    progress: ProgressCallback | None = None,
    control: JobControl | None = None,
) -> ImportReport:
    return Importer(catalog, options, progress, control).import_dataset_archive(archive, name)
