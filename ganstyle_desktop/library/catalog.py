"""The workspace catalog: SQLite (WAL, foreign keys, migrations) plus the object store.

Workspace layout::

    catalog.sqlite     datasets, images, tags
    objects/ab/cdef..  original files by SHA-256 (never modified)
    thumbs/            cached thumbnails, <sha>_<size>.jpg, made on demand
    tmp/               scratch space for archive imports

Writes follow one rule for crash safety: an object is in the store (atomically) before the
row that refers to it is committed. A crash therefore leaves at worst an orphan object,
which ``check(repair=True)`` removes. Edits return what they replaced so the UI can undo.

One ``Catalog`` per thread: open another one on the same workspace in a worker.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from PIL import Image

from ganstyle_desktop.engine.atomic import pid_alive
from ganstyle_desktop.engine.config import PipelineConfig
from ganstyle_desktop.engine.fileguard import printable
from ganstyle_desktop.engine.imageio import load_rgb

from .records import (
    DATASET_FIELDS,
    DATASET_KINDS,
    IMAGE_FIELDS,
    CheckReport,
    Dataset,
    ImageRecord,
    TidyReport,
    pipeline_from_json,
    pipeline_to_json,
)
from .schema import migrate
from .store import ObjectStore

log = logging.getLogger(__name__)

CATALOG_FILENAME = "catalog.sqlite"
_HOST = socket.gethostname()


class CatalogError(Exception):
    """A catalog operation the user asked for cannot be done; the message says why."""


class CatalogBusy(CatalogError):
    """Another program kept the catalog locked for longer than we are willing to wait."""


# Another process writing holds the catalog's lock for a moment (a batch of rows) or, when
# something is wrong, for long. A writer waits in steps of BUSY_POLL_SECONDS, telling
# ``Catalog.on_busy`` how long it has waited (the importer shows it as progress and may
# cancel), for at most MAX_BUSY_WAIT_SECONDS before it gives up with CatalogBusy.
BUSY_POLL_SECONDS = 1.0
MAX_BUSY_WAIT_SECONDS = 600.0
# Without ``on_busy`` (an edit from the window, say) nobody would see the wait: a short one.
QUIET_BUSY_WAIT_SECONDS = 30.0


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _now_sql() -> str:
    return "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"


def _text(value: object) -> str:
    """``str(value)`` that SQLite can store: undecodable file-name bytes become \\xNN."""
    return printable(str(value))


def _clean_tags(tags: Iterable[str] | str) -> list[str]:
    if isinstance(tags, str):
        tags = tags.split(",")
    seen: dict[str, None] = {}
    for tag in tags:
        tag = str(tag).strip()
        if tag:
            seen.setdefault(tag, None)
    return list(seen)


class Catalog:
    """A workspace: its catalog database and object store."""

    def __init__(self, workspace: Path | str, *, create: bool = True) -> None:
        self.workspace = Path(workspace)
        db_path = self.workspace / CATALOG_FILENAME
        if not db_path.exists() and not create:
            raise CatalogError(f"{self.workspace}: no catalog here (run `library create` first)")
        # Called with the seconds waited while another program holds the lock; may raise
        # (JobCancelled) to stop waiting.
        self.on_busy: Callable[[float], None] | None = None
        self._writer_tokens: set[str] = set()  # this catalog's own registrations
        try:
            self.workspace.mkdir(parents=True, exist_ok=True)
            self.store = ObjectStore(self.workspace / "objects")
        except OSError as exc:
            raise CatalogError(f"{self.workspace}: cannot use this folder ({exc})") from exc
        self.thumbs_dir = self.workspace / "thumbs"
        self.tmp_dir = self.workspace / "tmp"
        try:
            self._conn = sqlite3.connect(
                db_path, isolation_level=None, timeout=QUIET_BUSY_WAIT_SECONDS
            )
        except sqlite3.Error as exc:
            raise CatalogError(f"{db_path}: cannot open the catalog ({exc})") from exc
        self._conn.row_factory = sqlite3.Row
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(BUSY_POLL_SECONDS * 1000)}")
            self._while_busy(lambda: self._conn.execute("PRAGMA journal_mode=WAL"))
            self._conn.execute(f"PRAGMA busy_timeout = {int(QUIET_BUSY_WAIT_SECONDS * 1000)}")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            reached = migrate(self._conn, begin=self._begin)
        except (sqlite3.DatabaseError, CatalogError) as exc:
            self._conn.close()
            if isinstance(exc, CatalogError):
                raise
            raise CatalogError(f"{db_path}: not a readable catalog ({exc})") from exc
        if 2 in reached and reached[0] != 1:  # an old catalog: fill what version 1 lacked
            self.backfill_image_facts()

    @classmethod
    def open(cls, workspace: Path | str, *, create: bool = True) -> Catalog:
        return cls(workspace, create=create)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._begin("BEGIN IMMEDIATE")
        try:
            yield self._conn
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def _begin(self, sql: str) -> None:
        """Start a write transaction, waiting (with progress) while another holds the lock."""
        # SQLite waits BUSY_POLL_SECONDS at a time here (then we report and try again);
        # other statements keep the long timeout (readers in WAL mode rarely wait at all).
        self._conn.execute(f"PRAGMA busy_timeout = {int(BUSY_POLL_SECONDS * 1000)}")
        try:
            self._while_busy(lambda: self._conn.execute(sql))
        finally:
            self._conn.execute(f"PRAGMA busy_timeout = {int(QUIET_BUSY_WAIT_SECONDS * 1000)}")

    def _while_busy(self, action: Callable[[], object]) -> None:
        started = time.monotonic()
        last_log = started
        while True:
            try:
                action()
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
            waited = time.monotonic() - started
            limit = MAX_BUSY_WAIT_SECONDS if self.on_busy else QUIET_BUSY_WAIT_SECONDS
            if waited > limit:
                raise CatalogBusy(
                    f"{self.workspace}: another program has kept the catalog locked for "
                    f"{waited:.0f} s; close it (or wait for it to finish) and try again"
                )
            if time.monotonic() - last_log > 10:
                log.info("waiting for another program to release the catalog (%.0f s)", waited)
                last_log = time.monotonic()
            if self.on_busy is not None:
                self.on_busy(waited)

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("SELECT version FROM schema_version").fetchone()[0])

    # -- datasets --------------------------------------------------------
    def create_dataset(
        self,
        name: str,
        kind: str = "style",
        tradition: str = "",
        region: str = "",
        era: str = "",
        description: str = "",
        pipeline: PipelineConfig | None = None,
    ) -> int:
        name = self._checked_new_dataset(name, kind)
        try:
            with self._tx() as c:
                return self._insert_dataset(
                    c, name, kind, tradition, region, era, description, pipeline
                )
        except sqlite3.IntegrityError as exc:
            raise CatalogError(f"a dataset named {name!r} already exists") from exc

    def ensure_dataset(
        self,
        name: str,
        kind: str = "style",
        tradition: str = "",
        region: str = "",
        era: str = "",
        description: str = "",
        pipeline: PipelineConfig | None = None,
    ) -> tuple[int, bool]:
        """The live dataset called ``name``, created (with these fields) when there is
        none: ``(id, created)``. One write transaction, so several processes asking at once
        all get the same dataset; a name held by a trashed one gets a fresh one ("name (2)")."""
        name = self._checked_new_dataset(name, kind)
        with self._tx() as c:
            rows = c.execute(
                "SELECT id, deleted_at FROM datasets WHERE name = ?", (name,)
            ).fetchall()
            if rows and rows[0]["deleted_at"] is None:
                return int(rows[0]["id"]), False
            wanted = name if not rows else self._free_name(c, name)
            dataset_id = self._insert_dataset(
                c, wanted, kind, tradition, region, era, description, pipeline
            )
        return dataset_id, True

    @staticmethod
    def _checked_new_dataset(name: str, kind: str) -> str:
        name = name.strip()
        if not name:
            raise CatalogError("a dataset needs a name")
        if kind not in DATASET_KINDS:
            raise CatalogError(f"dataset kind {kind!r} is not one of {', '.join(DATASET_KINDS)}")
        return name

    @staticmethod
    def _insert_dataset(
        c: sqlite3.Connection,
        name: str,
        kind: str,
        tradition: str,
        region: str,
        era: str,
        description: str,
        pipeline: PipelineConfig | None,
    ) -> int:
        cur = c.execute(
            "INSERT INTO datasets (name, kind, tradition, region, era, description, "
            "pipeline) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                name,
                kind,
                tradition,
                region,
                era,
                description,
                pipeline_to_json(pipeline or PipelineConfig()),
            ),
        )
        return int(cur.lastrowid)

    @staticmethod
    def _free_name(c: sqlite3.Connection, name: str) -> str:
        taken = {r[0] for r in c.execute("SELECT name FROM datasets")}
        n = 2
        while f"{name} ({n})" in taken:
            n += 1
        return f"{name} ({n})"

    def _dataset_from_row(self, row: sqlite3.Row) -> Dataset:
        return Dataset(
            id=row["id"],
            name=row["name"],
            kind=row["kind"],
            tradition=row["tradition"],
            region=row["region"],
            era=row["era"],
            description=row["description"],
            pipeline=pipeline_from_json(row["pipeline"]),
            created=row["created"],
            image_count=row["image_count"],
            licenses=[x for x in (row["licenses"] or "").split("\x1f") if x],
            deleted=row["deleted_at"] is not None,
        )

    _DATASET_QUERY = """
        SELECT d.*,
            (SELECT COUNT(*) FROM images i WHERE i.dataset_id = d.id AND i.deleted_at IS NULL)
                AS image_count,
            (SELECT GROUP_CONCAT(license, char(31)) FROM (SELECT DISTINCT license FROM images i
                WHERE i.dataset_id = d.id AND i.deleted_at IS NULL AND license != ''
                ORDER BY license)) AS licenses
        FROM datasets d
    """

    def get_dataset(self, dataset_id: int) -> Dataset:
        row = self._conn.execute(self._DATASET_QUERY + " WHERE d.id = ?", (dataset_id,)).fetchone()
        if row is None:
            raise CatalogError(f"no dataset with id {dataset_id}")
        return self._dataset_from_row(row)

    def find_dataset(self, name_or_id: str | int) -> Dataset:
        """A dataset by exact name, or by id given as a number."""
        row = self._conn.execute(
            self._DATASET_QUERY + " WHERE d.name = ? AND d.deleted_at IS NULL", (str(name_or_id),)
        ).fetchone()
        if row is not None:
            return self._dataset_from_row(row)
        if str(name_or_id).isdigit():
            return self.get_dataset(int(name_or_id))
        raise CatalogError(f"no dataset named {name_or_id!r}; `library list` shows them")

    def list_datasets(
        self, tradition: str | None = None, *, include_deleted: bool = False
    ) -> list[Dataset]:
        where, args = [], []
        if not include_deleted:
            where.append("d.deleted_at IS NULL")
        if tradition:
            where.append("d.tradition = ?")
            args.append(tradition)
        sql = self._DATASET_QUERY
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._conn.execute(sql + " ORDER BY d.kind DESC, d.name", args).fetchall()
        return [self._dataset_from_row(r) for r in rows]

    def traditions(self) -> list[str]:
        rows = self._conn.execute(
            "SELECT DISTINCT tradition FROM datasets WHERE deleted_at IS NULL "
            "AND tradition != '' ORDER BY tradition"
        ).fetchall()
        return [r[0] for r in rows]

    def update_dataset(self, dataset_id: int, **fields: Any) -> dict[str, Any]:
        """Change dataset fields (and ``pipeline``); returns the old values for undo."""
        unknown = set(fields) - set(DATASET_FIELDS) - {"pipeline"}
        if unknown:
            raise CatalogError(f"unknown dataset field(s): {', '.join(sorted(unknown))}")
        if "kind" in fields and fields["kind"] not in DATASET_KINDS:
            raise CatalogError(f"dataset kind {fields['kind']!r} is not style or content")
        if "name" in fields and not str(fields["name"]).strip():
            raise CatalogError("a dataset needs a name")
        current = self.get_dataset(dataset_id)
        old = {k: getattr(current, k) for k in fields}
        sets, args = [], []
        for key, value in fields.items():
            sets.append(f"{key} = ?")
            args.append(pipeline_to_json(value) if key == "pipeline" else str(value))
        if not sets:
            return old
        try:
            with self._tx() as c:
                c.execute(
                    f"UPDATE datasets SET {', '.join(sets)} WHERE id = ?", (*args, dataset_id)
                )
        except sqlite3.IntegrityError as exc:
            raise CatalogError(f"a dataset named {fields.get('name')!r} already exists") from exc
        return old

    def delete_dataset(self, dataset_id: int) -> None:
        """Move a dataset to the trash (``restore_dataset`` brings it back)."""
        with self._tx() as c:
            c.execute(f"UPDATE datasets SET deleted_at = {_now_sql()} WHERE id = ?", (dataset_id,))

    def restore_dataset(self, dataset_id: int) -> None:
        with self._tx() as c:
            c.execute("UPDATE datasets SET deleted_at = NULL WHERE id = ?", (dataset_id,))

    # -- images ----------------------------------------------------------
    def add_image(
        self,
        dataset_id: int,
        sha256: str,
        width: int,
        height: int,
        *,
        title: str = "",
        artist: str = "",
        year: str = "",
        source: str = "",
        license: str = "",
        tags: Iterable[str] | str = (),
        original_name: str = "",
        format: str = "",
        orientation: int = 1,
        phash: str | None = None,
        near_duplicate_of: int | None = None,
        notes: str = "",
    ) -> int:
        """Add a row for an object already in the store (crash safety depends on that order)."""
        row = dict(
            dataset_id=dataset_id,
            sha256=sha256,
            width=width,
            height=height,
            title=title,
            artist=artist,
            year=year,
            source=source,
            license=license,
            tags=tags,
            original_name=original_name,
            format=format,
            orientation=orientation,
            phash=phash,
            near_duplicate_of=near_duplicate_of,
            notes=notes,
        )
        return self.add_images([row])[0]

    def add_images(self, rows: list[Mapping[str, Any]]) -> list[int]:
        """Add many rows in one transaction (keys as ``add_image`` takes them); their ids.

        Every object must already be in the store: a crash then leaves at worst orphans.
        A row for an image the dataset already holds gives that image's id (see
        :meth:`insert_images` to tell the cases apart).
        """
        return [image_id for image_id, _ in self.insert_images(rows)]

    def insert_images(self, rows: list[Mapping[str, Any]]) -> list[tuple[int, str]]:
        """Like :meth:`add_images`, with each row's outcome: ``(id, "added")``; ``(id,
        "present")`` when the dataset already holds that image (another import may have
        just added it); ``(id, "restored")`` when it was in the trash and is back."""
        out: list[tuple[int, str]] = []
        with self._tx() as c:
            for row in rows:
                # Checked under the write lock: a clean-up removes objects only while it
                # holds that lock, so the object cannot vanish before this commits.
                if not self.store.has(row["sha256"]):
                    raise CatalogError(
                        f"object {row['sha256']} is not in the store; store it before adding"
                    )
                out.append(self._insert_row(c, row))
        return out

    def _insert_row(self, c: sqlite3.Connection, row: Mapping[str, Any]) -> tuple[int, str]:
        found = c.execute(
            "SELECT id, deleted_at FROM images WHERE dataset_id = ? AND sha256 = ?",
            (row["dataset_id"], row["sha256"]),
        ).fetchone()
        if found is not None:
            if found["deleted_at"] is None:
                return int(found["id"]), "present"
            c.execute("UPDATE images SET deleted_at = NULL WHERE id = ?", (found["id"],))
            return int(found["id"]), "restored"
        cur = c.execute(
            "INSERT INTO images (dataset_id, sha256, width, height, title, artist, "
            "year, source, license, original_name, format, orientation, phash, "
            "near_duplicate_of, notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row["dataset_id"],
                row["sha256"],
                int(row["width"]),
                int(row["height"]),
                _text(row.get("title", "")),
                _text(row.get("artist", "")),
                _text(row.get("year", "")),
                _text(row.get("source", "")),
                _text(row.get("license", "")),
                _text(row.get("original_name", "")),
                _text(row.get("format", "")),
                int(row.get("orientation", 1)),
                row.get("phash"),
                row.get("near_duplicate_of"),
                _text(row.get("notes", "")),
            ),
        )
        image_id = int(cur.lastrowid)
        c.executemany(
            "INSERT INTO image_tags (image_id, tag) VALUES (?, ?)",
            [(image_id, _text(t)) for t in _clean_tags(row.get("tags", ()))],
        )
        return image_id, "added"

    _IMAGE_QUERY = """
        SELECT i.*, (SELECT GROUP_CONCAT(tag, char(31)) FROM
            (SELECT tag FROM image_tags t WHERE t.image_id = i.id ORDER BY tag)) AS tag_list
        FROM images i
    """

    @staticmethod
    def _image_from_row(row: sqlite3.Row) -> ImageRecord:
        return ImageRecord(
            id=row["id"],
            dataset_id=row["dataset_id"],
            sha256=row["sha256"],
            width=row["width"],
            height=row["height"],
            title=row["title"],
            artist=row["artist"],
            year=row["year"],
            source=row["source"],
            license=row["license"],
            tags=[t for t in (row["tag_list"] or "").split("\x1f") if t],
            original_name=row["original_name"],
            format=row["format"],
            orientation=row["orientation"],
            phash=row["phash"],
            near_duplicate_of=row["near_duplicate_of"],
            duplicate_kept=bool(row["duplicate_kept"]),
            notes=row["notes"],
            imported=row["imported"],
            deleted=row["deleted_at"] is not None,
        )

    def get_image(self, image_id: int) -> ImageRecord:
        row = self._conn.execute(self._IMAGE_QUERY + " WHERE i.id = ?", (image_id,)).fetchone()
        if row is None:
            raise CatalogError(f"no image with id {image_id}")
        return self._image_from_row(row)

    def list_images(
        self,
        dataset_id: int | None = None,
        *,
        search: str = "",
        tag: str | None = None,
        artist: str | None = None,
        license: str | None = None,
        tradition: str | None = None,
        include_deleted: bool = False,
    ) -> list[ImageRecord]:
        """Images, filtered; ``search`` matches title, artist, license, source, file name, tags."""
        where, args = [], []
        if dataset_id is not None:
            where.append("i.dataset_id = ?")
            args.append(dataset_id)
        if not include_deleted:
            where.append("i.deleted_at IS NULL")
        if tag:
            where.append(
                "EXISTS (SELECT 1 FROM image_tags t WHERE t.image_id = i.id AND t.tag = ?)"
            )
            args.append(tag)
        if artist:
            where.append("i.artist = ?")
            args.append(artist)
        if license:
            where.append("i.license = ?")
            args.append(license)
        if tradition:
            where.append("i.dataset_id IN (SELECT id FROM datasets WHERE tradition = ?)")
            args.append(tradition)
        for word in search.split():
            pattern = f"%{word}%"
            where.append(
                "(i.title LIKE ? OR i.artist LIKE ? OR i.license LIKE ? OR i.source LIKE ? "
                "OR i.original_name LIKE ? OR i.year LIKE ? OR EXISTS (SELECT 1 FROM image_tags t "
                "WHERE t.image_id = i.id AND t.tag LIKE ?))"
            )
            args.extend([pattern] * 7)
        sql = self._IMAGE_QUERY
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._conn.execute(sql + " ORDER BY i.id", args).fetchall()
        return [self._image_from_row(r) for r in rows]

    def distinct_values(self, field: str, dataset_id: int | None = None) -> list[str]:
        """Distinct non-empty ``tag``, ``artist`` or ``license`` values (for filter menus)."""
        scope = "i.deleted_at IS NULL" + (" AND i.dataset_id = ?" if dataset_id else "")
        args = (dataset_id,) if dataset_id else ()
        if field == "tag":
            sql = (
                "SELECT DISTINCT t.tag FROM image_tags t JOIN images i ON i.id = t.image_id "
                f"WHERE {scope} ORDER BY t.tag"
            )
        elif field in ("artist", "license"):
            sql = (
                f"SELECT DISTINCT i.{field} FROM images i WHERE {scope} AND i.{field} != '' "
                f"ORDER BY i.{field}"
            )
        else:
            raise CatalogError(f"cannot list values of {field!r}")
        return [r[0] for r in self._conn.execute(sql, args).fetchall()]

    def phashes(self, dataset_id: int) -> list[tuple[int, str]]:
        rows = self._conn.execute(
            "SELECT id, phash FROM images WHERE dataset_id = ? AND deleted_at IS NULL "
            "AND phash IS NOT NULL",
            (dataset_id,),
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def image_with_sha(self, dataset_id: int, sha256: str) -> int | None:
        row = self._conn.execute(
            "SELECT id FROM images WHERE dataset_id = ? AND sha256 = ? AND deleted_at IS NULL",
            (dataset_id, sha256),
        ).fetchone()
        return None if row is None else int(row[0])

    def update_image_fields(
        self, image_ids: int | Iterable[int], fields: Mapping[str, Any]
    ) -> dict[int, dict[str, Any]]:
        """Set the same ``fields`` on every image; returns each image's old values for undo."""
        ids = [image_ids] if isinstance(image_ids, int) else list(image_ids)
        return self.set_image_fields({i: dict(fields) for i in ids})

    def set_image_fields(self, per_image: Mapping[int, Mapping[str, Any]]) -> dict[int, dict]:
        """Set per-image fields (what ``update_image_fields`` returned undoes it)."""
        for values in per_image.values():
            unknown = set(values) - set(IMAGE_FIELDS)
            if unknown:
                raise CatalogError(f"unknown image field(s): {', '.join(sorted(unknown))}")
        old: dict[int, dict[str, Any]] = {}
        with self._tx() as c:
            for image_id, values in per_image.items():
                row = c.execute(self._IMAGE_QUERY + " WHERE i.id = ?", (image_id,)).fetchone()
                if row is None:
                    raise CatalogError(f"no image with id {image_id}")
                record = self._image_from_row(row)
                old[image_id] = {k: getattr(record, k) for k in values}
                columns = {k: v for k, v in values.items() if k != "tags"}
                if columns:
                    sets = ", ".join(f"{k} = ?" for k in columns)
                    c.execute(
                        f"UPDATE images SET {sets} WHERE id = ?",
                        (*[str(v) for v in columns.values()], image_id),
                    )
                if "tags" in values:
                    c.execute("DELETE FROM image_tags WHERE image_id = ?", (image_id,))
                    c.executemany(
                        "INSERT INTO image_tags (image_id, tag) VALUES (?, ?)",
                        [(image_id, t) for t in _clean_tags(values["tags"])],
                    )
        return old

    def set_duplicate_kept(self, image_ids: Iterable[int], kept: bool) -> dict[int, bool]:
        """Keep near duplicates (train on them after all) or leave them out again;
        returns each image's old decision, for undo (pass it to :meth:`restore_duplicate_kept`)."""
        old: dict[int, bool] = {}
        with self._tx() as c:
            for image_id in image_ids:
                row = c.execute(
                    "SELECT duplicate_kept FROM images WHERE id = ?", (image_id,)
                ).fetchone()
                if row is None:
                    raise CatalogError(f"no image with id {image_id}")
                old[image_id] = bool(row[0])
                c.execute(
                    "UPDATE images SET duplicate_kept = ? WHERE id = ?", (int(kept), image_id)
                )
        return old

    def restore_duplicate_kept(self, decisions: Mapping[int, bool]) -> None:
        with self._tx() as c:
            c.executemany(
                "UPDATE images SET duplicate_kept = ? WHERE id = ?",
                [(int(kept), image_id) for image_id, kept in decisions.items()],
            )

    def near_duplicate_pairs(self, dataset_id: int) -> list[tuple[ImageRecord, ImageRecord]]:
        """(flagged image, the live image it looks like) for the dataset's live flags."""
        images = {i.id: i for i in self.list_images(dataset_id)}
        return [
            (image, images[image.near_duplicate_of])
            for image in images.values()
            if image.near_duplicate_of is not None and image.near_duplicate_of in images
        ]

    def delete_images(self, image_ids: Iterable[int]) -> list[int]:
        """Move images to the trash; returns the ids that were live (pass to restore_images)."""
        ids = list(image_ids)
        moved: list[int] = []
        with self._tx() as c:
            for image_id in ids:
                cur = c.execute(
                    f"UPDATE images SET deleted_at = {_now_sql()} "
                    "WHERE id = ? AND deleted_at IS NULL",
                    (image_id,),
                )
                if cur.rowcount:
                    moved.append(image_id)
        return moved

    def restore_images(self, image_ids: Iterable[int]) -> None:
        with self._tx() as c:
            c.executemany(
                "UPDATE images SET deleted_at = NULL WHERE id = ?", [(i,) for i in image_ids]
            )

    def empty_trash(self) -> int:
        """Delete trashed images and datasets for good, and objects nothing else uses."""
        with self._tx() as c:
            c.execute(
                "DELETE FROM images WHERE deleted_at IS NOT NULL OR dataset_id IN "
                "(SELECT id FROM datasets WHERE deleted_at IS NOT NULL)"
            )
            removed = c.execute("SELECT changes()").fetchone()[0]
            c.execute("DELETE FROM datasets WHERE deleted_at IS NOT NULL")
        self._remove_unreferenced_objects()
        return int(removed)

    def _referenced(self) -> set[str]:
        return {r[0] for r in self._conn.execute("SELECT DISTINCT sha256 FROM images")}

    def _remove_unreferenced_objects(self) -> list[str]:
        referenced = self._referenced()
        candidates = [sha for sha in self.store.iter_objects() if sha not in referenced]
        return self.discard_objects(candidates).orphans_removed

    # -- writers and clean-up ----------------------------------------------------
    #
    # An importer stores an object before the row that refers to it commits, so for a
    # moment a live import's objects look like orphans. Whoever removes orphans therefore
    # does it only while holding the write lock and only when no other process (or
    # Catalog) is registered as writing; a writer registers (under the same lock) before
    # it stores anything. Rows of crashed writers name a process that is gone and are
    # cleared.

    @contextlib.contextmanager
    def writing(self) -> Iterator[str]:
        """Register this catalog as writing objects for the duration (see above)."""
        token = f"{os.getpid()}-{secrets.token_hex(6)}"
        with self._tx() as c:
            c.execute(
                "INSERT INTO writers (token, pid, host) VALUES (?, ?, ?)",
                (token, os.getpid(), _HOST),
            )
        self._writer_tokens.add(token)
        try:
            yield token
        finally:
            self._writer_tokens.discard(token)
            with contextlib.suppress(sqlite3.Error, CatalogError):
                with self._tx() as c:
                    c.execute("DELETE FROM writers WHERE token = ?", (token,))

    def _other_live_writers(self, c: sqlite3.Connection) -> int:
        """Writers other than this catalog's that still run; clears those that do not."""
        live = 0
        for row in c.execute("SELECT token, pid, host FROM writers").fetchall():
            if row["token"] in self._writer_tokens:
                continue
            if row["host"] == _HOST and not pid_alive(int(row["pid"])):
                c.execute("DELETE FROM writers WHERE token = ?", (row["token"],))
                continue
            live += 1
        return live

    def discard_objects(self, shas: Iterable[str]) -> TidyReport:
        """Remove these objects if no row refers to them and no other writer is at work."""
        report = TidyReport()
        candidates = sorted(set(shas))
        if not candidates:
            return report
        with self._tx() as c:
            if self._other_live_writers(c):
                report.orphans_kept = len(candidates)
                return report
            for sha in candidates:
                if c.execute("SELECT 1 FROM images WHERE sha256 = ?", (sha,)).fetchone():
                    continue  # a row refers to it after all
                self.store.remove(sha)
                for thumb in self.thumbs_dir.glob(f"{sha}_*.jpg"):
                    thumb.unlink(missing_ok=True)
                report.orphans_removed.append(sha)
        return report

    def tidy(self) -> TidyReport:
        """Repair what an interrupted write can leave and is safe to repair at any time:
        temp files of processes that have ended, and orphan objects (when no other writer
        is at work). Missing or changed objects are left to ``check(repair=True)``."""
        stale = [str(p) for p in self.store.remove_stale_temp_files()]
        referenced = self._referenced()
        orphans = [sha for sha in self.store.iter_objects() if sha not in referenced]
        report = self.discard_objects(orphans)
        report.leftovers_removed = stale
        if report.orphans_kept == 0 and self.tmp_dir.is_dir():
            for p in sorted(self.tmp_dir.iterdir()):
                if p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)
                report.leftovers_removed.append(str(p))
        if not report.nothing_done:
            log.info("catalog tidied: %s", report.summary())
        return report

    def image_path(self, image: int | ImageRecord) -> Path:
        record = image if isinstance(image, ImageRecord) else self.get_image(image)
        return self.store.path_for(record.sha256)

    def read_image(self, image: int | ImageRecord, max_pixels: int | None = None) -> Image.Image:
        """The image upright (EXIF orientation applied) as 8-bit RGB; originals stay as stored."""
        return load_rgb(self.image_path(image), max_pixels=max_pixels)

    def backfill_image_facts(self) -> int:
        """Fill perceptual hash, orientation and format for rows that lack them (rows from
        a version-1 catalog); returns how many were filled. Missing objects are left for
        ``check``."""
        from .probe import ImageRejected, inspect_image

        rows = self._conn.execute(
            "SELECT id, sha256 FROM images WHERE phash IS NULL OR format = ''"
        ).fetchall()
        filled = 0
        for image_id, sha in rows:
            try:
                facts = inspect_image(self.store.read_bytes(sha))
            except (OSError, ValueError, ImageRejected) as exc:
                log.info("image #%s: cannot fill its facts (%s)", image_id, exc)
                continue
            with self._tx() as c:
                c.execute(
                    "UPDATE images SET phash = ?, orientation = ?, format = ?, width = ?, "
                    "height = ? WHERE id = ?",
                    (
                        facts.phash,
                        facts.orientation,
                        facts.format,
                        facts.width,
                        facts.height,
                        image_id,
                    ),
                )
            filled += 1
        return filled

    # -- health ----------------------------------------------------------
    def check(self, repair: bool = False, *, verify_hashes: bool = True) -> CheckReport:
        """Find orphans, missing objects, hash mismatches and leftovers; ``repair`` fixes them.

        Repair removes orphan objects and temp files, moves objects whose bytes changed to
        ``quarantine/`` and removes the rows (live or trashed) whose object is missing or bad.
        """
        report = CheckReport()
        referenced = self._referenced()
        stored = set(self.store.iter_objects())
        report.orphans = sorted(stored - referenced)
        report.missing = sorted(referenced - stored)
        if verify_hashes:
            report.mismatched = sorted(
                sha for sha in referenced & stored if not self.store.verify(sha)
            )
        report.leftovers = sorted(str(p) for p in self.store.iter_leftovers())
        if self.tmp_dir.exists():
            report.leftovers += sorted(str(p) for p in self.tmp_dir.iterdir())
        if repair and not report.ok:
            for path in report.leftovers:
                p = Path(path)
                if p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)
            quarantine = self.workspace / "quarantine"
            for sha in report.mismatched:
                quarantine.mkdir(exist_ok=True)
                shutil.move(self.store.path_for(sha), quarantine / sha)
            bad = report.missing + report.mismatched
            with self._tx() as c:
                for sha in bad:
                    cur = c.execute("DELETE FROM images WHERE sha256 = ?", (sha,))
                    report.removed_rows += cur.rowcount
            # Orphans go the careful way: never while another program is importing.
            kept = self.discard_objects(report.orphans).orphans_kept
            if kept:
                log.info("catalog repair left %d orphan object(s): another import is at work", kept)
            report.repaired = True
            log.info("catalog repair: %s", report.summary())
        return report
