"""The catalog with concurrent writers and hostile names: nothing lost, nothing doubled,
nothing crashes. Two processes importing the same folder, two creating one workspace, a
writer holding the lock, an odd file name in a batch, a crash's leftovers."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from ganstyle_desktop.cli import main
from ganstyle_desktop.library import Catalog, import_paths
from ganstyle_desktop.library import catalog as catalog_module
from ganstyle_desktop.library.schema import SCHEMA_VERSION, _v1_to_v2

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}

# The library's side of `library create` and `library import --dataset NAME --create`,
# run by each process once all are ready (a go file appears), so that they race. (The CLI
# in a subprocess would import torch first: seconds per process; benchmarks/bench_fuzz.py
# and bench_library.py run the CLI itself.)
_RACER = textwrap.dedent(
    """
    import json, os, sys, time
    from ganstyle_desktop.library import Catalog, import_paths

    go, action, ws, *rest = sys.argv[1:]
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.0005)
    with Catalog.open(ws) as catalog:
        if action == "create":
            catalog.create_dataset(rest[0])
            print(json.dumps({"created": rest[0]}))
        else:
            dataset_id, _ = catalog.ensure_dataset("d")
            report = import_paths(catalog, dataset_id, [rest[0]])
            print(json.dumps({
                "imported": len(report.imported),
                "skipped": [{"reason": s.reason, "kind": s.kind} for s in report.skipped],
            }))
    """
)


def _together(tmp_path: Path, *arguments: list[str], timeout: float = 120) -> list[dict]:
    """Run the racer in one process per argument list, released at the same moment."""
    go = tmp_path / f"go-{time.monotonic_ns()}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(go), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        for args in arguments
    ]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready"
    go.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, err
        assert "Traceback" not in err, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _folder(tmp_path: Path, image_bytes, n: int, name: str = "in") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for i in range(n):
        (folder / f"{i:03d}.png").write_bytes(image_bytes(i, size=(32, 24), fmt="PNG"))
    return folder


def _duplicate_rows(ws: Path) -> int:
    conn = sqlite3.connect(ws / "catalog.sqlite")
    try:
        return conn.execute(
            "SELECT COUNT(*) FROM (SELECT 1 FROM images GROUP BY dataset_id, sha256 "
            "HAVING COUNT(*) > 1)"
        ).fetchone()[0]
    finally:
        conn.close()


# -- two processes, one workspace ------------------------------------------------------------


@pytest.mark.parametrize("repetition", range(2))
def test_two_processes_create_one_workspace_and_both_succeed(tmp_path: Path, repetition) -> None:
    ws = str(tmp_path / "ws")
    _together(tmp_path, ["create", ws, "one"], ["create", ws, "two"])
    with Catalog.open(ws, create=False) as catalog:
        assert sorted(d.name for d in catalog.list_datasets()) == ["one", "two"]


@pytest.mark.parametrize("repetition", range(2))
def test_two_processes_import_one_folder_without_duplicates_or_losses(
    tmp_path: Path, image_bytes, repetition
) -> None:
    folder = _folder(tmp_path, image_bytes, 40)
    ws = tmp_path / "ws"
    reports = _together(
        tmp_path, ["import", str(ws), str(folder)], ["import", str(ws), str(folder)]
    )
    assert sum(r["imported"] for r in reports) == 40  # each file once, by one of them
    assert all(s["kind"] == "duplicate" for r in reports for s in r["skipped"])
    with Catalog.open(ws, create=False) as catalog:
        (dataset,) = catalog.list_datasets()
        images = catalog.list_images(dataset.id)
        assert len(images) == 40 and _duplicate_rows(ws) == 0
        assert catalog.check().ok


def test_a_dataset_created_by_another_process_mid_request_is_the_one_used(
    catalog: Catalog,
) -> None:
    # Another process creates "ink" the moment this one starts looking for it (modelled
    # with a second connection, from SQLite's statement trace). Before, the second look
    # saw the name taken and made "ink (2)", splitting a manifest's dataset in two.
    other = sqlite3.connect(catalog.workspace / "catalog.sqlite", timeout=0.1)
    seen: list[str] = []

    def create_elsewhere(statement: str) -> None:
        # Right after this catalog first looked for the dataset, whatever it does next.
        seen.append(statement)
        looked = [i for i, text in enumerate(seen) if "FROM datasets" in text]
        if not looked or len(seen) != looked[0] + 2:
            return
        try:  # refused while this catalog holds the write lock: then nothing is in between
            other.execute("INSERT INTO datasets (name) VALUES ('ink')")
            other.commit()
        except sqlite3.OperationalError:
            other.rollback()

    catalog._conn.set_trace_callback(create_elsewhere)
    try:
        dataset_id, _ = catalog.ensure_dataset("ink")
    finally:
        catalog._conn.set_trace_callback(None)
        other.close()
    assert [d.name for d in catalog.list_datasets()] == ["ink"]
    assert catalog.find_dataset("ink").id == dataset_id


# -- the schema forbids duplicates; the migration merges old ones ----------------------------


def test_a_catalog_with_duplicates_is_merged_by_the_migration(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    with Catalog.open(ws) as catalog:
        did = catalog.create_dataset("d")
        sha = catalog.store.put_bytes(b"the same file")
        other = catalog.store.put_bytes(b"another file")
        conn = catalog._conn
    # Rebuild it as a version-2 catalog holding what concurrent imports used to leave.
    db = ws / "catalog.sqlite"
    db.unlink()
    for extra in ("-wal", "-shm"):
        Path(str(db) + extra).unlink(missing_ok=True)
    conn = sqlite3.connect(db)
    from ganstyle_desktop.library.schema import V1_SQL

    conn.executescript(V1_SQL)
    _v1_to_v2(conn)
    conn.execute("UPDATE schema_version SET version = 2")
    conn.execute("INSERT INTO datasets (id, name) VALUES (?, 'd')", (did,))
    insert = (
        "INSERT INTO images (id, dataset_id, sha256, width, height, title, artist, deleted_at,"
        " near_duplicate_of) VALUES (?, ?, ?, 32, 24, ?, ?, ?, ?)"
    )
    conn.execute(insert, (1, did, sha, "Wave", "", "2026-01-01T00:00:00Z", None))
    conn.execute(insert, (2, did, sha, "", "Hokusai", None, None))
    conn.execute(insert, (3, did, sha, "Wave (copy)", "", None, None))
    conn.execute(insert, (4, did, other, "Other", "", None, 3))
    conn.execute("INSERT INTO image_tags VALUES (1, 'sea'), (3, 'blue'), (2, 'print')")
    conn.commit()
    conn.close()

    with Catalog.open(ws) as catalog:
        assert catalog.schema_version == SCHEMA_VERSION
        images = catalog.list_images(did, include_deleted=True)
        assert [i.id for i in images] == [2, 4]  # the live row is kept, the others merged in
        kept = catalog.get_image(2)
        assert (kept.title, kept.artist, kept.deleted) == ("Wave", "Hokusai", False)
        assert kept.tags == ["blue", "print", "sea"]
        assert catalog.get_image(4).near_duplicate_of == 2
        assert catalog.check().ok
        with pytest.raises(sqlite3.IntegrityError):  # and the schema refuses new ones
            catalog._conn.execute(
                "INSERT INTO images (dataset_id, sha256, width, height) VALUES (?, ?, 1, 1)",
                (did, sha),
            )


def test_reimporting_a_trashed_file_restores_it(catalog: Catalog, make_image) -> None:
    path = make_image("a.jpg", 1)
    did = catalog.create_dataset("d")
    (first,) = import_paths(catalog, did, [path]).imported
    catalog.delete_images([first.image_id])
    again = import_paths(catalog, did, [path])
    assert [f.image_id for f in again.imported] == [first.image_id]
    assert not catalog.get_image(first.image_id).deleted
    assert len(catalog.list_images(did, include_deleted=True)) == 1


# -- a writer holding the lock: wait with progress, never fail the batch ---------------------


def test_an_import_waits_for_a_writer_holding_the_lock(
    tmp_path: Path, image_bytes, monkeypatch
) -> None:
    monkeypatch.setattr(catalog_module, "BUSY_POLL_SECONDS", 0.1)
    folder = _folder(tmp_path, image_bytes, 12)
    ws = tmp_path / "ws"
    with Catalog.open(ws) as catalog:
        did = catalog.create_dataset("d")
        holder = sqlite3.connect(
            ws / "catalog.sqlite", isolation_level=None, check_same_thread=False
        )
        holder.execute("BEGIN IMMEDIATE")  # another program writing, for a while
        release = threading.Timer(1.5, lambda: holder.execute("COMMIT"))
        release.start()
        waits = []

        def progress(done, total, name):
            if "waiting" in name:
                waits.append(name)

        try:
            report = import_paths(catalog, did, [folder], progress=progress)
        finally:
            release.join()
            holder.close()
        assert len(report.imported) == 12 and report.skipped == []
        assert waits and "another program" in waits[0]
        assert catalog.check().ok


# -- one odd file never sinks a batch --------------------------------------------------------


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="needs non-UTF-8 file names")
def test_a_non_utf8_name_among_good_files_imports_them_all(
    tmp_path: Path, image_bytes, capsys
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(16):
        (folder / f"{i:02d}.jpg").write_bytes(image_bytes(i))
    odd = os.fsdecode(b"caf\xe9 \xff.jpg")
    (folder / odd).write_bytes(image_bytes(99))
    ws = str(tmp_path / "ws")
    code = main(["library", "--workspace", ws, "import", str(folder), "--dataset", "d", "--create"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Traceback" not in captured.err
    with Catalog.open(ws) as catalog:
        images = catalog.list_images()
        assert len(images) == 17
        assert "caf\\xe9 \\xff.jpg" in {i.original_name for i in images}
        assert catalog.check().ok


def test_a_row_the_catalog_refuses_costs_that_file_only(
    catalog: Catalog, tmp_path: Path, image_bytes, monkeypatch
) -> None:
    folder = _folder(tmp_path, image_bytes, 10)
    did = catalog.create_dataset("d")
    poisoned = (folder / "004.png").read_bytes()
    from ganstyle_desktop.library.store import sha256_bytes

    bad_sha = sha256_bytes(poisoned)
    real = catalog._insert_row

    def refuse_one(c, row):
        if row["sha256"] == bad_sha:
            raise sqlite3.DataError("simulated: this row cannot be stored")
        return real(c, row)

    monkeypatch.setattr(catalog, "_insert_row", refuse_one)
    report = import_paths(catalog, did, [folder])
    assert len(report.imported) == 9
    assert [Path(s.source).name for s in report.skipped] == ["004.png"]
    assert "could not be catalogued" in report.skipped[0].reason
    assert not catalog.store.has(bad_sha)  # its object did not stay behind as an orphan
    assert catalog.check().ok


# -- exit status: non-zero only when something failed ----------------------------------------


def test_import_exit_status_says_whether_anything_failed(
    tmp_path: Path, image_bytes, capsys
) -> None:
    folder = _folder(tmp_path, image_bytes, 3)
    ws = str(tmp_path / "ws")
    base = ["library", "--workspace", ws, "import", str(folder), "--dataset", "d"]
    assert main([*base, "--create"]) == 0
    capsys.readouterr()
    assert main(base) == 0  # everything already present: success
    out = capsys.readouterr().out
    assert "0 imported, 3 already in the dataset, 0 failed" in out
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (folder / "new.png").write_bytes(image_bytes(77, size=(32, 24), fmt="PNG"))
    assert main(base) == 1  # something failed, though something was imported
    out = capsys.readouterr().out
    assert "1 imported, 3 already in the dataset, 1 failed" in out
    assert "broken.png" in out


# -- a crash's leftovers are repaired on the next open, and said so --------------------------


def _crash_leftovers(catalog: Catalog) -> tuple[str, Path]:
    orphan = catalog.store.put_bytes(b"stored, then the importer was killed")
    dead_pid = _dead_pid()
    leftover = catalog.store.root / "ab" / f".{'c' * 62}.{dead_pid}-0123abcd.tmp"
    leftover.parent.mkdir(exist_ok=True)
    leftover.write_bytes(b"half")
    return orphan, leftover


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_check_repairs_a_crashs_orphans_on_open_and_says_so(tmp_path: Path, capsys) -> None:
    ws = tmp_path / "ws"
    with Catalog.open(ws) as catalog:
        orphan, leftover = _crash_leftovers(catalog)
    assert main(["library", "--workspace", str(ws), "check"]) == 0
    out = capsys.readouterr().out
    assert "repaired on open" in out and "1 orphan object" in out and "1 leftover" in out
    assert not leftover.exists()
    with Catalog.open(ws) as catalog:
        assert not catalog.store.has(orphan) and catalog.check().ok


def test_the_next_import_repairs_a_crashs_orphans_and_reports_it(
    catalog: Catalog, make_image
) -> None:
    orphan, leftover = _crash_leftovers(catalog)
    did = catalog.create_dataset("d")
    report = import_paths(catalog, did, [make_image("a.jpg", 1)])
    assert len(report.imported) == 1
    assert any("1 orphan object" in line for line in report.tidied)
    assert not catalog.store.has(orphan) and not leftover.exists()


def test_orphans_are_left_alone_while_another_writer_is_at_work(catalog: Catalog) -> None:
    orphan = catalog.store.put_bytes(b"maybe a live importer's, about to be catalogued")
    with Catalog.open(catalog.workspace) as other, other.writing():
        tidied = catalog.tidy()
        assert catalog.store.has(orphan)
        assert tidied.orphans_kept == 1 and "another" in tidied.summary()
    assert catalog.tidy().orphans_removed == [orphan]
