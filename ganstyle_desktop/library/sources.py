"""Turning what the user dropped (files, folders, zip archives) into a list of candidates.

Each candidate knows its display name, a key to match it against a manifest, and how to
read its bytes. Archives are read entry by entry in memory, never extracted, with guards
against zip bombs (declared and actual sizes, compression ratio, entry count) and against
path traversal (absolute names, ``..``, drive letters, symlinks).
"""

from __future__ import annotations

import errno
import os
import stat
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ganstyle_desktop.engine.fileguard import (
    UnreadableFile,
    check_regular_file,
    describe_os_error,
    printable,
    read_regular_file,
)
from ganstyle_desktop.engine.imageio import IMAGE_EXTENSIONS

ACCEPTED_EXTENSIONS = IMAGE_EXTENSIONS | {".gif"}
MANIFEST_NAMES = ("manifest.csv", "manifest.json")
ARCHIVE_INFO_NAME = "dataset.json"


@dataclass
class ArchiveLimits:
    max_entries: int = 50_000
    max_total_bytes: int = 8 << 30  # sum of declared uncompressed sizes
    max_ratio: float = 150.0  # uncompressed / compressed, for entries over 1 MiB
    max_file_bytes: int = 512 << 20


@dataclass
class Candidate:
    display: str  # what the report shows: a path, or "archive.zip:inner/name.jpg"
    key: str  # forward-slash relative path used to match manifest rows
    read: Callable[[], bytes] | None  # None: skipped up front, see ``reason``
    size: int = -1
    reason: str = ""
    origin: Path | None = None  # the file on disk, for manifest lookups relative to it


@dataclass
class ArchiveManifest:
    archive: Path
    name: str
    text: str


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _is_hidden(parts: Iterable[str]) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in parts)


def _file_reader(path: Path, limit: int) -> Callable[[], bytes]:
    def read() -> bytes:
        # Regular files only, never blocking (a FIFO renamed .jpg): UnreadableFile says why.
        return read_regular_file(path, limit)

    return read


def _unreadable_reason(path: Path, exc: OSError) -> str:
    """Why ``path`` cannot be read, true to the cause."""
    if exc.errno == errno.ENOENT:
        if os.path.islink(path):
            return "a broken symbolic link (what it points to does not exist)"
        return "no such file or folder"
    if isinstance(exc, UnreadableFile):
        return exc.reason
    return describe_os_error(exc)


def _unsafe_member_name(name: str) -> str:
    """Why an archive member name is unsafe to use, or "" when it is fine."""
    if "\x00" in name:
        return "a NUL byte in its name"
    posix = name.replace("\\", "/")
    if posix.startswith("/") or (len(posix) > 1 and posix[1] == ":"):
        return "an absolute path (path traversal)"
    if ".." in PurePosixPath(posix).parts:
        return "a '..' component (path traversal)"
    return ""


class SourceCollector:
    """Expands sources into candidates; keep it open while candidates are read."""

    def __init__(self, limits: ArchiveLimits | None = None) -> None:
        self.limits = limits or ArchiveLimits()
        self._stack = ExitStack()
        self.archive_manifests: list[ArchiveManifest] = []
        self.archive_info: list[ArchiveManifest] = []

    def __enter__(self) -> SourceCollector:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def collect(
        self, sources: Iterable[Path | str], exclude: Iterable[Path] = ()
    ) -> list[Candidate]:
        excluded = {os.path.abspath(p) for p in exclude}
        out: list[Candidate] = []
        for source in sources:
            source = Path(source)
            display = printable(str(source))
            try:
                is_dir = stat.S_ISDIR(os.stat(source).st_mode)
            except OSError as exc:  # missing, a link loop, no permission: say which
                if os.path.lexists(source) and exc.errno != errno.ENOENT:
                    self._collect_file(source, source.name, out, explicit=True)
                    continue
                reason = _unreadable_reason(source, exc)
                out.append(Candidate(display, printable(source.name), None, reason=reason))
                continue
            if is_dir:
                self._collect_folder(source, out, excluded)
            else:
                self._collect_file(source, source.name, out, explicit=True)
        return out

    def _collect_folder(self, folder: Path, out: list[Candidate], excluded: set[str]) -> None:
        def unreadable(exc: OSError) -> None:  # a sub-folder that cannot be listed
            where = Path(exc.filename or folder)
            out.append(
                Candidate(
                    printable(str(where)),
                    printable(where.name),
                    None,
                    reason=f"folder not searched: {_unreadable_reason(where, exc)}",
                )
            )

        for root, dirs, files in os.walk(folder, onerror=unreadable):
            dirs[:] = sorted(d for d in dirs if not _is_hidden([d]))
            for name in sorted(files):
                path = Path(root) / name
                if name.startswith(".") or os.path.abspath(path) in excluded:
                    continue
                # The key keeps undecodable bytes (as surrogates): the importer makes names
                # printable only after splitting the path ("\\xNN" holds a backslash).
                key = _nfc(path.relative_to(folder).as_posix())
                self._collect_file(path, key, out, explicit=False)

    def _collect_file(self, path: Path, key: str, out: list[Candidate], explicit: bool) -> None:
        suffix = path.suffix.lower()
        display = printable(str(path))
        if suffix == ".zip":
            try:
                check_regular_file(path)
            except OSError as exc:
                out.append(Candidate(display, key, None, reason=_unreadable_reason(path, exc)))
                return
            self._collect_archive(path, out)
            return
        if suffix not in ACCEPTED_EXTENSIONS:
            if explicit or suffix not in (".csv", ".json", ".md", ".txt"):
                out.append(
                    Candidate(
                        display,
                        key,
                        None,
                        reason=f"not an image file type ({suffix or 'no extension'})",
                    )
                )
            return
        try:
            st = check_regular_file(path)  # a FIFO, a device, a link loop: never opened
        except OSError as exc:
            out.append(Candidate(display, key, None, reason=_unreadable_reason(path, exc)))
            return
        out.append(
            Candidate(
                display,
                key,
                _file_reader(path, self.limits.max_file_bytes),
                size=st.st_size,
                origin=path,
            )
        )

    def _collect_archive(self, path: Path, out: list[Candidate]) -> None:
        limits = self.limits
        try:
            zf = self._stack.enter_context(zipfile.ZipFile(path))
            infos = zf.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            out.append(
                Candidate(
                    printable(str(path)),
                    printable(path.name),
                    None,
                    reason=f"not a readable zip archive ({exc})",
                )
            )
            return
        if len(infos) > limits.max_entries:
            out.append(
                Candidate(
                    printable(str(path)),
                    printable(path.name),
                    None,
                    reason=f"archive has {len(infos):,} entries, over the limit of {limits.max_entries:,}",
                )
            )
            return
        total = 0
        for info in infos:
            name = _nfc(info.filename)
            display = f"{printable(path.name)}:{name}"
            if info.is_dir():
                continue
            unsafe = _unsafe_member_name(name)
            if unsafe:
                out.append(Candidate(display, name, None, reason=f"archive entry with {unsafe}"))
                continue
            if _is_hidden(PurePosixPath(name.replace("\\", "/")).parts):
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                out.append(
                    Candidate(display, name, None, reason="archive entry is a symbolic link")
                )
                continue
            lower = name.lower()
            if "/" not in lower.strip("/") and lower in MANIFEST_NAMES + (ARCHIVE_INFO_NAME,):
                text = self._read_text_member(zf, info)
                if text is not None:
                    target = (
                        self.archive_info if lower == ARCHIVE_INFO_NAME else self.archive_manifests
                    )
                    target.append(ArchiveManifest(path, lower, text))
                continue
            suffix = PurePosixPath(lower).suffix
            if suffix not in ACCEPTED_EXTENSIONS:
                out.append(
                    Candidate(
                        display,
                        name,
                        None,
                        reason=f"not an image file type ({suffix or 'no extension'})",
                    )
                )
                continue
            total += info.file_size
            reason = ""
            if info.file_size > limits.max_file_bytes:
                reason = f"declares {info.file_size:,} bytes, over the {limits.max_file_bytes >> 20} MiB limit"
            elif info.file_size > (1 << 20) and info.file_size > limits.max_ratio * max(
                info.compress_size, 1
            ):
                reason = (
                    f"compressed {info.file_size / max(info.compress_size, 1):,.0f}:1, "
                    "refused as a possible zip bomb"
                )
            elif total > limits.max_total_bytes:
                reason = (
                    "the archive's total uncompressed size is over the limit (possible zip bomb)"
                )
            if reason:
                out.append(Candidate(display, name, None, reason=reason))
                continue
            out.append(Candidate(display, name, self._member_reader(zf, info), size=info.file_size))

    def _member_reader(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], bytes]:
        declared = info.file_size

        def read() -> bytes:
            # Never trust the header: read at most what it declared, plus one byte to notice a lie.
            with zf.open(info) as fh:
                data = fh.read(declared + 1)
            if len(data) > declared:
                raise OSError("the entry holds more data than its header declares (zip bomb?)")
            return data

        return read

    def _read_text_member(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> str | None:
        if info.file_size > (64 << 20):
            return None
        try:
            with zf.open(info) as fh:
                return fh.read(info.file_size + 1)[: info.file_size].decode("utf-8-sig")
        except (OSError, zipfile.BadZipFile, UnicodeDecodeError, RuntimeError, EOFError):
            return None
