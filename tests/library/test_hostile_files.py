"""Hostile files handed to the importer: special files, link loops, odd manifests. Each is
refused with the reason true to its cause, nothing blocks, and the rest is imported."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from ganstyle_desktop.cli import main
from ganstyle_desktop.library import Catalog, ManifestError, import_paths, read_manifest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX special files and links")


def _within(seconds: float, fn, *args):
    """fn(*args) in a thread; fails the test (rather than hanging it) if it blocks."""
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # re-raised below, in the test's thread
            box["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"{fn.__name__} blocked"
    if "error" in box:
        raise box["error"]
    return box["value"]


def _import_folder(workspace: Path, folder: Path):
    with Catalog.open(workspace) as catalog:  # in the worker thread: one catalog per thread
        return import_paths(catalog, catalog.create_dataset("d"), [folder])


def test_a_fifo_and_a_link_loop_in_a_folder_are_refused_and_the_rest_imported(
    tmp_path: Path, image_bytes
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.jpg").write_bytes(image_bytes(1))
    os.mkfifo(folder / "pipe.jpg")
    os.mkfifo(folder / "pipe.zip")
    (folder / "loop.jpg").symlink_to(folder / "loop.jpg")
    report = _within(30, _import_folder, tmp_path / "ws", folder)
    reasons = {Path(s.source).name: s.reason for s in report.skipped}
    assert reasons == {
        "pipe.jpg": "not a regular file (a FIFO (named pipe))",
        "pipe.zip": "not a regular file (a FIFO (named pipe))",
        "loop.jpg": "a symbolic link loop (the link leads back to itself)",
    }
    assert [Path(f.source).name for f in report.imported] == ["good.jpg"]


def test_an_explicit_link_loop_is_called_a_loop_by_the_cli(tmp_path: Path, capsys) -> None:
    loop = tmp_path / "loop.jpg"
    loop.symlink_to(loop)
    ws = str(tmp_path / "ws")
    assert main(["library", "--workspace", ws, "import", str(loop), "--dataset", "d"]) == 2
    assert "symbolic link loop" in capsys.readouterr().err


def test_hostile_manifests_are_manifest_errors(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ManifestError, match="nested too deeply"):
        read_manifest(deep)
    fifo = tmp_path / "manifest.csv"
    os.mkfifo(fifo)
    with pytest.raises(ManifestError, match="FIFO"):
        _within(30, read_manifest, fifo)


def test_an_over_long_name_inside_a_zip_is_stored_cut_to_255_characters(
    catalog: Catalog, tmp_path: Path, image_bytes
) -> None:
    import zipfile

    long_name = "長" * 600 + ".jpg"  # no file system allows it; a zip does
    archive = tmp_path / "long.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(long_name, image_bytes(3))
    did = catalog.create_dataset("d")
    report = import_paths(catalog, did, [archive])
    assert len(report.imported) == 1
    (image,) = catalog.list_images(did)
    assert len(image.original_name) == 255 and image.original_name.endswith("….jpg")
    assert len(image.title) <= 255
