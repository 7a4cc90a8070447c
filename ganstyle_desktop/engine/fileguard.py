"""Opening the files a user hands us: regular files only, never blocking, and when a file
cannot be read, the reason that is true to its cause.

``open()`` on a FIFO waits for a writer forever and on a device may never end, so files
are opened non-blocking and checked with ``fstat`` before a byte is read. A symbolic link
loop, a missing file, a folder, a special file and a permission problem each get their own
words (``Path.exists()`` says False for a loop, which would read as "no such file").
File names that are not valid UTF-8 reach Python as surrogate escapes; :func:`printable`
turns them into text that can be printed, logged and stored.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO


class UnreadableFile(OSError):
    """A file cannot be read. ``str()`` reads "<file name>: <reason>"."""

    def __init__(self, path: Path | str, reason: str, error_number: int | None = None) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{printable(self.path.name)}: {reason}")
        self.errno = error_number


def printable(text: str | os.PathLike) -> str:
    """``text`` with undecodable bytes of a file name shown as ``\\xNN`` (printable, and
    storable as UTF-8); other text unchanged."""
    text = os.fspath(text)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def describe_os_error(exc: OSError) -> str:
    """Why a file could not be read, in words for a person."""
    code = exc.errno
    if code == errno.ENOENT:
        return "no such file"
    if code == errno.ELOOP:
        return "a symbolic link loop (the link leads back to itself)"
    if code in (errno.EACCES, errno.EPERM):
        return "no permission to read it"
    if code == errno.EISDIR:
        return "a folder, not a file"
    if code == errno.ENOTDIR:
        return "a part of its path is a file, not a folder"
    if code == errno.ENAMETOOLONG:
        return "its name or path is too long for this system"
    if code in (errno.ENXIO, errno.ENODEV):
        return "not a regular file (a socket or device)"
    if code == errno.EIO:
        return "the disk reported an input/output error while reading it"
    return f"cannot be read ({exc.strerror or exc})"


def special_file_kind(mode: int) -> str:
    """What a non-regular file is, for messages."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def _not_regular(path: Path, mode: int) -> UnreadableFile:
    kind = special_file_kind(mode)
    if kind == "a folder":
        return UnreadableFile(path, "a folder, not a file", errno.EISDIR)
    return UnreadableFile(path, f"not a regular file ({kind})")


def check_regular_file(path: Path | str) -> os.stat_result:
    """``stat`` of ``path`` when it is (or links to) a regular file; UnreadableFile with the
    reason otherwise. Does not open it."""
    path = Path(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise UnreadableFile(path, describe_os_error(exc), exc.errno) from exc
    if not stat.S_ISREG(st.st_mode):
        raise _not_regular(path, st.st_mode)
    return st


def open_regular_file(path: Path | str) -> BinaryIO:
    """Open ``path`` for reading in binary, refusing anything but a regular file without
    ever blocking; raises UnreadableFile with the reason."""
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    nonblock = getattr(os, "O_NONBLOCK", 0)
    if not nonblock:  # Windows: no FIFOs to block on, but look before opening
        check_regular_file(path)
    try:
        fd = os.open(path, flags | nonblock)
    except OSError as exc:
        raise UnreadableFile(path, describe_os_error(exc), exc.errno) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(path, st.st_mode)
        if nonblock:
            os.set_blocking(fd, True)  # ordinary reads from here on
        return open(fd, "rb", closefd=True)
    except BaseException:
        os.close(fd)
        raise


def read_regular_file(path: Path | str, limit: int | None = None) -> bytes:
    """The bytes of a regular file (at most ``limit``, else UnreadableFile)."""
    with open_regular_file(path) as fh:
        try:
            data = fh.read() if limit is None else fh.read(limit + 1)
        except OSError as exc:
            raise UnreadableFile(path, describe_os_error(exc), exc.errno) from exc
    if limit is not None and len(data) > limit:
        raise UnreadableFile(path, f"larger than the {limit >> 20} MiB limit for one file")
    return data
