"""Smoke-test a built bundle the way an artist would run it: no Python, no network.

    python3 packaging/smoke_test.py DIST/ganstyle [--runs 3] [--keep]

Every command runs the bundle's own executables with a scrubbed environment (``env -i``
style: only HOME, TMPDIR, an empty PATH with no python on it, QT_QPA_PLATFORM=offscreen)
and, where the system allows it, in a network namespace with no interfaces (``unshare -n``).
Checks:
  1. ``ganstyle --version`` and ``ganstyle-cli --version`` print the package version;
  2. ``ganstyle --screenshot X.png`` writes a real PNG of the main window (timed: start-up);
  3. ``ganstyle-cli stylize MODEL PHOTO --out DIR`` with the bundled starter model and sample
     photo writes a stylized image. Without a starter model in the bundle, a tiny model is
     first trained with the bundled ``ganstyle-cli train --preset tiny`` on generated images,
     and the JSON says so.
Prints one JSON object (the last line) and exits 0 only when every check passed.
Standard library only, so it runs with any Python 3.10+ (the bundle needs none).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp")


def package_version() -> str:
    """ganstyle_desktop.__version__, read from the source without importing the package."""
    import ast

    tree = ast.parse((REPO / "ganstyle_desktop" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets
        ):
            return str(ast.literal_eval(node.value))
    raise SystemExit("ganstyle_desktop/__init__.py has no __version__")


def png_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of a PNG file, or None when it is not one."""
    try:
        head = path.read_bytes()[:24]
    except OSError:
        return None
    if len(head) < 24 or not head.startswith(PNG_SIGNATURE) or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def write_png(path: Path, width: int, height: int, seed: int) -> None:
    """A small synthetic photo (gradient sky, 'hills', noise) so training has structure."""
    rows = []
    state = seed * 2654435761 % 2**32
    horizon = height * (0.45 + 0.04 * (seed % 5))
    for y in range(height):
        row = bytearray([0])  # filter type None
        for x in range(width):
            state = (1103515245 * state + 12345) % 2**31
            noise = (state >> 16) % 24
            hill = horizon + 0.15 * height * ((x * (3 + seed % 3)) % width) / width
            if y < hill:
                pixel = (90 + y * 100 // height + noise, 140 + noise, 220 - y * 60 // height)
            else:
                pixel = (60 + noise, 110 + (x * 50 // width) + noise, 50 + noise)
            row += bytes(min(255, c) for c in pixel)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = PNG_SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"".join(rows)))
    path.write_bytes(data + chunk(b"IEND", b""))


class Runner:
    """Runs bundle executables in a scrubbed environment, optionally without network."""

    def __init__(self, bundle: Path, scratch: Path) -> None:
        self.bundle = bundle
        self.home = scratch / "home"
        self.tmp = scratch / "tmp"
        self.empty_bin = scratch / "empty-bin"  # PATH: a folder with nothing in it
        for folder in (self.home, self.tmp, self.empty_bin):
            folder.mkdir(parents=True, exist_ok=True)
        self.env = {
            "HOME": str(self.home),
            "TMPDIR": str(self.tmp),
            "PATH": str(self.empty_bin),
            "QT_QPA_PLATFORM": "offscreen",
        }
        self.no_network = self._probe_unshare()

    @staticmethod
    def _probe_unshare() -> list[str]:
        unshare = shutil.which("unshare")
        if not unshare:
            return []
        for prefix in ([unshare, "--net"], [unshare, "--map-root-user", "--net"]):
            try:
                done = subprocess.run(
                    [*prefix, "/bin/true"], env={}, capture_output=True, timeout=20
                )
            except (OSError, subprocess.TimeoutExpired):
                continue
            if done.returncode == 0:
                return prefix
        return []

    def exe(self, name: str) -> Path:
        suffix = ".exe" if sys.platform == "win32" else ""
        return self.bundle / f"{name}{suffix}"

    def run(
        self,
        name: str,
        *args: str,
        timeout: float = 300,
        watch: Path | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> dict:
        """Run an executable; returns rc, output, wall seconds and (with ``watch``) the seconds
        until that file first appeared with content."""
        command = [*self.no_network, str(self.exe(name)), *args]
        start = time.perf_counter()
        proc = subprocess.Popen(
            command,
            env={**self.env, **(extra_env or {})},
            cwd=self.tmp,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        appeared = None
        deadline = start + timeout
        if watch is not None:
            # Poll for the file so start-up time is "window rendered", not "process gone".
            while proc.poll() is None and time.perf_counter() < deadline:
                if appeared is None and watch.exists() and watch.stat().st_size > 0:
                    appeared = time.perf_counter() - start
                time.sleep(0.01)
        try:
            out, _ = proc.communicate(timeout=max(1.0, deadline - time.perf_counter()))
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            return {"rc": None, "output": out.decode(errors="replace"), "seconds": timeout}
        wall = time.perf_counter() - start
        if watch is not None and appeared is None and watch.exists():
            appeared = wall
        return {
            "rc": proc.returncode,
            "output": out.decode(errors="replace"),
            "seconds": round(wall, 3),
            "file_seconds": None if appeared is None else round(appeared, 3),
        }


def tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def find_starter_model(bundle: Path) -> Path | None:
    for models in (bundle / "_internal" / "models", bundle / "models"):
        if models.is_dir():
            found = sorted(models.rglob("*.safetensors"))
            if found:
                return found[0]
    return None


def find_sample_photo(bundle: Path) -> Path | None:
    for resources in (bundle / "_internal" / "resources", bundle / "resources"):
        candidate = resources / "samples" / "sample_landscape.jpg"
        if candidate.is_file():
            return candidate
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Smoke-test a built GANStyle bundle.")
    parser.add_argument("bundle", type=Path, help="the one-folder bundle (DIST/ganstyle)")
    parser.add_argument("--runs", type=int, default=3, help="screenshot runs to time")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument(
        "--train",
        action="store_true",
        help="also train a tiny model with the bundle (autograd, optimizers, checkpoints) even "
        "when a starter model is bundled",
    )
    parser.add_argument("--train-steps", type=int, default=30)
    args = parser.parse_args(argv)

    bundle = args.bundle.resolve()
    if sys.platform == "darwin" and bundle.suffix == ".app":
        bundle = bundle / "Contents" / "MacOS"
    scratch = Path(tempfile.mkdtemp(prefix="ganstyle-smoke-"))
    runner = Runner(bundle, scratch)
    version = package_version()
    checks: dict[str, dict] = {}
    notes: list[str] = []

    def check(name: str, ok: bool, **details: object) -> bool:
        checks[name] = {"ok": bool(ok), **details}
        return ok

    assert shutil.which("python3", path=runner.env["PATH"]) is None
    assert shutil.which("python", path=runner.env["PATH"]) is None
    for name in ("ganstyle", "ganstyle-cli"):
        if not runner.exe(name).is_file():
            check(f"{name} exists", False, path=str(runner.exe(name)))

    if not checks:
        # 1. Versions
        for name in ("ganstyle", "ganstyle-cli"):
            done = runner.run(name, "--version", timeout=120)
            check(
                f"{name} --version",
                done["rc"] == 0 and version in done["output"],
                output=tail(done["output"], 3),
                seconds=done["seconds"],
            )

        # 2. Screenshot of the main window, timed. The first run is a cold start (libraries
        #    not yet in the page cache), later ones warm.
        startup = []
        for i in range(max(1, args.runs)):
            shot = scratch / f"screenshot-{i}.png"
            # GANSTYLE_REPORT_STARTUP makes the app print its own "window shown" time (measured
            # from the import of ganstyle_desktop.app, so it leaves out the bootloader).
            done = runner.run(
                "ganstyle",
                "--screenshot",
                str(shot),
                timeout=180,
                watch=shot,
                extra_env={"GANSTYLE_REPORT_STARTUP": "1"},
            )
            shown = re.search(r"window_shown_ms=(\d+)", done["output"])
            size = png_size(shot)
            ok = done["rc"] == 0 and size is not None and size[0] >= 200 and size[1] >= 150
            check(
                f"ganstyle --screenshot (run {i + 1})",
                ok,
                png=str(shot),
                png_size=size,
                seconds_to_png=done.get("file_seconds"),
                window_shown_ms=int(shown.group(1)) if shown else None,
                seconds_to_exit=done["seconds"],
                output=tail(done["output"], 8),
            )
            if ok:
                startup.append(done.get("file_seconds") or done["seconds"])

        # 3. The CLI stylizes a photo with the shipped starter model.
        model = find_starter_model(bundle)
        photo = find_sample_photo(bundle)
        if photo is None:
            photo = scratch / "photo.png"
            write_png(photo, 160, 120, seed=7)
            notes.append(
                "no resources/samples/sample_landscape.jpg in the bundle: generated a photo"
            )
        if model is None or args.train:
            if model is None:
                notes.append(
                    "no starter model in the bundle: trained a tiny one with the bundled "
                    f"`ganstyle-cli train --preset tiny` ({args.train_steps} steps, generated images)"
                )
            style_dir, content_dir = scratch / "style", scratch / "content"
            style_dir.mkdir()
            content_dir.mkdir()
            for i in range(4):
                write_png(style_dir / f"s{i}.png", 48, 48, seed=100 + i)
                write_png(content_dir / f"c{i}.png", 48, 48, seed=i)
            run_dir = scratch / "run"
            done = runner.run(
                "ganstyle-cli",
                "train",
                "--style", str(style_dir),
                "--content", str(content_dir),
                "--out", str(run_dir),
                "--preset", "tiny",
                "--size", "32",
                "--steps", str(args.train_steps),
                "--batch-size", "1",
                "--device", "cpu",
                timeout=600,
            )  # fmt: skip
            trained = run_dir / "model.safetensors"
            if check(
                "ganstyle-cli train --preset tiny",
                done["rc"] == 0 and trained.is_file(),
                seconds=done["seconds"],
                output=tail(done["output"]),
            ):
                model = model or trained
        if model is not None:
            out_dir = scratch / "stylized"
            done = runner.run(
                "ganstyle-cli", "stylize", str(model), str(photo), "--out", str(out_dir),
                timeout=600,
            )  # fmt: skip
            outputs = (
                sorted(p for p in out_dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
                if out_dir.is_dir()
                else []
            )
            good = [
                p
                for p in outputs
                if p.stat().st_size > 0
                and p.read_bytes()[:8].startswith(
                    (PNG_SIGNATURE, JPEG_SIGNATURE, b"II*\0", b"MM\0*", b"RIFF")
                )
            ]
            check(
                "ganstyle-cli stylize",
                done["rc"] == 0 and bool(good),
                model=str(model),
                photo=str(photo),
                outputs=[str(p) for p in good],
                seconds=done["seconds"],
                output=tail(done["output"]),
            )
    else:
        startup = []

    passed = bool(checks) and all(c["ok"] for c in checks.values())
    report = {
        "bundle": str(bundle),
        "version": version,
        "passed": passed,
        "network_isolated": bool(runner.no_network),
        "environment": sorted(runner.env),
        "startup_seconds": {
            "cold": startup[0] if startup else None,
            "warm_median": round(statistics.median(startup[1:]), 3) if len(startup) > 1 else None,
            "all": startup,
        },
        "checks": checks,
        "notes": notes,
        "scratch": str(scratch) if args.keep or not passed else None,
    }
    if passed and not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(report, indent=2))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
