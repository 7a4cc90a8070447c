"""The catalog's SQLite schema and its migrations.

A new catalog is made by creating the version-1 tables and running every migration, so
the path an old catalog takes is the path every catalog takes (and is tested).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

log = logging.getLogger(__name__)

# Version 1 as it shipped: tags were a comma-separated text column.
V1_SQL = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (1);
CREATE TABLE datasets (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL DEFAULT 'style' CHECK (kind IN ('style', 'content')),
    tradition TEXT NOT NULL DEFAULT '',
    region TEXT NOT NULL DEFAULT '',
    era TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE TABLE images (
    id INTEGER PRIMARY KEY,
    dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    sha256 TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    artist TEXT NOT NULL DEFAULT '',
    year TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT '',
    license TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '',
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    original_name TEXT NOT NULL DEFAULT '',
    imported TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX images_dataset ON images(dataset_id);
CREATE INDEX images_sha ON images(sha256);
"""


def _v1_to_v2(conn: sqlite3.Connection) -> None:
    """Version 2: a tag table, perceptual hashes, orientation, trash, per-dataset pipeline."""
    _execute_script(
        conn,
        """
        ALTER TABLE datasets ADD COLUMN pipeline TEXT NOT NULL DEFAULT '{}';
        ALTER TABLE datasets ADD COLUMN deleted_at TEXT;
        ALTER TABLE images ADD COLUMN phash TEXT;
        ALTER TABLE images ADD COLUMN orientation INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE images ADD COLUMN format TEXT NOT NULL DEFAULT '';
        ALTER TABLE images ADD COLUMN notes TEXT NOT NULL DEFAULT '';
        ALTER TABLE images ADD COLUMN near_duplicate_of INTEGER
            REFERENCES images(id) ON DELETE SET NULL;
        ALTER TABLE images ADD COLUMN deleted_at TEXT;
        CREATE TABLE image_tags (
            image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
            tag TEXT NOT NULL,
            PRIMARY KEY (image_id, tag)
        );
        CREATE INDEX image_tags_tag ON image_tags(tag);
        """,
    )
    rows = conn.execute("SELECT id, tags FROM images WHERE tags != ''").fetchall()
    for image_id, text in rows:
        for tag in {t.strip() for t in text.split(",") if t.strip()}:
            conn.execute("INSERT INTO image_tags (image_id, tag) VALUES (?, ?)", (image_id, tag))
    conn.execute("UPDATE images SET tags = ''")  # kept empty; image_tags is the truth now


def _execute_script(conn: sqlite3.Connection, script: str) -> None:
    # executescript() would COMMIT the surrounding transaction; run statement by statement
    # so that a migration is all or nothing.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _v2_to_v3(conn: sqlite3.Connection) -> None:
    """Version 3: one row per (dataset, image), and a table of the processes writing.

    Concurrent imports could store a file twice in one dataset; those duplicates are
    merged into one row (the live one if any, else the oldest): empty fields are filled
    from the others, tags are pooled and near-duplicate links point at the kept row.
    """
    groups = conn.execute(
        "SELECT dataset_id, sha256 FROM images GROUP BY dataset_id, sha256 HAVING COUNT(*) > 1"
    ).fetchall()
    for dataset_id, sha in groups:
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM images WHERE dataset_id = ? AND sha256 = ? "
                "ORDER BY deleted_at IS NOT NULL, id",
                (dataset_id, sha),
            )
        ]
        keep, others = ids[0], sorted(ids[1:])  # fields fill from the oldest first
        for other in others:
            for column in _MERGED_TEXT_COLUMNS:
                conn.execute(
                    f"UPDATE images SET {column} = (SELECT {column} FROM images WHERE id = ?) "
                    f"WHERE id = ? AND {column} = ''",
                    (other, keep),
                )
            conn.execute(
                "INSERT OR IGNORE INTO image_tags (image_id, tag) "
                "SELECT ?, tag FROM image_tags WHERE image_id = ?",
                (keep, other),
            )
            conn.execute(
                "UPDATE images SET near_duplicate_of = ? WHERE near_duplicate_of = ?",
                (keep, other),
            )
            conn.execute("DELETE FROM image_tags WHERE image_id = ?", (other,))
            conn.execute("DELETE FROM images WHERE id = ?", (other,))
        conn.execute(
            "UPDATE images SET near_duplicate_of = NULL WHERE id = ? AND near_duplicate_of = id",
            (keep,),
        )
        log.info("merged %d duplicate rows of one image in dataset %d", len(others), dataset_id)
    _execute_script(
        conn,
        """
        DROP INDEX IF EXISTS images_sha;
        CREATE INDEX images_sha ON images(sha256);
        CREATE UNIQUE INDEX images_dataset_sha ON images(dataset_id, sha256);
        CREATE TABLE writers (
            token TEXT PRIMARY KEY,
            pid INTEGER NOT NULL,
            host TEXT NOT NULL,
            started TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        );
        """,
    )


_MERGED_TEXT_COLUMNS = (
    "title",
    "artist",
    "year",
    "source",
    "license",
    "original_name",
    "format",
    "notes",
)


def _v3_to_v4(conn: sqlite3.Connection) -> None:
    """Version 4: a near duplicate the person reviewed and kept (trained on after all).

    ``near_duplicate_of`` stays the fact (which image it looks like); ``duplicate_kept``
    is the decision. Existing flags start undecided: left out of training, as they were
    meant to be."""
    conn.execute("ALTER TABLE images ADD COLUMN duplicate_kept INTEGER NOT NULL DEFAULT 0")


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _v1_to_v2,
    2: _v2_to_v3,
    3: _v3_to_v4,
}
SCHEMA_VERSION = 1 + len(MIGRATIONS)


class NewerCatalogError(RuntimeError):
    """The catalog was written by a newer version of the app."""


def current_version(conn: sqlite3.Connection) -> int:
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_version'"
    ).fetchone()
    if not has_table:
        return 0
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def _refuse_newer(version: int) -> None:
    if version > SCHEMA_VERSION:
        raise NewerCatalogError(
            f"the catalog has schema version {version}, this app understands up to "
            f"{SCHEMA_VERSION}; update the app to open it"
        )


def migrate(conn: sqlite3.Connection, begin: Callable[[str], None] | None = None) -> list[int]:
    """Bring ``conn`` (autocommit mode) up to SCHEMA_VERSION; returns the versions reached
    (``[1, ...]`` for a catalog made now).

    Everything runs in one exclusive transaction that reads the version again once it
    holds the lock: two processes opening a new or old workspace at once cannot both
    migrate it (one waits, then finds nothing to do). ``begin(sql)`` starts the
    transaction (the catalog passes one that waits for a busy database with progress).
    """
    version = current_version(conn)
    _refuse_newer(version)
    if version == SCHEMA_VERSION:
        return []
    (begin or conn.execute)("BEGIN EXCLUSIVE")
    try:
        version = current_version(conn)  # again, under the lock: another may have done it
        _refuse_newer(version)
        reached: list[int] = []
        fresh = version == 0
        if fresh:
            _execute_script(conn, V1_SQL)
            version = 1
            reached.append(1)
        while version < SCHEMA_VERSION:
            MIGRATIONS[version](conn)
            version += 1
            conn.execute("UPDATE schema_version SET version = ?", (version,))
            reached.append(version)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    if not fresh:
        log.info("catalog migrated to schema version %d", version)
    return reached
