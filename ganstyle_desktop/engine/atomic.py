"""Atomic file writes: temp file in the same folder, fsync, rename, fsync the folder.

A crash at any moment leaves either the old file or the new one, never half of either.
The temp file is hidden and names its owner's process id (``.name.<pid>-<hex><suffix>``),
so the next write to the same target removes what a killed process left behind without
touching a live writer's file; :func:`remove_stale_temp_files` does the same for a whole
folder (a resumed training run). A write that fails (full disk, read-only folder, no
permission) raises :class:`WriteError`, whose message names the target and the reason,
never the temp file, and leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import errno as errno_codes
import os
import re
import secrets
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

NAME_MAX_BYTES = 255  # the usual limit on one file name (ext4, APFS, NTFS, ...)
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-[0-9a-f]{8}(?P<suffix>\.[A-Za-z0-9]+)?$")
# Names written before temp files carried a process id: ".name.<12 hex><suffix>".
_LEGACY_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.[0-9a-f]{12}(?P<suffix>\.[A-Za-z0-9]+)$")
# Errors that can only come from writing, whichever file the OS blames.
_WRITE_ONLY_ERRNOS = frozenset(
    code
    for code in (
        errno_codes.ENOSPC,
        getattr(errno_codes, "EDQUOT", None),
        errno_codes.EFBIG,
        errno_codes.EROFS,
    )
    if code is not None
)
_OS_ERROR_IN_TEXT = re.compile(r"\(os error (\d+)\)")


class WriteError(OSError):
    """A file could not be written. ``str()`` reads "<target>: cannot write (<reason>)";
    ``errno`` is the operating system's code and ``target`` the file that was asked for."""

    def __init__(self, target: Path | str, reason: str, error_number: int | None = None) -> None:
        self.target = Path(target)
        self.reason = reason
        super().__init__(f"{self.target}: cannot write ({reason})")
        self.errno = error_number


def write_reason(exc: OSError) -> str:
    """Why a write failed, in words for a person."""
    code = exc.errno
    if code == errno_codes.ENOSPC or code == getattr(errno_codes, "EDQUOT", -1):
        return "the disk is full"
    if code == errno_codes.EFBIG:
        return "the file is too large for the disk or a file-size limit"
    if code == errno_codes.EROFS:
        return "the disk or folder is read-only"
    if code in (errno_codes.EACCES, errno_codes.EPERM):
        return "no permission to write there"
    if code == errno_codes.ENOTDIR:
        return "a file stands where a folder is needed"
    if code == errno_codes.EISDIR:
        return "a folder stands where the file should go"
    if code == errno_codes.ENAMETOOLONG:
        return "the file name is too long for this file system"
    if code == errno_codes.ENOENT:
        return "the folder disappeared while writing"
    if code == errno_codes.EIO:
        return "the disk reported an input/output error"
    return exc.strerror or str(exc) or type(exc).__name__


def as_os_error(exc: BaseException) -> OSError | None:
    """``exc`` as an OSError: itself, or one rebuilt from a native library's message that
    quotes the code (safetensors says "... (os error 28)"); None when it is neither."""
    if isinstance(exc, OSError):
        return exc
    found = _OS_ERROR_IN_TEXT.search(str(exc))
    if found is None:
        return None
    code = int(found.group(1))
    return OSError(code, os.strerror(code))


def _is_write_failure(exc: OSError, tmp: Path) -> bool:
    """True when ``exc`` is about writing ``tmp`` (or the folder), not about reading some
    source file the writer was copying from."""
    if exc.errno in _WRITE_ONLY_ERRNOS:
        return True
    names = [n for n in (exc.filename, getattr(exc, "filename2", None)) if n is not None]
    if not names:
        return True  # a write() or fsync() on an open file names no file
    ours = {os.fspath(tmp), os.fspath(tmp.parent)}
    return any(os.fspath(n) in ours for n in names)


@contextlib.contextmanager
def atomic_path(
    target: Path | str, suffix: str = "", *, clean_stale: bool = True
) -> Iterator[Path]:
    """Yield a temp path beside ``target``; on success it replaces ``target``.

    Writers that need a file name (Pillow, safetensors) write to the yielded path. On an
    exception the temp file is removed and ``target`` is untouched; a failure to write
    (full disk, read-only, no permission) is raised as :class:`WriteError`. With
    ``clean_stale`` the temp files a killed process left for this target are removed first.
    """
    target = Path(target)
    tmp: Path | None = None
    in_body = False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if clean_stale:
            remove_stale_temp_files(target.parent, target=target)
        tmp = _create_temp_beside(target, suffix or ".tmp")
        in_body = True
        yield tmp
        in_body = False
        # Some writers (safetensors) recreate the file 0600; give it the mode a plain
        # open() would have, or keep the mode of the file it replaces.
        os.chmod(tmp, _mode_for(target))
        _fsync_file(tmp)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
        if isinstance(exc, WriteError):
            raise
        os_error = as_os_error(exc) if isinstance(exc, Exception) else None
        if os_error is not None and (not in_body or _is_write_failure(os_error, tmp or target)):
            raise WriteError(target, write_reason(os_error), os_error.errno) from exc
        raise


def write_bytes_atomic(target: Path | str, data: bytes, *, clean_stale: bool = True) -> None:
    with atomic_path(target, clean_stale=clean_stale) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(target: Path | str, text: str) -> None:
    write_bytes_atomic(target, text.encode("utf-8"))


def write_with_atomic(
    target: Path | str,
    writer: Callable[[Path], None],
    suffix: str = "",
    *,
    clean_stale: bool = True,
) -> None:
    """Call ``writer(tmp_path)`` and move the result into place atomically."""
    with atomic_path(target, suffix=suffix, clean_stale=clean_stale) as tmp:
        writer(tmp)


# -- temp names and the leftovers of killed writers ------------------------------------------


def _fits(name: str, budget: int) -> str:
    """``name`` cut (on a character boundary) to at most ``budget`` bytes on disk."""
    while name and len(os.fsencode(name)) > budget:
        name = name[:-1]
    return name


def temp_name(target: Path | str, suffix: str = ".tmp") -> str:
    """A fresh hidden temp name for ``target`` that fits the file-name limit (long names
    are cut: the temp name only has to be unique and recognisable, not complete)."""
    tail = f".{os.getpid()}-{secrets.token_hex(4)}{suffix}"
    budget = NAME_MAX_BYTES - 1 - len(os.fsencode(tail))
    return f".{_fits(Path(target).name, budget)}{tail}"


def _temp_owner(name: str) -> tuple[str, int | None] | None:
    """(the target name it was cut from, owner pid or None for old names), or None when
    ``name`` is not one of our temp files."""
    found = _TEMP_NAME.match(name)
    if found:
        return found.group("name"), int(found.group("pid"))
    found = _LEGACY_TEMP_NAME.match(name)
    if found:
        return found.group("name"), None
    return None


def is_temp_file_name(name: str) -> bool:
    """Whether ``name`` is the hidden temp file of an atomic write."""
    return _temp_owner(name) is not None


def temp_file_owner(name: str) -> int | None:
    """The process id in an atomic write's temp name (None: not one, or an old name)."""
    owner = _temp_owner(name)
    return None if owner is None else owner[1]


def remove_stale_temp_files(folder: Path | str, *, target: Path | str | None = None) -> list[Path]:
    """Remove the hidden temp files in ``folder`` that killed processes left (only those
    of ``target`` when given); a live process's files are kept. Returns what was removed."""
    folder = Path(folder)
    wanted = Path(target).name if target is not None else None
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        owner = _temp_owner(entry.name) if entry.name.startswith(".") else None
        if owner is None:
            continue
        cut_name, pid = owner
        if wanted is not None and not wanted.startswith(cut_name):
            continue
        if pid is not None and pid_alive(pid):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def pid_alive(pid: int) -> bool:
    """True when process ``pid`` exists on this machine (ours included)."""
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    if sys.platform == "win32":
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    except OSError:
        return False
    return True


def _windows_pid_alive(pid: int) -> bool:  # pragma: no cover - Windows only
    import ctypes

    kernel32 = ctypes.windll.kernel32
    handle = kernel32.OpenProcess(0x1000 | 0x00100000, False, pid)  # query, synchronize
    if not handle:
        return ctypes.GetLastError() == 5  # access denied: it exists
    try:
        return kernel32.WaitForSingleObject(handle, 0) == 0x102  # WAIT_TIMEOUT: running
    finally:
        kernel32.CloseHandle(handle)


# -- helpers -------------------------------------------------------------------------------


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()  # read once, at import: os.umask is process-wide, not thread-safe


def _mode_for(target: Path) -> int:
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        return 0o666 & ~_UMASK


def _create_temp_beside(target: Path, suffix: str) -> Path:
    """An empty new file next to ``target``, created with the user's umask.

    (``tempfile.mkstemp`` would make it 0600, and the rename would carry that over, leaving
    exported images and models unreadable to the user's other programs.)
    """
    for _ in range(100):
        tmp = target.with_name(temp_name(target, suffix))
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"could not create a temporary file beside {target}")


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return  # Windows cannot open folders for fsync; os.replace is still atomic there
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
