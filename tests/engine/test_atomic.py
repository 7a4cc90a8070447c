"""Atomic writes replace the target whole, leave no temp files, and respect the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ganstyle_desktop.engine.atomic import atomic_path, write_bytes_atomic


def test_write_replaces_the_target_and_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_a_failing_writer_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_written_files_follow_the_umask_not_0600(tmp_path: Path) -> None:
    from ganstyle_desktop.engine import atomic

    write_bytes_atomic(tmp_path / "model.safetensors", b"x")
    mode = stat.S_IMODE((tmp_path / "model.safetensors").stat().st_mode)
    assert mode == 0o666 & ~atomic._UMASK


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_a_writer_that_creates_0600_files_still_gives_a_readable_file(tmp_path: Path) -> None:
    from ganstyle_desktop.engine.atomic import write_with_atomic

    def private_writer(path: Path) -> None:  # what safetensors' save_file does
        path.unlink()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)

    target = tmp_path / "model.safetensors"
    write_with_atomic(target, private_writer)
    assert stat.S_IMODE(target.stat().st_mode) & 0o044  # group/others may read
