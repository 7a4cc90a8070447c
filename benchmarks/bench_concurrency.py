"""Two processes on one workspace, again and again; prints JSON (not a test).

    python benchmarks/bench_concurrency.py [--repetitions 10] [--images 300]
    python benchmarks/bench_concurrency.py --manifest ../shared/data/MANIFEST.csv

Each repetition starts two ``ganstyle-cli library`` processes at the same moment (both
load first, then wait for a go signal) on a fresh workspace:

- ``import``: both import the same files (a folder of ``--images`` generated images into
  ``--dataset d --create``, or, with ``--manifest``, the manifest's files into its
  datasets). Counted: runs where a process failed (exit status not 0, or a traceback),
  rows stored twice in one dataset, files that ended up in no dataset (lost), and datasets
  made twice ("slug (2)").
- ``create``: both create a dataset in the new workspace. Counted: runs where one failed.

The tests run the same races twice each (tests/library/test_concurrency.py).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Loads the CLI, says so, waits for the go file, then runs one command.
_AT_ONCE = textwrap.dedent(
    """
    import os, sys, time
    from ganstyle_desktop.cli import main
    go = sys.argv[1]
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.0005)
    sys.exit(main(sys.argv[2:]))
    """
)


def together(commands: list[list[str]], go: Path) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _AT_ONCE, str(go), *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for command in commands
    ]
    for proc in procs:
        proc.stdout.readline()
    go.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=1800)
        results.append(
            {
                "exit": proc.returncode,
                "traceback": "Traceback" in err,
                "error": err.strip().splitlines()[-1]
                if proc.returncode not in (0,) and err
                else "",
            }
        )
    return results


def make_images(folder: Path, n: int) -> list[Path]:
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        coarse = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
        im = Image.fromarray(coarse, "RGB").resize((64, 48), Image.Resampling.BICUBIC)
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=90)
        path = folder / f"{i:04d}.jpg"
        path.write_bytes(buf.getvalue())
        paths.append(path)
    return paths


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def catalog_facts(ws: Path) -> dict:
    conn = sqlite3.connect(ws / "catalog.sqlite")
    try:
        duplicates = conn.execute(
            "SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n FROM images "
            "GROUP BY dataset_id, sha256 HAVING n > 1)"
        ).fetchone()[0]
        shas = {r[0] for r in conn.execute("SELECT sha256 FROM images")}
        rows = conn.execute("SELECT COUNT(*) FROM images").fetchone()[0]
        names = [r[0] for r in conn.execute("SELECT name FROM datasets")]
    finally:
        conn.close()
    # "slug (2)": a dataset made twice because both processes asked for it at once
    split = sum(1 for n in names if re.search(r" \(\d+\)$", n))
    return {
        "duplicates": int(duplicates),
        "shas": shas,
        "rows": rows,
        "datasets": len(names),
        "split_datasets": split,
    }


def run_imports(root: Path, repetitions: int, sources: list[str], expected: set[str]) -> dict:
    failed_runs, duplicate_rows, lost, split, runs = 0, 0, 0, 0, []
    for i in range(repetitions):
        ws = root / f"import-{i}"
        command = ["library", "--workspace", str(ws), "import", *sources]
        started = time.perf_counter()
        results = together([command, command], root / f"go-import-{i}")
        seconds = time.perf_counter() - started
        facts = catalog_facts(ws)
        from ganstyle_desktop.library import Catalog

        with Catalog.open(ws, create=False) as catalog:
            consistent = catalog.check().ok
        missing = len(expected - facts["shas"])
        bad = any(r["exit"] != 0 or r["traceback"] for r in results)
        failed_runs += bad
        duplicate_rows += facts["duplicates"]
        lost += missing
        split += facts["split_datasets"]
        runs.append(
            {
                "exit": [r["exit"] for r in results],
                "errors": [r["error"] for r in results if r["error"]],
                "rows": facts["rows"],
                "datasets": facts["datasets"],
                "split_datasets": facts["split_datasets"],
                "duplicate_rows": facts["duplicates"],
                "lost": missing,
                "consistent": consistent,
                "seconds": round(seconds, 2),
            }
        )
        print(f"import {i + 1}/{repetitions}: {runs[-1]}", file=sys.stderr)
    return {
        "repetitions": repetitions,
        "files": len(expected),
        "failed_runs": failed_runs,
        "duplicate_rows": duplicate_rows,
        "lost_files": lost,
        "split_datasets": split,
        "runs": runs,
    }


def run_creates(root: Path, repetitions: int) -> dict:
    failed_runs, runs = 0, []
    for i in range(repetitions):
        ws = root / f"create-{i}"
        base = ["library", "--workspace", str(ws), "create"]
        results = together([[*base, "one"], [*base, "two"]], root / f"go-create-{i}")
        datasets = catalog_facts(ws)["datasets"] if (ws / "catalog.sqlite").exists() else 0
        bad = any(r["exit"] != 0 or r["traceback"] for r in results) or datasets != 2
        failed_runs += bad
        runs.append(
            {
                "exit": [r["exit"] for r in results],
                "errors": [r["error"] for r in results if r["error"]],
                "datasets": datasets,
            }
        )
        print(f"create {i + 1}/{repetitions}: {runs[-1]}", file=sys.stderr)
    return {"repetitions": repetitions, "failed_runs": failed_runs, "runs": runs}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=10)
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--manifest", type=Path, help="import this manifest's files instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if args.manifest:
            from ganstyle_desktop.library import read_manifest

            base = args.manifest.resolve().parent
            files = [base / row.path for row in read_manifest(args.manifest)]
            sources = [str(args.manifest.resolve())]
        else:
            files = make_images(root / "images", args.images)
            sources = [str(root / "images"), "--dataset", "d", "--create"]
        expected = {sha256(f) for f in files if f.is_file()}
        imports = run_imports(root, args.repetitions, sources, expected)
        creates = run_creates(root, args.repetitions)
    print(
        json.dumps(
            {
                "import": imports,
                "create": creates,
                "load_average": [round(x, 2) for x in os.getloadavg()],
            },
            indent=2,
        )
    )
    bad = imports["failed_runs"] + imports["duplicate_rows"] + imports["lost_files"]
    bad += imports["split_datasets"]
    return 1 if bad or creates["failed_runs"] else 0


if __name__ == "__main__":
    sys.exit(main())
