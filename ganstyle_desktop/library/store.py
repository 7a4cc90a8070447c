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
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

from ganstyle_desktop.engine.atomic import (
    WriteError,
    atomic_path,
    pid_alive,
    temp_file_owner,
    temp_name,
    write_bytes_atomic,
    write_reason,
)

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
            write_bytes_atomic(target, data, clean_stale=False)
            return sha
        tmp = target.parent / temp_name(target)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except BaseException as exc:
            tmp.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise WriteError(target, write_reason(exc), exc.errno) from exc
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
        staging = self.root / STAGING
        staging.mkdir(exist_ok=True)
        tmp_target = staging / f"{os.getpid()}-{secrets.token_hex(4)}.part"
        with (
            atomic_path(tmp_target, clean_stale=False) as tmp,
            open(src, "rb") as fin,
            open(tmp, "wb") as fout,
        ):
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

    def iter_leftovers(self, *, include_live: bool = True) -> Iterator[Path]:
        """Temp files a crash left behind (never referenced by the catalog); with
        ``include_live=False`` only those whose writing process has ended."""
        for sub in sorted(self.root.iterdir()):
            if not sub.is_dir():
                continue
            for f in sorted(sub.iterdir()):
                if not f.is_file() or (len(sub.name) == 2 and _valid_sha(sub.name + f.name)):
                    continue
                if include_live or not _written_by_live_process(f):
                    yield f

    def remove_stale_temp_files(self) -> list[Path]:
        """Remove temp files whose writing process has ended; returns them."""
        removed = []
        for path in self.iter_leftovers(include_live=False):
            try:
                path.unlink()
            except OSError:
                continue
            removed.append(path)
        return removed


STAGING = "_staging"


def _written_by_live_process(path: Path) -> bool:
    """Whether the process writing ``path`` (its id is in the name) still runs."""
    name = path.name
    if path.parent.name == STAGING and not name.startswith("."):
        pid = name.split("-", 1)[0]
        return pid.isdigit() and pid_alive(int(pid))
    pid = temp_file_owner(name)
    return pid is not None and pid_alive(pid)
