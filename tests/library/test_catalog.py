"""The catalog: round trips, filters, undoable edits, trash, migrations, health checks."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ganstyle_desktop.engine.config import PipelineConfig
from ganstyle_desktop.library import Catalog, CatalogError
from ganstyle_desktop.library.schema import SCHEMA_VERSION, V1_SQL, NewerCatalogError


def _add(catalog: Catalog, dataset_id: int, payload: bytes, **fields) -> int:
    sha = catalog.store.put_bytes(payload)
    return catalog.add_image(dataset_id, sha, 10, 20, **fields)


def test_new_catalog_uses_wal_foreign_keys_and_current_schema(catalog: Catalog) -> None:
    conn = catalog._conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert catalog.schema_version == SCHEMA_VERSION


def test_dataset_round_trip_survives_reopening(tmp_path: Path) -> None:
    pipeline = PipelineConfig(
        resize=300, crop="center", rotations=(90, 270), hflip=False, vflip=True, color_jitter=0.2
    )
    with Catalog.open(tmp_path / "ws") as cat:
        did = cat.create_dataset(
            "浮世絵 prints",
            tradition="Japan, Edo",
            region="Japan",
            era="18th-19th c.",
            description="woodblocks",
            pipeline=pipeline,
        )
        image_id = _add(
            cat,
            did,
            b"one",
            title="Great Wave",
            artist="Hokusai",
            year="1831",
            source="museum",
            license="PD",
            tags=["sea", "wave", "sea"],
        )
    with Catalog.open(tmp_path / "ws", create=False) as cat:
        d = cat.get_dataset(did)
        assert (d.name, d.kind, d.tradition, d.region, d.era, d.description) == (
            "浮世絵 prints",
            "style",
            "Japan, Edo",
            "Japan",
            "18th-19th c.",
            "woodblocks",
        )
        assert d.pipeline == pipeline
        assert d.image_count == 1 and d.licenses == ["PD"]
        img = cat.get_image(image_id)
        assert img.fields() == {
            "title": "Great Wave",
            "artist": "Hokusai",
            "year": "1831",
            "source": "museum",
            "license": "PD",
            "tags": ["sea", "wave"],
        }
        assert cat.image_path(img).read_bytes() == b"one"


def test_open_without_create_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="no catalog here"):
        Catalog.open(tmp_path / "nothing", create=False)


def test_duplicate_dataset_name_and_bad_kind_are_refused(catalog: Catalog) -> None:
    catalog.create_dataset("ink")
    with pytest.raises(CatalogError, match="already exists"):
        catalog.create_dataset("ink")
    with pytest.raises(CatalogError, match="kind"):
        catalog.create_dataset("x", kind="video")


def test_rows_need_their_object_in_the_store_first(catalog: Catalog) -> None:
    did = catalog.create_dataset("a")
    with pytest.raises(CatalogError, match="not in the store"):
        catalog.add_image(did, "0" * 64, 1, 1)


def test_filters_by_tag_artist_license_tradition_and_search(catalog: Catalog) -> None:
    ink = catalog.create_dataset("ink", tradition="China")
    wave = catalog.create_dataset("wave", tradition="Japan")
    a = _add(catalog, ink, b"a", title="Mountain", artist="Fan Kuan", license="PD", tags=["peak"])
    b = _add(catalog, ink, b"b", title="River", artist="Guo Xi", license="CC BY", tags=["water"])
    c = _add(catalog, wave, b"c", title="Wave", artist="Hokusai", license="PD", tags=["water"])
    ids = lambda images: [i.id for i in images]  # noqa: E731
    assert ids(catalog.list_images(tag="water")) == [b, c]
    assert ids(catalog.list_images(ink, tag="water")) == [b]
    assert ids(catalog.list_images(artist="Fan Kuan")) == [a]
    assert ids(catalog.list_images(license="PD")) == [a, c]
    assert ids(catalog.list_images(tradition="Japan")) == [c]
    assert ids(catalog.list_images(search="riv")) == [b]
    assert ids(catalog.list_images(search="water hok")) == [c]
    assert [d.name for d in catalog.list_datasets(tradition="China")] == ["ink"]
    assert catalog.traditions() == ["China", "Japan"]
    assert catalog.distinct_values("tag") == ["peak", "water"]
    assert catalog.distinct_values("license", ink) == ["CC BY", "PD"]


def test_edit_returns_old_values_that_undo_it(catalog: Catalog) -> None:
    did = catalog.create_dataset("d")
    a = _add(catalog, did, b"a", title="A", tags=["x"])
    b = _add(catalog, did, b"b", title="B", artist="Someone")
    old = catalog.update_image_fields([a, b], {"artist": "Hiroshige", "tags": ["y", "z"]})
    assert old == {a: {"artist": "", "tags": ["x"]}, b: {"artist": "Someone", "tags": []}}
    assert catalog.get_image(a).artist == "Hiroshige" and catalog.get_image(b).tags == ["y", "z"]
    catalog.set_image_fields(old)  # undo
    assert catalog.get_image(a).fields()["tags"] == ["x"]
    assert catalog.get_image(b).artist == "Someone" and catalog.get_image(b).tags == []
    with pytest.raises(CatalogError, match="unknown image field"):
        catalog.update_image_fields(a, {"sha256": "x"})


def test_dataset_edit_returns_old_values(catalog: Catalog) -> None:
    did = catalog.create_dataset("d", tradition="old")
    old = catalog.update_dataset(did, tradition="new", pipeline=PipelineConfig(crop="center"))
    assert catalog.get_dataset(did).pipeline.crop == "center"
    catalog.update_dataset(did, **old)
    d = catalog.get_dataset(did)
    assert d.tradition == "old" and d.pipeline == PipelineConfig()


def test_delete_goes_to_trash_and_restores(catalog: Catalog) -> None:
    did = catalog.create_dataset("d")
    a = _add(catalog, did, b"a")
    b = _add(catalog, did, b"b")
    assert catalog.delete_images([a, a]) == [a]
    assert [i.id for i in catalog.list_images(did)] == [b]
    assert catalog.get_dataset(did).image_count == 1
    assert catalog.check().ok  # trashed rows still own their objects
    catalog.restore_images([a])
    assert [i.id for i in catalog.list_images(did)] == [a, b]
    catalog.delete_dataset(did)
    assert catalog.list_datasets() == []
    catalog.restore_dataset(did)
    assert [d.id for d in catalog.list_datasets()] == [did]


def test_empty_trash_removes_rows_and_unshared_objects(catalog: Catalog) -> None:
    d1, d2 = catalog.create_dataset("one"), catalog.create_dataset("two")
    a = _add(catalog, d1, b"shared")
    _add(catalog, d2, b"shared")
    gone = _add(catalog, d1, b"only here")
    sha_gone = catalog.get_image(gone).sha256
    catalog.delete_images([a, gone])
    assert catalog.empty_trash() == 2
    assert not catalog.store.has(sha_gone)
    assert catalog.store.has(catalog.get_image(catalog.list_images(d2)[0].id).sha256)
    assert catalog.check().ok


def test_migration_from_v1_keeps_data_and_moves_tags(tmp_path: Path) -> None:
    ws = tmp_path / "old"
    ws.mkdir()
    conn = sqlite3.connect(ws / "catalog.sqlite")
    conn.executescript(V1_SQL)
    conn.execute("INSERT INTO datasets (name, tradition) VALUES ('ukiyo-e', 'Japan')")
    conn.execute(
        "INSERT INTO images (dataset_id, sha256, title, tags, width, height) "
        "VALUES (1, ?, 'Wave', 'sea, blue ,sea', 8, 6)",
        ("ab" * 32,),
    )
    conn.commit()
    conn.close()
    with Catalog.open(ws) as cat:
        assert cat.schema_version == SCHEMA_VERSION
        img = cat.get_image(1)
        assert (img.title, img.tags, img.width, img.orientation) == ("Wave", ["blue", "sea"], 8, 1)
        assert cat.get_dataset(1).pipeline == PipelineConfig()
        assert cat.check(verify_hashes=False).missing == ["ab" * 32]


def test_migration_fills_hashes_and_orientation_of_old_rows(tmp_path: Path) -> None:
    import io

    from PIL import Image

    ws = tmp_path / "old"
    (ws / "objects").mkdir(parents=True)
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (60, 20), (1, 2, 3)).save(buf, "JPEG", exif=exif)
    with Catalog.open(tmp_path / "scratch") as scratch:
        sha = scratch.store.put_bytes(buf.getvalue())
    (ws / "objects" / sha[:2]).mkdir()
    (ws / "objects" / sha[:2] / sha[2:]).write_bytes(buf.getvalue())
    conn = sqlite3.connect(ws / "catalog.sqlite")
    conn.executescript(V1_SQL)
    conn.execute("INSERT INTO datasets (name) VALUES ('d')")
    conn.execute(
        "INSERT INTO images (dataset_id, sha256, width, height) VALUES (1, ?, 60, 20)", (sha,)
    )
    conn.commit()
    conn.close()
    with Catalog.open(ws) as cat:
        img = cat.get_image(1)
        assert (img.orientation, img.format, img.width, img.height) == (6, "JPEG", 20, 60)
        assert img.phash is not None and len(img.phash) == 23
        assert cat.check().ok


def test_newer_catalog_is_refused(tmp_path: Path) -> None:
    with Catalog.open(tmp_path / "ws") as cat:
        cat._conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(NewerCatalogError, match="update the app"):
        Catalog.open(tmp_path / "ws")


def test_check_finds_and_repairs_every_kind_of_damage(catalog: Catalog) -> None:
    did = catalog.create_dataset("d")
    keep = _add(catalog, did, b"fine")
    missing = _add(catalog, did, b"will vanish")
    changed = _add(catalog, did, b"will change")
    orphan = catalog.store.put_bytes(b"stored, then the process died before the row")
    catalog.image_path(missing).unlink()
    catalog.image_path(changed).write_bytes(b"bit rot")
    leftover = catalog.store.root / "ab" / ".half-written.tmp"
    leftover.parent.mkdir(exist_ok=True)
    leftover.write_bytes(b"partial")

    report = catalog.check()
    assert report.orphans == [orphan]
    assert report.missing == [catalog.get_image(missing).sha256]
    assert report.mismatched == [catalog.get_image(changed).sha256]
    assert report.leftovers == [str(leftover)]
    assert not report.ok and not report.repaired

    repaired = catalog.check(repair=True)
    assert repaired.repaired and repaired.removed_rows == 2
    assert catalog.check().ok
    assert [i.id for i in catalog.list_images(did, include_deleted=True)] == [keep]
    assert (catalog.workspace / "quarantine").is_dir() and not leftover.exists()


def test_store_is_content_addressed_and_idempotent(catalog: Catalog, tmp_path: Path) -> None:
    sha = catalog.store.put_bytes(b"hello")
    assert catalog.store.path_for(sha) == catalog.store.root / sha[:2] / sha[2:]
    src = tmp_path / "f.bin"
    src.write_bytes(b"hello")
    assert catalog.store.put_file(src) == sha
    assert list(catalog.store.iter_objects()) == [sha]
    assert list(catalog.store.iter_leftovers()) == []
    assert catalog.store.verify(sha)


def test_signatures_need_shape_and_colour_to_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np
    from PIL import Image

    from ganstyle_desktop.library.phash import SignatureIndex, _popcount, signature

    red, blue = Image.new("RGB", (32, 32), (220, 20, 20)), Image.new("RGB", (32, 32), (20, 20, 220))
    index = SignatureIndex()
    index.add(1, signature(red))
    assert index.near(signature(red.resize((20, 20)))) == 1
    assert index.near(signature(blue)) is None  # same (flat) shape, another colour
    index.add(2, signature(blue)[:16])  # a bare hash from before colours: shape alone
    assert index.near(signature(blue)) in (1, 2)
    values = np.array([0, 1, 2**64 - 1, 0b1011], dtype=np.uint64)
    assert _popcount(values).tolist() == [0, 1, 64, 3]
    monkeypatch.delattr(np, "bitwise_count", raising=False)  # the numpy 1.x path
    assert _popcount(values).tolist() == [0, 1, 64, 3]
