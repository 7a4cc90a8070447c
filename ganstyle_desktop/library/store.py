"""The content-addressed image store: ``objects/ab/cdef...`` named by SHA-256.

Originals are stored byte for byte and never modified. Every write goes through a temp
file and an atomic rename, so a crash leaves either nothing or a complete object (at worst
an orphan that ``Catalog.check(repair=True)`` removes).
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from ganstyle_desktop.engine.atomic import atomic_path, write_bytes_atomic

log = logging.getLogger(__name__)

_CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _sync_filesystem(path: Path) -> bool:
    """syncfs() the filesystem holding ``path`` (Linux), else sync(); False if neither."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(path, os.O_RDONLY)
            try:
                if libc.syncfs(fd) == 0:
                    return True
            finally:
                os.close(fd)
        except (OSError, AttributeError):
            pass
    if hasattr(os, "sync") and sys.platform != "darwin":  # macOS sync() does not wait
        os.sync()
        return True
    return False


def _valid_sha(sha: str) -> bool:
    return len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)


class ObjectStore:
    """Files addressed by the SHA-256 of their bytes under ``root``."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path_for(self, sha: str) -> Path:
        if not _valid_sha(sha):
            raise ValueError(f"not a SHA-256 hex digest: {sha!r}")
        return self.root / sha[:2] / sha[2:]

    def has(self, sha: str) -> bool:
        return self.path_for(sha).is_file()

    def put_bytes(self, data: bytes, sha: str | None = None, *, durable: bool = True) -> str:
        """Store ``data`` (atomically, once) and return its SHA-256.

        ``durable=False`` still writes through a temp file and a rename (so a killed process
        never leaves a partial object) but leaves flushing to disk to :meth:`make_durable`,
        which an importer calls once per batch before committing the batch's rows.
        """
        sha = sha or sha256_bytes(data)
        target = self.path_for(sha)
        if target.is_file():
            return sha
        if durable:
            write_bytes_atomic(target, data)
            return sha
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{target.name}.{os.getpid()}.tmp"
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return sha

    def make_durable(self, shas: list[str]) -> None:
        """Flush these objects (and their folders) to disk before rows refer to them.

        One filesystem-wide sync costs about what a single fsync does, so a batch of many
        small files takes one ``syncfs`` (Linux) or ``sync`` rather than two fsyncs each.
        """
        if not shas:
            return
        if len(shas) > 2 and _sync_filesystem(self.root):
            return
        folders = set()
        for sha in shas:
            path = self.path_for(sha)
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
            folders.add(path.parent)
        if os.name == "posix":
            for folder in folders:
                fd = os.open(folder, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)

    def put_file(self, src: Path | str) -> str:
        """Copy ``src`` into the store, hashing while copying; returns the SHA-256."""
        digest = hashlib.sha256()
        staging = self.root / "_staging"
        staging.mkdir(exist_ok=True)
        tmp_target = staging / f"{os.getpid()}-{Path(src).name[:40]}.part"
        with atomic_path(tmp_target) as tmp, open(src, "rb") as fin, open(tmp, "wb") as fout:
            while chunk := fin.read(_CHUNK):
                digest.update(chunk)
                fout.write(chunk)
        sha = digest.hexdigest()
        target = self.path_for(sha)
        if target.is_file():
            tmp_target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_target, target)
        return sha

    def read_bytes(self, sha: str) -> bytes:
        return self.path_for(sha).read_bytes()

    def verify(self, sha: str) -> bool:
        """True when the object exists and its bytes still hash to ``sha``."""
        path = self.path_for(sha)
        return path.is_file() and sha256_file(path) == sha

    def remove(self, sha: str) -> None:
        path = self.path_for(sha)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        try:
            path.parent.rmdir()  # only succeeds when the fan-out folder is now empty
        except OSError:
            pass

    def iter_objects(self) -> Iterator[str]:
        """SHA-256 of every complete object in the store."""
        for sub in sorted(self.root.iterdir()):
            if not sub.is_dir() or len(sub.name) != 2:
                continue
            for f in sorted(sub.iterdir()):
                sha = sub.name + f.name
                if f.is_file() and _valid_sha(sha):
                    yield sha

    def iter_leftovers(self) -> Iterator[Path]:
        """Temp files a crash left behind (never referenced by the catalog)."""
        for sub in self.root.iterdir():
            if sub.is_dir():
                for f in sub.iterdir():
                    if f.is_file() and not _valid_sha(sub.name + f.name):
                        yield f
