"""No leftovers and one clear error: temp files of a killed write are cleaned by the next
run of the same operation, long names fit, and a full or read-only disk gives one message
that names the target (never a hidden temp file) with nothing partial left behind."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ganstyle_desktop.engine import atomic
from ganstyle_desktop.engine.atomic import atomic_path, write_bytes_atomic

ROOT = Path(__file__).resolve().parents[2]

# Enters an atomic write to argv[1], writes some bytes, says so and waits to be killed.
_KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    from ganstyle_desktop.engine.atomic import atomic_path

    with atomic_path(sys.argv[1], suffix=sys.argv[2]) as tmp:
        tmp.write_bytes(b"x" * 4096)
        print("writing", flush=True)
        time.sleep(60)
    """
)


def _kill_mid_write(target: Path, suffix: str = "") -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(target), suffix],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout.readline().strip() == "writing"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        proc.stdout.close()


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# -- long names --------------------------------------------------------------------------


def test_a_244_character_file_name_can_be_written_atomically(tmp_path: Path) -> None:
    target = tmp_path / ("p" * 240 + ".png")
    write_bytes_atomic(target, b"data")
    assert target.read_bytes() == b"data"
    assert _hidden(tmp_path) == []
    # the longest name the file system allows, with a long suffix for the temp file too
    longest = tmp_path / ("q" * 250 + ".tiff")
    with atomic_path(longest, suffix=".tiff") as tmp:
        assert len(os.fsencode(tmp.name)) <= 255
        tmp.write_bytes(b"x")
    assert longest.read_bytes() == b"x"


def test_a_long_non_ascii_name_is_cut_on_a_character_boundary(tmp_path: Path) -> None:
    target = tmp_path / ("東" * 80 + ".jpg")  # 243 bytes in UTF-8
    write_bytes_atomic(target, b"ok")
    assert target.read_bytes() == b"ok"


# -- leftovers of killed writes are cleaned by the next run of the same operation --------


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_the_next_write_to_a_target_removes_a_killed_writers_temp(tmp_path: Path) -> None:
    target = tmp_path / "export.zip"
    _kill_mid_write(target, ".zip")
    assert len(_hidden(tmp_path)) == 1  # the killed write's hidden temp file
    write_bytes_atomic(target, b"whole")
    assert _hidden(tmp_path) == []
    assert target.read_bytes() == b"whole"


def test_a_live_writers_temp_is_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "model.safetensors"
    with atomic_path(target) as mine:
        mine.write_bytes(b"in progress")
        write_bytes_atomic(target, b"other")  # the same process: its temp may be in use
        assert mine.exists()
    assert _hidden(tmp_path) == []


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_resuming_a_run_removes_temps_of_a_kill_during_the_final_model_write(
    tmp_path: Path,
) -> None:
    from ganstyle_desktop.engine.checkpoints import remove_stale_temp_folders

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    _kill_mid_write(run_dir / "model.safetensors")
    (run_dir / "previews").mkdir()
    _kill_mid_write(run_dir / "previews" / "step_0000002.png", ".png")
    assert _hidden(run_dir) and _hidden(run_dir / "previews")
    (run_dir / ".notes").write_text("a user's own hidden file")  # not ours: kept
    remove_stale_temp_folders(run_dir)  # what Trainer.run does first, on resume too
    assert _hidden(run_dir) == [".notes"]
    assert _hidden(run_dir / "previews") == []


# -- disk full and read-only: one clear error naming the target, nothing partial --------


def _fail_writes_with(monkeypatch, code: int) -> None:
    real_open = os.open

    def failing_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR):
            raise OSError(code, os.strerror(code), os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(atomic.os, "open", failing_open)


@pytest.mark.parametrize(
    "code, words",
    [(errno.EROFS, "read-only"), (errno.EACCES, "permission"), (errno.ENOSPC, "disk is full")],
)
def test_an_unwritable_folder_gives_one_error_naming_the_target(
    tmp_path: Path, monkeypatch, code: int, words: str
) -> None:
    _fail_writes_with(monkeypatch, code)
    target = tmp_path / "out.bin"
    with pytest.raises(atomic.WriteError) as info:
        write_bytes_atomic(target, b"data")
    message = str(info.value)
    assert message.startswith(f"{target}: cannot write") and words in message
    assert ".tmp" not in message and info.value.errno == code
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_during_a_copy_names_the_target_not_the_temp(tmp_path: Path) -> None:
    import shutil

    src = tmp_path / "model.safetensors"
    src.write_bytes(b"w" * 1000)
    dest = tmp_path / "out" / "exported.safetensors"

    def full_copy(a, b, *args, **kwargs):
        err = OSError(errno.ENOSPC, "No space left on device")
        err.filename, err.filename2 = str(a), str(b)
        raise err

    with pytest.raises(atomic.WriteError) as info, atomic_path(dest) as tmp:
        full_copy(src, tmp)
    assert str(info.value) == f"{dest}: cannot write (the disk is full)"
    assert list(dest.parent.iterdir()) == []
    # a failure to read the *source* is not a write error and keeps its own message
    with pytest.raises(FileNotFoundError), atomic_path(dest) as tmp:
        shutil.copyfile(tmp_path / "missing.safetensors", tmp)
    assert list(dest.parent.iterdir()) == []


# Runs every writer under a file-size limit (the kernel then fails writes with EFBIG, as
# a full disk fails them with ENOSPC) and prints what each raised and what it left.
_EVERY_WRITER = textwrap.dedent(
    """
    import json, resource, signal, sys
    from pathlib import Path
    import numpy as np, torch

    out = Path(sys.argv[1])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    from ganstyle_desktop.engine.checkpoints import save_checkpoint
    from ganstyle_desktop.engine.export import save_image
    from ganstyle_desktop.engine.modelfile import ModelCard, save_model
    from ganstyle_desktop.engine.nets import GeneratorSpec, ResnetGenerator
    from ganstyle_desktop.library import Catalog, export_dataset

    big = np.random.default_rng(0).integers(0, 255, (300, 300, 3), dtype=np.uint8)
    with Catalog.open(out / "ws") as catalog:
        did = catalog.create_dataset("d")
        from PIL import Image
        import io
        buf = io.BytesIO(); Image.fromarray(big).save(buf, "PNG")
        sha = catalog.store.put_bytes(buf.getvalue())
        catalog.add_image(did, sha, 300, 300, format="PNG", original_name="a.png")
        resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
        generator = ResnetGenerator(GeneratorSpec(width=16, n_blocks=2))
        writers = {
            "model": lambda: save_model(out / "m" / "model.safetensors", generator, ModelCard()),
            "checkpoint": lambda: save_checkpoint(
                out / "run", 5, {"w": torch.zeros(20000)}, {"method": "x"}
            ),
            "image": lambda: save_image(big, out / "img" / "big.png"),
            "library export": lambda: export_dataset(catalog, did, out / "zip" / "d.zip"),
            "library store": lambda: catalog.store.put_bytes(b"z" * 40000),
        }
        results = {}
        for name, write in writers.items():
            try:
                write()
                results[name] = {"error": None}
            except Exception as exc:
                results[name] = {"error": type(exc).__name__, "message": str(exc),
                                 "errno": getattr(exc, "errno", None)}
        leftovers = sorted(
            str(p.relative_to(out)) for p in out.rglob("*")
            if p.name.startswith(".") or p.name.endswith((".tmp", ".part"))
        )
    print(json.dumps({"results": results, "leftovers": leftovers}))
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE")
def test_every_writer_gives_one_clear_error_on_a_full_disk(tmp_path: Path) -> None:
    import json

    proc = subprocess.run(
        [sys.executable, "-c", _EVERY_WRITER, str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, result in found["results"].items():
        assert result["error"] is not None, name
        assert result["errno"] == errno.EFBIG, (name, result)
        message = result["message"]
        assert "cannot write" in message and "too large" in message, (name, message)
        assert ".tmp" not in message and "/." not in message, (name, message)
    assert found["leftovers"] == []
