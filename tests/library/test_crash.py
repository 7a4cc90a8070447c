"""A process killed with SIGKILL in the middle of an import leaves a catalog that opens,
refers to no half-written file, and that ``check --repair`` makes fully consistent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ganstyle_desktop.library import Catalog

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import sys
    from ganstyle_desktop.library import Catalog, import_paths

    catalog = Catalog.open(sys.argv[1])
    did = catalog.create_dataset("victim")

    def progress(done, total, name):
        print(done, flush=True)

    import_paths(catalog, did, [sys.argv[2]], progress=progress)
    print("finished", flush=True)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_import_leaves_a_consistent_catalog(tmp_path: Path, image_bytes) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(150):
        (folder / f"{i:03d}.png").write_bytes(image_bytes(i, size=(64, 48), fmt="PNG"))
    ws = tmp_path / "ws"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(ws), str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        for line in proc.stdout:
            if line.strip().isdigit() and int(line) >= 90:  # past the first committed batch
                break
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL

    with Catalog.open(ws, create=False) as catalog:
        images = catalog.list_images()
        assert 0 < len(images) < 150  # killed part way
        report = catalog.check()
        # never a row pointing at a missing or half-written object
        assert report.missing == [] and report.mismatched == []
        for record in images:
            assert catalog.store.verify(record.sha256)
        # What the kill left (orphans, temp files) is repaired on the next open or import,
        # without --repair and without losing a row.
        catalog.tidy()
        assert catalog.check().ok
        assert len(catalog.list_images()) == len(images)
